import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseResult } from './registry.js';

const fixture = (name: string) => readFileSync(new URL(`../testdata/${name}`, import.meta.url), 'utf8');

describe('figure-of-merit parsers on recorded outputs', () => {
  it('hpcc: every metric from the real summary section', () => {
    const text = fixture('hpcc-hpccoutf.txt');
    expect(parseResult('hpcc', text, { metric: 'stream-triad' })).toMatchObject({ value: 60.1693, unit: 'GB/s' });
    expect(parseResult('hpcc', text, { metric: 'hpl' }).value).toBeCloseTo(1.71335, 5);
    expect(parseResult('hpcc', text, { metric: 'hpl' }).unit).toBe('GFLOP/s');
    expect(parseResult('hpcc', text, { metric: 'randomaccess' })).toMatchObject({ value: 0.63181, unit: 'GUP/s' });
    expect(parseResult('hpcc', text, { metric: 'dgemm' })).toMatchObject({ value: 2.46757, unit: 'GFLOP/s' });
    expect(parseResult('hpcc', text).figures).toMatchObject({ 'star-dgemm': 3.99863, 'mpi-randomaccess': 0.0147745 });
  });

  it('hpcc: a run killed before the summary, an unknown metric, a failed verification', () => {
    expect(() => parseResult('hpcc', fixture('hpcc-hpccoutf-partial.txt'))).toThrow(/no complete "Begin of Summary section\."/);
    expect(() => parseResult('hpcc', fixture('hpcc-hpccoutf.txt'), { metric: 'ptrans' })).toThrow(/metric "ptrans" is unknown: expected one of hpl, stream-triad/);
    expect(() => parseResult('hpcc', fixture('hpcc-hpccoutf.txt').replace('Success=1', 'Success=0'))).toThrow(/Success=0/);
  });

  it('stress-ng --metrics-brief: bogo ops/s per stressor', () => {
    expect(parseResult('stress-ng', fixture('stress-ng-cpu.txt'))).toMatchObject({ value: 671.72, unit: 'bogo-ops/s' });
    expect(parseResult('stress-ng', fixture('stress-ng-stream.txt'), { metric: 'stream' }).value).toBe(1.37);
    expect(parseResult('stress-ng', fixture('stress-ng-cache.txt'), { metric: 'cache' }).value).toBe(114943.76);
    expect(parseResult('stress-ng', fixture('stress-ng-hdd.txt'), { metric: 'hdd' }).value).toBe(7885.43);
    expect(() => parseResult('stress-ng', fixture('stress-ng-cpu.txt'), { metric: 'cache' })).toThrow(/no metrics for stressor "cache" \(it has cpu\)/);
    expect(() => parseResult('stress-ng', 'stress-ng: info:  [1] dispatching hogs: 1 cpu\n')).toThrow(/--metrics-brief/);
  });

  it('sysbench: cpu events/s and memory MiB/s', () => {
    expect(parseResult('sysbench', fixture('sysbench-cpu.txt'))).toEqual({ value: 14550.97, unit: 'events/s' });
    expect(parseResult('sysbench', fixture('sysbench-memory.txt'))).toEqual({ value: 2433.9, unit: 'MiB/s' });
    expect(() => parseResult('sysbench', 'FATAL: unknown test')).toThrow(/events per second/);
  });

  it('hpcg: the GFLOP/s rating, INVALID refused', () => {
    expect(parseResult('hpcg', fixture('hpcg-report-3.1.txt'))).toEqual({ value: 1.23456, unit: 'GFLOP/s' });
    expect(parseResult('hpcg', 'HPCG result is VALID with a GFLOP/s rating of: 3.289080\n').value).toBe(3.28908);
    expect(() => parseResult('hpcg', fixture('hpcg-report-invalid.txt'))).toThrow(/INVALID/);
  });

  it('regex: first capture group, unit required', () => {
    expect(parseResult('regex', 'rate = 12.5 ops\n', { regex: 'rate = ([\\d.]+)', unit: 'ops/s' })).toEqual({ value: 12.5, unit: 'ops/s' });
    expect(() => parseResult('regex', 'x', { regex: '(y)' , unit: 'u' })).toThrow(/no match/);
    expect(() => parseResult('regex', 'x', {})).toThrow(/needs `result.regex`/);
  });
});
