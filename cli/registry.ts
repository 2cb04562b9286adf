/**
 * The CLI's registry: every subcommand by name, each built by a function in cli/commands/. Modules
 * are imported only for the command that runs (`isoscope parse` does not load Kafka, DuckDB, hono and
 * the orchestrator: about 0.1 s of CPU instead of 1 s), all of them for the overall help.
 */
import type { Command } from 'commander';

export const COMMANDS: readonly (readonly [name: string, build: () => Promise<Command>])[] = [
  ['up', async () => (await import('./commands/up.js')).upCommand()],
  ['collector', async () => (await import('./commands/collector.js')).collectorCommand()],
  ['ingest', async () => (await import('./commands/ingest.js')).ingestCommand()],
  ['loadgen', async () => (await import('./commands/loadgen.js')).loadgenCommand()],
  ['alerts', async () => (await import('./commands/alerts.js')).alertsCommand()],
  ['sql', async () => (await import('./commands/sql.js')).sqlCommand()],
  ['run', async () => (await import('./commands/run.js')).runCommand()],
  ['runs', async () => (await import('./commands/runs.js')).runsCommand()],
  ['cancel', async () => (await import('./commands/runs.js')).cancelCommand()],
  ['orchestrator', async () => (await import('./commands/orchestrator.js')).orchestratorCommand()],
  ['query', async () => (await import('./commands/query.js')).queryCommand()],
  ['report', async () => (await import('./commands/report.js')).reportCommand()],
  ['parse', async () => (await import('./commands/parse.js')).parseCommand()],
  ['services', async () => (await import('./commands/services.js')).servicesCommand()],
  ['testbed', async () => (await import('./commands/testbed.js')).testbedCommand()],
  ['schema', async () => (await import('./commands/schema.js')).schemaCommand()],
  ['config', async () => (await import('./commands/config.js')).configCommand()],
];

/** Global options that take a value (the value is not the subcommand's name). */
const VALUED = new Set(['-c', '--config', '--log-level', '--log-format']);

/**
 * The subcommands to build for this command line: the one it names, or every one (for help, or to
 * let commander report an unknown command with the known ones).
 * @example commandsFor(['--log-level', 'warn', 'parse', 'x.log']) // [parse]
 */
export async function commandsFor(args: readonly string[]): Promise<Command[]> {
  let name: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUED.has(a)) i++;
    else if (!a.startsWith('-')) {
      name = a;
      break;
    }
  }
  const chosen = COMMANDS.filter(([n]) => n === name);
  return Promise.all((chosen.length ? chosen : COMMANDS).map(([, build]) => build()));
}
