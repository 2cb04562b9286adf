/**
 * The names of the keys of `events.fields` for log events, one meaning each across all sources, so
 * `fields->>'pcore'` means the same thing for a Kitten, Pisces or Palacios line. `vm`, `vcore` and
 * `pcore` are top-level columns of `events` and never appear in `fields`.
 */

/** Each field name with its meaning and JSON type. */
export const FIELD_DOCS = {
  vm_id: 'Numeric id of a VM (Palacios guest index, `/dev/v3-vmN`). number',
  cpu: 'A logical CPU of the kernel that printed the line (Kitten `[N]:` prefix, `V3-lwk> … (N)`). number',
  apic: 'APIC id of a CPU. number',
  task: 'Name of the task that printed or caused the line (`init_task`, a Linux comm). string',
  enclave: 'Numeric id of a Pisces/Hobbes enclave (`/dev/pisces-enclaveN`, `hobbes` ID column). number',
  name: 'Name of the thing concerned: enclave, PCI device, VM given by name only. string',
  type: 'Hobbes enclave type (`PISCES_ENCLAVE`, `VM_ENCLAVE`, …). string',
  state: 'State reported for an enclave (`Running`, `Crashed`, …). string',
  cores: 'A number of CPUs or virtual cores. number',
  bytes: 'A size in bytes. number',
  pages: 'A number of 4 KiB pages. number',
  node: 'A NUMA node. number',
  exit: 'A VM-exit reason name (`VMX_EXIT_IO_INSTR`). string',
  count: 'A count (exits of one reason, total exits, enclaves listed). number',
  avg_cycles: 'Average handler time in TSC cycles. number',
  counter: 'Name of an event or PMU counter (PMU counters as `guest:NAME` / `host:NAME`). string',
  value: 'Value of a counter; an address or TSC reading as a decimal or hex string where it may exceed 2^53. number | string',
  seq: 'Sequence number of a Palacios telemetry dump (`telem.N`). number',
  window_cycles: 'Length of a telemetry window in TSC cycles. number',
  host_cycles: 'TSC cycles spent in the host during the window. number',
  guest_cycles: 'TSC cycles spent in the guest during the window. number',
  file: 'Source file named by an error line. string',
  line: 'Source line named by an error line. number',
  syscall: 'A system call number. number',
  truncated: 'The original length in characters of a line longer than the `raw` column allows; `raw` holds its start. number',
} as const;

export type FieldName = keyof typeof FIELD_DOCS;

/** All field names, in documentation order. */
export const FIELD_NAMES = Object.keys(FIELD_DOCS) as FieldName[];

/** The structured fields of one event. */
export type Fields = Partial<Record<FieldName, string | number>>;
