import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PERF_TYPE } from './attr.js';
import { parseCgroupMounts, perfEventMount, resolveCgroup } from './cgroup.js';
import { parseEventName } from './events.js';
import { encodeTerms, parseAlias, parseTermFormat } from './pmu-format.js';
import { resolveEvent } from './resolve.js';
import { onlineCpus } from './targets.js';
import { tracepointId } from './tracefs.js';

const testdata = new URL('./testdata', import.meta.url).pathname;
const ctx = { sysfs: `${testdata}/sysfs`, tracefs: async () => `${testdata}/tracefs` };
const resolve = (name: string) => resolveEvent(parseEventName(name), ctx);

describe('PMU formats', () => {
  it('parses format files, including split bit ranges', () => {
    expect(parseTermFormat('config:0-7\n')).toEqual({ word: 'config', ranges: [[0, 7]] });
    expect(parseTermFormat('config:18')).toEqual({ word: 'config', ranges: [[18, 18]] });
    expect(parseTermFormat('config1:0-15')).toEqual({ word: 'config1', ranges: [[0, 15]] });
    expect(() => parseTermFormat('bits:0-7')).toThrow(/expected config, config1 or config2/);
    expect(() => parseTermFormat('config:60-70')).toThrow(/not within 0-63/);
  });

  it('places values across split ranges, low bits first, and refuses values that do not fit', () => {
    const formats = new Map([['split', parseTermFormat('config:32-35,60-63')], ['edge', parseTermFormat('config:18')]]);
    expect(encodeTerms('cpu', [{ term: 'split', value: 0xabn }], formats).config).toBe((0xbn << 32n) | (0xan << 60n));
    expect(encodeTerms('cpu', [{ term: 'edge' }], formats).config).toBe(1n << 18n);
    expect(() => encodeTerms('cpu', [{ term: 'split', value: 0x100n }], formats)).toThrow(/does not fit its 8 bits/);
    expect(() => encodeTerms('cpu', [{ term: 'nope', value: 1n }], formats)).toThrow('PMU cpu has no format term "nope"; it knows: edge, split');
  });

  it('parses alias files', () => {
    expect(parseAlias('event=0xcd,umask=0x1,ldlat=3\n')).toEqual([{ term: 'event', value: 0xcdn }, { term: 'umask', value: 1n }, { term: 'ldlat', value: 3n }]);
    expect(() => parseAlias('event=oops')).toThrow(/is not term=value/);
  });
});

describe('resolveEvent against testdata sysfs/tracefs', () => {
  it('encodes a cpu/…/ event with the PMU type and format bits', async () => {
    expect(await resolve('cpu/event=0x3c,umask=0x01,edge,cmask=2/')).toEqual({ type: 4, config: 0x3cn | (1n << 8n) | (1n << 18n) | (2n << 24n), config1: 0n, config2: 0n });
  });

  it('expands sysfs aliases, with config1 terms', async () => {
    expect(await resolve('cpu/mem-loads/')).toMatchObject({ type: 4, config: 0x1cdn, config1: 3n });
    expect(await resolve('msr/tsc/')).toMatchObject({ config: 0n });
  });

  it('gives raw and named events their type and privilege exclusions', async () => {
    expect(await resolve('r1a8:u')).toEqual({ type: PERF_TYPE.raw, config: 0x1a8n, excludeUser: false, excludeKernel: true, excludeHv: true });
    expect(await resolve('task-clock')).toEqual({ type: PERF_TYPE.software, config: 1n });
  });

  it('reads tracepoint ids from tracefs', async () => {
    const id = BigInt(readFileSync(`${testdata}/tracefs/events/sched/sched_switch/id`, 'utf8').trim());
    expect(await resolve('sched:sched_switch')).toEqual({ type: PERF_TYPE.tracepoint, config: id });
  });

  it('says what is missing for unknown PMUs, terms, tracepoints and bad files', async () => {
    await expect(resolve('uncore_imc/event=1/')).rejects.toThrow(/no PMU "uncore_imc" \(.*uncore_imc\/type does not exist\)/);
    await expect(resolve('cpu/bogus=1/')).rejects.toThrow(/cpu\/bogus=1\/: PMU cpu has no format term "bogus"/);
    await expect(resolve('broken/event=1/')).rejects.toThrow(/broken\/format\/event: PMU format "bits:0-7"/);
    await expect(resolve('sched:sched_swich')).rejects.toThrow(/sched:sched_swich: no such tracepoint on this kernel/);
    await expect(tracepointId(`${testdata}/tracefs`, 'bad', 'notanumber')).rejects.toThrow(/holds "n\/a"; expected a number/);
  });
});

describe('cgroup hierarchies', () => {
  const mounts = (name: string) => parseCgroupMounts(readFileSync(`${testdata}/${name}`, 'utf8'));

  it('finds perf_event in cgroup v2 on a hybrid system (this VM) and resolves relative paths there', () => {
    const m = mounts('mountinfo-hybrid.txt');
    expect(perfEventMount(m)!.mountpoint).toBe('/sys/fs/cgroup/unified');
    expect(resolveCgroup('isoscope/p1', m)).toEqual({ dir: '/sys/fs/cgroup/unified/isoscope/p1', label: '/isoscope/p1' });
    expect(() => resolveCgroup('/sys/fs/cgroup/cpuset/p1', m)).toThrow(
      'cgroup /sys/fs/cgroup/cpuset/p1: /sys/fs/cgroup/cpuset/p1 is in the cpuset hierarchy at /sys/fs/cgroup/cpuset; perf counts per cgroup only in the hierarchy holding perf_event, mounted at /sys/fs/cgroup/unified',
    );
  });

  it('prefers a v1 perf_event hierarchy, and labels with the mount root', () => {
    const m = mounts('mountinfo-v1-perf.txt');
    expect(resolveCgroup('/sys/fs/cgroup/perf_event/a/b', m)).toEqual({ dir: '/sys/fs/cgroup/perf_event/a/b', label: '/a/b' });
    expect(m.find((x) => x.mountpoint === '/sys/fs/cgroup/cpu,cpuacct')).toMatchObject({ root: '/docker/abc', controllers: ['cpu', 'cpuacct'] });
  });

  it('uses the single v2 hierarchy, and says so when there is none', () => {
    expect(resolveCgroup('/sys/fs/cgroup/machine.slice', mounts('mountinfo-v2.txt')).label).toBe('/machine.slice');
    expect(() => resolveCgroup('x', [])).toThrow(/no cgroup hierarchy with the perf_event controller/);
  });
});

describe('onlineCpus', () => {
  it('reads the online list, and names the file when it is missing', async () => {
    expect(await onlineCpus(`${testdata}/sysfs`)).toEqual([0, 1, 2, 3, 6]);
    await expect(onlineCpus('/nonexistent')).rejects.toThrow('could not read the online CPUs from /nonexistent/devices/system/cpu/online (ENOENT)');
  });
});
