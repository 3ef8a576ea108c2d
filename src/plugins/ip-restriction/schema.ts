import { type Static, Type } from '@sinclair/typebox';

const Cidrs = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 10_000, description });

export const schema = Type.Object(
  {
    allow: Type.Optional(
      Cidrs(
        'CIDRs or single addresses (IPv4 and IPv6) allowed to call; when set, every other client is refused with 403. An IPv4-mapped IPv6 client (::ffff:192.0.2.7) matches IPv4 entries.',
      ),
    ),
    deny: Type.Optional(Cidrs('CIDRs or single addresses refused with 403. Deny wins over allow.')),
  },
  {
    additionalProperties: false,
    description:
      'Allows or refuses clients by address (IPv4/IPv6 CIDRs) before anything else runs. The address is the client resolved through server.trustedProxies only: X-Forwarded-For from any other peer is ignored.',
  },
);
export type IpRestrictionConfig = Static<typeof schema>;
