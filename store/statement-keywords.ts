/**
 * First words of SQL statements other than reads, in QuestDB's, PostgreSQL's and DuckDB's dialects.
 * Both stores' guards use it to tell a refused write ("VACUUM TABLE samples", even where the dialect
 * cannot parse it) from a typo ("SELEC 1"), which is a syntax error.
 */
export const STATEMENT_KEYWORDS: ReadonlySet<string> = new Set([
  'insert', 'update', 'delete', 'drop', 'alter', 'create', 'truncate', 'copy', 'rename', 'grant', 'revoke', 'vacuum',
  'reindex', 'backup', 'snapshot', 'checkpoint', 'cancel', 'set', 'begin', 'commit', 'rollback', 'refresh', 'release',
  'merge', 'call', 'do', 'lock', 'comment', 'declare', 'listen', 'notify', 'prepare', 'execute', 'deallocate',
  'discard', 'reset', 'analyze', 'cluster', 'load', 'import', 'export', 'attach', 'detach', 'pragma', 'install', 'use',
  'upsert', 'replace', 'values', 'table',
]);
