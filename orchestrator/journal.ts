/**
 * The orchestrator's local journal, `<stateDir>/orchestrator/<experiment>.journal`: fsync'ed JSON
 * lines recording each run's start and end and each partition's handle as soon as it exists. A
 * restarted orchestrator replays it to learn which cells finished (never repeated), which runs were
 * left open (to be recorded `abort`) and which partitions were left behind (to be destroyed).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PartitionState } from './drivers/driver.js';

export type JournalEntry =
  | { t: 'experiment'; spec_hash: string; file: string; ts: string }
  | { t: 'run'; phase: 'start'; run: string; cell: string; nodes: string[]; ts: string }
  | { t: 'run'; phase: 'end' | 'fail' | 'abort'; run: string; cell: string; ts: string }
  | { t: 'partition'; run: string; state: PartitionState }
  | { t: 'partition-destroyed'; run: string; node: string; name: string };

export interface OpenRun {
  run: string;
  cell: string;
  nodes: string[];
  /** Partitions created for the run and not destroyed, in creation order. */
  partitions: PartitionState[];
}

export interface JournalState {
  /** Cells whose run ended or failed (an aborted cell runs again). */
  finished: Set<string>;
  /** Runs started and never closed: the orchestrator died during them. */
  open: OpenRun[];
  /** The experiment version (sha256 of its file) the journal's runs belong to; null in journals from before it was recorded. */
  specHash: string | null;
  /** Whether any run was recorded. */
  hasRuns: boolean;
}

export const journalPath = (stateDir: string, experiment: string) => join(stateDir, 'orchestrator', `${experiment}.journal`);

export class Journal {
  private fd: number;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  /** Appends one entry and fsyncs before returning. */
  append(entry: JournalEntry): void {
    writeSync(this.fd, JSON.stringify(entry) + '\n');
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Replays a journal file (a torn last line, from a crash mid-write, is ignored). */
  static replay(path: string): JournalState {
    const finished = new Set<string>();
    const open = new Map<string, OpenRun>();
    let specHash: string | null = null;
    let hasRuns = false;
    if (!existsSync(path)) return { finished, open: [], specHash, hasRuns };
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let e: JournalEntry;
      try {
        e = JSON.parse(line) as JournalEntry;
      } catch {
        if (i >= lines.length - 2) return; // torn final write
        throw new Error(`${path}:${i + 1}: not a journal entry: ${line.slice(0, 80)}`);
      }
      if (e.t === 'experiment') specHash = e.spec_hash;
      else if (e.t === 'run' && e.phase === 'start') {
        hasRuns = true;
        open.set(e.run, { run: e.run, cell: e.cell, nodes: e.nodes, partitions: [] });
      }
      else if (e.t === 'run') {
        open.delete(e.run);
        if (e.phase !== 'abort') finished.add(e.cell);
      } else if (e.t === 'partition') {
        // A create's checkpoints and its final state describe one partition: the latest wins.
        const r = open.get(e.run);
        const at = r?.partitions.findIndex((p) => p.node === e.state.node && p.name === e.state.name) ?? -1;
        if (r && at >= 0) r.partitions[at] = e.state;
        else r?.partitions.push(e.state);
      }
      else if (e.t === 'partition-destroyed') {
        const r = open.get(e.run);
        if (r) r.partitions = r.partitions.filter((p) => !(p.node === e.node && p.name === e.name));
      }
    });
    return { finished, open: [...open.values()], specHash, hasRuns };
  }
}
