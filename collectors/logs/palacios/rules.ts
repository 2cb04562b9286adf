/**
 * What Palacios lines say, once their prefix is off: VM lifecycle, CPUs and memory given to the VMM,
 * PCI passthrough, fatal exits. The format strings come from the Palacios trees (see
 * testdata/README.md for the file of each). `HOST_RULES` are specific enough to be recognised
 * without a Palacios prefix too (the host modules also print some of them with a bare printk);
 * `PREFIXED_RULES` only count after a `V3>`/`palacios (…)` prefix.
 */
import { int, RuleSet } from '../types.js';

const PAGE = 4096;

/** Rules safe on any host kernel line: the wording is Palacios' own. */
export const HOST_RULES = new RuleSet([
  { re: /^(?:Palacios: )?Creating (?:V3 )?Guest(?:\.\.\.| IOCTL)/, match: () => ({ kind: 'vm_create_request' }) },
  { re: /^(?:palacios: )?vm created at \/dev\/v3-vm(\d+)/i, match: (m) => ({ kind: 'vm_create', fields: { vm_id: int(m[1]) } }) },
  { re: /^Created VM \(id=(\d+)\) at (\S+)/, match: (m) => ({ kind: 'vm_create', fields: { vm_id: int(m[1]) } }) },
  { re: /^V3 -- +Starting VM \((\d+) cores?\)/, match: (m) => ({ kind: 'vm_launch', fields: { cores: int(m[1]) } }) },
  { re: /^Starting Palacios VM \(VM=(\d+)\)/, match: (m) => ({ kind: 'vm_launch', fields: { vm_id: int(m[1]) } }) },
  { re: /^(?:palacios: )?launching vm\b/i, match: () => ({ kind: 'vm_launch' }) },
  { re: /^Starting (?:VMX|SVM) core (\d+)/, match: (m) => ({ kind: 'vcore_start', vcore: int(m[1]) }) },
  { re: /^Stopping VM \((.*)\) \((?:0x)?[0-9a-fA-F]+\)$/, match: (m) => ({ kind: 'vm_stop_request', vm: m[1] }) },
  { re: /^VM stopped\. Returning/, match: () => ({ kind: 'vm_stopped' }) },
  { re: /^Pausing VM \((.*)\)$/, match: (m) => ({ kind: 'vm_pause', vm: m[1] }) },
  { re: /^Continuing VM \((.*)\)$/, match: (m) => ({ kind: 'vm_continue', vm: m[1] }) },
  { re: /^Freeing VM \((.*)\) \((?:0x)?[0-9a-fA-F]+\)$/, match: (m) => ({ kind: 'vm_free', vm: m[1] }) },
  {
    re: /^moving guest (.*) vcore (\d+) to CPU (\d+)/,
    match: (m) => ({ kind: 'vcore_migrate', vm: m[1], vcore: int(m[2]), pcore: int(m[3]) }),
  },
  {
    re: /^Palacios Memory Add Request: type=(\d+), node=(-?\d+), base_addr=0x[0-9a-fA-F]+, num_pages=(\d+)/,
    match: (m) => ({ kind: 'mem_add', fields: { node: int(m[2]), pages: int(m[3]), bytes: bytesOf(m[3]) } }),
  },
  { re: /^Adding (\d+) pages to Palacios memory/, match: (m) => ({ kind: 'mem_add', fields: { pages: int(m[1]), bytes: bytesOf(m[1]) } }) },
  { re: /^registering host device (\S+)/, match: (m) => ({ kind: 'pci_attach', fields: { name: m[1] } }) },
  { re: /^Setting host PCI device \((.*)\) as IOMMU/, match: (m) => ({ kind: 'pci_attach', fields: { name: m[1] } }) },
  {
    re: /^Unhandled VMX_EXIT: (\S+) \((\d+)\)/,
    match: (m) => ({ kind: 'exit_unhandled', level: 'critical', fields: { exit: m[1], value: int(m[2]) } }),
  },
  { re: /^Unhandled SVM Exit: (\S+)/, match: (m) => ({ kind: 'exit_unhandled', level: 'critical', fields: { exit: m[1] } }) },
  { re: /^VM Entry failed due to (.*)/, match: () => ({ kind: 'vm_error', level: 'critical' }) },
  { re: /^VMX core (\d+): VMX ERROR/, match: (m) => ({ kind: 'vm_error', level: 'critical', vcore: int(m[1]) }) },
]);

/** Rules that are only Palacios' when the line has a Palacios prefix. */
export const PREFIXED_RULES = new RuleSet([
  { re: /^Adding CPU (\d+)$/, match: (m) => ({ kind: 'core_add', pcore: int(m[1]) }) },
  { re: /^Removing CPU (\d+)$/, match: (m) => ({ kind: 'core_remove', pcore: int(m[1]) }) },
  { re: /^Device (\S+) registered/, match: (m) => ({ kind: 'pci_attach', fields: { name: m[1] } }) },
  { re: /^Core Migrated from CPU (\d+) to (\d+)/, match: (m) => ({ kind: 'vcore_migrate', pcore: int(m[2]) }) },
  { re: /^Performing Migration from (\d+) to (\d+)/, match: (m) => ({ kind: 'vcore_migrate', pcore: int(m[2]) }) },
  { re: /^(?:Error in (?:VMX|SVM) exit handler|SVM ERROR|VMX ERROR)/, match: () => ({ kind: 'vm_error', level: 'critical' }) },
]);

function bytesOf(pages: string | undefined): number | undefined {
  const n = int(pages);
  return n === undefined || !Number.isSafeInteger(n * PAGE) ? undefined : n * PAGE;
}
