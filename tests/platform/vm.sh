#!/usr/bin/env bash
# A Debian VM with a real kernel and two NUMA nodes, for the linux_vm Molecule scenario.
#
#   tests/platform/vm.sh build            build (or reuse) the cached disk, kernel and initrd
#   tests/platform/vm.sh start NAME PORT  boot a throwaway copy-on-write overlay of that disk,
#                                         SSH forwarded to 127.0.0.1:PORT; waits for sshd
#   tests/platform/vm.sh stop NAME        power it off and delete the overlay
#
# QEMU runs under TCG (software emulation): a KVM guest hung at boot on these machines. The
# disk is debootstrap + Debian's cloud kernel, as an ext4 image made with mkfs.ext4 -d;
# it is cached under $FRONTIER_VM_CACHE (default ~/.cache/frontier-llm/vm) by the hash of
# this recipe, and each run boots an overlay, so the cached disk is never changed.
set -euo pipefail

suite=${FRONTIER_VM_SUITE:-bookworm}
mirror=${FRONTIER_TEST_MIRROR:-http://deb.debian.org/debian}
cache=${FRONTIER_VM_CACHE:-$HOME/.cache/frontier-llm/vm}
packages="python3,python3-apt,systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,procps,ca-certificates,linux-image-cloud-amd64,initramfs-tools"
recipe=$(printf '%s\n' "$suite" "$mirror" "$packages" "$(sed -n '/^build()/,/^}/p' "$0")" | sha256sum | cut -c1-16)
base="$cache/$recipe"

build() {
  if [ -f "$base/disk.raw" ] && [ -f "$base/vmlinuz" ] && [ -f "$base/initrd.img" ]; then
    echo "vm: disk $base is up to date"
    return
  fi
  mkdir -p "$base"
  [ -f "$cache/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C frontier-llm-vm -f "$cache/id_ed25519"
  local root
  root=$(mktemp -d /var/tmp/frontier-vm.XXXXXX)
  echo "vm: debootstrap $suite with the cloud kernel into $root"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 30 "$root.log"; rm -rf "$root" "$root.log"; return 1; }
  rm -f "$root.log"
  echo "frontier-vm" >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 frontier-vm\n' >"$root/etc/hosts"
  printf '/dev/vda / ext4 defaults 0 1\n' >"$root/etc/fstab"
  printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf"
  mkdir -p "$root/etc/systemd/network" "$root/root/.ssh"
  printf '[Match]\nName=e*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/20-wired.network"
  ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
  install -m 0600 "$cache/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  chmod 0700 "$root/root/.ssh"
  rm -rf "$root/var/cache/apt/archives/"*.deb
  local kernels=("$root"/boot/vmlinuz-*) initrds=("$root"/boot/initrd.img-*)
  cp "${kernels[0]}" "$base/vmlinuz"
  cp "${initrds[0]}" "$base/initrd.img"
  chmod 0644 "$base/vmlinuz" "$base/initrd.img"
  mkfs.ext4 -q -F -L frontier-vm -d "$root" "$base/disk.raw" 3G
  rm -rf "$root"
  echo "vm: built $base"
}

start() {
  local name=$1 port=$2 run="$cache/run/$1"
  build
  mkdir -p "$run"
  stop "$name" >/dev/null 2>&1 || true
  mkdir -p "$run"
  qemu-img create -q -f qcow2 -b "$base/disk.raw" -F raw "$run/overlay.qcow2"
  # Two NUMA nodes of 768 MiB, one CPU each.
  qemu-system-x86_64 -machine accel=tcg -m 1536 -smp 2 \
    -object memory-backend-ram,id=mem0,size=768M -object memory-backend-ram,id=mem1,size=768M \
    -numa node,nodeid=0,cpus=0,memdev=mem0 -numa node,nodeid=1,cpus=1,memdev=mem1 \
    -kernel "$base/vmlinuz" -initrd "$base/initrd.img" -append "root=/dev/vda rw console=ttyS0 quiet" \
    -drive "file=$run/overlay.qcow2,if=virtio,format=qcow2" \
    -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 \
    -display none -serial "file:$run/console.log" -daemonize -pidfile "$run/qemu.pid"
  for _ in $(seq 1 300); do
    if ssh -q -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
         -i "$cache/id_ed25519" -p "$port" root@127.0.0.1 true 2>/dev/null; then
      echo "vm: $name is up on 127.0.0.1:$port"
      return
    fi
    sleep 2
  done
  echo "vm: $name did not answer on 127.0.0.1:$port; its console:"
  tail -n 40 "$run/console.log" || true
  return 1
}

stop() {
  local run="$cache/run/$1"
  if [ -f "$run/qemu.pid" ]; then
    kill "$(cat "$run/qemu.pid")" 2>/dev/null || true
    sleep 1
  fi
  rm -rf "$run"
}

case "${1:-}" in
  build) build ;;
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  key) echo "$cache/id_ed25519" ;;
  *) echo "usage: $0 build | start NAME PORT | stop NAME | key" >&2; exit 2 ;;
esac
