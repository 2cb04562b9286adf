/**
 * A cursor over one topic log: reads records in offset order from a starting offset, never past
 * what is durable, moving on to the next segment when one is exhausted.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { TopicLog } from './log.js';
import { readFrame, type StoredRecord } from './segment.js';

const READ_CHUNK = 1024 * 1024;

export class LogReader {
  private segmentIndex = -1;
  private handle: FileHandle | null = null;
  private position = 0;
  private next: number;

  /** @param fromOffset first offset wanted; below the log's start it starts at the start. */
  constructor(private readonly log: TopicLog, fromOffset: number) {
    this.next = Math.min(Math.max(fromOffset, log.startOffset), log.endOffset);
  }

  /** Offset of the next record this reader will return. */
  get nextOffset(): number {
    return this.next;
  }

  /** True when records past this reader's position are durable in the log. */
  get behind(): boolean {
    return this.next < this.log.endOffset;
  }

  /** Up to `max` records from the current position (fewer, or none, when caught up). */
  async read(max: number): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    if (this.segmentIndex < 0) await this.seek();
    while (out.length < max) {
      const segments = this.log.segmentList();
      const segment = segments[this.segmentIndex]!;
      const limit = segment.size;
      if (this.position >= limit) {
        if (this.segmentIndex + 1 >= segments.length) break; // caught up with the durable end
        await this.openSegment(this.segmentIndex + 1);
        continue;
      }
      const buf = await this.readAt(Math.min(READ_CHUNK, limit - this.position));
      let rel = 0;
      while (out.length < max) {
        const frame = readFrame(buf, rel);
        if (frame.kind === 'corrupt') throw new Error(`segment ${segment.path} of topic ${this.log.topic} is corrupt at byte ${this.position + rel}: ${frame.reason}`);
        if (frame.kind === 'incomplete') {
          if (rel > 0) break; // read on from this frame's start
          if (this.position + frame.need > limit) throw new Error(`segment ${segment.path} of topic ${this.log.topic} ends inside a record at byte ${this.position}, below its durable size ${limit}`);
          await this.readInto(frame.need, out, max);
          rel = -1;
          break;
        }
        if (frame.record.offset >= this.next) {
          out.push(frame.record);
          this.next = frame.record.offset + 1;
        }
        rel = frame.next;
      }
      if (rel > 0) this.position += rel;
    }
    return out;
  }

  /** Releases the open segment file. */
  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  /** Reads one frame larger than a chunk. */
  private async readInto(need: number, out: StoredRecord[], max: number): Promise<void> {
    const buf = await this.readAt(need);
    const frame = readFrame(buf, 0);
    if (frame.kind !== 'record') throw new Error(`a ${need}-byte record of topic ${this.log.topic} at byte ${this.position} could not be read back`);
    if (frame.record.offset >= this.next && out.length < max) {
      out.push(frame.record);
      this.next = frame.record.offset + 1;
    }
    this.position += frame.next;
  }

  private async readAt(length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.handle!.read(buf, 0, length, this.position);
    return buf.subarray(0, bytesRead);
  }

  /** Opens the segment that holds `next`; records before it are skipped by `read`. */
  private async seek(): Promise<void> {
    const segments = this.log.segmentList();
    let index = 0;
    while (index + 1 < segments.length && segments[index + 1]!.baseOffset <= this.next) index++;
    await this.openSegment(index);
  }

  private async openSegment(index: number): Promise<void> {
    await this.close();
    this.handle = await open(this.log.segmentList()[index]!.path, 'r');
    this.segmentIndex = index;
    this.position = 0;
  }
}
