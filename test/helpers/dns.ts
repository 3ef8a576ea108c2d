/**
 * A tiny authoritative DNS server on 127.0.0.1 (node:dgram) for tests: A records from a map the test
 * changes at will, NODATA for other types, NXDOMAIN for unknown names, SERVFAIL when told to fail.
 * Enough of RFC 1035 for c-ares (dns.Resolver): one question, answers by name pointer.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface TestDns {
  port: number;
  /** name (lower case) -> IPv4 addresses */
  records: Map<string, string[]>;
  ttlSeconds: number;
  /** Answer SERVFAIL to everything while true. */
  failing: boolean;
  /** Queries received, as "name TYPE". */
  queries: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;

export async function startDns(records: Record<string, string[]> = {}, ttlSeconds = 1): Promise<TestDns> {
  const sock = dgram.createSocket('udp4');
  const dns: TestDns = {
    port: 0,
    records: new Map(Object.entries(records)),
    ttlSeconds,
    failing: false,
    queries: [],
    close: () => new Promise((r) => sock.close(() => r())),
  };
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    // Question: labels up to a zero byte, then QTYPE and QCLASS.
    let at = 12;
    const labels: string[] = [];
    while (at < msg.length && msg[at] !== 0) {
      const len = msg[at] as number;
      labels.push(msg.subarray(at + 1, at + 1 + len).toString('latin1'));
      at += 1 + len;
    }
    const qEnd = at + 5;
    if (qEnd > msg.length) return;
    const qtype = msg.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    dns.queries.push(`${name} ${qtype === TYPE_A ? 'A' : qtype}`);
    const addrs = dns.records.get(name);
    const rcode = dns.failing ? 2 : addrs === undefined ? 3 : 0;
    const answers = rcode === 0 && qtype === TYPE_A ? (addrs as string[]) : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    const rd = (msg[2] as number) & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD echoed
    header[3] = 0x80 | rcode; // RA, rcode
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts: Buffer[] = [header, msg.subarray(12, qEnd)];
    for (const a of answers) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(TYPE_A, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(dns.ttlSeconds, 6);
      rr.writeUInt16BE(4, 10);
      a.split('.').forEach((o, k) => {
        rr[12 + k] = Number(o);
      });
      parts.push(rr);
    }
    sock.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  dns.port = (sock.address() as AddressInfo).port;
  return dns;
}
