import { describe, expect, it } from 'vitest';
import { partitionCgroup, runCgroupDir, slug } from './cgroup-path.js';

describe('partition cgroup names', () => {
  it('one directory per run: experiment name and a hash of the run id', () => {
    expect(runCgroupDir('stream-interference', 'stream-interference.shared.n1.bg.r0.3fa2c1')).toBe('stream-interference-6f9d031c');
    expect(partitionCgroup({ experiment: 'e', run: 'e.c.1', node: 'local', partition: 'app' })).toBe('isoscope/e-0aaa5eb4/local-app');
    expect(partitionCgroup({ root: 'vms', experiment: 'e', run: 'e.c.1', node: 'local', partition: 'app' })).toBe('vms/e-0aaa5eb4/local-app');
    // Same experiment, node and partition, another run (a second orchestrator, a retried cell): another directory.
    expect(partitionCgroup({ experiment: 'e', run: 'e.c.2', node: 'local', partition: 'app' })).not.toBe(partitionCgroup({ experiment: 'e', run: 'e.c.1', node: 'local', partition: 'app' }));
  });

  it('names become one safe, short path component', () => {
    expect(slug('../a b/..')).toBe('a-b');
    expect(slug('...')).toBe('x');
    expect(slug('a'.repeat(40))).toBe('a'.repeat(24));
    expect(runCgroupDir('x'.repeat(63), 'r')).toMatch(/^x{24}-[0-9a-f]{8}$/);
    for (const bad of ['a/b', '..', 'a\nb', '$(rm -rf /)']) expect(runCgroupDir(bad, 'r')).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{8}$/);
  });
});
