/**
 * The direct ILP writer against QuestDB's official Node client: the same bytes for the same
 * records (escaping, nulls, unicode, every column kind our records use), and on the real QuestDB of
 * the test run the same rows landing through both, table for table.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sender } from '@questdb/nodejs-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { decode, decodeColumns, encode } from '../../schema/codec.js';
import { batchOf, segmentOf, sliceBatch, type ColumnBatch } from '../../schema/column-batch.js';
import { questdbCreateTable } from '../../schema/ddl/questdb.js';
import { RECORDS, definitionOf, type RecordInput, type RecordName } from '../../schema/records.js';
import { pollUntil, questdbClient, testServices, uniqueName } from '../../test/services.js';
import { IlpHttpWriter } from './ilp-http.js';
import { appendRows } from './ilp-rows.js';
import { IlpBuffer, escapeName } from './ilp-text.js';

const TS = 1_795_537_485_066_456_789n;
const AWKWARD = 'a b,c=d\\e\nf\rg"h\'i é 漢 🙂';

/** Records of every type with awkward text, nulls, extremes; validated so defaults are filled in. */
function records(name: RecordName, marker: string): Record<string, unknown>[] {
  const inputs: Record<RecordName, RecordInput<RecordName>[]> = {
    samples: [
      { ts: TS, node: 'n1', collector: marker, seq: 1, idx: 0, source: 'perf', metric: 'cycles', value: 0.1 },
      { ts: TS + 1n, node: AWKWARD, collector: marker, seq: 1, idx: 1, source: 'procfs', metric: 'm=1', value: -0, cpu: 3, scale: 0.5, cgroup: '/a b/c', comm: 'x,y', le: '+Inf' },
      { ts: TS + 2n, node: 'n1', collector: marker, seq: 2 ** 53 - 1, idx: -2147483648, source: 's', metric: 'big', value: 1.7976931348623157e308, irq: '\\', device: 'é' },
      { ts: TS + 3n, node: 'n1', collector: marker, seq: -(2 ** 53 - 1), idx: 2147483647, source: 's', metric: 'tiny', value: 5e-324, partition: 'p 1', run: 'r,1' },
    ],
    events: [
      { ts: TS, node: 'n1', collector: marker, seq: 1, idx: 0, source: 'linux', level: 'info', kind: 'k', message: AWKWARD, fields: { a: 1, s: AWKWARD, nested: { b: [1, 2] } }, raw: 'raw "line"\\' },
      { ts: TS + 5n, node: 'n1', collector: marker, seq: 1, idx: 1, source: 'linux', level: 'error', kind: 'k', message: '', vm: 'vm 1', vcore: 0, pcore: -1 },
    ],
    partitions: [
      { ts: TS, partition: marker, node: 'n1', driver: 'linux-cpuset', action: 'create', cpus: '0-3,8', mem_mb: 0, numa: '0,1', devices: '0000:00:1f.2' },
      { ts: TS + 1n, partition: marker, node: 'n2', driver: 'palacios-vm', action: 'fail', cpus: '', mem_mb: 2 ** 40, message: AWKWARD },
    ],
    runs: [
      { ts: TS, run: marker, experiment: 'e x', workload: 'hpcc', phase: 'start', nodes: 'a,b', node_count: 2, stack: 'linux', background: true, repetition: 1 },
      { ts: TS + 1n, run: marker, experiment: 'e', workload: 'w', phase: 'end', nodes: 'a', node_count: 1, stack: 'k', background: false, repetition: 2, config: { x: 'y"z' }, result: 12.5, unit: 'GFLOP/s' },
    ],
    alerts: [
      { ts: TS, alert: marker, rule: 'r', state: 'firing', severity: 'warning', message: 'hot', node: 'n1', value: 99.5, labels: { k: 'v' } },
      { ts: TS + 1n, alert: marker, rule: 'r', state: 'resolved', severity: 'warning', message: AWKWARD },
    ],
  };
  return inputs[name].map((r) => RECORDS[name].schema.parse(r) as Record<string, unknown>);
}

const NAMES = Object.keys(RECORDS) as RecordName[];

/** The records by column in both forms ingest sees: a v2 message as decoded, and records turned to columns. */
function columns(name: RecordName, rows: Record<string, unknown>[]): ColumnBatch {
  const decoded = decodeColumns(encode(name, rows.slice(1) as never[]), name);
  if (!decoded.segment) throw new Error(`${name}: a v2 message did not decode to columns: ${JSON.stringify(decoded.errors)}`);
  return batchOf(name, [segmentOf(name, rows.slice(0, 1)), decoded.segment]);
}

/** A collector's batch: ts, node, collector and seq constant, idx a run, metric, cpu and value varying. */
function collectorBatch(seq: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, idx) => RECORDS.samples.schema.parse({ ts: TS + BigInt(seq), node: 'n 1', collector: 'n1/perf', seq, idx, source: 'perf', metric: `m${idx % 7}`, value: idx / 3, cpu: idx % 4, ...(idx % 5 === 0 ? { cgroup: '/a' } : {}) }) as Record<string, unknown>);
}

describe('direct ILP writer', () => {
  it.each(NAMES)('writes the same bytes as the official client for %s records', async (name) => {
    const rows = records(name, 'col x');
    const sender = await Sender.fromConfig('http::addr=127.0.0.1:1;auto_flush=off;protocol_version=2');
    await appendRows(sender, name, rows);
    const official = (sender as unknown as { buffer: { toBufferView(): Buffer } }).buffer.toBufferView();
    const ours = new IlpBuffer(16); // tiny, so growing is exercised too
    ours.append(name, rows);
    expect(ours.bytes().toString('latin1')).toBe(Buffer.from(official).toString('latin1'));
    sender.reset();
    await sender.close();
  });

  it.each(NAMES)('writes the same bytes from columns as the official client for %s records', async (name) => {
    // As a bus message carries them (JSON has no -0).
    const rows = decode(encode(name, records(name, 'col x') as never[]), name).records as Record<string, unknown>[];
    const sender = await Sender.fromConfig('http::addr=127.0.0.1:1;auto_flush=off;protocol_version=2');
    await appendRows(sender, name, rows);
    const official = Buffer.from((sender as unknown as { buffer: { toBufferView(): Buffer } }).buffer.toBufferView()).toString('latin1');
    const ours = new IlpBuffer(16);
    ours.appendColumns(name, columns(name, rows));
    expect(ours.bytes().toString('latin1')).toBe(official);
    sender.reset();
    await sender.close();
  });

  it('writes collector batches from columns byte for byte as from their records, also cut at any row', () => {
    const messages = [collectorBatch(1, 300), collectorBatch(2, 200), collectorBatch(3, 1)];
    const segments = messages.map((m) => decodeColumns(encode("samples", m as never[]), 'samples').segment!);
    expect(segments.every((seg) => seg !== null)).toBe(true);
    const batch = batchOf('samples', segments);
    const flat = messages.flatMap((m) => decode(encode("samples", m as never[]), 'samples').records) as Record<string, unknown>[];
    const byRecords = new IlpBuffer();
    byRecords.append('samples', flat);
    const byColumns = new IlpBuffer();
    byColumns.appendColumns('samples', batch);
    expect(byColumns.bytes().toString('latin1')).toBe(byRecords.bytes().toString('latin1'));
    for (const [from, to] of [[0, 1], [299, 301], [150, 501], [500, 501], [7, 7]] as const) {
      const a = new IlpBuffer();
      a.append('samples', flat, from, to);
      const b = new IlpBuffer();
      b.appendColumns('samples', sliceBatch(batch, from, to));
      expect(b.bytes().toString('latin1'), `rows ${from}..${to}`).toBe(a.bytes().toString('latin1'));
    }
  });

  it('writes by column byte for byte as from records when nodes, timestamps, labels and signs vary from message to message', () => {
    const message = (node: string, seq: number) => Array.from({ length: 40 }, (_, idx) => RECORDS.samples.schema.parse({
      ts: TS + BigInt(idx % 3) * 1_000_000n, node, collector: `${node}/perf`, seq, idx: idx - 20, source: idx % 3 ? 'perf' : 'ebpf', metric: `m,${idx % 4}`,
      value: idx % 2 ? -idx : idx / 7, cpu: idx % 5 - 1, scale: idx % 6 ? 1 : 0.5, ...(idx % 7 === 0 ? { comm: 'a b' } : {}), ...(idx % 9 === 0 ? { run: `r${seq}` } : {}),
    }) as Record<string, unknown>);
    const messages = [message('n1', 1), message('n2', 1), message('n1', 2), message('n 3', 9_007_199_254_740_991)];
    const batch = batchOf('samples', messages.map((m) => decodeColumns(encode('samples', m as never[]), 'samples').segment!));
    const flat = messages.flatMap((m) => decode(encode('samples', m as never[]), 'samples').records) as Record<string, unknown>[];
    const byRecords = new IlpBuffer();
    byRecords.append('samples', flat);
    const byColumns = new IlpBuffer(64);
    byColumns.appendColumns('samples', batch);
    expect(byColumns.bytes().toString('latin1')).toBe(byRecords.bytes().toString('latin1'));
  });

  it('writes the same bytes after the shared head trees outgrow their bound and are dropped mid-segment', () => {
    // 60,000 distinct heads twice over (SYMBOL_CACHE_MAX is 100,000): the trees are dropped inside the
    // second message; that segment keeps its own tree and the third message starts a new one.
    const message = (seq: number, offset: number) => Array.from({ length: 60_000 }, (_, idx) => RECORDS.samples.schema.parse({
      ts: TS, node: 'n1', collector: 'n1/x', seq, idx, source: 's', metric: `m${idx + offset}`, value: idx,
    }) as Record<string, unknown>);
    const messages = [message(1, 0), message(2, 60_000), message(3, 0)];
    const batch = batchOf('samples', messages.map((m) => decodeColumns(encode('samples', m as never[]), 'samples').segment!));
    const byRecords = new IlpBuffer();
    byRecords.append('samples', messages.flat());
    const byColumns = new IlpBuffer();
    byColumns.appendColumns('samples', batch);
    expect(byColumns.bytes().equals(byRecords.bytes())).toBe(true);
  });

  it('escapes names and quoted text like the protocol wants', () => {
    expect(escapeName('a b,c=d\\e\nf')).toBe('a\\ b\\,c\\=d\\\\e\\\nf');
    const b = new IlpBuffer();
    b.append('runs', records('runs', 'm'), 0, 1);
    expect(b.bytes().toString()).toBe(`runs,run=m,experiment=e\\ x,workload=hpcc,phase=start,stack=linux nodes="a,b",node_count=2i,background=t,repetition=1i,config="{}" ${TS}n\n`);
  });
});

describe('direct ILP writer on the real QuestDB', () => {
  let db: pg.Client;
  beforeAll(async () => {
    db = await questdbClient(testServices());
  });
  afterAll(async () => {
    await db?.end();
  });

  it.each(NAMES)('lands %s records exactly as the official client does', async (name) => {
    const s = testServices();
    const suffix = uniqueName('eq').replace(/-/g, '_');
    const [viaClient, viaOurs, viaColumns] = [`${name}_client_${suffix}`, `${name}_direct_${suffix}`, `${name}_columns_${suffix}`];
    for (const t of [viaClient, viaOurs, viaColumns]) await db.query(questdbCreateTable(definitionOf(name), t));
    try {
      const rows = records(name, 'marker');
      const sender = await Sender.fromConfig(`http::addr=${s.questdb.http};auto_flush=off;protocol_version=2`);
      await appendRows(sender, name, rows, viaClient);
      await sender.flush();
      await sender.close();
      const writer = new IlpHttpWriter({ http: s.questdb.http, rowsPerRequest: 1 }); // one request per row, two in flight
      await writer.write(name, rows, escapeName(viaOurs));
      const carried = decode(encode(name, rows as never[]), name).records as Record<string, unknown>[]; // JSON has no -0
      await writer.write(name, columns(name, carried), escapeName(viaColumns)); // by column, cut into requests of one row
      writer.close();
      const read = async (t: string) => (await db.query({ text: `SELECT * FROM "${t}" ORDER BY ts`, rowMode: 'array' })).rows;
      const a = await pollUntil(() => read(viaClient), (r) => r.length === rows.length, 30_000, 100);
      const b = await pollUntil(() => read(viaOurs), (r) => r.length === rows.length, 30_000, 100);
      expect(a).toHaveLength(rows.length);
      expect(b).toEqual(a);
      const c = await pollUntil(() => read(viaColumns), (r) => r.length === rows.length, 30_000, 100);
      expect(c).toEqual(a.map((row) => row.map((v: unknown) => (Object.is(v, -0) ? 0 : v))));
    } finally {
      for (const t of [viaClient, viaOurs, viaColumns]) await db.query(`DROP TABLE IF EXISTS "${t}"`);
    }
  });

  it('reports a refused request as permanent with QuestDB\'s words', async () => {
    const s = testServices();
    const writer = new IlpHttpWriter({ http: s.questdb.http });
    try {
      const bad = new IlpBuffer();
      bad.text('samples,node=n value=not-a-number 1\n');
      await expect(writer.post(bad.bytes(), '1 bad row')).rejects.toMatchObject({ permanent: true, message: expect.stringMatching(/QuestDB answered 400 to 1 bad row/) });
    } finally {
      writer.close();
    }
  });

  it('fails retriably, without an unhandled rejection, when QuestDB goes away between requests', async () => {
    // A server that answers the first request, then cuts every connection: the second request fails
    // while write() still waits for a slot for the third. That failure must reach write()'s caller
    // (ingest retries) and must not be an unhandled rejection, which ended ingest in the fault test.
    let served = 0;
    const server = createServer((req, res) => {
      req.resume();
      if (served++ === 0) req.on('end', () => setTimeout(() => { res.statusCode = 204; res.end(); }, 200));
      else req.socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const writer = new IlpHttpWriter({ http: `127.0.0.1:${port}`, rowsPerRequest: 1, inFlight: 1 });
    try {
      await expect(writer.write('samples', records('samples', 'gone'))).rejects.toThrow(/failed|did not answer/);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
      expect(served).toBeLessThan(4); // 4 rows, 1 a request: not every request was started after one failed
    } finally {
      process.off('unhandledRejection', onUnhandled);
      writer.close();
      server.close();
    }
  });

  it('fails retriably, saying where, when QuestDB is not there', async () => {
    const writer = new IlpHttpWriter({ http: '127.0.0.1:1' });
    await expect(writer.write('samples', records('samples', 'm'))).rejects.toThrow(/sending 4 samples rows to QuestDB at http:\/\/127\.0\.0\.1:1\/write failed/);
    writer.close();
  });
});
