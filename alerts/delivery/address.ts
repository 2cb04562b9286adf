/**
 * Where a webhook may go: receivers whose host resolves to a private, loopback, link-local,
 * carrier-grade-NAT, unique-local or unspecified address are refused unless the receiver sets
 * `allowPrivate` (a rules file must not turn isoscope into a probe of the lab's internal network).
 * The check runs on the addresses actually connected to (see deliver.ts), so DNS cannot swap them
 * between check and connection.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

const V4_PRIVATE: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['192.0.0.0', 24], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

const v4 = (a: string) => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;

/**
 * Whether an IP address is not publicly routable.
 * @example isPrivateAddress('127.0.0.1') === true; isPrivateAddress('93.184.216.34') === false
 */
export function isPrivateAddress(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) {
    const n = v4(address);
    return V4_PRIVATE.some(([base, bits]) => (n >>> (32 - bits)) === (v4(base) >>> (32 - bits)));
  }
  if (kind === 6) {
    const a = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    if (mapped) return isPrivateAddress(mapped[1]!);
    if (a === '::' || a === '::1') return true;
    const first = parseInt(a.split(':')[0] || '0', 16);
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
  }
  return true; // not an address at all: refuse
}

/** The addresses `host` resolves to (a literal IP resolves to itself). */
export async function resolveHost(host: string): Promise<{ address: string; family: number }[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const kind = isIP(bare);
  if (kind) return [{ address: bare, family: kind }];
  return lookup(bare, { all: true, verbatim: true });
}

/** A receiver refused by the address policy: permanent, retrying cannot help. */
export class AddressRefused extends Error {
  override name = 'AddressRefused';
  readonly permanent = true;
}

/**
 * Resolves the receiver's host and picks the address to connect to.
 * @throws AddressRefused when an address is private and private receivers are not allowed.
 */
export async function checkedAddress(url: URL, allowPrivate: boolean): Promise<{ address: string; family: number }> {
  const all = await resolveHost(url.hostname);
  if (all.length === 0) throw new Error(`${url.hostname} resolves to no address`);
  if (!allowPrivate) {
    const bad = all.find((a) => isPrivateAddress(a.address));
    if (bad) throw new AddressRefused(`receiver ${url.origin} resolves to ${bad.address}, a private/loopback address; set allowPrivate: true on the receiver to deliver there`);
  }
  return all[0]!;
}
