/** Options of the `palacios-vm` driver (a partition's `options` in the experiment file). */
import { z } from 'zod';

export const palaciosVmOptionsSchema = z
  .object({
    /**
     * Guest image (`.img`) or, with `build`, the guest's XML configuration, as a path on the node.
     * @example /opt/guests/kitten-guest.img
     */
    image: z.string().min(1),
    /** Build the image from the XML first (`v3_create -b`). @default true when image ends in .xml */
    build: z.boolean().optional(),
    /** XML options for `build`, applied to the elements with a matching opt_tag (`tag=value`). @default {} */
    config: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.string().regex(/^[^\s=]*$/, 'must not contain whitespace or "="')).default({}),
    /** VM name given to Palacios. @default the partition name */
    vmName: z.string().regex(/^[A-Za-z0-9_.-]{1,127}$/).optional(),
    /**
     * Directory of Palacios's Linux tools (palacios `linux_usr/`), for a VM in the Linux host.
     * @default /usr/local/bin
     */
    toolsDir: z.string().min(1).default('/usr/local/bin'),
    /**
     * Directory of the Pisces flavour of v3_create/v3_launch/v3_stop/v3_free (pisces `linux_usr/`),
     * for a VM inside a Kitten enclave. @default the parent enclave's toolsDir
     */
    piscesToolsDir: z.string().min(1).optional(),
    /**
     * How to run a command in the guest: an argv prefix run on the node, with `{vm}` and `{id}`
     * replaced by the VM's name and id. A Palacios guest has no host-side launcher of its own, so this
     * is required, e.g. `["ssh", "guest0"]` for a guest on the network, or
     * `["hobbes", "launch_app", "{vm}"]` for a guest that runs the Hobbes runtime.
     */
    launcher: z.array(z.string().min(1)).min(1),
    /** Extra environment for every tool. @default {} */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /** Limit per tool run, ms. @default 60000 */
    toolTimeoutMs: z.number().int().positive().default(60_000),
  })
  .strict();

export type PalaciosVmOptions = z.output<typeof palaciosVmOptionsSchema>;

export function parsePalaciosVmOptions(partition: string, options: unknown): PalaciosVmOptions {
  const r = palaciosVmOptionsSchema.safeParse(options ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`partition ${partition} (palacios-vm): invalid options: ${issues}`);
  }
  return r.data;
}
