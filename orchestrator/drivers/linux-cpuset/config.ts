/** Options of the `linux-cpuset` driver (a partition's `options:` in the experiment file). */
import { z } from 'zod';

export const linuxCpusetOptions = z.strictObject({
  /** Directory under the cpuset hierarchy that holds isoscope's partitions. @default "isoscope" */
  root: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected one directory name').default('isoscope'),
  /** cgroup v1 only: set cpuset.cpu_exclusive (no sibling may share the cpus). @default false */
  exclusive: z.boolean().default(false),
  /** cgroup v2 only: make the partition a cpuset partition root ("root" isolates its cpus from the rest). @default none */
  partition: z.enum(['member', 'root', 'isolated']).optional(),
});
export type LinuxCpusetOptions = z.infer<typeof linuxCpusetOptions>;
