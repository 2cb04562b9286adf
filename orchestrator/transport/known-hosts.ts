/**
 * One known_hosts entry (OpenSSH format: `[marker] hostpatterns keytype base64key [comment]`) and the
 * check the SSH transport runs on every connection: the server's host key must be the entry's key,
 * and the entry must name the host (`host`, `[host]:port`, hashed `|1|salt|hash`, or `*` patterns).
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownHost {
  patterns: string[];
  keyType: string;
  key: Buffer;
}

/** Parses one known_hosts line; throws saying what is wrong with it. */
export function parseKnownHost(line: string): KnownHost {
  const fields = line.trim().split(/\s+/);
  if (fields[0]?.startsWith('@')) throw new Error(`known_hosts entry uses the marker ${fields[0]}, which isoscope does not support: give the host's own key`);
  const [hosts, keyType, key] = fields;
  if (!hosts || !keyType || !key) throw new Error('known_hosts entry must be "hostpatterns keytype base64key", e.g. "[10.0.0.2]:22 ssh-ed25519 AAAA…"');
  if (!/^[A-Za-z0-9+/]+=*$/.test(key)) throw new Error(`known_hosts entry: the key ${JSON.stringify(key.slice(0, 20))}… is not base64`);
  const blob = Buffer.from(key, 'base64');
  // The blob starts with the key type as an SSH string; a mismatch means a mangled entry.
  const typeLen = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (typeLen < 0 || blob.subarray(4, 4 + typeLen).toString('latin1') !== keyType) {
    throw new Error(`known_hosts entry: the key blob does not hold a ${keyType} key`);
  }
  return { patterns: hosts.split(','), keyType, key: blob };
}

/** Whether the entry names `host` on `port` (port 22 is written bare, others as `[host]:port`). */
export function namesHost(entry: KnownHost, host: string, port: number): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  let matched = false;
  for (const p of entry.patterns) {
    const negated = p.startsWith('!');
    const pattern = negated ? p.slice(1) : p;
    if (matchPattern(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function matchPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** SHA256 fingerprint as OpenSSH prints it, for error messages. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}
