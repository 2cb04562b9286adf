/**
 * The statement guard for user SQL on DuckDB. DuckDB itself classifies the statement (extract,
 * prepare, `statementType`), so spelling, case, comments and CTEs cannot disguise it: exactly one
 * statement, of type SELECT (which includes WITH …, FROM-first, VALUES, SHOW, DESCRIBE, SUMMARIZE),
 * or an EXPLAIN [ANALYZE] whose inner statement is such a SELECT. PRAGMA is refused by its first
 * keyword, because DuckDB rewrites some pragmas into SELECTs. Files are out of reach anyway: the
 * store turns `enable_external_access` off once its own database file is open.
 */
import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { STATEMENT_KEYWORDS } from '../statement-keywords.js';

const ALLOWED = 'user SQL is read-only: allowed are SELECT (also WITH …, FROM …, VALUES, SHOW, DESCRIBE, SUMMARIZE) and EXPLAIN of a SELECT';
/** First words of statements that read; a DuckDB error on one of these is the user's to see. */
const READ_WORDS = new Set(['select', 'with', 'from', 'values', 'table', 'show', 'describe', 'desc', 'summarize', 'explain', 'pivot', 'unpivot']);

/** Names DuckDB's statement types the way SQL spells them (`MERGE_INTO` → `MERGE INTO`). */
export function statementTypeName(type: StatementType): string {
  const name = StatementType[type] ?? `statement type ${type}`;
  return name === 'VARIABLE_SET' ? 'SET' : name.replaceAll('_', ' ');
}

/** Position just after the whitespace, semicolons, comments and opening parentheses from `pos`. */
function skipNoise(sql: string, pos: number, parens = true): number {
  for (;;) {
    const rest = sql.slice(pos);
    const m = /^[\s;]+/.exec(rest) ?? /^--[^\n]*/.exec(rest) ?? (parens ? /^\(/.exec(rest) : null);
    if (m) {
      pos += m[0].length;
      continue;
    }
    if (!rest.startsWith('/*')) return pos;
    let depth = 0; // block comments nest in DuckDB
    let i = pos;
    do {
      if (sql.startsWith('/*', i)) (depth++, (i += 2));
      else if (sql.startsWith('*/', i)) (depth--, (i += 2));
      else if (i >= sql.length) return sql.length;
      else i++;
    } while (depth > 0);
    pos = i;
  }
}

/** The first keyword of `sql` (lower case) and where the text after it starts. */
export function firstKeyword(sql: string, from = 0): { word: string; end: number } {
  const start = skipNoise(sql, from);
  const word = /^[A-Za-z_]+/.exec(sql.slice(start))?.[0] ?? '';
  return { word: word.toLowerCase(), end: start + word.length };
}

function refuse(what: string, written?: string): never {
  const as = written && written.toUpperCase() !== what ? ` (the SQL begins with ${written.toUpperCase()})` : '';
  throw new Error(`${what} statements are refused${as}: ${ALLOWED}`);
}

/** Prepares the single statement of `sql` (DuckDB's errors pass through) and returns its type. */
async function prepareOne(connection: DuckDBConnection, sql: string): Promise<{ prepared: DuckDBPreparedStatement; type: StatementType }> {
  const extracted = await connection.extractStatements(sql);
  if (extracted.count === 0) throw new Error('the SQL statement is empty: nothing to run');
  if (extracted.count > 1) {
    const types: string[] = [];
    for (let i = 0; i < extracted.count; i++) types.push(await extracted.prepare(i).then((p) => statementTypeName(p.statementType), () => '?'));
    throw new Error(`only one SQL statement at a time is accepted; this SQL has ${extracted.count} (${types.join(', ')})`);
  }
  const prepared = await extracted.prepare(0);
  return { prepared, type: prepared.statementType };
}

/**
 * Prepares user SQL for running if it only reads, or throws naming what was refused.
 * @example await prepareReadOnly(conn, 'SELECT count(*) FROM samples') // ok
 * @example await prepareReadOnly(conn, 'drop table samples') // throws "DROP statements are refused …"
 */
export async function prepareReadOnly(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const first = firstKeyword(sql);
  if (sql.trim() === '' || (first.word === '' && skipNoise(sql, 0) >= sql.length)) throw new Error('the SQL statement is empty: nothing to run');
  if (first.word === 'pragma') refuse('PRAGMA');
  const inner = first.word === 'explain' ? explainedStatement(sql, first.end) : null;
  if (inner?.word === 'pragma') refuse('EXPLAIN of PRAGMA');
  let statement: { prepared: DuckDBPreparedStatement; type: StatementType };
  try {
    statement = await prepareOne(connection, sql);
  } catch (err) {
    if (/^(Failed to extract statements: )?Parser Error/.test((err as Error).message)) {
      // A write DuckDB's dialect cannot parse ("VACUUM TABLE samples", "GRANT …") is still a refused
      // write; anything else that does not parse is a syntax error ("SELEC 1" is no write).
      if (!READ_WORDS.has(first.word) && STATEMENT_KEYWORDS.has(first.word)) refuse(first.word.toUpperCase());
      throw syntaxError(err);
    }
    // A statement DuckDB cannot even bind (DROP TABLE missing, EXECUTE unknown): name it by its first word.
    if (!/only one SQL statement|empty/.test((err as Error).message)) {
      if (first.word && !READ_WORDS.has(first.word)) refuse(first.word.toUpperCase());
      if (inner?.word && !READ_WORDS.has(inner.word)) refuse(`EXPLAIN of ${inner.word.toUpperCase()}`);
    }
    throw explainFileAccess(err);
  }
  if (statement.type === StatementType.SELECT) return statement.prepared;
  if (statement.type === StatementType.EXPLAIN) {
    await assertExplainOfSelect(connection, inner ?? explainedStatement(sql, first.end));
    return statement.prepared;
  }
  refuse(statementTypeName(statement.type), first.word);
}

/** The statement after EXPLAIN [ANALYZE|ANALYSE] [( options )], and its first keyword. */
function explainedStatement(sql: string, afterExplain: number): { text: string; word: string } {
  let pos = skipNoise(sql, afterExplain, false);
  const next = firstKeyword(sql, pos);
  if (next.word === 'analyze' || next.word === 'analyse') pos = skipNoise(sql, next.end, false);
  if (sql[pos] === '(') pos = afterParenthesis(sql, pos);
  const text = sql.slice(pos);
  return { text, word: firstKeyword(text).word };
}

/** EXPLAIN …: the explained statement must itself be a SELECT, as DuckDB classifies it. */
async function assertExplainOfSelect(connection: DuckDBConnection, inner: { text: string; word: string }): Promise<void> {
  const { type } = await prepareOne(connection, inner.text).catch((err: unknown) => {
    if (/^(Failed to extract statements: )?Parser Error/.test((err as Error).message)) throw syntaxError(err);
    if (inner.word && !READ_WORDS.has(inner.word)) refuse(`EXPLAIN of ${inner.word.toUpperCase()}`);
    throw explainFileAccess(err);
  });
  if (type !== StatementType.SELECT) refuse(`EXPLAIN of ${statementTypeName(type)}`);
}

/** Position after the parenthesis opened at `open`, skipping nested ones and quoted text. */
function afterParenthesis(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const close = sql.indexOf(c, i + 1);
      if (close < 0) break;
      i = close; // a doubled quote ('') just closes and reopens
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error('the options of EXPLAIN ( … ) are not closed: expected ")"');
}

const FILE_ACCESS = 'reading or writing files, URLs or other databases from user SQL is refused';

/**
 * DuckDB's parser error, said as a syntax error with the line it points at.
 * @example syntaxError(err) // the SQL does not parse: syntax error at or near "SELEC" (LINE 1: SELEC 1)
 */
function syntaxError(err: unknown): Error {
  const [first = '', ...rest] = (err as Error).message.replace(/^(Failed to extract statements: )?Parser Error: /, '').split('\n').filter((l) => l.trim() !== '');
  const line = rest.find((l) => /^LINE \d+:/.test(l));
  return new Error(`the SQL does not parse: ${first}${line ? ` (${line.trim()})` : ''}`);
}

/** DuckDB's "file system operations are disabled" error, said in our terms; other errors as they are. */
export function explainFileAccess(err: unknown): unknown {
  const message = (err as Error).message ?? '';
  if (!/disabled by configuration|external access/i.test(message) || message.startsWith(FILE_ACCESS)) return err;
  return new Error(`${FILE_ACCESS} (${message.split('\n')[0]})`);
}
