/** Options of the log collector: which streams to follow and how to read them. */
import { z } from 'zod';
import { LOG_SOURCES } from './types.js';

const source = z.enum(['auto', ...LOG_SOURCES]).default('auto');
/** ISO-8601 time with zone; checked again by isoToNs when the stream is built. */
const isoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, 'expected ISO-8601 with a zone, e.g. 2026-11-24T16:13:00Z');

export const logInputSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('file'),
      /** File to follow (serial-console capture, `pisces_cons` output, a dmesg dump). */
      path: z.string().min(1),
      /** @default 'auto' */
      source,
      /** Boot time of the kernel whose `[ s.us]` lines the file holds. @default this node's boot time */
      bootTime: isoTime.optional(),
      /** Where to start without a checkpoint. @default 'beginning' */
      startAt: z.enum(['beginning', 'end']).default('beginning'),
    })
    .strict(),
  z
    .object({
      type: z.literal('kmsg'),
      /** @default '/dev/kmsg' */
      path: z.string().min(1).default('/dev/kmsg'),
      /** Where to start without a checkpoint for this boot. @default 'end' */
      startAt: z.enum(['beginning', 'end']).default('end'),
    })
    .strict(),
  z
    .object({
      type: z.literal('command'),
      /** Command streaming a console, e.g. `hobbes`. */
      command: z.string().min(1),
      /** e.g. `["console", "kitten-0"]` @default [] */
      args: z.array(z.string()).default([]),
      /** @default 'auto' */
      source,
    })
    .strict(),
]);

export const logsConfigSchema = z
  .object({
    /** Streams to follow. @default [] */
    inputs: z.array(logInputSchema).default([]),
    /** Folder for the tailers' checkpoints. @default '<dataDir>/collector/logs' (set by the agent) */
    stateDir: z.string().min(1).optional(),
  })
  .strict();

export type LogInputConfig = z.output<typeof logInputSchema>;
export type LogsConfig = z.output<typeof logsConfigSchema>;
