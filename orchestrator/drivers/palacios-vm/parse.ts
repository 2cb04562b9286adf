/**
 * Parsers for what the Palacios control tools print, in their two flavours: Palacios in the Linux
 * host (palacios `linux_usr/`: v3_create, v3_launch, v3_stop, v3_free on /dev/v3vee and
 * /dev/v3-vm<N>) and Palacios inside a Kitten enclave (pisces `linux_usr/`: the same names, talking
 * to the enclave's control channel). Several of them exit 0 after a failure (v3_launch ignores its
 * result; v3_usage exits 0), so every step is confirmed from the text. Sources: README.md.
 */
import type { Parsed, ToolOutput } from '../tool-steps.js';

/** Lines that report a failure, on either stream. */
export function v3ErrorLines(out: ToolOutput): string[] {
  return `${out.stdout}\n${out.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(Error\b|ERROR\b|IOCTL error|Could not find Config option|Invalid Option format|Invalid Cfg file|Usage: |usage: )/.test(l));
}

function failed(out: ToolOutput, expected: string): { ok: false; reason: string } {
  const errors = v3ErrorLines(out);
  if (errors.length) return { ok: false, reason: `reported ${JSON.stringify(errors.join(' | '))}` };
  return { ok: false, reason: `did not print ${expected}` };
}

/** The device Palacios in Linux creates for VM `id`. */
export function hostVmDevice(id: number): string {
  return `/dev/v3-vm${id}`;
}

/** Linux host: `v3_create [-b] <img|cfg> <name> …` prints `VM (<name>) created at /dev/v3-vm<N>`. */
export function parseHostCreate(out: ToolOutput, name: string): Parsed<{ vmId: number }> {
  const m = /^VM \((.*)\) created at \/dev\/v3-vm(\d+)\s*$/m.exec(out.stdout);
  if (!m || v3ErrorLines(out).length || out.code !== 0) return failed(out, `"VM (${name}) created at /dev/v3-vm<N>"`);
  if (m[1] !== name) return { ok: false, reason: `created VM "${m[1]}"; expected "${name}"` };
  return { ok: true, vmId: Number(m[2]) };
}

/** Linux host: `v3_launch <dev>` prints `Launching VM (<dev>)` and, on failure, errors on stderr (exit 0 regardless). */
export function parseHostLaunch(out: ToolOutput, dev: string): Parsed<object> {
  if (!out.stdout.split('\n').some((l) => l.trim() === `Launching VM (${dev})`) || v3ErrorLines(out).length || out.code !== 0) return failed(out, `"Launching VM (${dev})" and no error`);
  return { ok: true };
}

export type StopResult = { ok: true; kind: 'stopped' | 'gone' | 'not-running' } | { ok: false; reason: string };

/**
 * Linux host: `v3_stop <dev>` prints `Stopping VM (<dev>)`. `Error opening V3Vee VM device: <dev>`
 * means the device node is gone (Palacios removes it when it frees the VM); an ioctl error means a
 * VM that exists but does not run.
 */
export function parseHostStop(out: ToolOutput, dev: string): StopResult {
  const errors = v3ErrorLines(out);
  if (errors.some((l) => l.startsWith('Error opening V3Vee VM device'))) return { ok: true, kind: 'gone' };
  if (errors.some((l) => l.startsWith('IOCTL error on device'))) return { ok: true, kind: 'not-running' };
  if (!out.stdout.split('\n').some((l) => l.trim() === `Stopping VM (${dev})`) || errors.length || out.code !== 0) return failed(out, `"Stopping VM (${dev})" with exit 0`);
  return { ok: true, kind: 'stopped' };
}

/** Linux host: `v3_free <N>` prints `Freeing VM <N>`; `Error freeing VM <N>` (stderr, exit 255) on failure. */
export function parseHostFree(out: ToolOutput, id: number): Parsed<object> {
  if (!new RegExp(`^Freeing VM ${id}\\s*$`, 'm').test(out.stdout) || v3ErrorLines(out).length || out.code !== 0) return failed(out, `"Freeing VM ${id}" with exit 0`);
  return { ok: true };
}

/** In an enclave: `v3_create [-b] <img|cfg> <name> <enclave dev> …` prints `Created VM (ID: <N>) on Enclave (<dev>)`. */
export function parseEnclaveCreate(out: ToolOutput, dev: string): Parsed<{ vmId: number }> {
  const m = /^Created VM \(ID: (\d+)\) on Enclave \((\S+)\)\s*$/m.exec(out.stdout);
  if (!m || v3ErrorLines(out).length || out.code !== 0) return failed(out, `"Created VM (ID: <N>) on Enclave (${dev})"`);
  if (m[2] !== dev) return { ok: false, reason: `created the VM on ${m[2]}; expected ${dev}` };
  return { ok: true, vmId: Number(m[1]) };
}

/** In an enclave: `v3_launch <dev> <N>` prints `Launching VM (<dev>)`; `Error: Could not LAUNCH VM` (exit 255) on failure. */
export function parseEnclaveLaunch(out: ToolOutput, dev: string): Parsed<object> {
  if (!out.stdout.split('\n').some((l) => l.trim() === `Launching VM (${dev})`) || v3ErrorLines(out).length || out.code !== 0) return failed(out, `"Launching VM (${dev})" with exit 0`);
  return { ok: true };
}

/**
 * In an enclave: `v3_stop <dev> <N>` / `v3_free <dev> <N>` print `Stopping VM [<N>] on enclave (<dev>)`
 * / `Freeing VM [<N>] on enclave <dev>`. `Error opening enclave control channel` means the enclave
 * is gone, and its VMs with it. `Error: Could not STOP VM` (printed by both tools) means Kitten
 * refused: the VM does not run (stop), or does not exist or still runs (free).
 */
export function parseEnclaveVmCommand(out: ToolOutput, cmd: 'stop' | 'free', dev: string, id: number): { ok: true; kind: 'done' | 'enclave-gone' | 'refused' } | { ok: false; reason: string } {
  const errors = v3ErrorLines(out);
  if (errors.some((l) => l.startsWith('Error opening enclave control channel'))) return { ok: true, kind: 'enclave-gone' };
  if (errors.length === 1 && errors[0] === 'Error: Could not STOP VM') return { ok: true, kind: 'refused' };
  const expected = cmd === 'stop' ? `Stopping VM [${id}] on enclave (${dev})` : `Freeing VM [${id}] on enclave ${dev}`;
  if (!out.stdout.split('\n').some((l) => l.trim() === expected) || errors.length || out.code !== 0) return failed(out, `"${expected}" with exit 0`);
  return { ok: true, kind: 'done' };
}
