/**
 * `isoscope report EXPERIMENT`: the answer as a figure. Reads the experiment through the query API
 * (in-process on the configured store, or a running `isoscope up` on the same data, or --url) and
 * writes a self-contained report directory (report/write.ts).
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { ISOSCOPE_VERSION } from '../../core/version.js';
import { createQueryApp } from '../../query/app.js';
import { FIGURES, type FigureName } from '../../report/figures.js';
import { gather } from '../../report/gather.js';
import { ApiError, appSource, httpSource, type ApiSource } from '../../report/source.js';
import { FORMATS, writeReport, type ReportFormat } from '../../report/write.js';
import { readUpState } from '../../standalone/up-state.js';
import type { Store } from '../../store/store.js';
import { commandConfig } from '../context.js';
import { oneOf, reportFailure, UsageError, UserError } from '../options.js';
import { createStore } from '../../wiring/wiring.js';

interface Flags {
  out?: string;
  format: string;
  figure?: string;
  only?: FigureName;
  store?: 'questdb' | 'duckdb';
  url?: string;
}

function formats(value: string): ReportFormat[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (bad.length || list.length === 0) throw new UsageError(`--format: expected html, md or json (or a comma-separated list of them), got "${value}"`);
  return list as ReportFormat[];
}

export function reportCommand(): Command {
  return new Command('report')
    .description('Write a self-contained report of an experiment: scaling and slowdown figures, what moved, aligned series, provenance (HTML, Markdown, JSON; SVG, PNG, CSV, Parquet per figure).')
    .argument('<experiment>', 'experiment name (see isoscope runs)')
    .option('--out <dir>', 'output directory (default: report-<experiment>)')
    .option('--format <list>', 'documents to write: html, md, json, comma-separated', 'html,md,json')
    .option('--figure <name>', 'figure of merit from the runs\' config.figures (e.g. hpl) instead of their result')
    .option('--only <figure>', `write only this figure (${FIGURES.join(', ')})`, oneOf(FIGURES))
    .option('--store <store>', 'questdb or duckdb (default: config `store`)', oneOf(['questdb', 'duckdb'] as const))
    .option('--url <url>', 'read from this query service instead (e.g. http://127.0.0.1:7410; token from query.token)')
    .addHelpText('after', '\nExamples:\n  isoscope report stream-interference --figure hpl\n  isoscope report e1 --out /tmp/e1 --format html --only scaling')
    .action(async (experiment: string, flags: Flags, cmd: Command) => {
      let store: Store | null = null;
      try {
        const fmts = formats(flags.format);
        const config = commandConfig(cmd, flags.store ? { store: flags.store } : {});
        let api: ApiSource;
        const up = config.storeKind === 'duckdb' && !flags.url ? readUpState(config.stateDir) : null;
        if (flags.url) api = httpSource(flags.url.replace(/\/+$/, ''), config.query.token);
        else if (up && up.dataDir === config.dataDir) api = httpSource(up.url, config.query.token);
        else {
          store = await createStore(config);
          await store.start();
          api = appSource(createQueryApp({ store }), `the ${store.kind} store`);
        }
        const out = resolve(flags.out ?? `report-${experiment.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
        let data;
        try {
          data = await gather(api, { experiment, figure: flags.figure, version: ISOSCOPE_VERSION });
        } catch (err) {
          if (err instanceof ApiError && err.status < 500) throw new UserError(`cannot report ${experiment} (read from ${api.where}): ${err.message}`);
          throw err;
        }
        const files = await writeReport(data, { out, formats: fmts, figure: flags.only });
        const doc = fmts.includes('html') ? 'index.html' : fmts.includes('md') ? 'report.md' : 'report.json';
        process.stdout.write(`report of ${experiment}: ${files.length} files in ${out}\n  open ${resolve(out, doc)}\n`);
      } catch (err) {
        reportFailure('report', err);
      } finally {
        await store?.shutdown();
      }
    });
}
