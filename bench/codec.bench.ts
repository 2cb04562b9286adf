/**
 * Bus message encoding: bytes per sample and samples/s for our JSON codec (encode, decode +
 * validation) against MessagePack (@msgpack/msgpack, the compact binary alternative) on the same
 * batches in the same run. The decision recorded in DESIGN.md rests on these figures.
 *
 *   npm run build && node dist/bench/codec.bench.js
 */
import { decode as mpDecode, encode as mpEncode } from '@msgpack/msgpack';
import { gzipSync } from 'node:zlib';
import { decode, encode, encodeV1, validate } from '../schema/codec.js';
import type { RecordInput } from '../schema/records.js';

const BATCH = 200; // samples per collector batch: ~ 2 CPUs × 10 modes × 10 metrics
const ROUNDS = 400;

function batch(seq: number): RecordInput<'samples'>[] {
  const ts = 1_795_537_485_066_456_789n + BigInt(seq) * 1_000_000_000n;
  return Array.from({ length: BATCH }, (_, idx) => ({
    ts, node: 'lab-node-07', collector: 'lab-node-07/perf+procfs', seq, idx, source: idx % 2 ? 'perf' : 'procfs',
    metric: ['cpu.user', 'cpu.system', 'cycles', 'instructions', 'LLC-load-misses'][idx % 5]!, value: Math.random() * 1e9, cpu: idx % 64, scale: 1,
    ...(idx % 7 === 0 ? { cgroup: '/isoscope/partition-1' } : {}),
  }));
}

/**
 * Samples per CPU-second of this process (user + system), so the figure is per core and holds on a
 * machine shared with other work, where wall time would mostly measure the others.
 */
function time(label: string, samples: number, fn: () => void): number {
  fn(); // warm-up
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  const rate = samples / ((c.user + c.system) / 1e6);
  console.log(`  ${label.padEnd(44)} ${(rate / 1e6).toFixed(2)} M samples per CPU-second`);
  return rate;
}

export function main(): void {
  const batches = Array.from({ length: ROUNDS }, (_, i) => validate('samples', batch(i)));
  const total = ROUNDS * BATCH;
  const json = batches.map((b) => encodeV1('samples', b));
  const v2 = batches.map((b) => encode('samples', b));
  const mp = batches.map((b) => Buffer.from(mpEncode({ v: 1, type: 'samples', records: b }, { useBigInt64: true })));
  const size = (bufs: Buffer[]) => bufs.reduce((a, b) => a + b.length, 0) / total;
  const gz = (bufs: Buffer[]) => bufs.slice(0, 50).reduce((a, b) => a + gzipSync(b).length, 0) / (50 * BATCH);

  console.log(`codec: ${ROUNDS} batches × ${BATCH} samples`);
  console.log(`  bytes/sample   JSON v1 ${size(json).toFixed(1)} (gzip ${gz(json).toFixed(1)})   JSON v2 columnar ${size(v2).toFixed(1)} (gzip ${gz(v2).toFixed(1)})   MessagePack ${size(mp).toFixed(1)} (gzip ${gz(mp).toFixed(1)})`);
  const je = time('JSON v1 encode', total, () => batches.forEach((b) => encodeV1('samples', b)));
  const je2 = time('JSON v2 columnar encode (ours)', total, () => batches.forEach((b) => encode('samples', b)));
  const me = time('MessagePack encode', total, () => batches.forEach((b) => mpEncode({ v: 1, type: 'samples', records: b }, { useBigInt64: true })));
  const jp = time('JSON.parse only (no validation)', total, () => json.forEach((b) => JSON.parse(b.toString())));
  const mpd = time('MessagePack decode only', total, () => mp.forEach((b) => mpDecode(b, { useBigInt64: true })));
  const jd = time('JSON v1 decode + validation', total, () => json.forEach((b) => decode(b, 'samples')));
  const jd2 = time('JSON v2 columnar decode + validation (ours)', total, () => v2.forEach((b) => decode(b, 'samples')));
  console.log(`  v2 vs v1: encode ${(je2 / je).toFixed(2)}×, decode + validation ${(jd2 / jd).toFixed(2)}×`);
  console.log(`  comparison: JSON encode ${(je / me).toFixed(2)}× MessagePack; raw decode ${(jp / mpd).toFixed(2)}×; validation keeps ${((jd / jp) * 100).toFixed(0)}% of raw JSON decode speed`);
}

main();
