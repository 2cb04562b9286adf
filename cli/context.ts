/**
 * What every command needs before it runs: the loaded configuration (with the global --config
 * option and per-command --bus/--store overrides) and a logger at the configured level.
 */
import type { Command } from 'commander';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { logger } from '../core/logger.js';

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
  logFormat?: string;
}

export function commandConfig(cmd: Command, overrides: Parameters<typeof loadConfig>[0] extends infer O ? O extends { overrides?: infer V } ? V : never : never = {}): ResolvedConfig {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const config = loadConfig({ file: globals.config, overrides });
  logger(globals.logLevel ?? process.env.ISOSCOPE_LOG_LEVEL ?? config.log.level, globals.logFormat ?? config.log.format);
  return config;
}

/** Runs `shutdown` on SIGINT/SIGTERM once and says when it is done; a second signal exits at once. */
export function onSignal(shutdown: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal} received: stopping (press Ctrl-C again to exit at once)…\n`);
    const t0 = Date.now();
    shutdown(signal).then(() => {
      process.stderr.write(`stopped cleanly in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.exit(0);
    }, (err: unknown) => {
      process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
