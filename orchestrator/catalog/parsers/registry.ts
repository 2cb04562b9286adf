/**
 * Figure-of-merit parsers, listed explicitly. Each is a pure function from the workload's output
 * text (stdout or its result file) to a value and unit; it throws saying what it looked for.
 */
import { parseHpcc } from './hpcc.js';
import { parseHpcg } from './hpcg.js';
import { parseRegex } from './regex.js';
import { parseStressNg } from './stress-ng.js';
import { parseSysbench } from './sysbench.js';

export const PARSERS = ['hpcc', 'hpcg', 'stress-ng', 'sysbench', 'regex'] as const;
export type ParserName = (typeof PARSERS)[number];

export interface FigureOfMerit {
  value: number;
  unit: string;
  /** Every figure the output held (recorded in the run's config). */
  figures?: Record<string, number>;
  /** Unit of each figure where the parser knows it (recorded as the run's `config.figure_units`). */
  units?: Record<string, string>;
}

export interface ParseOptions {
  metric?: string;
  regex?: string;
  unit?: string;
}

export function parseResult(parser: ParserName, text: string, options: ParseOptions = {}): FigureOfMerit {
  switch (parser) {
    case 'hpcc': return parseHpcc(text, options.metric);
    case 'hpcg': return parseHpcg(text);
    case 'stress-ng': return parseStressNg(text, options.metric);
    case 'sysbench': return parseSysbench(text);
    case 'regex': return parseRegex(text, options.regex, options.unit);
  }
}
