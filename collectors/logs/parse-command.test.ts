import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCommand } from '../../cli/commands/parse.js';
import { isoToNs } from './time.js';

const fixture = (p: string) => new URL(`./${p}`, import.meta.url).pathname;

async function run(args: string[]): Promise<{ out: Record<string, unknown>[]; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  try {
    await parseCommand().exitOverride().parseAsync(args, { from: 'user' });
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), err };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('isoscope parse', () => {
  it('prints one JSON event per line with ts as a decimal string and the columns in order', async () => {
    const { out } = await run(['--node', 'lab-07', '--boot-time', '2026-11-24T09:00:00Z', fixture('linux/testdata/dmesg-full.log')]);
    expect(out).toHaveLength(17);
    const e = out.find((x) => String(x.raw).includes('Enclave created'))!;
    expect(Object.keys(e)).toEqual(['ts', 'node', 'source', 'level', 'kind', 'vm', 'vcore', 'pcore', 'message', 'fields', 'raw']);
    expect(e).toMatchObject({ node: 'lab-07', source: 'pisces', kind: 'enclave_create', fields: { enclave: 0 } });
    expect(BigInt(e.ts as string)).toBe(isoToNs('2026-11-24T09:00:00Z') + 812_004_117_000n);
  });

  it('anchors a replayed Kitten console on --launch-time and reads several files in order', async () => {
    const launch = '2026-11-24T16:13:00Z';
    const { out } = await run(['--source', 'kitten', '--launch-time', launch, fixture('kitten/testdata/full.log'), fixture('pisces/testdata/partial.log')]);
    expect(out[0]).toMatchObject({ kind: 'boot', ts: isoToNs(launch).toString() });
    expect(out[2]).toMatchObject({ kind: 'enclave_boot', ts: (isoToNs(launch) + 2n).toString() });
    expect(out).toHaveLength(31 + 3);
  });

  it('fails with the file name when a file cannot be read, and refuses a bad option value', async () => {
    const { err } = await run([fixture('no-such.log')]);
    expect(err).toMatch(/^isoscope parse: cannot read .*no-such\.log: .*expected a readable log file/);
    expect(process.exitCode).toBe(1);
    await expect(run(['--boot-time', 'monday', fixture('kitten/testdata/full.log')])).rejects.toThrow(/--boot-time: invalid time "monday"/);
    await expect(run(['--source', 'windows', fixture('kitten/testdata/full.log')])).rejects.toThrow(/expected one of auto, kitten/);
  });
});
