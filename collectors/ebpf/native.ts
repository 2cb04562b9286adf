/**
 * The one place the ebpf source touches native code: libbpf (Debian libbpf1) through koffi. It
 * opens, loads and attaches a CO-RE object file, and lists and reads its maps; everything else
 * works on Buffers. Where koffi or libbpf is missing, `loadBpfNative()` returns why instead of an
 * adapter ("not available here").
 */
import { loadLibc, type NativeLibrary } from '../../core/libc.js';

/** One map of a loaded object. */
export interface BpfMapInfo {
  name: string;
  fd: number;
  /** BPF_MAP_TYPE_* */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** A loaded and attached object; `close()` detaches its programs and frees its maps. */
export interface BpfObject {
  readonly path: string;
  readonly maps: BpfMapInfo[];
  /** Names of the programs that are attached. */
  readonly programs: string[];
  close(): void;
}

export interface BpfNative {
  /**
   * Opens, loads and attaches every program of a .bpf.o. `maxEntries`, asked for every map before
   * the object is loaded, gives the map's size on this node (undefined: as compiled).
   * @throws Error saying which step failed and libbpf's last words.
   */
  openObject(path: string, maxEntries?: (map: Omit<BpfMapInfo, 'fd'>) => number | undefined): BpfObject;
  /** Next key after `key` (null: the first) into `next`: true, or false at the end. @throws Error on other errors. */
  nextKey(fd: number, key: Buffer | null, next: Buffer): boolean;
  /** Value at `key` into `value`: true, or false when the key is gone. */
  lookup(fd: number, key: Buffer, value: Buffer): boolean;
  /** Deletes `key`: true, or false when it was not there. @throws Error on other errors. */
  deleteKey(fd: number, key: Buffer): boolean;
  /**
   * BPF_MAP_LOOKUP_BATCH: up to `count` entries after the position in `inBatch` (null: the start)
   * into `keys`/`values`, the next position into `outBatch` (both at least 8 bytes).
   * @returns the entries copied and whether the map is done, or null when the kernel or map type
   *   has no batch lookup (the caller then walks the map key by key). @throws Error on other errors.
   */
  lookupBatch(fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer, count: number): { count: number; done: boolean } | null;
  /** Possible CPUs: the number of values a per-CPU map holds per key. */
  possibleCpus(): number;
}

export type BpfNativeResult = { ok: true; native: BpfNative } | { ok: false; reason: string };

const ENOENT = 2;
/** pthread_sigmask's `how` on Linux. */
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const EINVAL = 22;
const EOPNOTSUPP = 95;
/** The kernel's internal ENOTSUPP, which BPF commands return for map types without an operation. */
const ENOTSUPP = 524;
let cached: BpfNativeResult | null = null;

/** Loads the adapter once per process; later calls return the same result. */
export function loadBpfNative(): BpfNativeResult {
  cached ??= load();
  return cached;
}

function load(): BpfNativeResult {
  if (process.platform !== 'linux') return { ok: false, reason: `eBPF exists only on Linux; this is ${process.platform}` };
  const loaded = loadLibc();
  if (!loaded.ok) return loaded;
  const { koffi, libc } = loaded;
  let lib: NativeLibrary;
  try {
    lib = koffi.load('libbpf.so.1');
  } catch (err) {
    return { ok: false, reason: `libbpf.so.1 could not be loaded (${(err as Error).message}); install the Debian package libbpf1` };
  }
  koffi.opaque('bpf_object');
  koffi.opaque('bpf_program');
  koffi.opaque('bpf_map');
  koffi.opaque('bpf_link');
  const fn = (decl: string) => lib.func(decl);
  const c = {
    openFile: fn('bpf_object *bpf_object__open_file(const char *path, const void *opts)'),
    load: fn('int bpf_object__load(bpf_object *obj)'),
    close: fn('void bpf_object__close(bpf_object *obj)'),
    nextProgram: fn('bpf_program *bpf_object__next_program(const bpf_object *obj, bpf_program *prog)'),
    programName: fn('const char *bpf_program__name(const bpf_program *prog)'),
    attach: fn('bpf_link *bpf_program__attach(const bpf_program *prog)'),
    destroyLink: fn('int bpf_link__destroy(bpf_link *link)'),
    nextMap: fn('bpf_map *bpf_object__next_map(const bpf_object *obj, const bpf_map *map)'),
    mapName: fn('const char *bpf_map__name(const bpf_map *map)'),
    mapFd: fn('int bpf_map__fd(const bpf_map *map)'),
    mapType: fn('int bpf_map__type(const bpf_map *map)'),
    keySize: fn('uint32_t bpf_map__key_size(const bpf_map *map)'),
    valueSize: fn('uint32_t bpf_map__value_size(const bpf_map *map)'),
    getNextKey: fn('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
    lookup: fn('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    deleteElem: fn('int bpf_map_delete_elem(int fd, const void *key)'),
    maxEntries: fn('uint32_t bpf_map__max_entries(const bpf_map *map)'),
    setMaxEntries: fn('int bpf_map__set_max_entries(bpf_map *map, uint32_t max_entries)'),
    lookupBatch: fn('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, uint32_t *count, const void *opts)'),
    possibleCpus: fn('int libbpf_num_possible_cpus()'),
    setPrint: fn('void *libbpf_set_print(void *fn)'),
  };
  // libbpf's messages (warnings, the verifier log) are kept, so a failure can say what libbpf said.
  const vsnprintf = libc.func('int vsnprintf(char *buf, size_t size, const char *fmt, void *ap)');
  const printProto = koffi.proto('int isoscope_libbpf_print(int level, const char *fmt, void *ap)');
  const lines: string[] = [];
  const text = Buffer.alloc(4096);
  const printer = koffi.register((level: number, fmt: string, ap: unknown) => {
    const n = vsnprintf(text, text.length, fmt, ap) as number;
    if (n > 0 && level < 2) {
      lines.push(text.toString('utf8', 0, Math.min(n, text.length - 1)).trimEnd());
      if (lines.length > 40) lines.shift();
    }
    return 0;
  }, koffi.pointer(printProto));
  c.setPrint(printer);
  const errno = (r: number): number => (r < 0 ? -r : koffi.errno());
  const countBox = new Uint32Array(1);
  const said = (): string => (lines.length > 0 ? `; libbpf said: ${lines.splice(0).slice(-8).join(' | ')}` : '');

  // The verifier gives up a program load with EAGAIN when a signal is pending; libbpf retries five
  // times, not enough under a steady signal: with `node --cpu-prof` (SIGPROF every millisecond)
  // runqlat failed 9 loads in 10. Signals to this thread are held during the load and delivered
  // right after it (a signal to the process goes to another of its threads meanwhile).
  const sigmask = libc.func('int pthread_sigmask(int how, const uint8_t *set, _Out_ uint8_t *oldset)');
  const allSignals = Buffer.alloc(128, 0xff);
  const savedMask = Buffer.alloc(128);
  const loadSignalsHeld = (obj: unknown): number => {
    const held = (sigmask(SIG_BLOCK, allSignals, savedMask) as number) === 0;
    try {
      return c.load(obj) as number;
    } finally {
      if (held) sigmask(SIG_SETMASK, savedMask, null);
    }
  };

  const native: BpfNative = {
    openObject(path, maxEntries) {
      lines.length = 0;
      const obj = c.openFile(path, null);
      if (!obj) throw new Error(`libbpf could not open ${path} (errno ${koffi.errno()})${said()}`);
      for (let m = maxEntries ? c.nextMap(obj, null) : null; m; m = c.nextMap(obj, m)) {
        const info = { name: c.mapName(m) as string, type: c.mapType(m) as number, keySize: c.keySize(m) as number, valueSize: c.valueSize(m) as number, maxEntries: c.maxEntries(m) as number };
        const n = maxEntries!(info);
        if (n === undefined || n === info.maxEntries) continue;
        const r = c.setMaxEntries(m, n) as number;
        if (r !== 0) {
          c.close(obj);
          throw new Error(`Map ${info.name} of ${path} could not be given ${n} entries (errno ${errno(r)})${said()}`);
        }
      }
      const links: unknown[] = [];
      const programs: string[] = [];
      const closeAll = () => {
        for (const l of links.splice(0)) c.destroyLink(l);
        c.close(obj);
      };
      const r = loadSignalsHeld(obj);
      if (r !== 0) {
        c.close(obj);
        throw new Error(`The kernel refused to load ${path} (errno ${errno(r)})${said()}`);
      }
      for (let p = c.nextProgram(obj, null); p; p = c.nextProgram(obj, p)) {
        const name = c.programName(p) as string;
        const link = c.attach(p);
        if (!link) {
          const e = koffi.errno();
          closeAll();
          throw new Error(`Program ${name} of ${path} could not be attached (errno ${e})${said()}`);
        }
        links.push(link);
        programs.push(name);
      }
      const maps: BpfMapInfo[] = [];
      for (let m = c.nextMap(obj, null); m; m = c.nextMap(obj, m)) {
        maps.push({ name: c.mapName(m) as string, fd: c.mapFd(m) as number, type: c.mapType(m) as number, keySize: c.keySize(m) as number, valueSize: c.valueSize(m) as number, maxEntries: c.maxEntries(m) as number });
      }
      let closed = false;
      return {
        path,
        maps,
        programs,
        close() {
          if (closed) return;
          closed = true;
          closeAll();
        },
      };
    },
    nextKey(fd, key, next) {
      const r = c.getNextKey(fd, key, next) as number;
      if (r === 0) return true;
      if (errno(r) === ENOENT) return false;
      throw new Error(`bpf_map_get_next_key on map fd ${fd} failed with errno ${errno(r)}`);
    },
    lookup(fd, key, value) {
      const r = c.lookup(fd, key, value) as number;
      if (r === 0) return true;
      if (errno(r) === ENOENT) return false;
      throw new Error(`bpf_map_lookup_elem on map fd ${fd} failed with errno ${errno(r)}`);
    },
    deleteKey(fd, key) {
      const r = c.deleteElem(fd, key) as number;
      if (r === 0) return true;
      if (errno(r) === ENOENT) return false;
      throw new Error(`bpf_map_delete_elem on map fd ${fd} failed with errno ${errno(r)}`);
    },
    lookupBatch(fd, inBatch, outBatch, keys, values, count) {
      countBox[0] = count;
      const r = c.lookupBatch(fd, inBatch, outBatch, keys, values, countBox, null) as number;
      if (r === 0) return { count: countBox[0]!, done: false };
      const e = errno(r);
      if (e === ENOENT) return { count: countBox[0]!, done: true };
      if (e === EINVAL || e === ENOTSUPP || e === EOPNOTSUPP) return null;
      throw new Error(`bpf_map_lookup_batch on map fd ${fd} failed with errno ${e}`);
    },
    possibleCpus: () => c.possibleCpus() as number,
  };
  return { ok: true, native };
}
