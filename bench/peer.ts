/**
 * The JVM peer of bench/ingest-drain (bench/peer/IsoscopePeer.java): compiled with `javac` at bench
 * time against the Kafka jars `isoscope services` fetches and QuestDB's Java ILP client (fetched on
 * first use into the same cache, services/maven.ts), then run as its own process. No binary is
 * committed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../services/process.js';
import { ensureArtifacts, ensureQuestDbClient } from '../services/maven.js';

const SOURCE = new URL('../../bench/peer/IsoscopePeer.java', import.meta.url).pathname;

/** The classpath for the peer: Kafka's client and its codecs, Jackson, QuestDB's client. */
async function classpath(): Promise<string> {
  const { kafkaLibDir } = await ensureArtifacts();
  const clientDir = await ensureQuestDbClient(undefined, (l) => process.stderr.write(`[peer] ${l}\n`));
  const kafka = (await readdir(kafkaLibDir)).filter((n) => /^(kafka-clients|lz4-java|snappy-java|zstd-jni|jackson-(core|databind|annotations))-/.test(n)).map((n) => join(kafkaLibDir, n));
  const client = (await readdir(clientDir)).filter((n) => n.endsWith('.jar')).map((n) => join(clientDir, n));
  return [...kafka, ...client].join(':');
}

/** Compiles the peer; returns how to run it. */
export async function buildPeer(): Promise<{ classDir: string; cp: string }> {
  const cp = await classpath();
  const classDir = await mkdtemp(join(tmpdir(), 'isoscope-peer-'));
  const res = await runCommand('javac', ['-nowarn', '-d', classDir, '-cp', cp, SOURCE], { timeoutMs: 300_000 });
  if (res.notFound) throw new Error('no `javac` on PATH: the JVM peer is compiled at bench time (a JDK 17 is needed)');
  if (res.code !== 0) throw new Error(`javac failed (exit ${res.code}):\n${res.output.slice(-3000)}`);
  return { classDir, cp: `${classDir}:${cp}` };
}

/** Runs the peer until it has written and committed `expected` records; its own CPU-seconds. */
export function runPeer(peer: { cp: string }, brokers: string, group: string, http: string, expected: number): Promise<{ records: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx1g', '-cp', peer.cp, 'IsoscopePeer', brokers, group, http, String(expected)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as { records: number; cpuSeconds: number });
      else reject(new Error(`the JVM peer exited ${code}: ${err.slice(-3000)}`));
    });
  });
}
