/**
 * The Prometheus files checked by Prometheus's own tool: `promtool check config` on the scrape
 * configuration (with its token and collector list files next to it, as in /etc/prometheus),
 * `promtool check rules` and `promtool test rules` on the alerting rules and their unit tests
 * (rules.test.yaml: every alert shown firing and staying silent).
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDirs } from '../../test/temp-dirs.js';
import { tool } from '../testing.js';

const tempDir = tempDirs('isoscope-prometheus-');
const here = new URL('.', import.meta.url).pathname;

/** /etc/prometheus as the README says to lay it out. */
function etcPrometheus(): string {
  const dir = tempDir();
  for (const f of ['prometheus.yml', 'rules.yaml', 'rules.test.yaml']) copyFileSync(join(here, f), join(dir, f));
  copyFileSync(join(here, 'isoscope-collectors.example.yaml'), join(dir, 'isoscope-collectors.yaml'));
  writeFileSync(join(dir, 'isoscope-query-token'), 'a-query-token-of-enough-length\n', { mode: 0o600 });
  return dir;
}

describe('deploy/prometheus', () => {
  it('promtool check config accepts the scrape configuration, without warnings', async () => {
    const dir = etcPrometheus();
    const r = await tool('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: 10 rules found/);
    expect(r.stdout + r.stderr).not.toMatch(/WARNING/);
  });

  it('scrapes ingest, query (with the token), alerts and the collectors', () => {
    const config = parse(readFileSync(join(here, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; authorization?: unknown }[] };
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(['isoscope-ingest', 'isoscope-query', 'isoscope-alerts', 'isoscope-collector']);
    expect(config.scrape_configs.find((j) => j.job_name === 'isoscope-query')!.authorization).toEqual({ credentials_file: 'isoscope-query-token' });
  });

  it('promtool test rules: every alert fires on its series and stays silent otherwise', async () => {
    const dir = etcPrometheus();
    const r = await tool('promtool', ['test', 'rules', join(dir, 'rules.test.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
    // Every alert of rules.yaml has a unit test.
    const rules = (parse(readFileSync(join(here, 'rules.yaml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((x) => x.alert));
    const tested = readFileSync(join(here, 'rules.test.yaml'), 'utf8');
    for (const a of rules) expect(tested, a).toContain(`alertname: ${a}`);
  });

  it('promtool test rules fails when a rule is broken (the check can fail)', async () => {
    const dir = etcPrometheus();
    const rules = readFileSync(join(dir, 'rules.yaml'), 'utf8');
    writeFileSync(join(dir, 'rules.yaml'), rules.replace('increase(isoscope_collector_dropped_batches_total[10m]) > 0', 'increase(isoscope_collector_dropped_batches_total[10m]) > 100'));
    const r = await tool('promtool', ['test', 'rules', join(dir, 'rules.test.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/alertname: IsoscopeCollectorDroppedBatches/);
  });
});
