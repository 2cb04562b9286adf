/**
 * Parsers for what the Pisces host tools print (drouyang/pisces `linux_usr/`), pure functions from
 * a tool's output to "confirmed, with these values" or "not confirmed, because". The tools report
 * most failures only in their output (pisces_ctrl exits 0 after `Error: Could not add CPU …`,
 * pisces_load exits with the enclave id), so every step is confirmed from the text. The source
 * function of each line is listed in README.md.
 */
import type { Parsed, ToolOutput } from '../tool-steps.js';

export type { Parsed };

/** Lines that report a failure: `Error…` (pisces tools, petlib), `Invalid Enclave Requested`, `Usage:`. */
export function errorLines(out: ToolOutput): string[] {
  return `${out.stdout}\n${out.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(Error\b|Error>|ERROR\b|Invalid Enclave Requested|Usage: |usage: )/.test(l));
}

function failed(out: ToolOutput, expected: string): { ok: false; reason: string } {
  const errors = errorLines(out);
  if (errors.length) return { ok: false, reason: `reported ${JSON.stringify(errors.join(' | '))}` };
  return { ok: false, reason: `did not print ${expected}` };
}

/** The enclave device path Pisces gives enclave `id`. */
export function enclaveDevice(id: number): string {
  return `/dev/pisces-enclave${id}`;
}

/**
 * `pisces_load <kernel> <initrd> <cmdline>` prints `Enclave Created: /dev/pisces-enclave<N>` and
 * exits with N (so exit 1 is enclave 1, not a failure); failures print `Error: Could not create
 * enclave (Error Code: <errno>)` and exit 255.
 */
export function parseLoad(out: ToolOutput): Parsed<{ enclaveId: number }> {
  const m = /^Enclave Created: \/dev\/pisces-enclave(\d+)\s*$/m.exec(out.stdout);
  if (!m || errorLines(out).length) return failed(out, '"Enclave Created: /dev/pisces-enclave<N>"');
  return { ok: true, enclaveId: Number(m[1]) };
}

/**
 * `pisces_launch -c CPU -m BLOCKS [-n NUMA] <dev>` prints `Memory blocks offlined: <n>` and
 * `Launching Enclave (<dev>) on CPU <cpu>`, exit 0. On failure it onlines what it took and prints
 * `Error: Could not launch enclave <id>` after the cause, exit 255.
 */
export function parseLaunch(out: ToolOutput, expect: { enclaveId: number; cpu: number; blocks: number }): Parsed<{ cpu: number; blocks: number }> {
  const dev = enclaveDevice(expect.enclaveId);
  const mem = /^Memory blocks offlined: (\d+)\s*$/m.exec(out.stdout);
  const launch = /^Launching Enclave \((\S+)\) on CPU (\d+)\s*$/m.exec(out.stdout);
  if (!mem || !launch || errorLines(out).length || out.code !== 0) return failed(out, `"Memory blocks offlined: ${expect.blocks}" and "Launching Enclave (${dev}) on CPU ${expect.cpu}" with exit 0`);
  const cpu = Number(launch[2]);
  const blocks = Number(mem[1]);
  if (launch[1] !== dev || cpu !== expect.cpu || blocks !== expect.blocks) {
    return { ok: false, reason: `launched ${launch[1]} on CPU ${cpu} with ${blocks} memory blocks; expected ${dev} on CPU ${expect.cpu} with ${expect.blocks}` };
  }
  return { ok: true, cpu, blocks };
}

/**
 * `pisces_ctrl -m <n> [-n NUMA] <dev>` prints `Adding memory range (<addr>) to enclave <dev>` per
 * block; `Error: Could not add memory block <b> to enclave` for one that failed (still exit 0);
 * `Error: Could not allocate <n> memory blocks` (exit 255) when the host has too few free.
 */
export function parseAddMemory(out: ToolOutput, expect: { enclaveId: number; blocks: number }): Parsed<{ ranges: string[] }> {
  const dev = enclaveDevice(expect.enclaveId);
  const ranges = [...out.stdout.matchAll(/^Adding memory range \((\S+)\) to enclave (\S+)\s*$/gm)].filter((m) => m[2] === dev).map((m) => m[1]!);
  if (errorLines(out).length || out.code !== 0) return failed(out, `${expect.blocks} "Adding memory range (…) to enclave ${dev}" lines`);
  if (ranges.length !== expect.blocks) return { ok: false, reason: `added ${ranges.length} memory ranges to ${dev}; expected ${expect.blocks}` };
  return { ok: true, ranges };
}

/**
 * `pisces_ctrl --explicit --cpu=<a,b> <dev>` prints nothing on success and, per CPU that failed,
 * `Error: Could not offline CPU <c>` or `Error: Could not add CPU <c> to enclave` (exit 0 either
 * way), so success is "exit 0 and no error line", confirmed afterwards from /proc.
 */
export function parseAddCpus(out: ToolOutput): Parsed<object> {
  if (errorLines(out).length || out.code !== 0) {
    const f = failed(out, 'nothing (it is silent on success) and exit 0');
    // The explicit path offlines a CPU before adding it and does not online it when the add fails.
    const stranded = [...out.stdout.matchAll(/^Error: Could not add CPU (\d+) to enclave/gm)].map((m) => m[1]);
    if (stranded.length) f.reason += `; pisces_ctrl leaves CPU ${stranded.join(', ')} offline after a failed add (echo 1 > /sys/devices/system/cpu/cpuN/online brings it back)`;
    return f;
  }
  return { ok: true };
}

/**
 * The enclave's proc files as teardown.c reads them: `cpus` is `Num CPUs: <n>` then `CPU <id>`
 * lines; `memory` is `Num Memory Blocks: <n>` then `<i>: <start> - <end>` with 16-hex-digit
 * addresses. `text` is both files concatenated (one `cat`).
 */
export function parseEnclaveProc(text: string): Parsed<{ cpus: number[]; memBytes: number; blocks: number }> {
  const cpuHdr = /^Num CPUs: (\d+)\s*$/m.exec(text);
  const memHdr = /^Num Memory Blocks: (\d+)\s*$/m.exec(text);
  if (!cpuHdr || !memHdr) return { ok: false, reason: `did not contain "Num CPUs: <n>" and "Num Memory Blocks: <n>" (got ${JSON.stringify(text.slice(0, 200))})` };
  const cpus = [...text.matchAll(/^CPU (\d+)\b.*$/gm)].map((m) => Number(m[1]));
  const ranges = [...text.matchAll(/^\d+: ([0-9A-Fa-f]{16}) - ([0-9A-Fa-f]{16})\s*$/gm)];
  if (cpus.length !== Number(cpuHdr[1])) return { ok: false, reason: `lists ${cpus.length} CPUs under "Num CPUs: ${cpuHdr[1]}"` };
  if (ranges.length !== Number(memHdr[1])) return { ok: false, reason: `lists ${ranges.length} memory ranges under "Num Memory Blocks: ${memHdr[1]}"` };
  const memBytes = ranges.reduce((s, m) => s + (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)), 0);
  return { ok: true, cpus: cpus.sort((a, b) => a - b), memBytes, blocks: ranges.length };
}

export type ShutdownResult =
  | { ok: true; kind: 'freed'; cpus: number[]; blocks: number[] }
  | { ok: true; kind: 'gone' }
  | { ok: false; reason: string };

/**
 * `pisces_shutdown <id>` reads the enclave's proc files, sends the shutdown command, frees the
 * enclave and onlines its resources (`Freeing enclave`, `Onlining CPU <c>`, `Onlining MEM block: <b>`).
 * An enclave that does not exist fails at the first proc file: `Error: Could not open CPU proc file`
 * (exit 255), which destroy treats as already gone. One that was loaded but never launched fails at
 * `Error opening enclave control channel (<dev>)` and stays allocated.
 */
export function parseShutdown(out: ToolOutput): ShutdownResult {
  const errors = errorLines(out);
  if (errors.some((l) => l.startsWith('Error: Could not open CPU proc file')) && !/^Freeing enclave/m.test(out.stdout)) return { ok: true, kind: 'gone' };
  if (errors.length || out.code !== 0 || !/^Freeing enclave\s*$/m.test(out.stdout)) return failed(out, '"Freeing enclave" with exit 0');
  const cpus = [...out.stdout.matchAll(/^Onlining CPU (\d+)\s*$/gm)].map((m) => Number(m[1]));
  const blocks = [...out.stdout.matchAll(/^Onlining MEM block: (\d+)\s*$/gm)].map((m) => Number(m[1]));
  return { ok: true, kind: 'freed', cpus, blocks };
}
