/**
 * Parser of /proc/interrupts: per-IRQ, per-CPU interrupt counts since boot. Pure: text in, numbers
 * out. The header names the CPUs that have a column (offline CPUs have none); rows are numbered
 * IRQs ("36: 0 111778 PCI-MSIX-0000:00:02.0 1-edge virtio1-req.0") or named architecture
 * interrupts ("LOC: 2169646 2095596 Local timer interrupts"); some rows (ERR, MIS) carry one count.
 */

export interface IrqRow {
  /** IRQ number or architecture name as in the first column (36, LOC, NMI …). */
  id: string;
  /** Label for samples: the id, plus the device action for numbered IRQs, e.g. "36:virtio1-req.0". */
  label: string;
  /** Counts in header order; shorter than the header for rows like ERR/MIS (node-wide counts). */
  counts: number[];
}

export interface Interrupts {
  /** Logical CPU of each count column. */
  cpus: number[];
  rows: IrqRow[];
  /** Lines that could not be read. */
  skipped: number;
}

/** Trigger tokens after which the action (device) names follow: "1-edge", "Level", "fasteoi" … */
const TRIGGER = /(?:^|-)(edge|level|fasteoi)$/i;

/**
 * Reads /proc/interrupts text.
 * @throws Error when the header line of CPU names is missing (the file is not /proc/interrupts).
 */
export function parseInterrupts(text: string): Interrupts {
  const lines = text.split('\n');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  if (header.length === 0 || !header.every((h) => /^CPU\d+$/.test(h))) {
    throw new Error(`expected a header of CPU columns ("CPU0 CPU1 …") on the first line of /proc/interrupts, got "${lines[0] ?? ''}"`);
  }
  const out: Interrupts = { cpus: header.map((h) => Number(h.slice(3))), rows: [], skipped: 0 };
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const m = /^\s*([^:\s]+):(.*)$/.exec(line);
    if (!m) {
      out.skipped++;
      continue;
    }
    const tokens = m[2]!.trim().split(/\s+/).filter((t) => t !== '');
    const counts: number[] = [];
    while (counts.length < out.cpus.length && tokens.length > 0 && /^\d+$/.test(tokens[0]!)) counts.push(Number(tokens.shift()));
    if (counts.length === 0) {
      out.skipped++;
      continue;
    }
    const id = m[1]!;
    out.rows.push({ id, label: /^\d+$/.test(id) ? irqLabel(id, tokens) : id, counts });
  }
  return out;
}

/** "36" + ["PCI-MSIX-0000:00:02.0", "1-edge", "virtio1-req.0"] → "36:virtio1-req.0". */
function irqLabel(id: string, description: string[]): string {
  let trigger = -1;
  description.forEach((t, i) => {
    if (TRIGGER.test(t)) trigger = i;
  });
  const action = (trigger >= 0 ? description.slice(trigger + 1) : description.slice(-1)).join(' ');
  return action === '' ? id : `${id}:${action}`;
}
