/** (a) of bench/ingest: the same kind of rows sent straight to QuestDB over ILP/HTTP in 500-row flushes, the ceiling ingest is judged by. */
import { Sender } from '@questdb/nodejs-client';
import { validate } from '../schema/codec.js';
import type { Sample } from '../schema/records.js';
import type { ServicesState } from '../services/state.js';
import { appendRows } from '../store/questdb/ilp-rows.js';

const BATCH = 500;

function batches(collector: string, total: number): Sample[][] {
  const out: Sample[][] = [];
  const t0 = BigInt(Date.now()) * 1_000_000n;
  for (let seq = 0; seq * BATCH < total; seq++) {
    const ts = t0 + BigInt(seq) * 1_000_000n;
    out.push(validate('samples', Array.from({ length: Math.min(BATCH, total - seq * BATCH) }, (_, idx) => ({
      ts, node: collector.split('/')[0]!, collector, seq, idx, source: 'loadgen', metric: `loadgen_${idx % 8}`, value: seq * BATCH + idx, cpu: idx % 4,
    }))));
  }
  return out;
}

export async function rawIlpRate(s: ServicesState, total: number): Promise<number> {
  const data = batches(`raw${Date.now().toString(36)}/loadgen`, total);
  const sender = await Sender.fromConfig(`http::addr=${s.questdb.http};auto_flush=off;protocol_version=2`);
  const t0 = performance.now();
  for (const b of data) {
    await appendRows(sender, 'samples', b as never);
    await sender.flush();
  }
  const secs = (performance.now() - t0) / 1000;
  await sender.close();
  return total / secs;
}
