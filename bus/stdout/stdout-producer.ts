/**
 * A sink for debugging and scripts: every record of every batch as one JSON line on stdout
 * (timestamps as decimal strings of nanoseconds). Not a bus: nothing can consume it back.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { decode } from '../../schema/codec.js';
import { isRecordName } from '../../schema/records.js';
import { toJson } from '../../query/json.js';
import type { BusMessage, BusProducer } from '../bus.js';

export class StdoutProducer implements BusProducer {
  constructor(private readonly out: Writable = process.stdout) {
    // `isoscope collector --sink stdout | head`: the reader went away, which ends the run, not an error.
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }

  async start(): Promise<void> {}

  async send(topic: string, messages: BusMessage[]): Promise<void> {
    if (!isRecordName(topic)) throw new Error(`the stdout sink prints records; topic ${topic} carries none`);
    for (const m of messages) {
      const { records, errors } = decode(m.value, topic);
      if (errors.length > 0) throw new Error(`a ${topic} batch failed validation: ${errors[0]!.reason}`);
      const text = records.map((r) => toJson(r)).join('\n') + '\n';
      if (!this.out.write(text)) await once(this.out, 'drain');
    }
  }

  async shutdown(): Promise<void> {}
}
