/**
 * How a load is split: samples per collector (the remainder spread over the first ones), the batch
 * size and the collection interval that give each collector its share of the rate.
 */
import { UserError } from '../core/errors.js';

export interface LoadPlan {
  perCollector: number[];
  batchSize: number;
  /** Collection interval of every collector, ms. */
  intervalMs: number;
  /** The rate this plan produces when the bus keeps up: collectors × batchSize × 1000 / intervalMs. */
  plannedRate: number;
}

export const MAX_BATCH = 10_000;

export function planLoad(o: { collectors: number; rate: number; count: number; batchSize?: number | undefined }): LoadPlan {
  if (!Number.isSafeInteger(o.collectors) || o.collectors < 1) throw new UserError(`--collectors: expected a positive integer, got ${o.collectors}`);
  if (!Number.isSafeInteger(o.count) || o.count < 1) throw new UserError(`--count: expected a positive integer, got ${o.count}`);
  if (!(o.rate > 0) || !Number.isFinite(o.rate)) throw new UserError(`--rate: expected samples per second above 0, got ${o.rate}`);
  const perRate = o.rate / o.collectors;
  const batchSize = o.batchSize ?? Math.min(5000, Math.max(1, Math.round(perRate / 10)));
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    throw new UserError(`--batch: expected 1 to ${MAX_BATCH} samples per batch, got ${batchSize}`);
  }
  const intervalMs = Math.round((1000 * batchSize) / perRate);
  if (intervalMs < 1) {
    throw new UserError(
      `--rate ${o.rate} with ${o.collectors} collectors and batches of ${batchSize} needs an interval below 1 ms; ` +
        `use larger batches (--batch ${Math.min(MAX_BATCH, Math.ceil(perRate / 1000))} or more) or more collectors`,
    );
  }
  const base = Math.floor(o.count / o.collectors);
  const perCollector = Array.from({ length: o.collectors }, (_, i) => base + (i < o.count % o.collectors ? 1 : 0));
  return { perCollector, batchSize, intervalMs, plannedRate: (o.collectors * batchSize * 1000) / intervalMs };
}
