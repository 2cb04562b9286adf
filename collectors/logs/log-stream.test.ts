import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logsConfigSchema } from './config.js';
import { LogStream } from './log-stream.js';
import { validEvents, validSamples } from './testing.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'isoscope-logstream-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('logsConfigSchema', () => {
  it('fills defaults and refuses unknown keys and bad times, saying where', () => {
    const c = logsConfigSchema.parse({ inputs: [{ type: 'kmsg' }, { type: 'file', path: '/x.log' }, { type: 'command', command: 'hobbes', args: ['console', 'k0'] }] });
    expect(c.inputs[0]).toEqual({ type: 'kmsg', path: '/dev/kmsg', startAt: 'end' });
    expect(c.inputs[1]).toEqual({ type: 'file', path: '/x.log', source: 'auto', startAt: 'beginning' });
    expect(() => logsConfigSchema.parse({ inputs: [{ type: 'file', path: '/x', colour: 'red' }] })).toThrow(/colour/);
    expect(() => logsConfigSchema.parse({ inputs: [{ type: 'file', path: '/x', bootTime: 'yesterday' }] })).toThrow(/expected ISO-8601 with a zone/);
    expect(() => logsConfigSchema.parse({ inputs: [{ type: 'file', path: '/x', source: 'windows' }] })).toThrow();
  });
});

describe('LogStream from config', () => {
  it('follows a file: valid events and telemetry samples, resumed after a restart without repeats', async () => {
    const path = join(dir, 'console.log');
    writeFileSync(path, '[0]:Setting up pisces instance on CPU 12 (APIC ID 24)\nV3> [vm0-0.1] telem.1 (core:0)>VMX_EXIT_HLT:\t\tCnt=42,\t\tAvg. Time=120453\n');
    const input = logsConfigSchema.parse({ inputs: [{ type: 'file', path, source: 'auto' }] }).inputs[0]!;
    let s = LogStream.fromConfig(input, join(dir, 'state'));
    await s.start();
    const first = await s.read();
    validEvents(first.events);
    validSamples(first.samples);
    expect(first.events.map((e) => e.kind)).toEqual(['enclave_boot', 'exit_stats']);
    expect(first.samples.map((s) => s.metric)).toEqual(['palacios.exit_count', 'palacios.exit_avg_cycles']);
    await s.commit();
    await s.shutdown();
    expect(readdirSync(join(dir, 'state'))).toHaveLength(1);

    appendFileSync(path, '[0]:<8>(init_task) Created VM (0)\n');
    s = LogStream.fromConfig(input, join(dir, 'state'));
    await s.start();
    const second = await s.read();
    await s.shutdown();
    expect(second.events.map((e) => e.kind)).toEqual(['vm_create']);
    expect(s.stats).toEqual({ lines: 1, unparsed: 0 });
  });

  it('turns a command that cannot connect into collector error events', async () => {
    const input = logsConfigSchema.parse({ inputs: [{ type: 'command', command: 'sh', args: ['-c', 'echo busy >&2; exit 3'] }] }).inputs[0]!;
    const s = LogStream.fromConfig(input, join(dir, 'state'));
    await s.start();
    let events: Awaited<ReturnType<LogStream['read']>>['events'] = [];
    for (let i = 0; i < 200 && events.length === 0; i++) {
      events = (await s.read()).events;
      if (!events.length) await new Promise((r) => setTimeout(r, 10));
    }
    await s.shutdown();
    validEvents(events);
    expect(events[0]).toMatchObject({ source: 'collector', kind: 'error', fields: { value: 3 } });
    expect(events[0]!.message).toMatch(/could not connect.*stderr: busy/);
  });
});
