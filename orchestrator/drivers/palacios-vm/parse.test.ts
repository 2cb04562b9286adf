import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ToolOutput } from '../tool-steps.js';
import { parseEnclaveCreate, parseEnclaveLaunch, parseEnclaveVmCommand, parseHostCreate, parseHostFree, parseHostLaunch, parseHostStop, v3ErrorLines } from './parse.js';

/** A recorded output: testdata/<name>.out (stdout) and .err (stderr, when the tool writes there). */
const rec = (name: string, code: number): ToolOutput => {
  const f = (ext: string) => join(import.meta.dirname, 'testdata', `${name}.${ext}`);
  return { code, stdout: readFileSync(f('out'), 'utf8'), stderr: existsSync(f('err')) ? readFileSync(f('err'), 'utf8') : '' };
};

describe('Palacios tool output parsers: Palacios in the Linux host', () => {
  it('v3_create: VM id from "VM (<name>) created at /dev/v3-vm<N>"', () => {
    expect(parseHostCreate(rec('host-create-ok', 0), 'guest0')).toEqual({ ok: true, vmId: 0 });
    expect(parseHostCreate(rec('host-create-build-ok', 0), 'guest0')).toEqual({ ok: true, vmId: 1 });
    expect(parseHostCreate(rec('host-create-ok', 0), 'other')).toEqual({ ok: false, reason: 'created VM "guest0"; expected "other"' });
    expect(parseHostCreate(rec('host-create-nodev', 255), 'guest0')).toEqual({ ok: false, reason: 'reported "Error (-1) creating VM | Error opening V3Vee control device"' });
    expect(parseHostCreate(rec('host-create-usage', 0), 'guest0')).toMatchObject({ ok: false, reason: expect.stringContaining('Usage: v3_create [-b] <guest_img>') });
    expect(parseHostCreate(rec('host-create-badopt', 255), 'guest0')).toMatchObject({ ok: false, reason: expect.stringContaining('Could not find Config option (cores) in XML file') });
  });

  it('v3_launch: exits 0 even when it failed, so stderr decides', () => {
    expect(parseHostLaunch(rec('host-launch-ok', 0), '/dev/v3-vm0')).toEqual({ ok: true });
    expect(parseHostLaunch(rec('host-launch-ioctl', 0), '/dev/v3-vm0')).toEqual({ ok: false, reason: 'reported "IOCTL error on device /dev/v3-vm0 (-1) | Error launching VM (/dev/v3-vm0)"' });
    expect(parseHostLaunch(rec('host-launch-ok', 0), '/dev/v3-vm1')).toMatchObject({ ok: false, reason: 'did not print "Launching VM (/dev/v3-vm1)" and no error' });
  });

  it('v3_stop: stopped, device gone (VM freed), or not running', () => {
    expect(parseHostStop(rec('host-stop-ok', 0), '/dev/v3-vm0')).toEqual({ ok: true, kind: 'stopped' });
    expect(parseHostStop(rec('host-stop-gone', 255), '/dev/v3-vm0')).toEqual({ ok: true, kind: 'gone' });
    expect(parseHostStop(rec('host-stop-idle', 255), '/dev/v3-vm0')).toEqual({ ok: true, kind: 'not-running' });
  });

  it('v3_free: "Freeing VM <N>" and no error', () => {
    expect(parseHostFree(rec('host-free-ok', 0), 0)).toEqual({ ok: true });
    expect(parseHostFree(rec('host-free-error', 255), 0)).toEqual({ ok: false, reason: 'reported "IOCTL error on V3Vee control device (-1) | Error freeing VM 0"' });
  });
});

describe('Palacios tool output parsers: Palacios inside a Kitten enclave (Pisces tools)', () => {
  const dev = '/dev/pisces-enclave0';
  it('v3_create: VM id from "Created VM (ID: <N>) on Enclave (<dev>)"', () => {
    expect(parseEnclaveCreate(rec('enclave-create-ok', 0), dev)).toEqual({ ok: true, vmId: 0 });
    expect(parseEnclaveCreate(rec('enclave-create-ok', 0), '/dev/pisces-enclave1')).toEqual({ ok: false, reason: 'created the VM on /dev/pisces-enclave0; expected /dev/pisces-enclave1' });
    expect(parseEnclaveCreate(rec('enclave-create-noctrl', 255), '/dev/pisces-enclave3')).toEqual({ ok: false, reason: 'reported "Error opening enclave control channel (/dev/pisces-enclave3)"' });
    expect(parseEnclaveCreate(rec('enclave-create-error', 255), dev)).toEqual({ ok: false, reason: 'reported "Error: Could not create VM"' });
  });

  it('v3_launch, v3_stop, v3_free', () => {
    expect(parseEnclaveLaunch(rec('enclave-launch-ok', 0), dev)).toEqual({ ok: true });
    expect(parseEnclaveLaunch(rec('enclave-launch-error', 255), dev)).toEqual({ ok: false, reason: 'reported "Error: Could not LAUNCH VM"' });
    expect(parseEnclaveVmCommand(rec('enclave-stop-ok', 0), 'stop', dev, 0)).toEqual({ ok: true, kind: 'done' });
    expect(parseEnclaveVmCommand(rec('enclave-stop-refused', 255), 'stop', dev, 0)).toEqual({ ok: true, kind: 'refused' });
    expect(parseEnclaveVmCommand(rec('enclave-free-ok', 0), 'free', dev, 0)).toEqual({ ok: true, kind: 'done' });
    expect(parseEnclaveVmCommand(rec('enclave-free-noctrl', 255), 'free', dev, 0)).toEqual({ ok: true, kind: 'enclave-gone' });
    expect(parseEnclaveVmCommand(rec('enclave-free-ok', 0), 'free', dev, 1)).toMatchObject({ ok: false, reason: 'did not print "Freeing VM [1] on enclave /dev/pisces-enclave0" with exit 0' });
  });

  it('error lines on both streams', () => {
    expect(v3ErrorLines({ code: 0, stdout: 'Invalid Option format: mem\nok', stderr: 'IOCTL error on V3Vee control device (-1)\n' })).toEqual(['Invalid Option format: mem', 'IOCTL error on V3Vee control device (-1)']);
  });
});
