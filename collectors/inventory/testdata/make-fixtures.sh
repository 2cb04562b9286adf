#!/bin/sh
# Rebuilds the inventory fixture trees (sysfs + procfs subsets) in this directory:
#   two-socket/  a made-up 2-socket, 16-thread SMT server with an SR-IOV NIC (2 VFs active), NVMe, IOMMU on
#   minimal/     a kernel that says almost nothing: one CPU, no topology/cache/NUMA/PCI/modules files
#   vm/          the relevant files of the machine this runs on (run with `vm` as argument; overwrites vm/)
set -eu
MODE=${1:-}
cd "$(dirname "$0")"
w() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" > "$1"; }

rm -rf two-socket minimal
S=two-socket/sys; P=two-socket/proc; C=$S/devices/system/cpu
w $C/online 0-15; w $C/possible 0-15; w $C/isolated 2-3,10-11; w $C/smt/control on
for cpu in $(seq 0 15); do
  pkg=$(( (cpu % 8) / 4 )); core=$(( cpu % 4 )); sib=$(( cpu % 8 )),$(( cpu % 8 + 8 ))
  w $C/cpu$cpu/topology/physical_package_id $pkg; w $C/cpu$cpu/topology/core_id $core; w $C/cpu$cpu/topology/die_id 0
  w $C/cpu$cpu/topology/thread_siblings_list $sib
  [ $pkg = 0 ] && l3=0-3,8-11 || l3=4-7,12-15
  i=0; for spec in "1 Data 32K $sib" "1 Instruction 32K $sib" "2 Unified 1024K $sib" "3 Unified 22528K $l3"; do
    set -- $spec; d=$C/cpu$cpu/cache/index$i
    w $d/level $1; w $d/type $2; w $d/size $3; w $d/shared_cpu_list $4; w $d/coherency_line_size 64; i=$((i + 1))
  done
done
N=$S/devices/system/node; w $N/online 0-1
w $N/node0/cpulist 0-3,8-11; w $N/node0/distance "10 21"; w $N/node0/meminfo "Node 0 MemTotal:       65536000 kB"
w $N/node1/cpulist 4-7,12-15; w $N/node1/distance "21 10"; w $N/node1/meminfo "Node 1 MemTotal:       65536000 kB"
D=$S/bus/pci/devices
dev() { # address vendor device class driver numa group
  w $D/$1/vendor $2; w $D/$1/device $3; w $D/$1/class $4; w $D/$1/numa_node $6
  [ -n "$5" ] && ln -s ../../../../bus/pci/drivers/$5 $D/$1/driver
  [ -n "$7" ] && { ln -s ../../../../kernel/iommu_groups/$7 $D/$1/iommu_group; mkdir -p $S/kernel/iommu_groups/$7/devices; w $S/kernel/iommu_groups/$7/type DMA
                   ln -s ../../../../bus/pci/devices/$1 $S/kernel/iommu_groups/$7/devices/$1; }
  return 0
}
dev 0000:00:00.0 0x8086 0x2020 0x060000 "" -1 ""
dev 0000:3b:00.0 0x8086 0x1572 0x020000 i40e 0 30; w $D/0000:3b:00.0/sriov_totalvfs 32; w $D/0000:3b:00.0/sriov_numvfs 2
dev 0000:3b:00.1 0x8086 0x1572 0x020000 i40e 0 31; w $D/0000:3b:00.1/sriov_totalvfs 32; w $D/0000:3b:00.1/sriov_numvfs 0
dev 0000:3b:02.0 0x8086 0x154c 0x020000 vfio-pci 0 80; dev 0000:3b:02.1 0x8086 0x154c 0x020000 vfio-pci 0 81
ln -s ../0000:3b:02.0 $D/0000:3b:00.0/virtfn0; ln -s ../0000:3b:02.1 $D/0000:3b:00.0/virtfn1
ln -s ../0000:3b:00.0 $D/0000:3b:02.0/physfn; ln -s ../0000:3b:00.0 $D/0000:3b:02.1/physfn
dev 0000:5e:00.0 0x144d 0xa808 0x010802 nvme 1 40
w $P/version "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
w $P/sys/kernel/osrelease 6.1.0-18-amd64
w $P/cmdline "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro isolcpus=2-3,10-11 intel_iommu=on iommu=pt"
printf '%s\n' "vfio_pci 16384 0 - Live 0x0000000000000000" "i40e 557056 0 - Live 0x0000000000000000" \
  "iavf 208896 0 - Live 0x0000000000000000" "kvm_intel 380928 0 - Live 0x0000000000000000" "kvm 1146880 1 kvm_intel, Live 0x0000000000000000" > $P/modules
printf '%s\n' "MemTotal:       131072000 kB" "MemFree:        120000000 kB" "HugePages_Total:    1024" "HugePages_Free:     1024" "Hugepagesize:       2048 kB" > $P/meminfo
printf '%s\n' "processor	: 0" "vendor_id	: GenuineIntel" "cpu family	: 6" "model		: 85" "model name	: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz" "" > $P/cpuinfo

w minimal/sys/devices/system/cpu/cpu0/uevent ""
w minimal/proc/version "Linux version 4.19.0 (builder@host) #1 SMP"

if [ "$MODE" = vm ]; then
  rm -rf vm; V=vm/sys
  for f in online possible isolated smt/control; do [ -e /sys/devices/system/cpu/$f ] && w $V/devices/system/cpu/$f "$(cat /sys/devices/system/cpu/$f)"; done
  for c in /sys/devices/system/cpu/cpu[0-9]*; do n=$(basename $c)
    for f in physical_package_id core_id die_id thread_siblings_list; do w $V/devices/system/cpu/$n/topology/$f "$(cat $c/topology/$f)"; done
    for i in $c/cache/index*; do for f in level type size shared_cpu_list coherency_line_size; do w $V/devices/system/cpu/$n/cache/$(basename $i)/$f "$(cat $i/$f)"; done; done
  done
  for n in /sys/devices/system/node/node[0-9]*; do for f in cpulist distance meminfo; do w $V/devices/system/node/$(basename $n)/$f "$(cat $n/$f)"; done; done
  for d in /sys/bus/pci/devices/*; do a=$(basename $d)
    for f in vendor device class numa_node sriov_totalvfs sriov_numvfs; do [ -e $d/$f ] && w $V/bus/pci/devices/$a/$f "$(cat $d/$f)"; done
    [ -e $d/driver ] && ln -s ../../../../bus/pci/drivers/$(basename $(readlink $d/driver)) $V/bus/pci/devices/$a/driver
  done
  mkdir -p $V/kernel/iommu_groups
  w vm/proc/version "$(cat /proc/version)"; w vm/proc/sys/kernel/osrelease "$(cat /proc/sys/kernel/osrelease)"; w vm/proc/cmdline "$(cat /proc/cmdline)"
  awk '/^$/{exit} {print}' /proc/cpuinfo > vm/proc/cpuinfo
  cp /proc/meminfo vm/proc/meminfo
  if [ -e /proc/modules ]; then cp /proc/modules vm/proc/modules; fi
fi
