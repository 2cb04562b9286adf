/** The report's Markdown summary: warnings, the cells, figures as PNG links with captions, runs, provenance. */
import type { ReportData } from './gather.js';
import type { RenderedFigure } from './html.js';
import { CELL_HEADER, cellRows, provenanceRows, RUN_HEADER, runRows, warnings } from './summary.js';

const cellText = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const table = (header: string[], rows: string[][]) =>
  [`| ${header.map(cellText).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cellText).join(' | ')} |`)].join('\n');

export function reportMarkdown(d: ReportData, figures: RenderedFigure[]): string {
  const c = d.comparison;
  const out: string[] = [`# ${d.experiment}`, ''];
  out.push(`Figure of merit: **${c.figure ?? 'the run result'}**${c.unit ? ` in ${c.unit}` : ''} (${c.higher_is_better ? 'higher' : 'lower'} is better). Runs: ${c.runs.total} (${c.runs.end} finished, ${c.runs.fail} failed, ${c.runs.abort} aborted, ${c.runs.running} not ended). Version \`${c.spec_hash ?? 'not recorded'}\`.`, '');
  for (const w of warnings(d)) out.push(`> **Note:** ${w}`, '>');
  if (warnings(d).length) out.pop(), out.push('');
  out.push('## Cells', '', table(CELL_HEADER, cellRows(d)), '');
  for (const f of figures) {
    out.push(`## ${f.figure.title}`, '');
    const png = f.files.find((x) => x.endsWith('.png'));
    if (f.svg && png) out.push(`![${f.figure.title}](${png})`, '', `*${f.figure.caption}*`, '');
    else out.push(`*${f.figure.empty ?? 'nothing to draw'}*`, '');
    out.push(`Files: ${f.files.map((x) => `[${x}](${x})`).join(', ')}`, '');
  }
  out.push('## Runs', '', table(RUN_HEADER, runRows(d)), '');
  out.push('## Provenance', '', table(['what', 'value'], provenanceRows(d)), '');
  return out.join('\n');
}
