/**
 * Names of everything a testbed makes, all derived from its prefix (default `tb`): node i is
 * `<prefix><i>` (also its host name and inventory name), its network namespace `isoscope-<node>`,
 * the host side of its veth pair `ve-<node>`, the bridge `br-<prefix>`. Interface names stay within
 * Linux's 15 characters.
 */
import { UserError } from '../core/errors.js';

export const DEFAULT_PREFIX = 'tb';
export const MAX_NODES = 64;

const PREFIX = /^[a-z][a-z0-9]{0,6}[a-z]$|^[a-z]$/;

export function checkPrefix(prefix: string): string {
  if (!PREFIX.test(prefix)) throw new UserError(`--prefix: expected 1 to 8 lower-case letters and digits, starting and ending with a letter (node names are the prefix and a number), got "${prefix}"`);
  return prefix;
}

export const nodeName = (prefix: string, i: number) => `${prefix}${i}`;
export const netnsName = (node: string) => `isoscope-${node}`;
export const vethName = (node: string) => `ve-${node}`;
export const bridgeName = (prefix: string) => `br-${prefix}`;
/** Directory of the UTS namespace bind mounts (a tmpfs, not the user's directory). */
export const utsDir = (prefix: string) => `/run/isoscope-testbed/${prefix}`;
