import { describe, expect, it } from 'vitest';
import { cpuInRanges, expandCpuList, formatCpuList, orderedCpuList, parseCpuRanges } from './cpu-list.js';

describe('parseCpuRanges', () => {
  it('reads single CPUs, ranges and the empty list', () => {
    expect(parseCpuRanges('0-3,8')).toEqual([[0, 3], [8, 8]]);
    expect(parseCpuRanges(' 5 ')).toEqual([[5, 5]]);
    expect(parseCpuRanges('')).toEqual([]);
    expect(cpuInRanges(parseCpuRanges('0-3,8'), 3)).toBe(true);
    expect(cpuInRanges(parseCpuRanges('0-3,8'), 4)).toBe(false);
    expect(cpuInRanges(parseCpuRanges('0-3,8'), 8)).toBe(true);
  });

  it('refuses malformed lists, naming the part and saying what was expected', () => {
    expect(() => parseCpuRanges('0-3,x')).toThrow(/malformed part "x"; expected numbers and ranges/);
    expect(() => parseCpuRanges('4-1')).toThrow(/descending range "4-1"/);
    expect(() => parseCpuRanges('1,,2')).toThrow(/malformed part ""/);
    expect(() => parseCpuRanges('0-99999')).toThrow(/names CPU 99999; expected CPU numbers up to 65535/);
  });
});

describe('expandCpuList', () => {
  it('expands ranges and single numbers, sorted and distinct, as sysfs writes them (trailing newline)', () => {
    expect(expandCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(expandCpuList('5,1-2,2')).toEqual([1, 2, 5]);
    expect(expandCpuList('')).toEqual([]);
  });

  it('refuses text that is not a list with the same messages as parseCpuRanges', () => {
    expect(() => expandCpuList('0-3,x')).toThrow(/malformed part "x"/);
    expect(() => expandCpuList('4-2')).toThrow(/descending range "4-2"/);
  });
});

describe('formatCpuList and orderedCpuList', () => {
  it('formatCpuList is the inverse of expandCpuList', () => {
    expect(formatCpuList([0, 1, 2, 3, 8, 10, 11])).toBe('0-3,8,10-11');
    expect(formatCpuList([])).toBe('');
    expect(formatCpuList([8, 3, 2, 4, 3])).toBe('2-4,8');
    expect(expandCpuList(formatCpuList([7, 1, 2]))).toEqual([1, 2, 7]);
  });

  it('orderedCpuList keeps the order given and collapses ascending runs', () => {
    expect(orderedCpuList([2, 3, 0, 1])).toBe('2-3,0-1');
    expect(orderedCpuList([1, 0])).toBe('1,0');
    expect(orderedCpuList([])).toBe('');
  });
});
