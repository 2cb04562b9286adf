/**
 * Every dashboard and provisioning file parses and has what Grafana needs: panels with targets,
 * datasource references that resolve to a provisioned datasource, variables defined before use,
 * unique ids; and the macro expansion of testing/macros.ts does what Grafana and the QuestDB
 * plugin do, on known inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expandInfinityUrl, expandQuestDbSql, intervalText, roundInterval, sampleByInterval } from './testing/macros.js';
import { dashboard, dashboardsFile, datasourcesFile, type Dashboard } from './testing/schema.js';

const dir = new URL('.', import.meta.url).pathname;
const dashboardFiles = readdirSync(join(dir, 'dashboards')).filter((f) => f.endsWith('.json'));
const readYaml = (path: string) => parse(readFileSync(join(dir, path), 'utf8')) as unknown;

const provisioned = datasourcesFile.parse(readYaml('provisioning/datasources/isoscope.yaml')).datasources;
const DATASOURCES = new Map(provisioned.map((d) => [d.uid, d.type]));

function load(file: string): Dashboard {
  const parsed = dashboard.safeParse(JSON.parse(readFileSync(join(dir, 'dashboards', file), 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

describe('grafana provisioning files', () => {
  it('provisions the QuestDB plugin and the Infinity datasource on the query API', () => {
    expect(provisioned.map((d) => [d.uid, d.type])).toEqual([['isoscope-questdb', 'questdb-questdb-datasource'], ['isoscope-api', 'yesoreyeram-infinity-datasource']]);
    expect(provisioned[0]!.jsonData).toMatchObject({ port: 8812, tlsMode: 'disable' });
    expect(provisioned[0]!.secureJsonData).toEqual({ password: '${ISOSCOPE_QUESTDB_READONLY_PASSWORD}' });
    expect(provisioned[1]!.secureJsonData).toEqual({ bearerToken: '${ISOSCOPE_QUERY_TOKEN}' });
  });

  it('documents the PostgreSQL datasource as the alternative', () => {
    const alt = datasourcesFile.parse(readYaml('alternatives/questdb-postgres.yaml')).datasources;
    expect(alt[0]).toMatchObject({ type: 'grafana-postgresql-datasource', jsonData: { database: 'qdb', sslmode: 'disable' } });
  });

  it('loads the dashboards from a file provider', () => {
    const file = dashboardsFile.parse(readYaml('provisioning/dashboards/isoscope.yaml'));
    expect(file.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards/isoscope');
  });
});

describe.each(dashboardFiles)('dashboard %s', (file) => {
  it('validates, with resolvable datasources, defined variables and unique ids', () => {
    const d = load(file);
    expect(d.schemaVersion).toBeGreaterThanOrEqual(41);
    const refs = [...d.panels.flatMap((p) => [p.datasource, ...p.targets.map((t) => t.datasource)]), ...d.templating.list.map((v) => v.datasource), ...d.annotations.list.slice(1).map((a) => a.datasource)];
    for (const ref of refs) expect(DATASOURCES.get(ref.uid), `datasource ${ref.uid} of ${file}`).toBe(ref.type);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) expect(new Set(p.targets.map((t) => t.refId)).size, p.title).toBe(p.targets.length);
    // Every $variable used is a dashboard variable defined earlier (or a Grafana global / plugin macro).
    const text = JSON.stringify([d.panels, d.annotations, d.templating]);
    const defined = d.templating.list.map((v) => v.name);
    const used = new Set([...text.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!).filter((n) => !n.startsWith('__')));
    for (const name of used) expect(defined, `$${name} in ${file}`).toContain(name);
    d.templating.list.forEach((v, i) => {
      const deps = [...JSON.stringify(v.query).matchAll(/\$(\w+)/g)].map((m) => m[1]!).filter((n) => !n.startsWith('__'));
      for (const dep of deps) expect(defined.slice(0, i), `variable ${v.name} uses $${dep}`).toContain(dep);
    });
    // No two panels overlap on the grid.
    const cells = new Set<string>();
    for (const p of d.panels) for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
      expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
      cells.add(`${x},${y}`);
    }
  });
});

describe('Grafana macro expansion', () => {
  const ctx = { fromMs: 1_706_263_425_598, toMs: 1_706_285_057_560, vars: { experiment: { value: 'e1', multi: false }, run: { value: ['a', "b'c"], multi: true } } };

  it('rounds the interval like Grafana and formats it like the QuestDB plugin', () => {
    expect(roundInterval(21_631)).toBe(20_000); // 6 h / 1000 points
    expect(intervalText(20_000)).toBe('20s');
    expect(intervalText(500)).toBe('500ms');
    expect(sampleByInterval(20_000)).toBe('20s');
    expect(sampleByInterval(500)).toBe('500T');
    expect(sampleByInterval(7_200_000)).toBe('2h');
    expect(sampleByInterval(86_400_000)).toBe('1d');
  });

  it('expands the QuestDB plugin macros and SQL variables', () => {
    expect(expandQuestDbSql("SELECT * FROM t WHERE $__timeFilter(ts) AND e = '$experiment' AND run IN ($run) SAMPLE BY $__sampleByInterval", ctx)).toBe(
      "SELECT * FROM t WHERE ts >= cast(1706263425598000 as timestamp) AND ts <= cast(1706285057560000 as timestamp) AND e = 'e1' AND run IN ('a','b''c') SAMPLE BY 20s",
    );
    expect(expandQuestDbSql('SELECT $__fromTime, $__toTime, ${__from}, $__to, $__interval_ms, [[experiment]], ${run:csv}', ctx)).toBe(
      "SELECT cast(1706263425598000 as timestamp), cast(1706285057560000 as timestamp), 1706263425598, 1706285057560, 20000, e1, a,b'c",
    );
    expect(() => expandQuestDbSql('SELECT $nothing', ctx)).toThrow(/\$nothing, which is neither/);
    expect(() => expandQuestDbSql('SELECT $__unknownMacro', ctx)).toThrow(/\$__unknownMacro is not expanded/);
  });

  it('expands an Infinity URL', () => {
    expect(expandInfinityUrl('/api/grafana/series', [{ key: 'run', value: '${run:csv}' }, { key: 'from', value: '${__from}' }, { key: 'e', value: '$experiment' }], ctx)).toBe(
      "/api/grafana/series?run=a%2Cb'c&from=1706263425598&e=e1",
    );
  });
});
