/** User entries: the first capture group of `regex` (multiline) is the value, in `unit`. */
import type { FigureOfMerit } from './registry.js';

export function parseRegex(text: string, regex: string | undefined, unit: string | undefined): FigureOfMerit {
  if (!regex || !unit) throw new Error('the regex parser needs `result.regex` (with one capture group) and `result.unit`');
  const m = new RegExp(regex, 'm').exec(text);
  if (!m || m[1] === undefined) throw new Error(`no match for /${regex}/ with a capture group in the output`);
  const value = Number(m[1]);
  if (!Number.isFinite(value)) throw new Error(`/${regex}/ captured "${m[1]}", which is not a number`);
  return { value, unit };
}
