import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { validate } from '../../schema/codec.js';
import { perfCapability, skipForMissingCapability } from '../perf/kernel-gate.js';
import { probeCapabilities } from './capabilities.js';
import { inventoryConfigSchema } from './config.js';
import { InventorySource, readInventory } from './inventory.js';

const capability = perfCapability();

describe('capabilities of this machine', () => {
  it('says whether hardware counters exist as `perf stat -e cycles` does', async (ctx) => {
    if (!capability.ok) skipForMissingCapability(ctx.skip, capability.why);
    const perf = spawnSync('perf', ['stat', '-x,', '-e', 'cycles', 'true'], { encoding: 'utf8' });
    if (perf.error) throw new Error(`The reference \`perf stat\` could not be started (${perf.error.message}); install the Debian package linux-perf.`);
    const line = perf.stderr.split('\n').find((l) => l.split(',')[2]?.startsWith('cycles'));
    if (!line) throw new Error(`\`perf stat -e cycles\` printed no cycles line; its output:\n${perf.stderr}`);
    const perfHasCycles = /^\d+,/.test(line); // "<not supported>,,cycles,…" where there is no PMU
    const { hardwareCounters } = await probeCapabilities();
    expect(hardwareCounters.available).toBe(perfHasCycles);
    if (!perfHasCycles) expect(hardwareCounters.detail).toMatch(/^cycles: not supported on this machine \((ENOENT|EOPNOTSUPP|ENODEV)/);
  });

  it('says tracepoints are available where tracefs is mounted or root can mount it', async () => {
    const mounted = /\stracefs\s/.test(readFileSync('/proc/mounts', 'utf8'));
    const mountable = process.getuid?.() === 0 && /\btracefs\b/.test(readFileSync('/proc/filesystems', 'utf8'));
    const { tracepoints } = await probeCapabilities();
    expect(tracepoints.available).toBe(mounted || mountable);
  });

  it('says BPF is available when the kernel has bpf(2) and we are root or unprivileged BPF is allowed', async () => {
    const sysctl = '/proc/sys/kernel/unprivileged_bpf_disabled'; // exists only with CONFIG_BPF_SYSCALL
    const hasBpf = existsSync(sysctl);
    const allowed = process.getuid?.() === 0 || (hasBpf && readFileSync(sysctl, 'utf8').trim() === '0');
    const { bpf } = await probeCapabilities();
    expect(bpf.available).toBe(hasBpf && allowed);
    if (!bpf.available) expect(bpf.detail).toMatch(/EPERM|ENOSYS|koffi/);
  });
});

describe('inventory of this machine', () => {
  it('matches what Node sees of the machine and makes a valid event', async () => {
    const inv = await readInventory(inventoryConfigSchema.parse({}));
    expect(inv.kernel.release).toBe(release());
    expect(inv.cpu.logical).toBe(cpus().length);
    expect(inv.cpu.cores * inv.cpu.threadsPerCore).toBe(inv.cpu.logical);
    expect(inv.capabilities).not.toBeNull();
    const source = new InventorySource(inventoryConfigSchema.parse({}));
    await source.start();
    const t0 = performance.now();
    const event = (await source.collect())!;
    const ms = performance.now() - t0;
    process.stderr.write(`inventory collect() on this machine: ${ms.toFixed(1)} ms, ${JSON.stringify(event.fields).length} bytes of fields\n`);
    expect(() => validate('events', [{ ...event, ts: 1n, node: 'n', collector: 'c', seq: 0, idx: 0 }])).not.toThrow();
    await source.shutdown();
  });
});
