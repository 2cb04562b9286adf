/**
 * Temporary directories for one test file, all removed after its tests. Call at the top level of
 * the file: `const tempDir = tempDirs('isoscope-bus-');` then `tempDir()` wherever one is needed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export function tempDirs(defaultPrefix: string): (prefix?: string) => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return (prefix = defaultPrefix) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
