/**
 * Writes records into the official client's ILP sender (the reference the direct writer,
 * ilp-text.ts, is tested and benchmarked against; ingest no longer uses it), column by column as the schema declares them. Symbols go
 * first (the line protocol requires tags before fields), null columns are left out (ILP's null),
 * and `ts` becomes the designated timestamp in nanoseconds.
 */
import type { Sender } from '@questdb/nodejs-client';
import type { ColumnKind } from '../../schema/columns.js';
import { definitionOf, type RecordName } from '../../schema/records.js';

type Row = Record<string, unknown>;
interface Plan {
  symbols: string[];
  fields: [string, ColumnKind][];
}

const plans = new Map<RecordName, Plan>();

function planFor(name: RecordName): Plan {
  let plan = plans.get(name);
  if (!plan) {
    const cols = Object.entries(definitionOf(name).columns);
    plan = {
      symbols: cols.filter(([, c]) => c.kind === 'symbol').map(([n]) => n),
      fields: cols.filter(([n, c]) => c.kind !== 'symbol' && n !== 'ts').map(([n, c]) => [n, c.kind]),
    };
    plans.set(name, plan);
  }
  return plan;
}

/** Appends one row per record to the sender's buffer (nothing is sent until flush). */
export async function appendRows(sender: Sender, name: RecordName, records: readonly Row[], table: string = name): Promise<void> {
  const { symbols, fields } = planFor(name);
  for (const r of records) {
    sender.table(table);
    for (const s of symbols) {
      const v = r[s];
      if (v !== null && v !== undefined) sender.symbol(s, v);
    }
    for (const [f, kind] of fields) {
      const v = r[f];
      if (v === null || v === undefined) continue;
      switch (kind) {
        case 'double': sender.floatColumn(f, v as number); break;
        case 'int':
        case 'long': sender.intColumn(f, v as number); break;
        case 'boolean': sender.booleanColumn(f, v as boolean); break;
        case 'timestamp': sender.timestampColumn(f, v as bigint, 'ns'); break;
        case 'json': sender.stringColumn(f, JSON.stringify(v)); break;
        default: sender.stringColumn(f, v as string);
      }
    }
    await sender.at(r.ts as bigint, 'ns');
  }
}
