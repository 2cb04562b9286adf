/**
 * Hands a partition to a node's collector and takes it back (collectors/scopes/scope-file.ts), over
 * the node's transport: one command writes the scope file (to a temporary name, then renamed) and
 * waits on the node for the collector's ack, so the workload never starts before its partition is
 * counted; another removes the file and waits until the collector made its final read.
 */
import { ACK_SUFFIX, scopeAckSchema, scopeFileName, type ScopeAck, type ScopeFile } from '../../collectors/scopes/scope-file.js';
import type { NodeTransport } from '../transport/transport.js';

// $1 dir, $2 file, $3 timeout in 0.05 s steps; the scope JSON on stdin.
const ADD = [
  'mkdir -p "$1" || exit 3',
  'cat > "$1/.$2.tmp" && mv -f "$1/.$2.tmp" "$1/$2" || exit 3',
  'i=0; while [ ! -e "$1/$2.ack" ]; do i=$((i+1)); [ $i -gt "$3" ] && exit 4; sleep 0.05; done',
  'cat "$1/$2.ack"',
].join('\n');

const REMOVE = [
  'rm -f "$1/$2"',
  'i=0; while [ -e "$1/$2.ack" ]; do i=$((i+1)); [ $i -gt "$3" ] && exit 4; sleep 0.05; done',
].join('\n');

/**
 * Writes the scope and returns the collector's ack.
 * @throws naming node, partition and directory when no collector answered within `timeoutMs`.
 */
export async function handOver(node: NodeTransport, dir: string, scope: ScopeFile, timeoutMs: number): Promise<ScopeAck> {
  const file = scopeFileName(scope.run, scope.partition);
  const r = await node.exec(['sh', '-c', ADD, 'handover', dir, file, String(Math.ceil(timeoutMs / 50))], { stdin: JSON.stringify(scope), timeoutMs: timeoutMs + 30_000 });
  if (r.code === 4) {
    await node.exec(['rm', '-f', '--', `${dir}/${file}`], { timeoutMs: 30_000 }).catch(() => undefined);
    throw new Error(`node ${node.node}: no collector counted partition ${scope.partition} within ${timeoutMs / 1000} s (no ${dir}/${file}${ACK_SUFFIX}): is a collector with --scopes ${dir} running there?`);
  }
  if (r.code !== 0) throw new Error(`node ${node.node}: cannot hand partition ${scope.partition} to the collector in ${dir}: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
  try {
    return scopeAckSchema.parse(JSON.parse(r.stdout));
  } catch (err) {
    throw new Error(`node ${node.node}: the collector's ack for partition ${scope.partition} is not readable: ${(err as Error).message}`);
  }
}

/** Removes the scope and waits (up to `timeoutMs`) for the collector's final read; false when it did not answer. */
export async function withdraw(node: NodeTransport, dir: string, run: string | null, partition: string, timeoutMs: number): Promise<boolean> {
  const r = await node.exec(['sh', '-c', REMOVE, 'withdraw', dir, scopeFileName(run, partition), String(Math.ceil(timeoutMs / 50))], { timeoutMs: timeoutMs + 30_000 });
  return r.code === 0;
}
