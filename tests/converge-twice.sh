#!/usr/bin/env bash
# Converge a playbook twice on this host and fail unless the second run reports changed=0
# and failed=0 for every host (the check GitHub's macOS workflow runs).
# Usage: tests/converge-twice.sh PLAYBOOK [ansible-playbook arguments...]
set -uo pipefail
playbook=$1
shift
for run in 1 2; do
  log=$(mktemp)
  ansible-playbook -i localhost, -c local "$playbook" "$@" | tee "$log"
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || { echo "converge-twice: run $run failed (exit $status)"; exit 1; }
done
recap=$(sed -n '/PLAY RECAP/,$p' "$log")
if echo "$recap" | grep -E 'changed=[1-9]|failed=[1-9]' >/dev/null; then
  echo "converge-twice: the second run was not idempotent:"
  echo "$recap"
  exit 1
fi
echo "converge-twice: second run changed=0 failed=0"
