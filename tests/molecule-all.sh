#!/usr/bin/env bash
# Run every Molecule scenario in turn; fail on the first failure and print a summary: a table of each
# scenario's result and wall seconds (also after a failure), then the count.
# A scenario may hold a `requires` file: a shell condition it needs (for example a macOS
# host). When the condition is false the scenario is reported as NOT RUN with its reason,
# never as passed.
# MOLECULE_ELSEWHERE names scenarios another stage of make test runs (for example "linux_vm:molecule-vm", which
# runs beside the others): each is reported "run by STAGE", and is not run here.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
passed=() not_run=() elsewhere=()
declare -A elsewhere_stage=()
for pair in ${MOLECULE_ELSEWHERE:-}; do
  [ -d "molecule/${pair%%:*}" ] || { echo "molecule: MOLECULE_ELSEWHERE names no scenario '${pair%%:*}'"; exit 2; }
  elsewhere_stage[${pair%%:*}]=${pair#*:}
done
# The Docker-in-Docker platforms keep their nested engines' data in anonymous volumes, which the driver's
# destroy leaves behind (1-3 GB each, images loaded): removed after each scenario, or the later sandbox hosts
# fall below the preflight's free-disk minimum. Only unnamed volumes no container uses.
prune_volumes() {
  docker volume ls -q -f dangling=true | grep -E '^[0-9a-f]{64}$' | xargs -r docker volume rm >/dev/null || true
}
rows=()   # "scenario|result|seconds", printed as a table at the end
table() {
  local row scenario result seconds total=0
  echo "molecule: scenarios"
  printf '  %-16s %-22s %8s\n' "SCENARIO" "RESULT" "WALL s"
  for row in "${rows[@]}"; do
    IFS='|' read -r scenario result seconds <<<"$row"
    printf '  %-16s %-22s %8s\n' "$scenario" "$result" "$seconds"
    [ "$seconds" = - ] || total=$((total + seconds))
  done
  printf '  %-16s %-22s %8s\n' "total" "" "$total"
}
for dir in molecule/*/; do
  scenario=$(basename "$dir")
  if [ -n "${elsewhere_stage[$scenario]:-}" ]; then
    echo "molecule: scenario $scenario is run by the stage ${elsewhere_stage[$scenario]}, not here"
    elsewhere+=("$scenario")
    rows+=("$scenario|run by ${elsewhere_stage[$scenario]}|-")
    continue
  fi
  if [ -f "$dir/requires" ]; then
    if ! reason=$(bash "$dir/requires" 2>&1); then
      echo "molecule: scenario $scenario NOT RUN: $reason"
      not_run+=("$scenario")
      rows+=("$scenario|not run|-")
      continue
    fi
  fi
  start=$(date +%s)
  echo "molecule: scenario $scenario"
  molecule test -s "$scenario"
  status=$?
  prune_volumes
  if [ "$status" -ne 0 ]; then
    rows+=("$scenario|FAILED|$(( $(date +%s) - start ))")
    echo "molecule: scenario $scenario FAILED after $(( $(date +%s) - start ))s"
    after=0
    for later in molecule/*/; do
      if [ "$after" = 1 ]; then rows+=("$(basename "$later")|not run|-"); fi
      if [ "$later" = "$dir" ]; then after=1; fi
    done
    table
    echo "molecule: ${#passed[@]} passed, 1 failed, ${#not_run[@]} skipped"
    exit 1
  fi
  rows+=("$scenario|passed|$(( $(date +%s) - start ))")
  echo "molecule: scenario $scenario passed in $(( $(date +%s) - start ))s"
  passed+=("$scenario")
done
echo "molecule: passed: ${passed[*]:-none}; not run: ${not_run[*]:-none}; run by another stage: ${elsewhere[*]:-none}"
table
# The closing line in the plain form CI reads; a scenario that could not run counts as skipped.
echo "molecule: ${#passed[@]} passed, 0 failed, ${#not_run[@]} skipped"
