/**
 * The guest's initramfs, built on the node from what it has: its static busybox, the virtio, 9p and
 * virtio-serial modules of the guest kernel (resolved through modules.dep, skipped when built in),
 * the init below and the guest agent. The init mounts the host's root read-only over virtio-9p, puts
 * tmpfs on /tmp, /run and /var/tmp, mounts the node's work root read-write at the same path, and
 * switches to the host root running the agent with the host's node.js. Every failure prints an
 * `isoscope-init:` line on the serial console and powers the guest off, so the driver can say why.
 */

/** Console line the probe guest prints when it reached user space. */
export const PROBE_MARK = 'isoscope-probe-ok';

/** The guest's /init (busybox sh). Reads /isoscope.conf: SHARE (work root), NODEJS, PROBE. */
export const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "isoscope-init: $*"; sync; poweroff -f; sleep 5; }
mount -t proc proc /proc
. /isoscope.conf
if [ "$PROBE" = 1 ]; then echo "${PROBE_MARK}"; poweroff -f; sleep 5; fi
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m" || fail "cannot load kernel module $m"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /newroot || fail "cannot mount the host root over virtio-9p"
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 "tmp-$d" "/newroot/$d" || fail "cannot mount tmpfs on /$d"; done
mkdir -p "/newroot$SHARE" && mount -t 9p -o trans=virtio,version=9p2000.L work "/newroot$SHARE" || fail "cannot mount the work root $SHARE over virtio-9p"
port=
for f in /sys/class/virtio-ports/*/name; do [ "$(cat "$f" 2>/dev/null)" = isoscope.agent ] && port=/dev/$(basename "$(dirname "$f")"); done
[ -n "$port" ] || fail "no virtio-serial port named isoscope.agent"
[ -x "/newroot$NODEJS" ] || fail "node.js $NODEJS is not in the host root"
cp /agent.cjs /newroot/run/isoscope-agent.cjs
mount --move /dev /newroot/dev && mount --move /sys /newroot/sys && mount --move /proc /newroot/proc || fail "cannot move /dev, /sys, /proc"
echo "isoscope-init: starting the agent on $port"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
exec switch_root /newroot "$NODEJS" /run/isoscope-agent.cjs "$port"
`;

/** Modules the guest needs; their dependencies come from modules.dep. */
const MODULES = ['virtio_pci', 'virtio_console', '9pnet_virtio', '9p'];

/**
 * Builds `<dir>/<name>` on the node. Positional arguments: dir, name, busybox, modules dir (or "-" for
 * a probe image without modules), init text, conf text; the agent program arrives on stdin. Exit 3
 * with a sentence on stderr when something the guest needs is missing.
 */
export const BUILD = `set -eu
dir=$1; name=$2; busybox=$3; moddir=$4
r="$dir/$name.d"
rm -rf "$r"; mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/newroot" "$r/modules"
[ -x "$busybox" ] || { echo "no static busybox at $busybox (package busybox-static)" >&2; exit 3; }
cp "$busybox" "$r/bin/busybox"
printf '%s' "$5" > "$r/init"; chmod 755 "$r/init"
printf '%s\\n' "$6" > "$r/isoscope.conf"
cat > "$r/agent.cjs"
: > "$r/modules/order"
if [ "$moddir" != - ]; then
  [ -f "$moddir/modules.dep" ] || { echo "no kernel modules at $moddir (expected modules.dep there)" >&2; exit 3; }
  add() {
    grep -qx "$1" "$r/modules/order" && return 0
    cp "$moddir/$2" "$r/modules/$1"; echo "$1" >> "$r/modules/order"
  }
  for m in ${MODULES.join(' ')}; do
    if grep -qE "/$m\\.ko(\\.[a-z]+)?$" "$moddir/modules.builtin" 2>/dev/null; then continue; fi
    line=$(grep -E "(^|/)$m\\.ko(\\.[a-z]+)?:" "$moddir/modules.dep" | head -1)
    [ -n "$line" ] || { echo "kernel module $m is neither built in nor in $moddir/modules.dep" >&2; exit 3; }
    deps=""; for d in \${line#*:}; do deps="$d $deps"; done
    for p in $deps \${line%%:*}; do
      case "$p" in *.ko) ;; *) echo "kernel module $p is compressed; busybox insmod needs plain .ko files" >&2; exit 3 ;; esac
      add "$(basename "$p")" "$p"
    done
  done
fi
(cd "$r" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$dir/$name.tmp"
mv "$dir/$name.tmp" "$dir/$name"
rm -rf "$r"
`;

/** /isoscope.conf: shell assignments of values checked to be plain paths (config.ts). */
export function conf(values: { share: string; nodejs: string; probe: boolean }): string {
  for (const v of [values.share, values.nodejs]) if (!/^\/[A-Za-z0-9_.+@/-]*$/.test(v)) throw new Error(`not a plain absolute path: ${JSON.stringify(v)}`);
  return `SHARE='${values.share}'\nNODEJS='${values.nodejs}'\nPROBE=${values.probe ? 1 : 0}`;
}
