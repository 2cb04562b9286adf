/**
 * The parts of Grafana's dashboard and provisioning files that Grafana needs to load them and that
 * isoscope relies on, as zod schemas: panels with positions and targets, datasource references
 * that resolve to a provisioned datasource, templating variables, annotation queries. Everything
 * else Grafana accepts passes through.
 */
import { z } from 'zod';

export const QUESTDB_PLUGIN = 'questdb-questdb-datasource';
export const INFINITY_PLUGIN = 'yesoreyeram-infinity-datasource';
export const POSTGRES_PLUGIN = 'grafana-postgresql-datasource';

export const datasourceRef = z.object({ type: z.string().min(1), uid: z.string().min(1) }).loose();

export const questdbTarget = z
  .object({
    refId: z.string().min(1),
    datasource: datasourceRef.extend({ type: z.literal(QUESTDB_PLUGIN) }),
    queryType: z.literal('sql'),
    rawSql: z.string().min(10),
    format: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  })
  .loose();

export const infinityTarget = z
  .object({
    refId: z.string().min(1),
    datasource: datasourceRef.extend({ type: z.literal(INFINITY_PLUGIN) }),
    type: z.literal('json'),
    source: z.literal('url'),
    parser: z.literal('backend'),
    url: z.string().regex(/^\/api\//, 'expected a path of the query API, e.g. /api/compare'),
    url_options: z.object({ method: z.literal('GET'), params: z.array(z.object({ key: z.string().min(1), value: z.string() })) }).loose(),
    root_selector: z.string(),
    format: z.enum(['table', 'timeseries', 'dataframe']),
  })
  .loose();

export const target = z.union([questdbTarget, infinityTarget]);

export const panel = z
  .object({
    id: z.number().int().positive(),
    type: z.enum(['timeseries', 'table', 'stat', 'barchart', 'bargauge', 'heatmap', 'text', 'state-timeline']),
    title: z.string().min(1),
    datasource: datasourceRef,
    gridPos: z.object({ x: z.number().int().min(0).max(23), y: z.number().int().min(0), w: z.number().int().min(1).max(24), h: z.number().int().min(1) }),
    targets: z.array(target).min(1),
  })
  .loose()
  .refine((p) => p.gridPos.x + p.gridPos.w <= 24, { message: 'gridPos: x + w must be at most 24' });

export const variable = z
  .object({
    name: z.string().regex(/^[A-Za-z_]\w*$/),
    type: z.literal('query'),
    datasource: datasourceRef,
    query: questdbTarget.omit({ datasource: true }),
    multi: z.boolean(),
    includeAll: z.boolean(),
    refresh: z.union([z.literal(1), z.literal(2)]),
  })
  .loose();

export const annotation = z.union([
  z.object({ builtIn: z.literal(1), datasource: datasourceRef, name: z.string() }).loose(),
  z.object({ name: z.string().min(1), enable: z.boolean(), iconColor: z.string(), datasource: datasourceRef, target }).loose(),
]);

export const dashboard = z
  .object({
    uid: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a uid of at most 40 lower-case letters, digits and -'),
    title: z.string().min(1),
    schemaVersion: z.number().int().min(39),
    time: z.object({ from: z.string(), to: z.string() }),
    templating: z.object({ list: z.array(variable) }),
    annotations: z.object({ list: z.array(annotation) }),
    panels: z.array(panel).min(1),
  })
  .loose();

export type Dashboard = z.output<typeof dashboard>;
export type Target = z.output<typeof target>;

export const datasourcesFile = z
  .object({
    apiVersion: z.literal(1),
    datasources: z
      .array(
        z.object({ name: z.string().min(1), uid: z.string().min(1), type: z.enum([QUESTDB_PLUGIN, INFINITY_PLUGIN, POSTGRES_PLUGIN]), jsonData: z.record(z.string(), z.unknown()), secureJsonData: z.record(z.string(), z.string()).optional() }).loose(),
      )
      .min(1),
  })
  .strict();

export const dashboardsFile = z
  .object({
    apiVersion: z.literal(1),
    providers: z.array(z.object({ name: z.string().min(1), type: z.literal('file'), folder: z.string(), options: z.object({ path: z.string().startsWith('/') }).loose() }).loose()).min(1),
  })
  .strict();

export type QuestDbTarget = z.output<typeof questdbTarget>;
export type InfinityTarget = z.output<typeof infinityTarget>;
export const isQuestDbTarget = (t: Target): t is QuestDbTarget => t.datasource.type === QUESTDB_PLUGIN;
