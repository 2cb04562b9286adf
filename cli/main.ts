/**
 * The `isoscope` command. Subcommands are listed here explicitly (the CLI's registry); each lives in
 * cli/commands/ and is built by a function, so nothing registers itself on import.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { alertsCommand } from './commands/alerts.js';
import { collectorCommand } from './commands/collector.js';
import { configCommand } from './commands/config.js';
import { ingestCommand } from './commands/ingest.js';
import { loadgenCommand } from './commands/loadgen.js';
import { parseCommand } from './commands/parse.js';
import { runCommand } from './commands/run.js';
import { cancelCommand, runsCommand } from './commands/runs.js';
import { orchestratorCommand } from './commands/orchestrator.js';
import { queryCommand } from './commands/query.js';
import { schemaCommand } from './commands/schema.js';
import { servicesCommand } from './commands/services.js';
import { sqlCommand } from './commands/sql.js';
import { testbedCommand } from './commands/testbed.js';
import { upCommand } from './commands/up.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('isoscope')
  .description('Telemetry for performance-isolation experiments: collectors → bus → ingest → store → queries.')
  .version(pkg.version)
  .option('-c, --config <file>', 'YAML configuration file (default: $ISOSCOPE_CONFIG, else ./isoscope.yaml if present)')
  .option('--log-level <level>', 'trace, debug, info, warn, error or silent (default: config log.level)')
  .showHelpAfterError('(add --help for usage)')
  .addCommand(upCommand())
  .addCommand(collectorCommand())
  .addCommand(ingestCommand())
  .addCommand(loadgenCommand())
  .addCommand(alertsCommand())
  .addCommand(sqlCommand())
  .addCommand(runCommand())
  .addCommand(runsCommand())
  .addCommand(cancelCommand())
  .addCommand(orchestratorCommand())
  .addCommand(queryCommand())
  .addCommand(parseCommand())
  .addCommand(servicesCommand())
  .addCommand(testbedCommand())
  .addCommand(schemaCommand())
  .addCommand(configCommand());

await program.parseAsync(process.argv);
