/**
 * Parser of /proc/stat (proc(5)): per-CPU time counters and the node-wide context-switch,
 * interrupt and process counters. Pure: text in, numbers out. Lines it does not understand are
 * skipped and counted, never fatal, because the set of lines varies between kernels.
 */

/** The CPU time columns of /proc/stat, in file order (older kernels have fewer). */
export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;
export type CpuMode = (typeof CPU_MODES)[number];

export interface ProcStat {
  /** Ticks per mode, per CPU; key -1 is the `cpu` (all CPUs) line. */
  cpus: Map<number, Partial<Record<CpuMode, number>>>;
  /** Context switches since boot. */
  ctxt?: number;
  /** Interrupts serviced since boot (all sources). */
  intr?: number;
  /** Processes created since boot. */
  processes?: number;
  procsRunning?: number;
  procsBlocked?: number;
  /** Lines that could not be read. */
  skipped: number;
}

const SCALARS: Record<string, 'ctxt' | 'processes' | 'procsRunning' | 'procsBlocked' | 'intr'> = {
  ctxt: 'ctxt',
  processes: 'processes',
  procs_running: 'procsRunning',
  procs_blocked: 'procsBlocked',
  intr: 'intr', // first number is the total; per-IRQ numbers follow
};

export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { cpus: new Map(), skipped: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [key, ...rest] = line.trim().split(/\s+/);
    const cpuMatch = /^cpu(\d*)$/.exec(key!);
    if (cpuMatch) {
      const values = rest.map(Number);
      if (values.length < 4 || values.some((v) => !Number.isFinite(v) || v < 0)) {
        out.skipped++;
        continue;
      }
      const cpu = cpuMatch[1] === '' ? -1 : Number(cpuMatch[1]);
      const modes: Partial<Record<CpuMode, number>> = {};
      values.slice(0, CPU_MODES.length).forEach((v, i) => (modes[CPU_MODES[i]!] = v));
      out.cpus.set(cpu, modes);
      continue;
    }
    const scalar = SCALARS[key!];
    if (scalar) {
      const v = Number(rest[0]);
      if (Number.isFinite(v) && v >= 0) out[scalar] = v;
      else out.skipped++;
    }
    // Other lines (btime, softirq …) are known and not collected here.
  }
  return out;
}
