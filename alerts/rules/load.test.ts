/** Rules files: the testdata example loads; mistakes are reported with file, line and field path. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRules, parseRules } from './load.js';

const example = fileURLToPath(new URL('../testdata/rules.example.yaml', import.meta.url));

describe('rules files', () => {
  it('loads the example with its defaults and resolves secretEnv', () => {
    const set = loadRules(example, { ISOSCOPE_LAB_WEBHOOK_SECRET: 'a-secret-of-enough-length' });
    expect(set.rules.map((r) => r.name)).toEqual(['workload-starved', 'node-context-switches-deviate', 'interrupts-change']);
    expect(set.rules[0]!.for).toBe(1000);
    expect(set.rules[0]!.scope.labels!.comm!.test('worker/123')).toBe(true);
    expect(set.receivers.get('lab')!.secret).toBe('a-secret-of-enough-length');
    expect(set.receivers.get('lab')!.allowPrivate).toBe(false);
  });

  it('names file, line and path of a bad field', () => {
    const text = 'receivers: []\nrules:\n  - name: a\n    metric: m\n    detector:\n      kind: threshold\n      op: "=="\n      value: 1\n';
    expect(() => parseRules(text, 'r.yaml')).toThrow(/r\.yaml:7: rules\[0\]\.detector\.op: Invalid option/);
  });

  it('refuses unknown keys, bad durations and unknown receivers', () => {
    const text = [
      'rules:',
      '  - name: a',
      '    metric: m',
      '    for: soon',
      '    detecter: {kind: threshold}',
      '    detector: {kind: threshold, op: ">", value: 1}',
    ].join('\n');
    const err = (() => { try { parseRules(text, 'r.yaml'); } catch (e) { return (e as Error).message; } return ''; })();
    expect(err).toMatch(/r\.yaml:4: rules\[0\]\.for: expected a duration like 500ms/);
    expect(err).toMatch(/r\.yaml:2: rules\[0\]: Unrecognized key: "detecter"/);
    const unknown = 'rules:\n  - {name: a, metric: m, receivers: [nope], detector: {kind: threshold, op: ">", value: 1}}\n';
    expect(() => parseRules(unknown, 'r.yaml')).toThrow(/r\.yaml:2: rules\[0\]\.receivers\[0\]: no receiver named "nope" \(expected one of: none defined\)/);
  });

  it('needs a secret per receiver and a set secretEnv', () => {
    const text = 'receivers:\n  - {name: x, url: "https://example.org/hook"}\n  - {name: y, url: "https://example.org/hook", secretEnv: NOT_SET_HERE}\nrules:\n  - {name: a, metric: m, detector: {kind: threshold, op: ">", value: 1}}\n';
    const err = (() => { try { parseRules(text, 'r.yaml', {}); } catch (e) { return (e as Error).message; } return ''; })();
    expect(err).toMatch(/r\.yaml:2: receivers\[0\]: expected secret or secretEnv/);
    expect(err).toMatch(/r\.yaml:3: receivers\[1\]\.secretEnv: environment variable NOT_SET_HERE is not set/);
  });

  it('reads a secretEnv from the file its _FILE form names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isoscope-rules-'));
    try {
      writeFileSync(join(dir, 'hook'), 'a-webhook-secret-from-a-file\n');
      const text = 'receivers:\n  - {name: y, url: "https://example.org/hook", secretEnv: LAB_SECRET}\nrules:\n  - {name: a, metric: m, detector: {kind: threshold, op: ">", value: 1}}\n';
      expect(parseRules(text, 'r.yaml', { LAB_SECRET_FILE: join(dir, 'hook') }).receivers.get('y')!.secret).toBe('a-webhook-secret-from-a-file');
      expect(() => parseRules(text, 'r.yaml', { LAB_SECRET_FILE: join(dir, 'nope') })).toThrow(/r\.yaml:2: receivers\[0\]\.secretEnv: environment variable LAB_SECRET_FILE: cannot read .*nope: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
