/**
 * Where the shipped BPF objects and metric configs are, whether isoscope runs from its sources
 * (collectors/ebpf/) or from dist/ (dist/collectors/ebpf/): both resolve to the package root's
 * collectors/ebpf/build and collectors/ebpf/programs.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The isoscope package root: the nearest folder above this module with a package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'collectors', 'ebpf'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No isoscope package root (a folder with package.json and collectors/ebpf) above ${from}`);
  }
}

export function defaultObjectDir(): string {
  return join(packageRoot(), 'collectors', 'ebpf', 'build');
}

export function defaultConfigDir(): string {
  return join(packageRoot(), 'collectors', 'ebpf', 'programs');
}
