/** The Pisces v3_launch / v3_stop / v3_free tools: one VM command over the enclave's control channel. */
import { atoi, begin, ctrlConnect, exitC, hang, out } from './node-state.mjs';

const USAGE = {
  launch: 'usage: v3_launch <pisces_device> <vm_id>',
  stop: 'usage: v3_stop <pisces-enclave> <vm-id>',
  free: 'usage: v3_free <pisces-enclave> <vm-id>',
};

export function v3EnclaveCommand(cmd) {
  const ctx = begin();
  const [dev, idArg] = ctx.args;
  if (ctx.args.length < 2) {
    out(USAGE[cmd]);
    return exitC(-1);
  }
  const id = atoi(idArg);
  if (cmd === 'launch') out(`Launching VM (${dev})`);
  if (cmd === 'stop') out(`Stopping VM [${id}] on enclave (${dev})`);
  if (cmd === 'free') out(`Freeing VM [${id}] on enclave ${dev}`);
  if (ctx.failure === 'hang') return hang();
  const e = ctrlConnect(ctx, dev);
  if (!e) {
    out(`Error opening enclave control channel (${dev})`);
    return exitC(-1);
  }
  const vm = e.vms[id];
  // ENCLAVE_CMD_{LAUNCH,STOP,FREE}_VM fails for an id Kitten does not know or a VM in the wrong state.
  const ok = ctx.failure !== 'error' && vm && (cmd === 'launch' ? !vm.running : cmd === 'stop' ? vm.running : !vm.running);
  if (!ok) {
    // v3_free.c prints the same message as v3_stop.c.
    out(cmd === 'launch' ? 'Error: Could not LAUNCH VM' : 'Error: Could not STOP VM');
    return exitC(-1);
  }
  if (cmd === 'launch') vm.running = true;
  if (cmd === 'stop') vm.running = false;
  if (cmd === 'free') delete e.vms[id];
  ctx.save();
}
