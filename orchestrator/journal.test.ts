import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../test/temp-dirs.js';
import type { PartitionState } from './drivers/driver.js';
import { Journal } from './journal.js';

const tempDir = tempDirs('isoscope-journal-');
const state = (name: string): PartitionState => ({ name, node: 'n1', driver: 'linux-cpuset', cpus: '0', memMb: 0, numa: '0', devices: [], handle: { path: `/x/${name}` } });

describe('orchestrator journal', () => {
  it('replays finished cells, open runs and the partitions they left', () => {
    const path = join(tempDir(), 'e.journal');
    const j = new Journal(path);
    j.append({ t: 'run', phase: 'start', run: 'r1', cell: 'c1', nodes: ['n1'], ts: '1' });
    j.append({ t: 'partition', run: 'r1', state: state('app') });
    j.append({ t: 'partition-destroyed', run: 'r1', node: 'n1', name: 'app' });
    j.append({ t: 'run', phase: 'end', run: 'r1', cell: 'c1', ts: '2' });
    j.append({ t: 'run', phase: 'start', run: 'r2', cell: 'c2', nodes: ['n1'], ts: '3' });
    j.append({ t: 'run', phase: 'fail', run: 'r2', cell: 'c2', ts: '4' });
    j.append({ t: 'run', phase: 'start', run: 'r3', cell: 'c3', nodes: ['n1'], ts: '5' });
    j.append({ t: 'run', phase: 'abort', run: 'r3', cell: 'c3', ts: '6' });
    j.append({ t: 'run', phase: 'start', run: 'r4', cell: 'c3', nodes: ['n1'], ts: '7' });
    j.append({ t: 'partition', run: 'r4', state: state('app') });
    j.append({ t: 'partition', run: 'r4', state: state('noise') });
    j.append({ t: 'partition-destroyed', run: 'r4', node: 'n1', name: 'noise' });
    j.close();
    appendFileSync(path, '{"t":"run","pha'); // torn last write of a crash
    const s = Journal.replay(path);
    expect([...s.finished].sort()).toEqual(['c1', 'c2']);
    expect(s.open).toEqual([{ run: 'r4', cell: 'c3', nodes: ['n1'], partitions: [state('app')] }]);
    expect(s).toMatchObject({ specHash: null, hasRuns: true });
  });

  it('remembers the experiment version its runs belong to (the latest recorded)', () => {
    const path = join(tempDir(), 'v.journal');
    const j = new Journal(path);
    j.append({ t: 'experiment', spec_hash: 'aaa', file: 'e.yaml', ts: '1' });
    j.append({ t: 'run', phase: 'start', run: 'r1', cell: 'c1', nodes: ['n1'], ts: '2' });
    j.append({ t: 'experiment', spec_hash: 'bbb', file: 'e.yaml', ts: '3' });
    j.close();
    expect(Journal.replay(path)).toMatchObject({ specHash: 'bbb', hasRuns: true });
  });

  it('a create\'s checkpoints and its final state are one partition, in creation order, the latest state kept', () => {
    const path = join(tempDir(), 'e.journal');
    const j = new Journal(path);
    const vm = (pid: number): PartitionState => ({ ...state('vm'), driver: 'kvm', handle: { dir: '/d/vm-0000abcd', pid } });
    j.append({ t: 'run', phase: 'start', run: 'r1', cell: 'c1', nodes: ['n1'], ts: '1' });
    j.append({ t: 'partition', run: 'r1', state: state('app') });
    j.append({ t: 'partition', run: 'r1', state: vm(0) });
    j.append({ t: 'partition', run: 'r1', state: vm(42) });
    j.close();
    expect(Journal.replay(path).open[0]!.partitions).toEqual([state('app'), vm(42)]);
  });

  it('an absent journal is an empty one', () => {
    expect(Journal.replay(join(tempDir(), 'none.journal'))).toEqual({ finished: new Set(), open: [], specHash: null, hasRuns: false });
  });
});
