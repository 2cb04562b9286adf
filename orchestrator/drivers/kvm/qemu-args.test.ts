import { describe, expect, it } from 'vitest';
import { guestAgentProgram } from './guest-agent.js';
import { conf } from './guest-image.js';
import { probeArgv, vmArgv } from './qemu-args.js';

const base = { qemu: 'qemu-system-x86_64', name: 'isoscope-g', vcpus: 2, memMb: 256, kernel: '/boot/vmlinuz-6', initramfs: '/d/initramfs.gz', dir: '/d', share: '/tmp/isoscope' };
const after = (argv: string[], flag: string) => argv.filter((_, i) => argv[i - 1] === flag);

describe('QEMU command line', () => {
  it('TCG with one thread per vCPU, KVM with the host CPU; daemonized with QMP, agent port and the two 9p shares', () => {
    const tcg = vmArgv({ ...base, accel: 'tcg' });
    expect(after(tcg, '-accel')).toEqual(['tcg,thread=multi']);
    expect(after(tcg, '-cpu')).toEqual(['max']);
    expect(after(vmArgv({ ...base, accel: 'kvm' }), '-cpu')).toEqual(['host']);
    expect(after(tcg, '-smp')).toEqual(['2']);
    expect(after(tcg, '-m')).toEqual(['256M']);
    expect(after(tcg, '-fsdev')).toEqual(['local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap', 'local,id=work,path=/tmp/isoscope,security_model=none,multidevs=remap']);
    expect(after(tcg, '-chardev')).toEqual(['socket,id=agent,path=/d/agent.sock,server=on,wait=off']);
    expect(after(tcg, '-device')).toContain('virtserialport,chardev=agent,name=isoscope.agent');
    expect(after(tcg, '-qmp')).toEqual(['unix:/d/qmp.sock,server=on,wait=off']);
    expect(tcg).toContain('-daemonize');
    expect(after(tcg, '-machine')).toEqual(['pc']);
  });

  it('binds guest memory to host NUMA nodes only when asked (nodes with several)', () => {
    const bound = vmArgv({ ...base, accel: 'tcg', bindNuma: [1] });
    expect(after(bound, '-object')).toEqual(['memory-backend-ram,id=ram0,size=256M,host-nodes=1,policy=bind']);
    expect(after(bound, '-machine')).toEqual(['pc,memory-backend=ram0']);
    expect(vmArgv({ ...base, accel: 'tcg' })).not.toContain('-object');
  });

  it('the probe boots under KVM with the console on stdout', () => {
    const p = probeArgv('qemu-system-x86_64', '/k', '/i');
    expect(after(p, '-accel')).toEqual(['kvm']);
    expect(after(p, '-serial')).toEqual(['stdio']);
  });
});

describe('guest image pieces', () => {
  it('the init config holds only plain paths', () => {
    expect(conf({ share: '/tmp/isoscope', nodejs: '/usr/bin/node', probe: false })).toBe("SHARE='/tmp/isoscope'\nNODEJS='/usr/bin/node'\nPROBE=0");
    expect(() => conf({ share: "/tmp/x'; reboot; '", nodejs: '/usr/bin/node', probe: false })).toThrow(/not a plain absolute path/);
  });

  it('the agent program is self-contained CommonJS that node can parse', async () => {
    const text = guestAgentProgram();
    expect(text).toMatch(/^'use strict';/);
    const { Script } = await import('node:vm');
    expect(() => new Script(text)).not.toThrow();
  });
});
