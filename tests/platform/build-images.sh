#!/usr/bin/env bash
# Build the local systemd test images the Molecule scenarios boot, with the sandbox role's own
# recipe (roles/sandbox/files/systemd-image.sh): no container registry is reachable from our
# machines, so the images are debootstrapped here, once per recipe, and shared with the sandbox.
#
# Environment:
#   FRONTIER_TEST_IMAGE_DEBIAN12 / FRONTIER_TEST_IMAGE_DEBIAN13  image names
#       (default frontier-llm/systemd:debian12, frontier-llm/systemd:debian13). Set them to registry images
#       elsewhere and set FRONTIER_TEST_SKIP_BUILD=1 to use those as they are.
#   FRONTIER_TEST_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
#
# Usage: tests/platform/build-images.sh [debian12] [debian13]   (default: both)
set -euo pipefail
script="$(dirname "$0")/../../roles/sandbox/files/systemd-image.sh"
mirror="${FRONTIER_TEST_MIRROR:-http://deb.debian.org/debian}"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(debian12 debian13)
for target in "${targets[@]}"; do
  case "$target" in
    debian12) suite=bookworm name="${FRONTIER_TEST_IMAGE_DEBIAN12:-frontier-llm/systemd:debian12}" ;;
    debian13) suite=trixie name="${FRONTIER_TEST_IMAGE_DEBIAN13:-frontier-llm/systemd:debian13}" ;;
    *) echo "build-images: unknown platform '$target' (debian12, debian13)" >&2; exit 2 ;;
  esac
  if [ "${FRONTIER_TEST_SKIP_BUILD:-0}" = 1 ]; then
    echo "build-images: FRONTIER_TEST_SKIP_BUILD=1, using $name as it is"
    continue
  fi
  "$script" "$suite" "$name" "$mirror" | grep "^systemd-image:"
done
