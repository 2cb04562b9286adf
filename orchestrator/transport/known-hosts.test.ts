import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/temp-dirs.js';
import { fingerprint, namesHost, parseKnownHost } from './known-hosts.js';

const tempDir = tempDirs('isoscope-known-hosts-');

function keyLine(): { type: string; key: string; dir: string } {
  const dir = tempDir();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
  const [type, key] = readFileSync(join(dir, 'k.pub'), 'utf8').trim().split(/\s+/);
  return { type: type!, key: key!, dir };
}

describe('known_hosts entries', () => {
  it('matches plain, [host]:port, wildcard and negated patterns', () => {
    const { type, key } = keyLine();
    const e = parseKnownHost(`node1,10.0.0.*,[10.0.0.9]:2222,!10.0.0.66 ${type} ${key} comment`);
    expect(e.keyType).toBe('ssh-ed25519');
    expect(namesHost(e, 'node1', 22)).toBe(true);
    expect(namesHost(e, '10.0.0.5', 22)).toBe(true);
    expect(namesHost(e, '10.0.0.66', 22)).toBe(false);
    expect(namesHost(e, '10.0.0.9', 2222)).toBe(true);
    expect(namesHost(e, 'node1', 2222)).toBe(false);
  });

  it('matches entries hashed by ssh-keygen -H', () => {
    const { type, key, dir } = keyLine();
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `[127.0.0.1]:2200 ${type} ${key}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const hashed = readFileSync(file, 'utf8').trim();
    expect(hashed.startsWith('|1|')).toBe(true);
    const e = parseKnownHost(hashed);
    expect(namesHost(e, '127.0.0.1', 2200)).toBe(true);
    expect(namesHost(e, '127.0.0.1', 2201)).toBe(false);
  });

  it('prints fingerprints as ssh-keygen -l does, and refuses unusable entries', () => {
    const { type, key, dir } = keyLine();
    const sshKeygen = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')]).toString().split(' ')[1];
    expect(fingerprint(Buffer.from(key, 'base64'))).toBe(sshKeygen);
    expect(() => parseKnownHost(`@cert-authority * ${type} ${key}`)).toThrow(/marker @cert-authority/);
    expect(() => parseKnownHost('onlyhost')).toThrow(/must be "hostpatterns keytype base64key"/);
    expect(() => parseKnownHost(`h ssh-rsa ${key}`)).toThrow(/does not hold a ssh-rsa key/);
  });
});
