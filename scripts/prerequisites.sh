#!/usr/bin/env bash
# The one list of system packages that isoscope's test suite, benchmarks and CI need, and the one place
# that installs them. `npm test` runs it first (package.json "pretest") and `.ci/run` runs it too, so the
# README's test command and CI cannot drift apart. Idempotent: each line is checked first and only
# missing packages are installed.
#
# Usage: scripts/prerequisites.sh            install what is missing (apt, as root); otherwise say the
#                                            one command to run and exit 1
#        scripts/prerequisites.sh --check    only list what is missing (exit 1 if anything is)
#        scripts/prerequisites.sh --list     print the package names, one a line (tests compare lists)
set -euo pipefail

# Each line: <package> <how to tell it is present> [why]. The test is a command name, or a path
# (starting with /), or "lib:NAME" for a shared library known to ldconfig.
packages() {
  cat <<'EOF'
openjdk-17-jdk-headless  java                      Kafka and QuestDB of the test suite run on a JDK 17+
maven                    mvn                       fetches Kafka and QuestDB from Maven Central
linux-perf               perf                      the reference the perf collector's counts are checked against
mount                    umount                    the tracefs test unmounts and remounts tracefs
clang                    clang                     compiles the eBPF programs (npm run build:ebpf)
gcc                      cc                        compiles the collector's native sampler on first use (collectors/sampler/sampler.c)
bpftool                  bpftool                   generates vmlinux.h from the kernel's BTF
libbpf-dev               /usr/include/bpf/bpf_helpers.h   libbpf headers for the eBPF programs
libbpf1                  lib:libbpf.so.1           loads the eBPF programs at run time
openssh-server           /usr/sbin/sshd            orchestrator tests talk to a real sshd
openmpi-bin              mpirun                    hpcc runs under mpirun
hpcc                     hpcc                      HPL, STREAM, RandomAccess, DGEMM workloads
stress-ng                stress-ng                 interference generator
sysbench                 sysbench                  CPU and memory workloads
time                     /usr/bin/time             bench/observer-effect: the workload's context switches (GNU time)
iproute2                 ip                        testbed nodes are network namespaces joined by veth links
util-linux               nsenter                   testbed: sshd enters a node's namespaces (nsenter), host names (unshare --uts)
openssh-client           ssh-keygen                testbed keys; mpirun reaches the other nodes with ssh
qemu-system-x86          qemu-system-x86_64        kvm partitions: one QEMU VM per partition (TCG where KVM does not work)
busybox-static           /bin/busybox              the kvm guest's initramfs: its init and shell
linux-image-amd64        /vmlinuz                  the kvm guest's kernel and its virtio and 9p modules
docker-compose           docker-compose            `docker-compose config` validates docker/compose.yaml (no Docker engine needed)
prometheus               promtool                  promtool checks deploy/prometheus; the scrape test runs a real prometheus on loopback
systemd                  systemd-analyze           `systemd-analyze verify` checks deploy/systemd units
chromium                 chromium                  the explorer's browser tests (driven by playwright-core, headless)
fonts-dejavu-core        /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf   text in the report's PNG figures (resvg reads system fonts)
EOF
}

present() {
  local test="$1"
  case "$test" in
    /*) [ -e "$test" ] ;;
    lib:*) ldconfig -p 2>/dev/null | grep -E "[[:space:]]${test#lib:}[[:space:]]" >/dev/null ;;  # not grep -q: an early exit would SIGPIPE ldconfig, and pipefail would call the library missing
    java) command -v java >/dev/null 2>&1 &&
      [ "$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)" -ge 17 ] ;;
    *) command -v "$test" >/dev/null 2>&1 ;;
  esac
}

mode="${1:-install}"
case "$mode" in
  --list) packages | awk '{print $1}'; exit 0 ;;
  --check|install) ;;
  *) echo "scripts/prerequisites.sh: unknown option '$mode' (expected --check or --list)" >&2; exit 2 ;;
esac

missing=()
while read -r pkg test _; do
  [ -n "$pkg" ] || continue
  present "$test" || missing+=("$pkg")
done < <(packages)

if [ ${#missing[@]} -eq 0 ]; then
  [ "$mode" = --check ] || echo "prerequisites: all $(packages | wc -l) system packages are present"
  exit 0
fi
if [ "$mode" = --check ]; then
  printf 'missing: %s\n' "${missing[@]}"
  exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "prerequisites: these system packages are missing: ${missing[*]}" >&2
  echo "Install them, then run the command again:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "prerequisites: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
