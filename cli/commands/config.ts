/** `isoscope config`: shows the effective configuration and the environment variables. */
import { Command } from 'commander';
import { stringify } from 'yaml';
import { configMarkdown } from '../../config/docs.js';
import { commandConfig } from '../context.js';
import { reportFailure } from '../options.js';

export function configCommand(): Command {
  const cmd = new Command('config').description('Show the effective configuration or the environment variables that set it.');
  cmd
    .command('show')
    .description('Print the configuration after defaults, file, environment and running services (secrets hidden).')
    .action((_flags: unknown, sub: Command) => {
      try {
        const c = commandConfig(sub);
        const shown = {
          ...c,
          questdb: { ...c.questdb, password: '[hidden]', ...(c.questdb.readonlyPassword ? { readonlyPassword: '[hidden]' } : {}) },
          questdbReadonlyPassword: '[hidden]',
          query: { ...c.query, ...(c.query.token ? { token: '[hidden]' } : {}) },
          services: c.services ? 'running (see services.json)' : null,
        };
        process.stdout.write(stringify(shown));
      } catch (err) {
        reportFailure('config show', err);
      }
    });
  cmd
    .command('env')
    .description('List every configuration field with its environment variable.')
    .action(() => void process.stdout.write(configMarkdown()));
  return cmd;
}
