#!/usr/bin/env bash
# Run every Molecule scenario in turn; fail on the first failure and print a summary.
# A scenario may hold a `requires` file: a shell condition it needs (for example a macOS
# host). When the condition is false the scenario is reported as NOT RUN with its reason,
# never as passed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
passed=() not_run=()
# The Docker-in-Docker platforms keep their nested engines' data in anonymous volumes, which the driver's
# destroy leaves behind (1-3 GB each, images loaded): removed after each scenario, or the later sandbox hosts
# fall below the preflight's free-disk minimum. Only unnamed volumes no container uses.
prune_volumes() {
  docker volume ls -q -f dangling=true | grep -E '^[0-9a-f]{64}$' | xargs -r docker volume rm >/dev/null || true
}
for dir in molecule/*/; do
  scenario=$(basename "$dir")
  if [ -f "$dir/requires" ]; then
    if ! reason=$(bash "$dir/requires" 2>&1); then
      echo "molecule: scenario $scenario NOT RUN: $reason"
      not_run+=("$scenario")
      continue
    fi
  fi
  start=$(date +%s)
  echo "molecule: scenario $scenario"
  molecule test -s "$scenario"
  status=$?
  prune_volumes
  if [ "$status" -ne 0 ]; then
    echo "molecule: scenario $scenario FAILED after $(( $(date +%s) - start ))s"
    echo "molecule: ${#passed[@]} passed, 1 failed, ${#not_run[@]} skipped"
    exit 1
  fi
  echo "molecule: scenario $scenario passed in $(( $(date +%s) - start ))s"
  passed+=("$scenario")
done
echo "molecule: passed: ${passed[*]:-none}; not run: ${not_run[*]:-none}"
# The closing line in the plain form CI reads; a scenario that could not run counts as skipped.
echo "molecule: ${#passed[@]} passed, 0 failed, ${#not_run[@]} skipped"
