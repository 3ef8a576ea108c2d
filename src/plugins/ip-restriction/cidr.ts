/**
 * CIDR lists on node:net BlockList, shared by ip-restriction and the WAF's `ip-in` operator.
 * IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, what a dual-stack socket reports for an IPv4 peer) are
 * checked as the IPv4 address they carry, and an IPv4-mapped CIDR (::ffff:10.0.0.0/104) is stored as
 * its IPv4 range, so both spellings match both spellings without relying on BlockList's own mapping.
 */
import { BlockList, isIP } from 'node:net';

export interface CidrProblem {
  index: number;
  message: string;
}

/** An IPv4-mapped IPv6 address in dotted form, or undefined. */
function mappedV4(ip: string): string | undefined {
  if (ip.length > 7 && (ip.charCodeAt(0) === 58 || ip.charCodeAt(0) === 48) && ip.includes('.')) {
    const lower = ip.toLowerCase();
    for (const prefix of ['::ffff:', '0:0:0:0:0:ffff:']) {
      if (lower.startsWith(prefix)) {
        const rest = lower.slice(prefix.length);
        if (isIP(rest) === 4) return rest;
      }
    }
  }
  return undefined;
}

/** Builds a BlockList from CIDRs or single addresses; every bad entry is reported (by index) and skipped. */
export function buildCidrList(entries: readonly string[]): { list: BlockList; problems: CidrProblem[] } {
  const list = new BlockList();
  const problems: CidrProblem[] = [];
  entries.forEach((entry, index) => {
    const slash = entry.indexOf('/');
    let addr = (slash < 0 ? entry : entry.slice(0, slash)).trim();
    const bitsText = slash < 0 ? undefined : entry.slice(slash + 1).trim();
    let family = isIP(addr);
    if (family === 0 || addr.includes('%')) {
      problems.push({ index, message: `"${entry}" is not an IP address or CIDR (write 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32)` });
      return;
    }
    let prefix = bitsText === undefined ? (family === 4 ? 32 : 128) : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
    const max = family === 4 ? 32 : 128;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      problems.push({ index, message: `"${entry}": prefix length must be 0-${max}` });
      return;
    }
    const v4 = family === 6 ? mappedV4(addr) : undefined;
    if (v4 !== undefined && prefix >= 96) {
      addr = v4;
      prefix -= 96;
      family = 4;
    }
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  });
  return { list, problems };
}

/**
 * True when the address is in the list. Anything that is not an address (empty, garbage, a zone id
 * that BlockList refuses) is never "in" a list: callers decide what that means (ip-restriction denies).
 */
export function cidrListHas(list: BlockList, ip: string): boolean {
  if (ip === '') return false;
  try {
    if (ip.includes(':')) {
      const v4 = mappedV4(ip);
      if (v4 !== undefined) return list.check(v4, 'ipv4');
      const zone = ip.indexOf('%');
      if (zone === ip.length - 1) return false;
      return list.check(zone < 0 ? ip : ip.slice(0, zone), 'ipv6');
    }
    return list.check(ip, 'ipv4');
  } catch {
    return false;
  }
}

/**
 * A CIDR list with a bounded cache of answers per address string: BlockList.check parses the address
 * into a native SocketAddress on every call (a few µs), while a gateway sees the same client addresses
 * over and over. The cache holds at most `max` addresses and is simply emptied when full, so an attacker
 * rotating addresses costs the uncached check, never memory.
 */
export class CidrSet {
  readonly #list: BlockList;
  readonly #cache = new Map<string, boolean>();
  readonly #max: number;
  constructor(list: BlockList, max = 4096) {
    this.#list = list;
    this.#max = max;
  }
  has(ip: string): boolean {
    const known = this.#cache.get(ip);
    if (known !== undefined) return known;
    const v = cidrListHas(this.#list, ip);
    if (this.#cache.size >= this.#max) this.#cache.clear();
    this.#cache.set(ip, v);
    return v;
  }
}

/** True when `ip` parses as an IPv4 or IPv6 address (zone ids allowed). */
export function isAddress(ip: string): boolean {
  if (ip === '') return false;
  const zone = ip.indexOf('%');
  if (zone === ip.length - 1) return false;
  return isIP(zone < 0 ? ip : ip.slice(0, zone)) !== 0;
}
