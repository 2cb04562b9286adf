/**
 * The systemd units as systemd reads them: `systemd-analyze verify` (directives, ExecStart
 * executable), `systemd-analyze security --offline` (exposure of the hardening), the collector's
 * syscall filter really admitting perf_event_open and bpf, and every ExecStart an isoscope command
 * line the CLI accepts. No systemd runs here (not PID 1), so the units are checked, not started.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/temp-dirs.js';
import { BIN, checkCommandLine, tool } from '../testing.js';

const tempDir = tempDirs('isoscope-units-');
const here = new URL('.', import.meta.url).pathname;
const units = readdirSync(here).filter((f) => f.endsWith('.service')).sort();
const INSTALLED = '/usr/local/bin/isoscope';

/** The units in a temporary directory, ExecStart's /usr/local/bin/isoscope pointing at this checkout's CLI. */
function stage(edit: (name: string, text: string) => string = (_n, t) => t): string {
  const dir = tempDir();
  const wrapper = join(dir, 'isoscope');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  for (const u of units) writeFileSync(join(dir, u), edit(u, readFileSync(join(here, u), 'utf8')).replaceAll(INSTALLED, wrapper));
  return dir;
}

function directive(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

describe('deploy/systemd units', () => {
  it('are the collector, ingest, query and alerts units', () => {
    expect(units).toEqual(['isoscope-alerts.service', 'isoscope-collector.service', 'isoscope-ingest.service', 'isoscope-query.service']);
  });

  it('pass systemd-analyze verify without a warning', async () => {
    const dir = stage();
    const r = await tool('systemd-analyze', ['verify', '--man=no', ...units.map((u) => join(dir, u))]);
    expect({ code: r.code, output: (r.stdout + r.stderr).trim() }).toEqual({ code: 0, output: '' });
  });

  it('would fail verify on a misspelt directive (the check can fail)', async () => {
    const dir = stage((name, text) => (name === 'isoscope-ingest.service' ? text.replace('Restart=always', 'Restrat=always') : text));
    const r = await tool('systemd-analyze', ['verify', '--man=no', join(dir, 'isoscope-ingest.service')]);
    expect(r.stderr).toMatch(/Unknown key 'Restrat' in section \[Service\]/);
  });

  it('restart on failure, and the central services are hardened (exposure below 2 of 10)', async () => {
    const dir = stage();
    for (const u of units) {
      const text = readFileSync(join(here, u), 'utf8');
      expect(directive(text, 'Restart'), u).toEqual(['always']);
      expect(directive(text, 'NoNewPrivileges'), u).toEqual(['yes']);
      const r = await tool('systemd-analyze', ['security', '--offline=yes', join(dir, u)]);
      const level = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1]);
      // The collector keeps root and the capabilities perf and eBPF need, which systemd scores high.
      expect(level, `${u}:\n${r.stdout}`).toBeLessThanOrEqual(u === 'isoscope-collector.service' ? 4.5 : 2);
    }
  });

  it("the collector's syscall filter admits perf_event_open, bpf and mount; the others' admit neither", async () => {
    const allowed = async (u: string) => {
      const groups = directive(readFileSync(join(here, u), 'utf8'), 'SystemCallFilter').filter((f) => !f.startsWith('~')).flatMap((f) => f.split(/\s+/));
      const names = new Set<string>();
      const seen = new Set<string>();
      const add = async (g: string): Promise<void> => {
        if (!g.startsWith('@')) return void names.add(g);
        if (seen.has(g)) return;
        seen.add(g);
        // A group lists syscalls and nested groups, one per indented line.
        for (const line of (await tool('systemd-analyze', ['syscall-filter', g])).stdout.split('\n')) if (/^\s+@?[a-z_0-9-]+$/.test(line)) await add(line.trim());
      };
      for (const g of groups) await add(g);
      return names;
    };
    const collector = await allowed('isoscope-collector.service');
    for (const s of ['perf_event_open', 'bpf', 'mount', 'openat', 'epoll_wait']) expect(collector.has(s), s).toBe(true);
    expect(directive(readFileSync(join(here, 'isoscope-collector.service'), 'utf8'), 'MemoryDenyWriteExecute')).toEqual([]);
    for (const u of units.filter((x) => x !== 'isoscope-collector.service')) {
      const names = await allowed(u);
      expect(names.has('openat'), u).toBe(true);
      expect(names.has('perf_event_open') || names.has('bpf'), u).toBe(false);
    }
  });

  it('run isoscope commands and options that exist', async () => {
    for (const u of units) {
      const [exec] = directive(readFileSync(join(here, u), 'utf8'), 'ExecStart');
      const argv = exec!.split(/\s+/);
      expect(argv[0], u).toBe(INSTALLED);
      expect(await checkCommandLine(argv.slice(1)), `${u}: ${exec}`).toEqual([]);
    }
  });
});
