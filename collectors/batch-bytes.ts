/**
 * The byte side of SampleBatch (sample-batch.ts): texts interned as UTF-8 bytes with small ids, and a
 * reused buffer that writes a version-2 message's JSON pieces and columns from typed arrays of numbers
 * and ids, without building a string per value.
 */
/** Text id 0 is JSON `null` (no partition, no run). */
export const NULL_ID = 0;
export const NULL_BYTES = Buffer.from('null');

/** What one labels fragment (`,"cgroup":"…"…`) sets: per label column its value's JSON as bytes (null: not set). */
export interface LabelSet {
  /** By LABEL_COLUMNS index (sample-batch.ts); absent or null: not set. */
  cols: (Buffer | null)[];
  /** Bit c set: label column c has a value. */
  mask: number;
  /** The cgroup's JSON text (stampPartitionByCgroup's key). */
  cgroup: string | undefined;
}
export const NO_LABELS: LabelSet = { cols: [], mask: 0, cgroup: undefined };

/** JSON texts as UTF-8 bytes, each with a small id: samples keep ids, `finish()` copies the bytes. */
export class Texts {
  private readonly ids = new Map<string, number>([['null', NULL_ID]]);
  readonly bytes: Buffer[] = [NULL_BYTES];

  id(json: string): number {
    let id = this.ids.get(json);
    if (id === undefined) {
      id = this.bytes.length;
      this.ids.set(json, id);
      this.bytes.push(Buffer.from(json, 'utf8'));
    }
    return id;
  }

  get size(): number {
    return this.bytes.length;
  }

  clear(): void {
    this.ids.clear();
    this.ids.set('null', NULL_ID);
    this.bytes.length = 1;
  }
}

/**
 * A growing byte buffer, reused from message to message, that writes JSON pieces: ASCII text, bytes,
 * numbers as JSON.stringify writes them, and the columns of a batch.
 */
export class ByteWriter {
  private buf = Buffer.allocUnsafe(16384);
  private pos = 0;
  /** Digits of an integer, last first. */
  private readonly digits = new Uint8Array(24);

  reset(): void {
    this.pos = 0;
  }

  /** The bytes written, in a buffer of their own (the message outlives this writer's next use). */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private room(k: number): void {
    if (this.pos + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + k));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Text of ASCII characters only (keys, digits, String(number)). */
  ascii(text: string): void {
    this.room(text.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
    this.pos = pos;
  }

  bytes(b: Buffer): void {
    const len = b.length;
    this.room(len);
    const buf = this.buf;
    let pos = this.pos;
    // A loop beats TypedArray#set's call overhead for the short names most texts are.
    if (len < 64) for (let j = 0; j < len; j++) buf[pos++] = b[j]!;
    else {
      buf.set(b, pos);
      pos += len;
    }
    this.pos = pos;
  }

  private byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** A number as JSON.stringify writes it: integers below 2^53 as digits, other finite numbers as String(v), the rest as null. */
  num(v: number): void {
    if (!Number.isInteger(v) || v >= 9007199254740992 || v <= -9007199254740992) {
      this.ascii(Number.isFinite(v) ? String(v) : 'null');
      return;
    }
    this.room(17);
    if (v < 0) {
      this.buf[this.pos++] = 45; // '-'; -0 is not below 0 and is written as 0, as String(-0) is
      v = -v;
    }
    const d = this.digits;
    let k = 0;
    if (v <= 0x7fffffff) {
      let x = v | 0;
      do {
        d[k++] = 48 + (x % 10);
        x = (x / 10) | 0;
      } while (x > 0);
    } else {
      do {
        const digit = v % 10; // exact below 2^53, and so is (v - digit) / 10
        d[k++] = 48 + digit;
        v = (v - digit) / 10;
      } while (v > 0);
    }
    const buf = this.buf;
    let pos = this.pos;
    while (k > 0) buf[pos++] = d[--k]!;
    this.pos = pos;
  }

  numArray(col: Float64Array, n: number): void {
    this.byte(91); // [
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(44); // ,
      this.num(col[i]!);
    }
    this.byte(93); // ]
  }

  /** `{"c":v}` when every sample has the same number (as text), else the array; [] for none. */
  numColumn(col: Float64Array, n: number): void {
    if (n === 0) return this.ascii('[]');
    const first = col[0]!;
    const finite = Number.isFinite(first);
    for (let i = 1; i < n; i++) {
      const v = col[i]!;
      // Texts equal: the same number (0 and -0 alike), or both written as null.
      if (v !== first && (finite || Number.isFinite(v))) return this.numArray(col, n);
    }
    this.ascii('{"c":');
    this.num(first);
    this.byte(125); // }
  }

  idArray(col: Int32Array, n: number, texts: readonly Buffer[]): void {
    this.byte(91);
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(44);
      this.bytes(texts[col[i]!]!);
    }
    this.byte(93);
  }

  /** `{"c":text}` when every sample has the same text, else the array; [] for none. */
  idColumn(col: Int32Array, n: number, texts: readonly Buffer[]): void {
    if (n === 0) return this.ascii('[]');
    const first = col[0]!;
    for (let i = 1; i < n; i++) if (col[i] !== first) return this.idArray(col, n, texts);
    this.ascii('{"c":');
    this.bytes(texts[first]!);
    this.byte(125);
  }

  /** Label column `c` of every sample: its value's JSON, or null. */
  labelArray(col: Int32Array, n: number, sets: readonly LabelSet[], c: number): void {
    this.byte(91);
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(44);
      this.bytes(sets[col[i]!]!.cols[c] ?? NULL_BYTES);
    }
    this.byte(93);
  }
}
