/**
 * Reading a rules file: YAML → zod (strict) → cross-checks (unique names, receivers that exist,
 * secrets that resolve). Every problem is reported with the file, the field path and its line, in
 * one UserError listing them all.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { UserError } from '../../core/errors.js';
import { rulesFileSchema, type ReceiverConfig, type Rule } from './schema.js';

/** A receiver with its secret resolved (never logged). */
export interface Receiver extends Omit<ReceiverConfig, 'secret' | 'secretEnv'> {
  secret: string;
}

export interface RuleSet {
  file: string;
  rules: Rule[];
  receivers: Map<string, Receiver>;
}

/**
 * Loads and checks a rules file. With `requireSecrets` false (a replay, which sends nothing) a
 * receiver's missing secret is no error.
 * @throws UserError naming file, path and line of every problem.
 */
export function loadRules(file: string, env: NodeJS.ProcessEnv = process.env, requireSecrets = true): RuleSet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read rules file ${file}: ${(err as Error).message}`);
  }
  return parseRules(text, file, env, requireSecrets);
}

/** Parses rules from YAML text; `file` only names the source in messages. */
export function parseRules(text: string, file: string, env: NodeJS.ProcessEnv = process.env, requireSecrets = true): RuleSet {
  const doc = parseDocument(text, { prettyErrors: true });
  const where = (f: string, d: Document, path: readonly PropertyKey[]) => locate(f, d, text, path);
  if (doc.errors.length > 0) throw new UserError(`invalid rules file ${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  const parsed = rulesFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${where(file, doc, i.path)}: ${i.message}`);
    throw new UserError(`invalid rules file ${file}:\n  ${lines.join('\n  ')}`);
  }
  const problems: string[] = [];
  const receivers = new Map<string, Receiver>();
  parsed.data.receivers.forEach((r, i) => {
    const at = (field: string) => where(file, doc, ['receivers', i, field]);
    if (receivers.has(r.name)) problems.push(`${at('name')}: receiver name "${r.name}" is used twice`);
    const { secret: inline, secretEnv, ...rest } = r;
    let secret = inline;
    if (secretEnv !== undefined) {
      if (inline !== undefined) problems.push(`${at('secretEnv')}: give either secret or secretEnv, not both`);
      // `<secretEnv>_FILE` names a file holding the secret (Docker secrets, systemd credentials).
      const file = env[`${secretEnv}_FILE`];
      let unreadable = false;
      if (file) {
        try {
          secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
        } catch (err) {
          unreadable = true;
          problems.push(`${at('secretEnv')}: environment variable ${secretEnv}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      } else secret = env[secretEnv];
      if (!secret) { if (requireSecrets && !unreadable) problems.push(`${at('secretEnv')}: environment variable ${secretEnv}${file ? `_FILE names an empty file (${file})` : ' is not set'} (expected the receiver's HMAC secret)`); }
      else if (secret.length < 16) problems.push(`${at('secretEnv')}: environment variable ${secretEnv} holds fewer than 16 characters (expected a secret of at least 16)`);
    } else if (secret === undefined && requireSecrets) problems.push(`${where(file, doc, ['receivers', i])}: expected secret or secretEnv (the HMAC key of X-Isoscope-Signature)`);
    if (r.maxBackoff < r.initialBackoff) problems.push(`${at('maxBackoff')}: expected at least initialBackoff (${r.initialBackoff} ms)`);
    receivers.set(r.name, { ...rest, secret: secret ?? '' });
  });
  const names = new Set<string>();
  parsed.data.rules.forEach((rule, i) => {
    if (names.has(rule.name)) problems.push(`${where(file, doc, ['rules', i, 'name'])}: rule name "${rule.name}" is used twice`);
    names.add(rule.name);
    rule.receivers.forEach((name, k) => {
      if (!receivers.has(name)) problems.push(`${where(file, doc, ['rules', i, 'receivers', k])}: no receiver named "${name}" (expected one of: ${[...receivers.keys()].join(', ') || 'none defined'})`);
    });
    if (rule.scope.by.length !== new Set(rule.scope.by).size) problems.push(`${where(file, doc, ['rules', i, 'scope', 'by'])}: dimensions repeat`);
  });
  if (problems.length > 0) throw new UserError(`invalid rules file ${file}:\n  ${problems.join('\n  ')}`);
  return { file, rules: parsed.data.rules, receivers };
}

/** `file:line: rules[0].detector.kind`: the path, with the line of the deepest node that exists. */
function locate(file: string, doc: Document, source: string, path: readonly PropertyKey[]): string {
  const text = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as { range?: number[] } | null)?.range?.[0];
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === p);
      if (!pair) break;
      offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof p === 'number') {
      node = node.items[p];
      offset = (node as { range?: number[] } | undefined)?.range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) return `${file}: ${text}`;
  return `${file}:${lineOf(source, offset)}: ${text}`;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
