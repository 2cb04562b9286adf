/**
 * The testbed's addresses: an IPv4 subnet of the project's own (default 198.18.213.0/24, from the
 * benchmarking range 198.18.0.0/15 that is never routed on the internet), the bridge at its first
 * address and node i at the 10+i-th. There is no uplink and no default route, so no packet leaves.
 */
import { UserError } from '../core/errors.js';

export const DEFAULT_SUBNET = '198.18.213.0/24';

export interface Subnet {
  /** As given, normalised: `198.18.213.0/24`. */
  cidr: string;
  prefixLength: number;
  network: number;
  /** The bridge's address (host side). */
  bridge: string;
  /** Address of node i (1-based). */
  node(i: number): string;
  /** How many nodes fit. */
  capacity: number;
  contains(address: string): boolean;
}

export function parseSubnet(text: string): Subnet {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const len = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || len < 16 || len > 28) {
    throw new UserError(`--subnet: expected an IPv4 network like ${DEFAULT_SUBNET} with a prefix length of 16 to 28, got "${text}"`);
  }
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const value = octets.reduce((a, o) => (a << 8) + o, 0) >>> 0;
  const network = (value & mask) >>> 0;
  if (network !== value) throw new UserError(`--subnet: ${text} has host bits set; the network is ${toText(network)}/${len}`);
  const size = 2 ** (32 - len);
  return {
    cidr: `${toText(network)}/${len}`,
    prefixLength: len,
    network,
    bridge: toText(network + 1),
    node: (i) => toText(network + 10 + i),
    capacity: size - 12, // network, bridge, 8 spare, the node range, broadcast
    contains: (address) => {
      const a = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
      if (!a) return false;
      const v = a.slice(1, 5).map(Number).reduce((x, o) => (x << 8) + o, 0) >>> 0;
      return ((v & mask) >>> 0) === network;
    },
  };
}

function toText(v: number): string {
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}
