/**
 * POSIX shell quoting for the remote side of SSH: the only place a command line is built from an
 * argv. Every argument becomes one single-quoted word (`'` inside is written `'\''`), so no value —
 * whatever `$`, backtick, `;`, newline or quote it holds — is interpreted by the remote shell.
 */

/** Quotes one argument as a single POSIX shell word. @example quoteArg("a'b") === "'a'\\''b'" */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error(`argument ${JSON.stringify(arg.slice(0, 40))} contains a NUL byte, which no command line can carry`);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an argv into one shell command line. @example quoteArgv(['echo', '$HOME']) === "echo '$HOME'" */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('cannot quote an empty argv: a command needs at least the program name');
  return argv.map(quoteArg).join(' ');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks environment variable names (values are quoted; names cannot be). */
export function checkEnvNames(env: Record<string, string> | undefined): void {
  for (const name of Object.keys(env ?? {})) {
    if (!ENV_NAME.test(name)) throw new Error(`environment variable name ${JSON.stringify(name)} is invalid: expected /^[A-Za-z_][A-Za-z0-9_]*$/`);
  }
}
