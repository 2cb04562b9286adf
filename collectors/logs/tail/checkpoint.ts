/**
 * A tailer's position, saved so a restarted collector resumes where it stopped. Written atomically
 * (temporary file, fsync, rename, fsync of the directory): after a crash the file holds either the
 * old or the new position, never half of one.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Reads a checkpoint; null when there is none yet. Throws when the file exists but is not valid JSON. */
export async function readCheckpoint<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`checkpoint ${path} is not valid JSON (${(err as Error).message}); expected what a tailer wrote there, or no file`);
  }
}

/** Replaces the checkpoint at `path` with `value`, atomically and durably. */
export async function writeCheckpoint(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(value));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
