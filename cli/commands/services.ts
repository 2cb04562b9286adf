// `isoscope services start|stop|status`: the command-line face of services/manager.ts, for running the real
// Kafka and QuestDB locally. Results go to stdout as plain lines (easy to parse in scripts), progress and
// errors to stderr; failures set exit code 1.
import { Command, InvalidArgumentError } from 'commander';
import { servicesStatus, serviceLines, startServices, stopServices } from '../../services/manager.js';
import { killActiveCommands } from '../../services/process.js';
import { DEFAULT_STATE_DIR } from '../../services/state.js';
import { KAFKA_VERSION, QUESTDB_VERSION } from '../../services/versions.js';
import { oneOf, reportFailure } from '../options.js';

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InvalidArgumentError('expected a port number (1-65535)');
  return port;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return seconds;
}

/** Prints an error as one readable message (see cli/failure.ts) and sets exit code 1. */
function fail(command: string, err: unknown): void {
  reportFailure(`services ${command}`, err);
}

const stateDirOption = ['--state-dir <dir>', 'directory for services.json and the services\' data', DEFAULT_STATE_DIR] as const;

interface StartFlags {
  stateDir: string;
  kafkaPort?: number;
  questdbHttpPort?: number;
  questdbPgPort?: number;
  questdbIlpPort?: number;
  timeout: number;
}

async function start(flags: StartFlags): Promise<void> {
  // Ctrl-C during start-up must not leave half-started JVMs behind.
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress('interrupted; stopping what was already started…');
    killActiveCommands();
    void stopServices(flags.stateDir).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { state, alreadyRunning, stateFile } = await startServices({
      stateDir: flags.stateDir,
      kafkaPort: flags.kafkaPort,
      questdbHttpPort: flags.questdbHttpPort,
      questdbPgPort: flags.questdbPgPort,
      questdbIlpPort: flags.questdbIlpPort,
      timeoutMs: flags.timeout * 1000,
      log: progress,
    });
    if (alreadyRunning) progress(`services are already running (state in ${stateFile})`);
    for (const line of serviceLines(state)) process.stdout.write(`${line}\n`);
  } catch (err) {
    if (!interrupted) fail('start', err); // else the signal handler is cleaning up and exits
  } finally {
    if (!interrupted) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

async function stop(flags: { stateDir: string; purge?: boolean; only?: 'kafka' | 'questdb' }): Promise<void> {
  try {
    if (flags.only && flags.purge) throw new Error('--purge deletes both services\' data; it cannot be combined with --only');
    const { stopped, purged } = await stopServices(flags.stateDir, { purge: flags.purge === true, ...(flags.only ? { only: flags.only } : {}) });
    if (stopped.length === 0) process.stdout.write(`no services are running for ${flags.stateDir}\n`);
    for (const { service, pid } of stopped) process.stdout.write(`${service} stopped (pid ${pid})\n`);
    if (purged) process.stdout.write(`deleted the services' data in ${flags.stateDir}\n`);
  } catch (err) {
    fail('stop', err);
  }
}

async function status(flags: { stateDir: string }): Promise<void> {
  try {
    const report = await servicesStatus(flags.stateDir);
    if (!report.state) {
      process.stdout.write(`no services started for ${flags.stateDir} (no ${report.stateFile}); run \`isoscope services start\`\n`);
    }
    for (const s of report.services) {
      process.stdout.write(`${s.name} ${s.address} ${s.up ? 'up' : `down (${s.reason ?? 'unknown'})`}\n`);
    }
    process.exitCode = report.allUp ? 0 : 1;
  } catch (err) {
    fail('status', err);
  }
}

/**
 * Builds the `services` command with its `start`, `stop` and `status` subcommands.
 * @example program.addCommand(servicesCommand());
 */
export function servicesCommand(): Command {
  const services = new Command('services').description(
    `run the real Kafka ${KAFKA_VERSION} and QuestDB ${QUESTDB_VERSION} on loopback for development and tests (see services/README.md)`,
  );

  services
    .command('start')
    .description(
      'start Kafka and QuestDB on free loopback ports (fetched from Maven Central on first use), wait until both are ' +
        'healthy, print their addresses and write them to <state-dir>/services.json; does nothing if they already run; if one of them stopped, restarts it on its recorded ports',
    )
    .option(...stateDirOption)
    .option('--kafka-port <port>', 'Kafka client port (default: a free port)', parsePort)
    .option('--questdb-http-port <port>', 'QuestDB HTTP port (default: a free port)', parsePort)
    .option('--questdb-pg-port <port>', 'QuestDB PostgreSQL wire port (default: a free port)', parsePort)
    .option('--questdb-ilp-port <port>', 'QuestDB ILP over TCP port (default: a free port)', parsePort)
    .option('--timeout <seconds>', 'how long each service may take to become healthy', parseSeconds, 60)
    .action(start);

  services
    .command('stop')
    .description('stop the services of <state-dir>, make sure none of their processes is left, and remove services.json')
    .option(...stateDirOption)
    .option('--purge', "also delete the services' data (topics, tables) in <state-dir>")
    .option('--only <service>', 'stop only kafka or questdb and keep services.json; `services start` brings it back on the same ports', oneOf(['kafka', 'questdb'] as const))
    .action(stop);

  services
    .command('status')
    .description('probe every service recorded in <state-dir>/services.json; exit code 0 if all are up, 1 otherwise')
    .option(...stateDirOption)
    .action(status);

  return services;
}
