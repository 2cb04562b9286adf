import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList } from './cpulist.js';

describe('parseCpuList', () => {
  it('expands ranges and single numbers, sorted and distinct', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5,1-2,2')).toEqual([1, 2, 5]);
    expect(parseCpuList('')).toEqual([]);
  });

  it('refuses text that is not a list, naming the bad part', () => {
    expect(() => parseCpuList('0-3,x')).toThrow(/"x" is not a number or a range/);
    expect(() => parseCpuList('4-2')).toThrow(/runs backwards/);
  });
});

describe('formatCpuList', () => {
  it('is the inverse of parseCpuList', () => {
    expect(formatCpuList([0, 1, 2, 3, 8, 10, 11])).toBe('0-3,8,10-11');
    expect(formatCpuList([])).toBe('');
    expect(parseCpuList(formatCpuList([7, 1, 2]))).toEqual([1, 2, 7]);
  });
});
