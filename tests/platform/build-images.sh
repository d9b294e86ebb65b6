#!/usr/bin/env bash
# Build the local systemd test images the Molecule scenarios boot.
#
# No container registry is reachable from our machines, so the images are made here:
# debootstrap a minimal Debian root, then `docker import` it with systemd as its command.
# An image is rebuilt only when it is absent or was made from another recipe (the recipe's
# hash is kept in the image's environment as FRONTIER_TEST_RECIPE: `docker import` takes
# no LABEL or STOPSIGNAL, so Molecule platforms set stop_signal themselves).
#
# Environment:
#   FRONTIER_TEST_IMAGE_DEBIAN12 / FRONTIER_TEST_IMAGE_DEBIAN13  image names
#       (default frontier-test/debian12, frontier-test/debian13). Set them to registry images
#       elsewhere and set FRONTIER_TEST_SKIP_BUILD=1 to use those as they are.
#   FRONTIER_TEST_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
#
# Usage: tests/platform/build-images.sh [debian12] [debian13]   (default: both)
set -euo pipefail

mirror="${FRONTIER_TEST_MIRROR:-http://deb.debian.org/debian}"
# python3-apt lets ansible.builtin.apt work without installing it first; iproute2 gives
# Ansible its network facts; ca-certificates for HTTPS repositories the roles add.
packages="python3,python3-apt,systemd,systemd-sysv,dbus,procps,sudo,iproute2,ca-certificates"
recipe=$(printf '%s\n' "$packages" "$mirror" "$(sed -n '/^build_one()/,$p' "$0")" | sha256sum | cut -c1-16)

build_one() {
  local suite=$1 name=$2 root
  if [ "${FRONTIER_TEST_SKIP_BUILD:-0}" = 1 ]; then
    echo "build-images: FRONTIER_TEST_SKIP_BUILD=1, using $name as it is"
    return
  fi
  if docker image inspect -f '{{ join .Config.Env " " }}' "$name" 2>/dev/null | grep -qw "FRONTIER_TEST_RECIPE=$recipe"; then
    echo "build-images: $name is up to date (recipe $recipe)"
    return
  fi
  root=$(mktemp -d /var/tmp/frontier-rootfs.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  echo "build-images: debootstrap $suite into $root"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 30 "$root.log"; rm -f "$root.log"; return 1; }
  rm -f "$root.log"
  # A container gets its hostname and resolver from the engine; systemd must not try to
  # bring up what a container does not have.
  rm -f "$root/etc/hostname" "$root/etc/machine-id" && touch "$root/etc/machine-id"
  for unit in systemd-remount-fs.service getty.target console-getty.service \
              systemd-udevd.service systemd-udev-trigger.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/cache/apt/"*.bin "$root/var/lib/apt/lists/"*
  # An emptied package list must look old, as on a host that has not run apt for a while:
  # the apt module's cache_valid_time goes by these modification times.
  touch -d 2000-01-01 "$root/var/lib/apt/lists" "$root/var/cache/apt"
  tar -C "$root" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    --change "ENV FRONTIER_TEST_RECIPE=$recipe" \
    - "$name" >/dev/null
  echo "build-images: built $name from Debian $suite (recipe $recipe)"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(debian12 debian13)
for target in "${targets[@]}"; do
  case "$target" in
    debian12) build_one bookworm "${FRONTIER_TEST_IMAGE_DEBIAN12:-frontier-test/debian12}" ;;
    debian13) build_one trixie "${FRONTIER_TEST_IMAGE_DEBIAN13:-frontier-test/debian13}" ;;
    *) echo "build-images: unknown platform '$target' (debian12, debian13)" >&2; exit 2 ;;
  esac
done
