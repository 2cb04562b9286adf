import { describe, expect, it } from 'vitest';
import { WorkSlots } from './work-slots.js';

describe('WorkSlots', () => {
  it('lets at most `size` holders in at once, the waiting ones in arrival order', async () => {
    const slots = new WorkSlots(2);
    const order: string[] = [];
    let inside = 0;
    let most = 0;
    const gates = new Map<string, () => void>();
    const job = (name: string) => slots.run(async () => {
      order.push(name);
      most = Math.max(most, ++inside);
      await new Promise<void>((r) => gates.set(name, r));
      inside--;
    });
    const jobs = ['a', 'b', 'c', 'd'].map(job);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a', 'b']);
    gates.get('b')!();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a', 'b', 'c']);
    gates.get('a')!();
    await new Promise((r) => setImmediate(r));
    gates.get('c')!();
    await new Promise((r) => setImmediate(r));
    gates.get('d')!();
    await Promise.all(jobs);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(most).toBe(2);
  });

  it('gives the slot back when the work throws', async () => {
    const slots = new WorkSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(async () => 'next')).resolves.toBe('next');
  });
});
