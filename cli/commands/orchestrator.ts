/**
 * `isoscope orchestrator serve`: the orchestrator's HTTP API (submit experiments, list/get/cancel
 * runs) on `--listen`; submitting and cancelling need query.token as a bearer token.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Command } from 'commander';
import { commandConfig } from '../context.js';
import { reportFailure, UserError } from '../options.js';
import { loadCatalog } from '../../orchestrator/catalog/load.js';
import { orchestratorApp } from '../../orchestrator/server/app.js';
import { openRecordSink } from '../../orchestrator/sink.js';

interface Flags {
  listen: string;
  catalog: string[];
}

export function orchestratorCommand(): Command {
  const cmd = new Command('orchestrator').description('The orchestrator as a service.');
  cmd
    .command('serve')
    .description('Serve the orchestrator HTTP API: POST /api/experiments (YAML), GET /api/runs[/:run], POST /api/runs/:run/cancel.')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:7411')
    .option('--catalog <dir>', 'extra workload catalog directory (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .addHelpText('after', '\nExample:\n  ISOSCOPE_QUERY_TOKEN=secret isoscope orchestrator serve\n  curl -H "Authorization: Bearer secret" -H "content-type: text/yaml" --data-binary @examples/stream-interference.yaml localhost:7411/api/experiments')
    .action(async (flags: Flags, sub: Command) => {
      try {
        await runServe(flags, sub);
      } catch (err) {
        reportFailure('orchestrator serve', err);
      }
    });
  return cmd;
}

async function runServe(flags: Flags, cmd: Command): Promise<void> {
  const config = commandConfig(cmd);
  if (!config.query.token) throw new UserError('the orchestrator API needs a token for submitting and cancelling: set query.token (ISOSCOPE_QUERY_TOKEN)');
  const sink = await openRecordSink(config);
  const submitDir = join(config.stateDir, 'orchestrator', 'submitted');
  const app = orchestratorApp({
    token: config.query.token,
    producer: sink.producer,
    catalog: loadCatalog(flags.catalog),
    stateDir: config.stateDir,
    submitDir,
    saveSubmitted: (name, yaml) => {
      mkdirSync(submitDir, { recursive: true });
      const file = join(submitDir, `${name}.${Date.now()}.yaml`);
      writeFileSync(file, yaml);
      return file;
    },
  });
  const i = flags.listen.lastIndexOf(':');
  const server = serve({ fetch: app.fetch, hostname: flags.listen.slice(0, i), port: Number(flags.listen.slice(i + 1)) });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new UserError(`cannot listen on ${flags.listen}: the port is taken; choose another with --listen`) : err));
  });
  process.stderr.write(`orchestrator API on http://${flags.listen}; records to ${sink.describe}\n`);
  const stop = async () => {
    app.stopAll();
    await app.idle();
    await new Promise<void>((r) => server.close(() => r()));
    await sink.close();
  };
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`\n${sig}: aborting running experiments and stopping…\n`);
      void stop().then(() => process.exit(0));
    });
  }
}
