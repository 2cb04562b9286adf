/** sysbench 1.0: `events per second: X` (cpu, threads, mutex) or `… transferred (X MiB/sec)` (memory). */
import type { FigureOfMerit } from './registry.js';

export function parseSysbench(text: string): FigureOfMerit {
  const mem = /transferred \(([\d.]+) MiB\/sec\)/.exec(text);
  if (mem) return { value: Number(mem[1]), unit: 'MiB/s' };
  const ev = /events per second:\s+([\d.]+)/.exec(text);
  if (ev) return { value: Number(ev[1]), unit: 'events/s' };
  throw new Error('no sysbench figure: expected "events per second: X" or "transferred (X MiB/sec)"');
}
