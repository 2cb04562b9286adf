/**
 * `isoscope parse FILE…`: reads Kitten, Palacios, Pisces, Hobbes and Linux kernel logs and prints one
 * JSON event per line, for looking at a capture or feeding it to other tools. `-` reads stdin.
 */
import { Command, InvalidArgumentError } from 'commander';
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { nowNs } from '../../core/clock.js';
import { eventJson } from '../../collectors/logs/json.js';
import { LogParser } from '../../collectors/logs/parser.js';
import { LineSplitter } from '../../collectors/logs/tail/line-splitter.js';
import { findLaunchLine, isLaunchLine, isoToNs, localBootTimeNs, ReplayClock } from '../../collectors/logs/time.js';
import { LOG_SOURCES, type LogSource } from '../../collectors/logs/types.js';
import { assertText } from '../binary-input.js';
import { oneOf, reportFailure } from '../options.js';

interface Flags {
  source: LogSource | 'auto';
  bootTime?: bigint;
  launchTime?: bigint;
  node: string;
}

function isoTime(what: string) {
  return (value: string): bigint => {
    try {
      return isoToNs(value);
    } catch (err) {
      throw new InvalidArgumentError(`${what}: ${(err as Error).message}`);
    }
  };
}

export function parseCommand(): Command {
  return new Command('parse')
    .description('Parse Kitten, Palacios, Pisces, Hobbes and Linux kernel logs into events, one JSON object per line.')
    .argument('<file...>', 'log files to read in order; - for standard input')
    .option('--source <source>', `how to read the lines: auto (per line) or ${LOG_SOURCES.join(', ')}`, oneOf(['auto', ...LOG_SOURCES] as const), 'auto')
    .option('--boot-time <iso>', 'boot time of the kernel whose [ s.us] / kmsg times the files hold (default: this machine\'s)', isoTime('--boot-time'))
    .option('--launch-time <iso>', 'launch time of the enclave whose console is replayed: its first boot line gets this time, later lines keep their order after it', isoTime('--launch-time'))
    .option('--node <name>', 'value of the node column', hostname())
    .addHelpText('after', '\nExamples:\n  isoscope parse --source kitten kitten0-console.log\n  dmesg | isoscope parse -\n  isoscope parse --boot-time 2026-11-24T09:00:00Z --node lab-07 dmesg.txt')
    .action(async (files: string[], flags: Flags) => {
      try {
        for (const file of files) await parseFile(file, flags);
      } catch (err) {
        reportFailure('parse', err);
      }
    });
}

async function parseFile(file: string, flags: Flags): Promise<void> {
  let stamp: () => bigint = nowNs;
  if (flags.launchTime !== undefined) {
    const anchor = file === '-' ? 0 : findLaunchLine(await linesToLaunch(await open(file)));
    const clock = new ReplayClock(flags.launchTime, anchor);
    stamp = () => clock.next();
  }
  const parser = new LogParser({ source: flags.source, bootTimeNs: flags.bootTime ?? localBootTimeNs(), stamp });
  const splitter = new LineSplitter();
  const emit = async (lines: string[]) => {
    if (!lines.length) return;
    const out = lines.map((l) => eventJson(parser.parse(l).event, flags.node)).join('\n') + '\n';
    if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once('drain', r));
  };
  let first = true;
  for await (const chunk of await open(file)) {
    if (first) assertText(chunk as Buffer, file === '-' ? 'standard input' : file);
    first = false;
    await emit(splitter.push(chunk as Buffer));
  }
  const rest = splitter.flush();
  if (rest !== null) await emit([rest]);
}

/** Standard input for `-`, else the file, checked first so a missing file is reported by name. */
async function open(file: string): Promise<Readable> {
  if (file === '-') return process.stdin;
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}; expected a readable log file or - for standard input`);
  }
  return createReadStream(file);
}

/** The lines of a file up to its first launch line (for anchoring a replay). */
async function linesToLaunch(stream: Readable): Promise<string[]> {
  const splitter = new LineSplitter();
  const lines: string[] = [];
  for await (const chunk of stream) {
    const got = splitter.push(chunk as Buffer);
    lines.push(...got);
    if (got.some(isLaunchLine)) break;
  }
  stream.destroy();
  return lines;
}
