/**
 * State and helpers shared by the fake Pisces / Palacios node tools (test fixtures standing in for
 * hardware: a co-kernel and a VMM cannot run in CI). The state lives in $ISOSCOPE_NODE_TOOLS_STATE:
 *   node.json   the node: {cpus, numaNodes, memBlocks, reservedBlocks, blockSizeBytes, pisces, v3vee}
 *   state.json  offline CPUs and memory blocks, enclaves (and their VMs), Linux-hosted VMs, jobs
 *   proc/pisces/enclave-<id>/{cpus,memory,pci}   written like the Pisces module's proc files
 *   fail/<tool> a failure mode the next run of <tool> acts out, then deletes (e.g. "error", "hang")
 *   calls.log   one JSON argv per run, in order
 * Each tool prints what the real one prints (see the drivers' README.md for the source lines).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export function begin() {
  const tool = basename(process.argv[1]);
  const dir = process.env.ISOSCOPE_NODE_TOOLS_STATE;
  if (!dir || !existsSync(join(dir, 'node.json'))) {
    process.stderr.write(`${tool}: fake node tool: $ISOSCOPE_NODE_TOOLS_STATE does not name a directory with node.json\n`);
    process.exit(2);
  }
  appendFileSync(join(dir, 'calls.log'), `${JSON.stringify([tool, ...process.argv.slice(2)])}\n`);
  const failFile = join(dir, 'fail', tool);
  let failure = null;
  if (existsSync(failFile)) {
    failure = readFileSync(failFile, 'utf8').trim();
    rmSync(failFile);
  }
  const node = JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8'));
  const statePath = join(dir, 'state.json');
  const state = existsSync(statePath)
    ? JSON.parse(readFileSync(statePath, 'utf8'))
    : { offlineCpus: [], offlineBlocks: [], enclaves: {}, nextEnclave: 0, hostVms: {}, jobs: [] };
  const ctx = { tool, dir, node, state, failure, args: process.argv.slice(2) };
  ctx.save = () => save(ctx);
  return ctx;
}

function save(ctx) {
  writeFileSync(join(ctx.dir, 'state.json'), JSON.stringify(ctx.state, null, 1));
  const procRoot = join(ctx.dir, 'proc', 'pisces');
  rmSync(procRoot, { recursive: true, force: true });
  for (const [id, e] of Object.entries(ctx.state.enclaves)) {
    const d = join(procRoot, `enclave-${id}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'cpus'), `Num CPUs: ${e.cpus.length}\n${e.cpus.map((c) => `CPU ${c}\n`).join('')}`);
    const bs = BigInt(ctx.node.blockSizeBytes);
    const hex = (n) => n.toString(16).padStart(16, '0');
    writeFileSync(join(d, 'memory'), `Num Memory Blocks: ${e.blocks.length}\n${e.blocks.map((b, i) => `${i}: ${hex(BigInt(b) * bs)} - ${hex(BigInt(b + 1) * bs)}\n`).join('')}`);
    writeFileSync(join(d, 'pci'), 'PCI Devices: 0\n');
  }
}

/** printf-like output helpers. */
export const out = (line) => process.stdout.write(`${line}\n`);
export const err = (line) => process.stderr.write(`${line}\n`);

/** `return -1` from a C main: exit status 255. */
export function exitC(code) {
  process.exitCode = code < 0 ? 256 + code : code;
}

/** The "hang" failure mode: block until killed (for cancel tests). */
export function hang() {
  setInterval(() => {}, 1 << 30);
}

/** Which NUMA zone a CPU / block is in (zones split evenly). */
export function cpuZone(node, cpu) {
  return Math.floor(cpu / Math.ceil(node.cpus / node.numaNodes));
}
export function blockZone(node, block) {
  return Math.floor(block / Math.ceil(node.memBlocks / node.numaNodes));
}

/** pet_offline_cpu: CPU 0 and offline or non-existent CPUs cannot be offlined. */
export function offlineCpu(ctx, cpu) {
  const { node, state } = ctx;
  if (!Number.isInteger(cpu) || cpu <= 0 || cpu >= node.cpus || state.offlineCpus.includes(cpu)) return false;
  state.offlineCpus.push(cpu);
  return true;
}
export function onlineCpu(ctx, cpu) {
  ctx.state.offlineCpus = ctx.state.offlineCpus.filter((c) => c !== cpu);
}

/** pet_offline_cpus: up to n free CPUs from a zone (-1 any); returns those it got. */
export function offlineCpus(ctx, n, zone) {
  const got = [];
  for (let c = 1; c < ctx.node.cpus && got.length < n; c++) {
    if ((zone === -1 || cpuZone(ctx.node, c) === zone) && offlineCpu(ctx, c)) got.push(c);
  }
  return got;
}

function blockFree(ctx, b, zone) {
  return b >= ctx.node.reservedBlocks && b < ctx.node.memBlocks && !ctx.state.offlineBlocks.includes(b) && (zone === -1 || blockZone(ctx.node, b) === zone);
}

/** pet_offline_contig_blocks: n contiguous free removable blocks, or null. */
export function offlineContigBlocks(ctx, n, zone) {
  for (let start = ctx.node.reservedBlocks; start + n <= ctx.node.memBlocks; start++) {
    const run = Array.from({ length: n }, (_, i) => start + i);
    if (run.every((b) => blockFree(ctx, b, zone))) {
      ctx.state.offlineBlocks.push(...run);
      return run;
    }
  }
  return null;
}

/** pet_offline_blocks: up to n free removable blocks (not necessarily contiguous). */
export function offlineBlocks(ctx, n, zone) {
  const got = [];
  for (let b = 0; b < ctx.node.memBlocks && got.length < n; b++) {
    if (blockFree(ctx, b, zone)) {
      ctx.state.offlineBlocks.push(b);
      got.push(b);
    }
  }
  return got;
}
export function onlineBlocks(ctx, blocks) {
  ctx.state.offlineBlocks = ctx.state.offlineBlocks.filter((b) => !blocks.includes(b));
}

/** %p of a block's base address, as glibc prints a pointer. */
export function blockAddr(ctx, b) {
  return `0x${(BigInt(b) * BigInt(ctx.node.blockSizeBytes)).toString(16)}`;
}

/** get_pisces_id_from_path: sscanf("/dev/pisces-enclave%d"), -1 when it does not match. */
export function piscesIdFromPath(path) {
  const m = /^\/dev\/pisces-enclave(-?\d+)/.exec(path ?? '');
  return m ? Number(m[1]) : -1;
}

/** PISCES_ENCLAVE_CTRL_CONNECT works on an enclave that exists and has booted. */
export function ctrlConnect(ctx, path) {
  const m = /^\/dev\/pisces-enclave(\d+)$/.exec(path ?? '');
  const e = m && ctx.node.pisces ? ctx.state.enclaves[m[1]] : undefined;
  return e && e.launched ? e : null;
}

/**
 * A small getopt_long: short options from `spec` ("m:c:" style; ':' = takes an argument),
 * long options {name: hasArg}; permutes non-options to the end, stops at "--".
 * Returns {opts: [[name, value]], rest: [...non-options], bad: char|null}.
 */
export function getopt(args, spec, long = {}, { longOnly = false } = {}) {
  const opts = [];
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    const isLong = a.startsWith('--') || (longOnly && a.startsWith('-') && a.length > 2 && long[a.slice(1).split('=')[0]] !== undefined);
    if (isLong) {
      const body = a.replace(/^--?/, '');
      const [name, inline] = body.includes('=') ? [body.slice(0, body.indexOf('=')), body.slice(body.indexOf('=') + 1)] : [body, undefined];
      if (!(name in long)) return { opts, rest, bad: '?' };
      if (long[name]) {
        const v = inline ?? args[++i];
        if (v === undefined) return { opts, rest, bad: '?' };
        opts.push([name, v]);
      } else opts.push([name, null]);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j];
        const k = spec.indexOf(ch);
        if (k === -1) return { opts, rest, bad: '?' };
        if (spec[k + 1] === ':') {
          const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
          if (v === undefined) return { opts, rest, bad: '?' };
          opts.push([ch, v]);
          break;
        }
        opts.push([ch, null]);
      }
      continue;
    }
    rest.push(a);
  }
  return { opts, rest, bad: null };
}

/** C atoi: leading integer or 0. */
export function atoi(s) {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m ? Number(m[1]) : 0;
}
