/**
 * Terminal output of `isoscope run`: a progress bar per run (cli-progress; the bar counts steps, the
 * text shows the current one) or plain lines when not on a terminal, and the summary table
 * (cli-table3) at the end.
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { Progress, RunSummary } from './runner.js';

export interface ProgressReporter {
  update: (p: Progress) => void;
  stop: () => void;
}

export function progressReporter(style: 'bars' | 'lines'): ProgressReporter {
  if (style === 'lines') {
    return {
      update: (p) => process.stderr.write(line(p) + '\n'),
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar({
    format: '{cell} |{bar}| {step}',
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, { bar: cliProgress.SingleBar; steps: number }>();
  let stopped = false;
  return {
    update(p) {
      if (stopped) return;
      if (p.type === 'plan') multi.log(`${p.total} runs in the matrix; ${p.skipped} already done${p.recovered ? `; ${p.recovered} interrupted run(s) recorded as aborted` : ''}\n`);
      else if (p.type === 'start') bars.set(p.run, { bar: multi.create(12, 0, { cell: `[${p.index + 1}/${p.total}] ${p.cell.key}`.padEnd(34), step: 'starting' }), steps: 0 });
      else if (p.type === 'step') {
        const b = bars.get(p.run);
        if (!b) return void multi.log(`${p.message}\n`);
        b.steps++;
        b.bar.setTotal(Math.max(12, b.steps + 1));
        b.bar.update(b.steps, { step: p.message.slice(0, 60) });
      } else {
        const b = bars.get(p.summary.run);
        b?.bar.setTotal(b.steps || 1);
        b?.bar.update(b.steps || 1, { step: outcome(p.summary).slice(0, 80) });
      }
    },
    stop() {
      if (!stopped) multi.stop();
      stopped = true;
    },
  };
}

function outcome(s: RunSummary): string {
  return s.phase === 'end' ? `${s.result ?? '-'} ${s.unit ?? ''} (workload ${(s.workloadSeconds ?? 0).toFixed(1)} s, run ${s.seconds.toFixed(1)} s)` : `${s.phase}: ${s.message ?? ''}`;
}

function line(p: Progress): string {
  switch (p.type) {
    case 'plan': return `plan: ${p.total} runs, ${p.skipped} already done, ${p.recovered} recovered as aborted`;
    case 'start': return `[${p.index + 1}/${p.total}] ${p.cell.key}: run ${p.run} starting`;
    case 'step': return `  ${p.run}: ${p.message}`;
    case 'end': return `  ${p.summary.run}: ${outcome(p.summary)}`;
  }
}

/** What each column of the summary table is, printed under it. */
export const SUMMARY_LEGEND = [
  'result: the workload\'s figure of merit, in unit; workload s: the workload\'s own wall time (launch to exit);',
  'total s: the whole run (partitions, background warm-up, workload, teardown); phase: end, fail or abort.',
].join('\n');

/**
 * The table printed at the end of `isoscope run`, with its legend; colours only for a terminal
 * (`color`), so a file or pipe gets plain text.
 */
export function summaryTable(summaries: readonly RunSummary[], color = false): string {
  if (!summaries.length) return 'no runs were needed: every cell of the matrix has finished (see isoscope runs)';
  const t = new Table({
    head: ['run', 'cell', 'phase', 'result', 'unit', 'workload s', 'total s', 'message'],
    wordWrap: true,
    colWidths: [null, null, null, null, null, null, null, 50] as unknown as number[],
    ...(color ? {} : { style: { head: [], border: [] } }),
  });
  const secs = (n: number | null) => (n === null ? '' : n.toFixed(1));
  for (const s of summaries) t.push([s.run, s.cell, s.phase, s.result === null ? '' : String(Number(s.result.toPrecision(6))), s.unit ?? '', secs(s.workloadSeconds), secs(s.seconds), s.message ?? '']);
  return `${t.toString()}\n${SUMMARY_LEGEND}`;
}
