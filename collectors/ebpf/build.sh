#!/usr/bin/env bash
# Builds the eBPF programs of the ebpf source: programs/<name>.bpf.c -> build/<name>.bpf.o (CO-RE,
# compiled once, loaded on any kernel with BTF). Idempotent: a program is recompiled only when its
# source, a shared header or vmlinux.h is newer than its object. build/ is not committed.
#
# Needs clang (Debian: clang), libbpf headers (libbpf-dev) and, unless build/vmlinux.h exists or
# ISOSCOPE_VMLINUX_H points at one, bpftool (bpftool) and /sys/kernel/btf/vmlinux.
# Usage: collectors/ebpf/build.sh [--check]   (--check: only say whether everything is built)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/programs"
out="$here/build"
mkdir -p "$out"

missing() { echo "collectors/ebpf/build.sh: $1" >&2; exit 2; }

vmlinux="$out/vmlinux.h"
if [ -n "${ISOSCOPE_VMLINUX_H:-}" ]; then
  cp -u "$ISOSCOPE_VMLINUX_H" "$vmlinux"
elif [ ! -s "$vmlinux" ]; then
  command -v bpftool >/dev/null 2>&1 || missing "bpftool is needed to generate vmlinux.h from the kernel's BTF (apt-get install bpftool)"
  [ -r /sys/kernel/btf/vmlinux ] || missing "/sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF), so vmlinux.h cannot be generated here; set ISOSCOPE_VMLINUX_H to one generated elsewhere"
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$vmlinux.tmp"
  mv "$vmlinux.tmp" "$vmlinux"
fi

command -v clang >/dev/null 2>&1 || missing "clang is needed to compile the BPF programs (apt-get install clang)"
[ -r /usr/include/bpf/bpf_helpers.h ] || missing "the libbpf headers are missing (apt-get install libbpf-dev)"

case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) missing "no BPF target architecture is known for $(uname -m) (supported: x86_64, aarch64)" ;;
esac

built=0
for c in "$src"/*.bpf.c; do
  name="$(basename "$c" .bpf.c)"
  obj="$out/$name.bpf.o"
  if [ -s "$obj" ] && [ "$obj" -nt "$c" ] && [ "$obj" -nt "$vmlinux" ] && [ -z "$(find "$src" -name '*.h' -newer "$obj")" ]; then
    continue
  fi
  if [ "${1:-}" = "--check" ]; then echo "$name is not built" >&2; exit 1; fi
  clang -O2 -g -Wall -Werror -target bpf "-D__TARGET_ARCH_$arch" -I"$out" -I"$src" -c "$c" -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
  built=$((built + 1))
done
echo "collectors/ebpf/build.sh: $built program(s) compiled into $out"
