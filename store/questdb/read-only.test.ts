import { describe, expect, it } from 'vitest';
import { assertReadOnly } from './read-only.js';

describe('assertReadOnly (QuestDB user SQL)', () => {
  it.each([
    'SELECT count(*) FROM samples',
    '  select * from samples where metric = \'drop table x; insert\' ',
    'WITH t AS (SELECT 1) SELECT * FROM t',
    '(SELECT 1)',
    'SHOW TABLES',
    'EXPLAIN SELECT 1',
    'SELECT 1; ',
    '-- a comment; with a semicolon\nSELECT 1',
    'SELECT "partition" FROM samples',
  ])('accepts %j', (sql) => expect(() => assertReadOnly(sql)).not.toThrow());

  it.each([
    ['DROP TABLE samples', /DROP statements are refused/],
    ['drop table samples', /DROP statements are refused/],
    ['/* hi */ INSERT INTO samples VALUES (1)', /INSERT statements are refused/],
    ['SELECT 1; DROP TABLE samples', /only one SQL statement/],
    ['TRUNCATE TABLE samples', /TRUNCATE/],
    ['ALTER TABLE samples DROP COLUMN x', /ALTER/],
    ['COPY samples FROM \'x.csv\'', /COPY/],
    ['UPDATE samples SET value = 0', /UPDATE/],
    ['WITH t AS (SELECT 1) INSERT INTO x SELECT * FROM t', /must end in a SELECT/],
    ['', /empty/],
    ['-- only a comment', /empty/],
    ['SELEC 1', /the SQL does not parse: "selec" does not begin an SQL statement/],
  ])('refuses %j', (sql, reason) => expect(() => assertReadOnly(sql)).toThrow(reason));
});
