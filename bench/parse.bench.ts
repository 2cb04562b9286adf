/**
 * Log parsing throughput: lines/s on one core for `--source auto` (the slowest mode: every line may
 * be tried by every parser) over a mixed corpus made of all parser fixtures (Kitten console,
 * Palacios lifecycle and telemetry, Pisces, Hobbes tables, dmesg, kmsg, junk), against the raw rate
 * of only splitting the same corpus into lines, measured in the same run.
 *
 *   npm run build && node dist/bench/parse.bench.js
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogParser } from '../collectors/logs/parser.js';
import { LineSplitter } from '../collectors/logs/tail/line-splitter.js';
import { LOG_SOURCES } from '../collectors/logs/types.js';

const TARGET_LINES = 300_000;
const ROUNDS = 5;

/** The folder holding collectors/logs/<source>/testdata, from the source tree or from dist/. */
function logsDir(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    const candidate = join(d, 'collectors', 'logs');
    if (existsSync(join(candidate, 'kitten', 'testdata'))) return candidate;
  }
  throw new Error('cannot find collectors/logs/*/testdata above this file; run the benchmark from the project folder');
}

function corpus(): Buffer {
  const dir = logsDir();
  const files = LOG_SOURCES.flatMap((s) => readdirSync(join(dir, s, 'testdata')).filter((f) => f.endsWith('.log')).map((f) => join(dir, s, 'testdata', f)));
  const one = Buffer.concat(files.map((f) => {
    const b = readFileSync(f);
    return b[b.length - 1] === 10 ? b : Buffer.concat([b, Buffer.from('\n')]);
  }));
  const linesPerCopy = one.toString('latin1').split('\n').length - 1;
  return Buffer.concat(Array.from({ length: Math.ceil(TARGET_LINES / linesPerCopy) }, () => one));
}

function best(fn: () => number): { lines: number; seconds: number } {
  fn(); // warm-up
  let seconds = Infinity;
  let lines = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    lines = fn();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { lines, seconds };
}

export function main(): void {
  const bytes = corpus();
  const text = bytes.toString('utf8');
  const split = best(() => text.split('\n').length - 1);
  const splitter = best(() => new LineSplitter().push(bytes).length);
  const lines = text.split('\n').slice(0, -1);
  let unparsed = 0;
  let samples = 0;
  const parse = best(() => {
    const p = new LogParser({ source: 'auto', bootTimeNs: 1_700_000_000_000_000_000n, stamp: () => 1_795_537_485_000_000_000n });
    samples = 0;
    for (const l of lines) samples += p.parse(l).samples.length;
    unparsed = p.stats.unparsed;
    return lines.length;
  });
  const rate = (r: { lines: number; seconds: number }) => r.lines / r.seconds;
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} lines/s`;
  console.log(`parse: ${lines.length.toLocaleString('en-US')} lines (${(bytes.length / 1e6).toFixed(1)} MB), mixed corpus of all fixtures; best of ${ROUNDS}, one core`);
  console.log(`  raw split (String.split on \\n)            ${fmt(rate(split))}`);
  console.log(`  raw split (LineSplitter on bytes, tailer) ${fmt(rate(splitter))}`);
  console.log(`  parse --source auto (events + samples)    ${fmt(rate(parse))} per core   (${unparsed.toLocaleString('en-US')} unparsed, ${samples.toLocaleString('en-US')} samples)`);
  console.log(`  comparison: parsing runs at ${((rate(parse) / rate(split)) * 100).toFixed(1)}% of the raw split rate, ${((rate(parse) / rate(splitter)) * 100).toFixed(1)}% of the tailer's line splitting`);
}

main();
