/**
 * Committed offsets of the embedded bus's consumer groups: one small JSON file per group,
 * `groups/<group>.json` = {"group": …, "offsets": {"<topic>": <next offset to read>}}, replaced
 * atomically on every commit so a crash leaves either the previous or the new commit.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-util.js';

/** Group names may hold any character; file names keep [A-Za-z0-9_-] and escape the rest as %XX. */
export function groupFileName(group: string): string {
  return `${Array.from(Buffer.from(group, 'utf8'), (b) => (/[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('')}.json`;
}

export class OffsetStore {
  private readonly cache = new Map<string, Map<string, number>>();

  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** The group's committed offsets (next offset to read, per topic); empty for a new group. */
  async load(group: string): Promise<ReadonlyMap<string, number>> {
    const cached = this.cache.get(group);
    if (cached) return cached;
    const path = join(this.dir, groupFileName(group));
    let offsets = new Map<string, number>();
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { offsets?: Record<string, unknown> };
      offsets = new Map(Object.entries(parsed.offsets ?? {}).filter((e): e is [string, number] => Number.isSafeInteger(e[1])));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`cannot read the committed offsets of consumer group ${group} from ${path}: ${(err as Error).message}`);
      }
    }
    this.cache.set(group, offsets);
    return offsets;
  }

  /** Durably records `offsets` (merged over what the group committed before). */
  async commit(group: string, offsets: ReadonlyMap<string, number>): Promise<void> {
    const merged = new Map([...(await this.load(group)), ...offsets]);
    await writeFileAtomic(join(this.dir, groupFileName(group)), JSON.stringify({ group, offsets: Object.fromEntries(merged) }) + '\n');
    this.cache.set(group, merged);
  }
}
