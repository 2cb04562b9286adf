/**
 * A minimal QMP client (QEMU's JSON machine protocol) over a stream to the VM's QMP socket: the
 * greeting, `qmp_capabilities`, then one command at a time. Used to read the vCPU thread ids
 * (`query-cpus-fast`) for pinning and to stop a VM politely (`quit`).
 */
import type { Duplex } from 'node:stream';

export interface VcpuThread {
  /** vCPU index (0-based). */
  index: number;
  /** Host thread id of the vCPU. */
  threadId: number;
}

export class Qmp {
  private buffer = '';
  private waiters: ((m: Record<string, unknown>) => void)[] = [];
  private error: Error | null = null;

  constructor(private readonly stream: Duplex, private readonly where: string) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const m = JSON.parse(line) as Record<string, unknown>;
        if ('event' in m) continue; // asynchronous events are not answers
        this.waiters.shift()?.(m);
      }
    });
    const gone = () => {
      this.error ??= new Error(`${where}: the QMP connection closed`);
      for (const w of this.waiters.splice(0)) w({ error: { desc: this.error.message } });
    };
    stream.on('end', gone);
    stream.on('close', gone);
    stream.on('error', gone);
  }

  /** Reads the greeting and enters command mode. */
  async handshake(timeoutMs: number): Promise<void> {
    await this.next(timeoutMs);
    await this.command('qmp_capabilities', timeoutMs);
  }

  async command(execute: string, timeoutMs: number): Promise<unknown> {
    const answer = this.next(timeoutMs);
    this.stream.write(JSON.stringify({ execute }) + '\n');
    const m = await answer;
    if (m.error) throw new Error(`${this.where}: QMP ${execute} failed: ${(m.error as { desc?: string }).desc ?? JSON.stringify(m.error)}`);
    return m.return;
  }

  /** The vCPUs' host thread ids, by index. */
  async vcpuThreads(timeoutMs: number): Promise<VcpuThread[]> {
    const cpus = (await this.command('query-cpus-fast', timeoutMs)) as { 'cpu-index': number; 'thread-id': number }[];
    return cpus.map((c) => ({ index: c['cpu-index'], threadId: c['thread-id'] })).sort((a, b) => a.index - b.index);
  }

  close(): void {
    this.stream.destroy();
  }

  private next(timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.where}: QMP did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((m) => { clearTimeout(timer); resolve(m); });
    });
  }
}
