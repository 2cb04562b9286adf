/** `alerts`: an interference alert fired or resolved. */
import { defineRecord } from '../define.js';
import { double, json, nullable, oneOf, string, symbol, timestamp, withDefault } from '../columns.js';

export const ALERT_STATES = ['firing', 'resolved'] as const;

export const alerts = defineRecord({
  name: 'alerts',
  doc: 'An interference alert changed state.',
  columns: {
    ts: timestamp('When the alert fired or resolved.'),
    alert: symbol('Incident id (stable from firing to resolution).'),
    rule: symbol('Rule name.'),
    state: oneOf('symbol', 'New state.', ALERT_STATES),
    severity: symbol('Severity from the rule, e.g. `warning`.'),
    node: nullable(symbol('Node concerned.')),
    partition: nullable(symbol('Partition concerned.')),
    run: nullable(symbol('Run concerned.')),
    metric: nullable(symbol('Metric the rule watches.')),
    value: nullable(double('Observed value that triggered the change.')),
    message: string('Human-readable summary.'),
    labels: withDefault(json('Further labels (JSON object).'), {}),
  },
  dedupKeys: ['ts', 'alert', 'state'],
  partitionBy: 'MONTH',
});
