/** Options of the QuestDB store. */
export interface QuestDbStoreOptions {
  /** HTTP endpoint host:port (ILP writes). */
  http: string;
  /** PostgreSQL wire endpoint host:port (DDL and queries). */
  pg: string;
  /** Admin user for DDL. @default "admin" */
  user?: string;
  /** @default "quest" */
  password?: string;
  /** Read-only user for user SQL; QuestDB itself refuses writes from it. */
  readonlyUser?: string;
  readonlyPassword?: string;
  /** How long one ILP request may take before it counts as failed, ms. @default 30000 */
  requestTimeoutMs?: number;
}
