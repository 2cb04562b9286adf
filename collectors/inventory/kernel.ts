/**
 * Inventory of the running kernel: release, full version string, boot command line and loaded
 * modules, from procfs. The module list keeps names only (sizes and reference counts change while
 * nothing that matters to a reader does).
 */
import { readText } from './read-text.js';

export interface KernelInventory {
  /** uname -r, e.g. "6.1.0-18-amd64". */
  release: string | null;
  /** /proc/version: release, compiler, build. */
  version: string | null;
  cmdline: string | null;
  /** Loaded module names, sorted; null when the kernel has no module support (no /proc/modules). */
  modules: string[] | null;
}

/** Reads the kernel inventory under a procfs root (`/proc`, or a testdata tree). */
export async function readKernel(proc: string): Promise<KernelInventory> {
  const modules = await readText(`${proc}/modules`);
  return {
    release: await readText(`${proc}/sys/kernel/osrelease`),
    version: await readText(`${proc}/version`),
    cmdline: await readText(`${proc}/cmdline`),
    modules: modules === null ? null : parseModules(modules),
  };
}

/** Module names of /proc/modules text ("name size refcount deps state address" per line). */
export function parseModules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => /^[\w-]+$/.test(n))
    .sort();
}
