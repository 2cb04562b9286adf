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
  /**
   * Create the tables at start (over the admin user). False: no admin connection is opened and the
   * tables must exist (ingest creates them), so a read-only service needs only the read-only user.
   * @default true
   */
  createTables?: boolean;
  /** How long one ILP request may take before it counts as failed, ms. @default 30000 */
  requestTimeoutMs?: number;
  /** ILP requests open at once. @default 2 */
  requestsInFlight?: number;
}
