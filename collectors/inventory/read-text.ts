/**
 * Small file helpers for the inventory readers: sysfs and procfs files are short text files that
 * may be missing on a given kernel or machine, which is information (null), not an error.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename } from 'node:path';

/** The trimmed text of a file, or null when it does not exist or cannot be read. */
export async function readText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').then((t) => t.trim(), () => null);
}

/** A file holding one integer (decimal or 0x hex), or null. */
export async function readInt(path: string): Promise<number | null> {
  const t = await readText(path);
  if (t === null || !/^(-?\d+|0x[0-9a-fA-F]+)$/.test(t)) return null;
  return Number(t);
}

/** Entries of a directory, sorted; empty when it does not exist. */
export async function listDir(path: string): Promise<string[]> {
  return readdir(path).then((xs) => xs.sort(), () => []);
}

/** The last path component a symlink points to (a driver, an IOMMU group), or null. */
export async function linkName(path: string): Promise<string | null> {
  return readlink(path).then((t) => basename(t), () => null);
}

/** Numeric suffixes of entries named `<prefix><N>` (cpu0, node1 …), sorted numerically. */
export function numbered(entries: readonly string[], prefix: string): number[] {
  const re = new RegExp(`^${prefix}(\\d+)$`);
  return entries.flatMap((e) => {
    const m = re.exec(e);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
}
