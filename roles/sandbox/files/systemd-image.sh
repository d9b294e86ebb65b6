#!/usr/bin/env bash
# Make a systemd Debian image that can run its own Docker engine, without a registry:
# debootstrap a minimal Debian root, then `docker import` it with systemd as its command.
# Used by the sandbox role (frontier.llm.sandbox) and by the test platform
# (tests/platform/build-images.sh), so both boot the same image.
#
# The image is built once per recipe: it is kept as frontier-llm/systemd:<suite>-<recipe hash>
# and NAME is a tag of it. The recipe (packages, mirror and this script's build steps) is also
# kept in the image's environment as FRONTIER_TEST_RECIPE (`docker import` takes no LABEL or
# STOPSIGNAL, so the containers set their stop signal themselves).
#
# Usage: systemd-image.sh SUITE NAME [MIRROR]      e.g. systemd-image.sh trixie frontier-llm/systemd:debian13
# Prints "built", "tagged" or "up to date" on its last line (the sandbox role reads it).
set -euo pipefail
suite=${1:?usage: systemd-image.sh SUITE NAME [MIRROR]}
name=${2:?usage: systemd-image.sh SUITE NAME [MIRROR]}
mirror=${3:-http://deb.debian.org/debian}
case "$suite" in bookworm|trixie) ;; *) echo "systemd-image: unknown suite '$suite' (bookworm, trixie)" >&2; exit 2 ;; esac

# python3-apt lets ansible.builtin.apt work without installing it first; iproute2 gives
# Ansible its network facts; ca-certificates for HTTPS repositories the roles add.
packages="python3,python3-apt,systemd,systemd-sysv,dbus,procps,sudo,iproute2,ca-certificates"
recipe=$(printf '%s\n' "$packages" "$mirror" "$(sed -n '/^build()/,$p' "$0")" | sha256sum | cut -c1-16)
canonical="frontier-llm/systemd:$suite-$recipe"

root=""
build() {
  if docker image inspect "$canonical" >/dev/null 2>&1; then
    if [ "$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null)" = "$(docker image inspect -f '{{.Id}}' "$canonical")" ]; then
      echo "systemd-image: $name is up to date (recipe $recipe)"
      echo "up to date"
      return
    fi
    docker tag "$canonical" "$name"
    echo "systemd-image: $name tagged from $canonical (already built)"
    echo "tagged"
    return
  fi
  command -v debootstrap >/dev/null || { echo "systemd-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "systemd-image: debootstrap needs root" >&2; exit 1; }
  root=$(mktemp -d /var/tmp/frontier-rootfs.XXXXXX)
  trap '[ -z "$root" ] || rm -rf "$root" "$root.log"' EXIT
  echo "systemd-image: debootstrap Debian $suite into $root (about a minute)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 30 "$root.log" >&2; exit 1; }
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
    - "$canonical" >/dev/null
  docker tag "$canonical" "$name"
  echo "systemd-image: built $name from Debian $suite (recipe $recipe)"
  echo "built"
}

build
