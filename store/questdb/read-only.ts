/**
 * First line of defence for user SQL on QuestDB: exactly one statement, and one that only reads
 * (SELECT, WITH … SELECT, SHOW, EXPLAIN). The second line is QuestDB's read-only user, which the
 * server enforces whatever the spelling; this check keeps user SQL read-only even where a
 * deployment did not configure that user.
 */
import { STATEMENT_KEYWORDS } from '../statement-keywords.js';

const READ_KEYWORDS = new Set(['select', 'with', 'show', 'explain']);

/** Comments and quoted text blanked out, so keywords and semicolons inside them do not count. */
function code(sql: string): string {
  return sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"/g, (m) => (m.startsWith('"') ? '"x"' : ' '));
}

/** Throws with the reason when `sql` is not a single read-only statement. */
export function assertReadOnly(sql: string): void {
  const text = code(sql).trim().replace(/;\s*$/, '');
  if (text === '') throw new Error('the SQL statement is empty');
  if (text.includes(';')) throw new Error('only one SQL statement at a time is accepted');
  const first = /^\(*\s*([A-Za-z]+)/.exec(text)?.[1]?.toLowerCase();
  if (first && !READ_KEYWORDS.has(first) && !STATEMENT_KEYWORDS.has(first)) {
    // Not a statement keyword at all ("SELEC 1"): a typo, not a write.
    throw new Error(`the SQL does not parse: "${first}" does not begin an SQL statement; expected SELECT, WITH, SHOW or EXPLAIN`);
  }
  if (!first || !READ_KEYWORDS.has(first)) {
    throw new Error(`${first ? first.toUpperCase() : 'this'} statements are refused: user SQL is read-only (SELECT, WITH, SHOW, EXPLAIN)`);
  }
  if (first === 'with' && /\b(insert|update|delete|drop|alter|create|truncate)\b/i.test(text)) {
    throw new Error('WITH … must end in a SELECT: user SQL is read-only');
  }
}
