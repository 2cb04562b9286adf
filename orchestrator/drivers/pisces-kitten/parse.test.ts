import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ToolOutput } from '../tool-steps.js';
import { errorLines, parseAddCpus, parseAddMemory, parseEnclaveProc, parseLaunch, parseLoad, parseShutdown } from './parse.js';

/** A recorded output (testdata/<name>.out, stdout as the real tool prints it) with its exit code. */
const rec = (name: string, code: number): ToolOutput => ({ code, stdout: readFileSync(join(import.meta.dirname, 'testdata', `${name}.out`), 'utf8'), stderr: '' });

describe('Pisces tool output parsers', () => {
  it('pisces_load: enclave id from "Enclave Created", whatever the exit code (it exits with the id)', () => {
    expect(parseLoad(rec('load-ok', 1))).toEqual({ ok: true, enclaveId: 1 });
    expect(parseLoad(rec('load-error', 255))).toEqual({ ok: false, reason: 'reported "Error: Could not create enclave (Error Code: -1)"' });
    expect(parseLoad({ code: 139, stdout: '', stderr: '' })).toEqual({ ok: false, reason: 'did not print "Enclave Created: /dev/pisces-enclave<N>"' });
  });

  it('pisces_launch: boot CPU and blocks confirmed, every failure path refused', () => {
    const expect1 = { enclaveId: 1, cpu: 2, blocks: 1 };
    expect(parseLaunch(rec('launch-ok', 0), expect1)).toEqual({ ok: true, cpu: 2, blocks: 1 });
    expect(parseLaunch(rec('launch-ok', 0), { ...expect1, cpu: 3 })).toMatchObject({ ok: false, reason: expect.stringContaining('on CPU 2 with 1 memory blocks; expected /dev/pisces-enclave1 on CPU 3') });
    expect(parseLaunch(rec('launch-cpu-busy', 255), expect1)).toEqual({ ok: false, reason: 'reported "Error offlining CPU 2 | Error: Could not launch enclave 1"' });
    expect(parseLaunch(rec('launch-no-memory', 255), expect1)).toMatchObject({ ok: false, reason: expect.stringContaining('Could not offline 4 contiguous memory blocks') });
    expect(parseLaunch(rec('launch-ioctl', 255), expect1)).toMatchObject({ ok: false, reason: expect.stringContaining('Error launching enclave. Code=-1') });
  });

  it('pisces_ctrl -m: one "Adding memory range" per block; an error line fails it even with exit 0', () => {
    expect(parseAddMemory(rec('ctrl-mem-ok', 0), { enclaveId: 1, blocks: 2 })).toEqual({ ok: true, ranges: ['0x28000000', '0x30000000'] });
    expect(parseAddMemory(rec('ctrl-mem-ok', 0), { enclaveId: 1, blocks: 3 })).toEqual({ ok: false, reason: 'added 2 memory ranges to /dev/pisces-enclave1; expected 3' });
    expect(parseAddMemory(rec('ctrl-mem-add-failed', 0), { enclaveId: 1, blocks: 2 })).toMatchObject({ ok: false, reason: expect.stringContaining('Could not add memory block 5') });
    expect(parseAddMemory(rec('ctrl-mem-short', 255), { enclaveId: 1, blocks: 24 })).toMatchObject({ ok: false, reason: expect.stringContaining('Could not allocate 24 memory blocks') });
    expect(parseAddMemory(rec('ctrl-no-enclave', 255), { enclaveId: 7, blocks: 1 })).toMatchObject({ ok: false, reason: expect.stringContaining('Error opening enclave control channel') });
  });

  it('pisces_ctrl --explicit --cpu: silent success; failures name the CPUs it leaves offline', () => {
    expect(parseAddCpus({ code: 0, stdout: '', stderr: '' })).toEqual({ ok: true });
    const r = parseAddCpus(rec('ctrl-cpu-errors', 0));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/Could not offline CPU 9 \| Error: Could not add CPU 4 to enclave.*leaves CPU 4 offline/);
  });

  it('/proc/pisces/enclave-N: CPUs and memory as teardown.c reads them', () => {
    expect(parseEnclaveProc(rec('proc-enclave', 0).stdout)).toEqual({ ok: true, cpus: [2, 3, 4], memBytes: 3 * 128 * 2 ** 20, blocks: 3 });
    expect(parseEnclaveProc(rec('proc-truncated', 0).stdout)).toEqual({ ok: false, reason: 'lists 1 CPUs under "Num CPUs: 2"' });
    expect(parseEnclaveProc('cat: /proc/pisces/enclave-3/cpus: No such file or directory')).toMatchObject({ ok: false });
  });

  it('pisces_shutdown: freed with what came back online; missing enclave = gone; unbooted enclave = failure', () => {
    expect(parseShutdown(rec('shutdown-ok', 0))).toEqual({ ok: true, kind: 'freed', cpus: [4, 3, 2], blocks: [6, 5, 4] });
    expect(parseShutdown(rec('shutdown-gone', 255))).toEqual({ ok: true, kind: 'gone' });
    expect(parseShutdown(rec('shutdown-not-booted', 255))).toEqual({ ok: false, reason: 'reported "Error opening enclave control channel (/dev/pisces-enclave1)"' });
  });

  it('error lines: Error…, petlib Error>, Invalid Enclave Requested and usage text', () => {
    expect(errorLines({ code: 0, stdout: 'ok\nInvalid Enclave Requested (x)\nUsage: pisces_launch <enclave_dev_path>', stderr: 'Error> enclave.c(88): Could not find enclave (-1)\n' })).toEqual([
      'Invalid Enclave Requested (x)',
      'Usage: pisces_launch <enclave_dev_path>',
      'Error> enclave.c(88): Could not find enclave (-1)',
    ]);
  });
});
