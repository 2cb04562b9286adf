/**
 * The `isoscope` command. Subcommands are listed explicitly in cli/registry.ts; each lives in
 * cli/commands/ and is built by a function, so nothing registers itself on import.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { commandsFor } from './registry.js';
import { oneOf } from './options.js';
import { endQuietlyOnClosedPipe, reportFailure, setVerbose } from './failure.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('isoscope')
  .description('Telemetry for performance-isolation experiments: collectors → bus → ingest → store → queries.')
  .version(pkg.version)
  .option('-c, --config <file>', 'YAML configuration file (default: $ISOSCOPE_CONFIG, else ./isoscope.yaml if present)')
  .option('--log-level <level>', 'trace, debug, info, warn, error or silent (default: config log.level)', oneOf(['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const))
  .option('--log-format <format>', 'json, text or auto: text lines on a terminal, else JSON (default: config log.format)', oneOf(['json', 'text', 'auto'] as const))
  .option('--verbose', 'show the stack trace of a failure (also ISOSCOPE_DEBUG=1)');
for (const cmd of await commandsFor(process.argv.slice(2))) program.addCommand(cmd);

endQuietlyOnClosedPipe();
setVerbose(process.argv.includes('--verbose'));
// Every command, however deep, reports a wrong command line the same way: commander's message, a hint,
// exit status 2 (help and --version exit 0).
const everyCommand = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(everyCommand)];
for (const cmd of everyCommand(program)) {
  cmd.showHelpAfterError('(add --help for usage)').exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}
try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A command that let its error escape: the same one-line report as every command's own.
  reportFailure(program.args[0] ?? '', err);
}
