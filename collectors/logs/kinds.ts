/**
 * The closed vocabulary of `events.kind` for log events. Queries, alerts and dashboards match on
 * these names, so a kind is added here deliberately (with its meaning), never made up in a parser.
 * Every parser output is checked against this list in the tests.
 */

/** Each kind with the one sentence that says when a line gets it. */
export const KIND_DOCS = {
  boot: 'A kernel announced itself while booting (banner, CPU count).',
  init_start: 'The kernel started its first user-level task.',
  enclave_create: 'A Pisces enclave was created on the host (device file exists, nothing booted yet).',
  enclave_boot: 'An enclave kernel is being booted on, or came up on, a CPU.',
  enclave_boot_fail: 'Booting an enclave failed or timed out.',
  enclave_free: 'An enclave was freed on the host.',
  enclave_state: 'A management tool reported an enclave and its state (`hobbes list_enclaves`).',
  core_add: 'A CPU was added to a kernel, enclave or VMM.',
  core_remove: 'A CPU was removed from a kernel, enclave or VMM.',
  core_online: 'A logical CPU came online.',
  core_offline: 'A logical CPU went offline.',
  mem_add: 'Memory was added to a kernel, enclave or VMM.',
  mem_remove: 'Memory was removed from a kernel, enclave or VMM.',
  vm_create_request: 'The VMM was asked to create a VM.',
  vm_create: 'A VM was created (it has an id or a device file).',
  vm_launch: 'A VM was launched (started).',
  vcore_start: 'A virtual core of a VM started running.',
  vm_stop_request: 'A VM was asked to stop.',
  vm_stopped: 'A VM stopped.',
  vm_pause: 'A VM was paused.',
  vm_continue: 'A paused VM was continued.',
  vm_free: 'A VM was freed.',
  vcore_migrate: 'A virtual core was moved to another physical CPU.',
  pci_attach: 'A PCI device was registered with, or passed through to, a VM or enclave.',
  telemetry_window: 'Start of a Palacios telemetry dump: its sequence number and window length in TSC cycles.',
  telemetry_time_split: 'Palacios telemetry: cycles spent in the host and in the guest.',
  exit_stats: 'Palacios telemetry: count and average handler cycles of one VM-exit reason.',
  event_counter: 'Palacios telemetry: one named event counter (a line of the `Event Counters` block).',
  pmu_counter: 'Palacios PMU telemetry: one guest or host hardware counter.',
  telemetry_end: 'End of a Palacios telemetry dump.',
  section: 'A structural line of a multi-line report (telemetry separators and headings, table rules and headers): recognised, no event of its own.',
  exit_unhandled: 'Palacios met a VM exit it cannot handle (the VM dies).',
  vm_error: 'Palacios reported a fatal VM entry or VMX/SVM error.',
  page_fault: 'Kitten sent a signal for a user page fault.',
  mmap_enomem: 'Kitten refused an mmap for lack of memory.',
  syscall_unimplemented: 'Kitten was asked for a system call it does not implement.',
  panic: 'A kernel panicked.',
  app_output: 'Output of a user-level task on a Kitten console.',
  error: 'An error line without a more specific kind.',
  warning: 'A warning line without a more specific kind.',
  unparsed: 'A line no rule understands; `raw` holds it and `source` says whose envelope it had, if any.',
} as const;

export type Kind = keyof typeof KIND_DOCS;

/** All kinds, in documentation order. */
export const KINDS = Object.keys(KIND_DOCS) as Kind[];

const KIND_SET: ReadonlySet<string> = new Set(KINDS);

/** True when `name` is a kind of the vocabulary. */
export function isKind(name: string): name is Kind {
  return KIND_SET.has(name);
}
