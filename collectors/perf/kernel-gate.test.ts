import { afterEach, describe, expect, it } from 'vitest';
import { skipForMissingCapability } from './kernel-gate.js';

const saved = process.env.ISOSCOPE_REQUIRE_KERNEL;
afterEach(() => {
  if (saved === undefined) delete process.env.ISOSCOPE_REQUIRE_KERNEL;
  else process.env.ISOSCOPE_REQUIRE_KERNEL = saved;
});

class Skipped extends Error {}
const skip = (note?: string): never => {
  throw new Skipped(note);
};

describe('skipForMissingCapability', () => {
  it('skips with the reason when kernel tests are not required', () => {
    delete process.env.ISOSCOPE_REQUIRE_KERNEL;
    expect(() => skipForMissingCapability(skip, 'no PMU here')).toThrow(new Skipped('no PMU here'));
  });

  it('fails instead, with the reason, under ISOSCOPE_REQUIRE_KERNEL=1', () => {
    process.env.ISOSCOPE_REQUIRE_KERNEL = '1';
    expect(() => skipForMissingCapability(skip, 'no PMU here')).toThrow('This kernel test cannot run here and ISOSCOPE_REQUIRE_KERNEL=1 forbids skipping: no PMU here');
  });
});
