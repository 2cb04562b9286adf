import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from './registry.js';

describe('the CLI registry', () => {
  it('builds every command under its own name', async () => {
    for (const [name, build] of COMMANDS) expect((await build()).name()).toBe(name);
  });

  it('builds only the command a command line names, after global options and their values', async () => {
    expect((await commandsFor(['--log-level', 'warn', '-c', 'x.yaml', '--verbose', 'parse', 'f.log'])).map((c) => c.name())).toEqual(['parse']);
    expect((await commandsFor(['cancel', 'r1'])).map((c) => c.name())).toEqual(['cancel']);
  });

  it('builds all of them for help, --version and unknown commands', async () => {
    for (const args of [[], ['--help'], ['help', 'sql'], ['nosuchcommand']]) expect(await commandsFor(args)).toHaveLength(COMMANDS.length);
  });
});
