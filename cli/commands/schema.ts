/** `isoscope schema`: prints the generated DDL and field documentation of the record types. */
import { Command } from 'commander';
import { duckdbSchema } from '../../schema/ddl/duckdb.js';
import { questdbSchema } from '../../schema/ddl/questdb.js';
import { schemaMarkdown } from '../../schema/docs.js';
import { oneOf } from '../options.js';

export function schemaCommand(): Command {
  const cmd = new Command('schema').description('Show the record schema: DDL for QuestDB or DuckDB, or the field tables as Markdown.');
  cmd
    .command('ddl')
    .description('Print CREATE TABLE statements for every record type.')
    .option('--dialect <dialect>', 'questdb or duckdb', oneOf(['questdb', 'duckdb'] as const), 'questdb')
    .action((flags: { dialect: 'questdb' | 'duckdb' }) => {
      const ddl = flags.dialect === 'questdb' ? questdbSchema() : duckdbSchema();
      process.stdout.write(Object.values(ddl).join('\n\n') + '\n');
    });
  cmd
    .command('docs')
    .description('Print the field tables (the body of docs/SCHEMA.md).')
    .action(() => void process.stdout.write(schemaMarkdown()));
  return cmd;
}
