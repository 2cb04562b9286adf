/**
 * The testbed's plan, `<dir>/testbed.json`: the settings of `up` and every resource it made, in the
 * order it made them. A resource is recorded right after its creation succeeded (never before: a name
 * that already existed belongs to someone else and must survive `down`), and the file is rewritten
 * atomically after each one, so `down` can remove exactly what a finished, failed or killed `up` made.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../core/errors.js';

const resourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('dir'), path: z.string() }),
  z.strictObject({ kind: z.literal('bridge'), name: z.string() }),
  z.strictObject({ kind: z.literal('netns'), name: z.string() }),
  z.strictObject({ kind: z.literal('veth'), name: z.string() }),
  /** A bind mount holding a UTS namespace (the node's host name) alive. */
  z.strictObject({ kind: z.literal('uts'), path: z.string() }),
  /** A process we started; `startTime` (field 22 of /proc/PID/stat) tells it from a later process with the same pid. */
  z.strictObject({ kind: z.literal('process'), pid: z.number().int().positive(), startTime: z.string(), what: z.string() }),
]);
export type Resource = z.infer<typeof resourceSchema>;

const nodeSchema = z.strictObject({
  name: z.string(),
  netns: z.string(),
  veth: z.string(),
  address: z.string(),
  uts: z.string(),
  dir: z.string(),
});
export type TestbedNode = z.infer<typeof nodeSchema>;

const planSchema = z.strictObject({
  version: z.literal(1),
  prefix: z.string(),
  subnet: z.string(),
  dir: z.string(),
  bridge: z.strictObject({ name: z.string(), address: z.string() }),
  /** Host loopback ports reachable from the nodes (relays). */
  forward: z.array(z.number().int()),
  nodes: z.array(nodeSchema),
  /** Set once `up` finished; a plan without it is a half-made testbed. */
  complete: z.boolean(),
  resources: z.array(resourceSchema),
});
export type TestbedPlan = z.infer<typeof planSchema>;

export const PLAN_FILE = 'testbed.json';

export function planPath(dir: string): string {
  return join(dir, PLAN_FILE);
}

export function readPlan(dir: string): TestbedPlan | null {
  const file = planPath(dir);
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not readable as JSON (${(err as Error).message}); remove what it made by hand (ip netns, ip link) and delete it`);
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(`${file}: not a testbed plan: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Writes the plan atomically (write + rename), so a killed `up` leaves the last complete version. */
export function writePlan(plan: TestbedPlan): void {
  const file = planPath(plan.dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
