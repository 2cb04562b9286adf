/** QEMU's command line for a partition's VM, and for the KVM probe. Pure; paths are checked by config.ts. */

export interface VmArgs {
  qemu: string;
  /** VM name (shows in `ps` and QEMU's thread names). */
  name: string;
  accel: 'kvm' | 'tcg';
  vcpus: number;
  memMb: number;
  kernel: string;
  initramfs: string;
  /** The VM's directory on the node: sockets, console log, pid file. */
  dir: string;
  /** Node directory shared read-write at the same path in the guest (the run directories). */
  share: string;
  /** Host NUMA nodes to bind the guest memory to (only given when the node has several). */
  bindNuma?: number[];
}

export const files = (dir: string) => ({
  pid: `${dir}/qemu.pid`,
  qmp: `${dir}/qmp.sock`,
  agent: `${dir}/agent.sock`,
  console: `${dir}/console.log`,
});

/** argv of a daemonized VM: returns once QEMU is set up (exit 0) or failed to start (exit 1, reason on stderr). */
export function vmArgv(a: VmArgs): string[] {
  const f = files(a.dir);
  const mem = a.bindNuma?.length
    ? ['-object', `memory-backend-ram,id=ram0,size=${a.memMb}M,host-nodes=${a.bindNuma.join(',')},policy=bind`, '-machine', 'pc,memory-backend=ram0']
    : ['-machine', 'pc'];
  return [
    a.qemu,
    '-name', `${a.name},debug-threads=on`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-accel', a.accel === 'tcg' ? 'tcg,thread=multi' : 'kvm',
    '-cpu', a.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(a.vcpus),
    '-m', `${a.memMb}M`,
    ...mem,
    '-kernel', a.kernel,
    '-initrd', a.initramfs,
    '-append', 'console=ttyS0 panic=-1 quiet',
    '-serial', `file:${f.console}`,
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=work,path=${a.share},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-pci,fsdev=work,mount_tag=work',
    '-device', 'virtio-serial-pci',
    '-chardev', `socket,id=agent,path=${f.agent},server=on,wait=off`,
    '-device', 'virtserialport,chardev=agent,name=isoscope.agent',
    '-qmp', `unix:${f.qmp},server=on,wait=off`,
    '-pidfile', f.pid,
    '-daemonize',
  ];
}

/** argv of the KVM probe: boots the kernel with the probe initramfs; the console goes to stdout. */
export function probeArgv(qemu: string, kernel: string, initramfs: string): string[] {
  return [qemu, '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-accel', 'kvm', '-cpu', 'host', '-smp', '1', '-m', '128M',
    '-kernel', kernel, '-initrd', initramfs, '-append', 'console=ttyS0 panic=-1 quiet', '-serial', 'stdio'];
}
