/**
 * Grafana's query expansion, done the way Grafana and the QuestDB plugin do it, so tests can run a
 * dashboard's SQL as Grafana would send it:
 * 1. the interval: (to − from) / maxDataPoints rounded by Grafana's table (kbn.roundInterval);
 * 2. template variables and globals (frontend, templateSrv): `$var`, `${var}`, `${var:csv}`,
 *    `[[var]]`, `$__from`/`${__from}`, `$__to`, `$__interval`, `$__interval_ms`. SQL datasources
 *    format a single value raw and multi-value or include-all variables as quoted, comma-joined
 *    literals (`'a','b'`); URLs get `:csv` lists;
 * 3. the QuestDB plugin's macros (backend, pkg/macros/macros.go): `$__timeFilter(col)` →
 *    `col >= cast(<from µs> as timestamp) AND col <= cast(<to µs> as timestamp)`, `$__fromTime`,
 *    `$__toTime`, `$__sampleByInterval` (`Nd`, `Nh`, `Ns` or `NT` for milliseconds).
 */

export interface VariableValue {
  value: string | string[];
  multi: boolean;
  includeAll?: boolean;
}

export interface ExpandContext {
  /** Dashboard time range, epoch milliseconds. */
  fromMs: number;
  toMs: number;
  /** Panel width in points. @default 1000 */
  maxDataPoints?: number;
  vars: Record<string, VariableValue>;
}

const ROUNDING: [number, number][] = [
  [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1_500, 1_000], [3_500, 2_000], [7_500, 5_000],
  [12_500, 10_000], [17_500, 15_000], [25_000, 20_000], [45_000, 30_000], [90_000, 60_000], [210_000, 120_000],
  [450_000, 300_000], [750_000, 600_000], [1_050_000, 900_000], [1_500_000, 1_200_000], [2_700_000, 1_800_000],
  [5_400_000, 3_600_000], [9_000_000, 7_200_000], [16_200_000, 10_800_000], [27_000_000, 21_600_000],
  [39_600_000, 43_200_000], [604_800_000, 86_400_000], [1_814_400_000, 604_800_000], [3_628_800_000, 2_592_000_000],
];

/** Grafana's kbn.roundInterval: the interval in ms rounded to a readable step. */
export function roundInterval(ms: number): number {
  for (const [below, to] of ROUNDING) if (ms < below) return to;
  return 31_536_000_000;
}

/** `$__interval` text as Grafana writes it: 500ms, 2s, 5m, 1h, 1d. */
export function intervalText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The QuestDB plugin's $__sampleByInterval for an interval in ms. */
export function sampleByInterval(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  const seconds = Math.floor(ms / 1_000);
  if (hours > 0) return hours >= 24 && ms % 3_600_000 === 0 ? `${Math.floor(hours / 24)}d` : `${hours}h`;
  if (seconds > 0) return `${seconds}s`;
  return `${Math.max(1, ms)}T`;
}

export function intervalMs(ctx: ExpandContext): number {
  return roundInterval((ctx.toMs - ctx.fromMs) / (ctx.maxDataPoints ?? 1000));
}

const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;

/** Replaces variables; `format` renders one variable's value (after `:fmt` if given). */
function replaceVariables(text: string, ctx: ExpandContext, format: (v: VariableValue, fmt: string | undefined, name: string) => string): string {
  const interval = intervalMs(ctx);
  const globals: Record<string, string> = { __from: String(ctx.fromMs), __to: String(ctx.toMs), __interval: intervalText(interval), __interval_ms: String(interval) };
  return text.replace(/\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)/g, (whole, a?: string, fa?: string, b?: string, fb?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (name in globals) return globals[name]!;
    const v = ctx.vars[name];
    if (!v) {
      if (name.startsWith('__')) return whole; // a plugin macro, expanded later
      throw new Error(`the query uses $${name}, which is neither a dashboard variable nor a Grafana global`);
    }
    return format(v, fa ?? fb, name);
  });
}

/** SQL as the QuestDB plugin runs it: variables (SQL formatting), then the plugin's macros. */
export function expandQuestDbSql(sql: string, ctx: ExpandContext): string {
  const withVars = replaceVariables(sql, ctx, (v, fmt) => {
    const values = Array.isArray(v.value) ? v.value : [v.value];
    if (fmt === 'csv') return values.join(',');
    if (!v.multi && !v.includeAll) return values.join(',');
    return values.map(quote).join(',');
  });
  const us = (ms: number) => `cast(${BigInt(ms) * 1000n} as timestamp)`;
  const interval = intervalMs(ctx);
  const out = withVars
    .replace(/\$__timeFilter\(\s*([^)]+?)\s*\)/g, (_m, col: string) => `${col} >= ${us(ctx.fromMs)} AND ${col} <= ${us(ctx.toMs)}`)
    .replace(/\$__fromTime\b/g, us(ctx.fromMs))
    .replace(/\$__toTime\b/g, us(ctx.toMs))
    .replace(/\$__sampleByInterval\b/g, sampleByInterval(interval));
  const left = /\$__\w+|\$\{\w+|\[\[\w+/.exec(out);
  if (left) throw new Error(`${left[0]} is not expanded by Grafana or the QuestDB plugin`);
  return out;
}

/** An Infinity target's URL and params as the plugin requests them (variables with `:csv` lists). */
export function expandInfinityUrl(url: string, params: { key: string; value: string }[], ctx: ExpandContext): string {
  // Grafana's default for non-SQL datasources formats multi-value as a glob ({a,b}); dashboards use :csv.
  const format = (v: VariableValue, fmt: string | undefined) => {
    const values = Array.isArray(v.value) ? v.value : [v.value];
    return fmt === 'csv' || values.length === 1 ? values.join(',') : `{${values.join(',')}}`;
  };
  const query = params.map((p) => `${encodeURIComponent(p.key)}=${encodeURIComponent(replaceVariables(p.value, ctx, format))}`).join('&');
  const path = replaceVariables(url, ctx, format);
  return query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
}
