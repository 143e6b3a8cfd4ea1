/**
 * Addresses allowed to do something without a key (scraping /metrics): exact addresses and CIDR
 * blocks, IPv4 and IPv6, matched by Node's own net.BlockList. An IPv4-mapped IPv6 address
 * (::ffff:10.0.0.1, what a dual-stack socket reports) matches as its IPv4 address.
 */
import { BlockList, isIP } from 'node:net';

export interface AddressBlock {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `fd00::/8`, `127.0.0.1` (a /32), `::1` (a /128); null when it is none of these. */
export function parseAddressBlock(s: string): AddressBlock | null {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(s);
  if (m === null) return null;
  const v = isIP(m[1]!);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) return null;
  return { address: m[1]!, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

export class AddressList {
  readonly #list = new BlockList();
  readonly size: number;

  /** Entries already checked by the configuration (parseAddressBlock). */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const b = parseAddressBlock(e)!;
      this.#list.addSubnet(b.address, b.prefix, b.family);
    }
    this.size = entries.length;
  }

  has(ip: string): boolean {
    if (this.size === 0) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const bare = mapped !== null ? mapped[1]! : ip.split('%')[0]!;
    const v = isIP(bare);
    if (v === 0) return false;
    return this.#list.check(bare, v === 4 ? 'ipv4' : 'ipv6');
  }
}
