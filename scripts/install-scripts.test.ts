/**
 * `npm install` is clean: every dependency with an install script is reviewed in package.json's
 * `allowScripts` (npm 11 lists unreviewed ones after every install; npm 12 blocks them), and the three
 * we deny work without theirs: koffi loads its prebuilt binary from @koromix/koffi-<platform> (its
 * script only checks that prebuild, or compiles one with cmake where none exists), ssh2 falls back
 * to Node's crypto without its optional native binding, and cpu-features (ssh2's optional cipher
 * ordering helper) is not needed. The orchestrator's SSH tests and the eBPF tests use both for real.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url);
const require = createRequire(ROOT);

describe('dependencies with install scripts', () => {
  it('are all covered by allowScripts in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([path]) => path.replace(/^.*node_modules\//, '')).sort();
    expect(withScripts).toEqual(['cpu-features', 'koffi', 'ssh2']);
    const covered = Object.keys(pkg.allowScripts ?? {}).map((k) => k.replace(/(.)@.*$/, '$1')).sort();
    expect(covered, 'review the new package\'s install script and add it to allowScripts').toEqual(withScripts);
  });

  it('koffi works from its prebuilt binary: calls getpid() in libc', () => {
    const koffi = require('koffi') as { load(lib: string): { func(decl: string): () => number } };
    expect(koffi.load('libc.so.6').func('int getpid()')()).toBe(process.pid);
    expect(() => require.resolve(`@koromix/koffi-${process.platform}-${process.arch}/package.json`)).not.toThrow();
  });

  it('ssh2 loads and offers its ciphers without cpu-features', () => {
    const ssh2 = require('ssh2') as { Client: unknown; utils: { parseKey: unknown } };
    expect(typeof ssh2.Client).toBe('function');
    expect(typeof ssh2.utils.parseKey).toBe('function');
  });
});
