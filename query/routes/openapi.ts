/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the query API, generated from the same zod
 * schemas the routes validate with (z.toJSONSchema), so the document cannot drift from the checks.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { annotationsQuery, VARIABLES, variablesQuery } from './grafana.js';
import { compareCellsQuery, compareQuery, runsQuery, seriesQuery } from './params.js';
import { FORMATS, sqlBody } from './sql.js';

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

function parameters(schema: z.ZodObject) {
  const js = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    const array = rest.type === 'array';
    return { name, in: 'query', required: js.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest, ...(array ? { style: 'form', explode: true } : {}) };
  });
}

const errorResponse = (what: string) => ({ description: what, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const ok = (what: string, type = 'application/json') => ({ description: what, content: { [type]: {} } });
const errors = { '400': errorResponse('Bad parameters or SQL; `error` says which and why.'), '401': errorResponse('A bearer token is required (non-loopback client).'), '503': errorResponse('The store is down or not started.') };

export function openApiDocument() {
  const get = (summary: string, schema: z.ZodObject | null, extra: Record<string, unknown> = {}) => ({
    get: { summary, ...(schema ? { parameters: parameters(schema) } : {}), responses: { '200': ok(summary), ...errors, ...extra }, security: [{}, { bearer: [] }] },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'isoscope query API', version: '1', description: 'Read-only SQL, runs, aligned series, isolation comparison and Grafana endpoints. Reads are open on loopback; other clients send Authorization: Bearer <query.token>.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: { type: 'object', required: ['error'], properties: { error: { type: 'string', description: 'What was wrong.' } } }, SqlRequest: jsonSchema(sqlBody) },
    },
    paths: {
      '/api/health': get('Service health and store kind.', null),
      '/api/sql': {
        post: {
          summary: 'Run one read-only SQL statement.',
          parameters: [{ name: 'format', in: 'query', required: false, schema: { enum: [...FORMATS] }, description: 'Output format when the body has none; else the Accept header decides.' }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SqlRequest' } } } },
          responses: {
            '200': { description: 'The result: JSON {columns, rows, truncated}, CSV, Arrow IPC stream or Parquet. Header x-isoscope-truncated says whether rows were cut.', content: { 'application/json': {}, 'text/csv': {}, 'application/vnd.apache.arrow.stream': {}, 'application/vnd.apache.parquet': {} } },
            ...errors,
            '408': errorResponse('The statement ran longer than its timeout.'),
          },
          security: [{}, { bearer: [] }],
        },
      },
      '/api/runs': get('Runs, one object per run, filtered.', runsQuery),
      '/api/runs/{id}': { get: { summary: 'One run: phases, partitions, result, provenance.', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': ok('The run.'), ...errors, '404': errorResponse('No such run.') }, security: [{}, { bearer: [] }] } },
      '/api/series': get('One metric of runs on buckets of t_rel = ts − run start, with the events of the window.', seriesQuery, { '404': errorResponse('A run has no start record.') }),
      '/api/compare': get('Runs with background vs without: slowdown with confidence interval, metric deltas with Hedges\' g.', compareQuery, { '422': errorResponse('Not enough runs on one side, or several configurations.') }),
      '/api/compare/cells': get('Every cell (workload × stack × node count) of an experiment: geometric means with intervals per side, slowdown, metric deltas per scope, notes on failed runs and missing sides.', compareCellsQuery, { '422': errorResponse('The experiment has no runs, or none holds the figure.') }),
      '/api/grafana/annotations': get('Annotations for Grafana (Infinity datasource): run phases, partition actions, error events.', annotationsQuery),
      '/api/grafana/variables/{name}': { get: { summary: `Template variable values: ${VARIABLES.join(', ')}.`, parameters: [{ name: 'name', in: 'path', required: true, schema: { enum: [...VARIABLES] } }, ...parameters(variablesQuery)], responses: { '200': ok('[{text, value}]'), ...errors }, security: [{}, { bearer: [] }] } },
      '/api/grafana/series': get('The aligned series as flat rows {time, t_rel_s, series, run, value} for Grafana.', seriesQuery),
      '/api/bus/{topic}': { post: { summary: 'One encoded batch from a collector (--sink http).', parameters: [{ name: 'topic', in: 'path', required: true, schema: { type: 'string' } }], responses: { '202': ok('Accepted.'), ...errors }, security: [{ bearer: [] }] } },
      '/metrics': { get: { summary: 'Prometheus metrics of the query service.', responses: { '200': ok('Prometheus text format.', 'text/plain') } } },
      '/openapi.json': { get: { summary: 'This document.', responses: { '200': ok('OpenAPI 3.1.') } } },
    },
  };
}

export function openApiRoutes() {
  const doc = openApiDocument();
  return new Hono().get('/openapi.json', (c) => c.json(doc));
}
