/**
 * scripts/prerequisites.sh is the one list of system packages: `npm test` runs it (pretest) and
 * `.ci/run` runs it, and neither carries a list of its own, so the two install the same packages.
 * Its --list is well-formed and its --check names exactly what is missing; without root it stops at
 * once with the one command to run.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../test/temp-dirs.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'scripts/prerequisites.sh');
const tempDir = tempDirs('isoscope-prereq-');

/** The table of the script's packages() heredoc: package, presence test. */
function table(): { pkg: string; test: string }[] {
  const text = readFileSync(SCRIPT, 'utf8');
  const body = /packages\(\) \{\n\s*cat <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(text)?.[1];
  expect(body, 'the packages() heredoc of scripts/prerequisites.sh').toBeTruthy();
  return body!.split('\n').filter((l) => l.trim()).map((l) => {
    const [pkg, test] = l.trim().split(/\s+/);
    return { pkg: pkg!, test: test! };
  });
}

function script(args: string[], env: Record<string, string> = {}, prefix: string[] = [], file = SCRIPT) {
  const [cmd, ...rest] = [...prefix, '/bin/bash', file, ...args];
  return spawnSync(cmd!, rest, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

/** A PATH holding only the tools the script itself needs, so every command-tested package is missing. */
function barePath(): string {
  const parent = tempDir();
  chmodSync(parent, 0o755); // readable by the unprivileged user of the no-root case
  const dir = join(parent, 'bin');
  mkdirSync(dir);
  for (const tool of ['awk', 'grep', 'sed', 'head', 'wc', 'id', 'ldconfig', 'cat']) {
    const found = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => join(d, tool)).find(existsSync);
    if (found) symlinkSync(found, join(dir, tool));
  }
  return dir;
}

describe('scripts/prerequisites.sh, the one list of system packages', () => {
  it('is what both `npm test` (pretest) and .ci/run run, and neither has a list of its own', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toBe('scripts/prerequisites.sh');
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^scripts\/prerequisites\.sh$/m);
    expect(ci).not.toMatch(/apt(-get)?\s+install|dpkg\s+-i/);
    for (const name of Object.values(pkg.scripts)) expect(name).not.toMatch(/apt(-get)?\s+install/);
    // No package of the table is named in .ci/run: a second list would drift.
    const code = ci.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
    for (const { pkg: name } of table()) expect(code, name).not.toMatch(new RegExp(`(^|\\s)${name.replace(/[.+]/g, '\\$&')}(\\s|$)`, 'm'));
  });

  it('--list prints the table\'s package names, one a line, well-formed and without repeats', () => {
    const r = script(['--list']);
    expect(r.status).toBe(0);
    const names = r.stdout.trim().split('\n');
    expect(names).toEqual(table().map((t) => t.pkg));
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    expect(names).toEqual(expect.arrayContaining(['clang', 'bpftool', 'libbpf-dev', 'openjdk-17-jdk-headless', 'maven']));
    expect(table().every((t) => t.test.length > 0)).toBe(true);
  });

  it('--check names exactly the packages whose command is missing, exit 1', () => {
    const r = script(['--check'], { PATH: barePath() });
    expect(r.status, r.stderr).toBe(1);
    const missing = r.stdout.trim().split('\n').map((l) => l.replace(/^missing: /, ''));
    const byCommand = table().filter((t) => !t.test.startsWith('/') && !t.test.startsWith('lib:')).map((t) => t.pkg);
    expect(missing, r.stdout + r.stderr).toEqual(byCommand);
  });

  it('--check on this machine (CI installs everything first) reports nothing missing, or exactly what is', () => {
    const r = script(['--check']);
    const missing = r.stdout.trim() ? r.stdout.trim().split('\n') : [];
    expect(r.status).toBe(missing.length ? 1 : 0);
    for (const line of missing) expect(line).toMatch(/^missing: /);
  });

  it('without root, stops at once with the one command to run (exit 1, installs nothing)', (ctx) => {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) return ctx.skip('needs root to drop to another user (setpriv)');
    // A copy the other user can read: the checkout itself may sit under a 0700 directory (mktemp -d).
    const readable = tempDir();
    chmodSync(readable, 0o755);
    const copy = join(readable, 'prerequisites.sh');
    copyFileSync(SCRIPT, copy);
    chmodSync(copy, 0o644);
    const r = script([], { PATH: barePath() }, ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], copy);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^prerequisites: these system packages are missing: openjdk-17-jdk-headless maven /m);
    expect(r.stderr).toMatch(/^ {2}sudo apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven /m);
    expect(r.stdout).not.toMatch(/installing/);
  });

  it('rejects an unknown option with exit 2', () => {
    const r = script(['--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });
});
