#!/usr/bin/env bash
# make test: run the named make targets (the stages) in order, stop at the first failure, and
# print at the end - also when a stage fails or the run is interrupted - each stage's wall time
# and result and the total. A stage after a failed one is reported "not run".
# The last line is the plain count CI reads: "N passed, N failed, N skipped", counting stages
# (skipped: not run because an earlier stage failed).
#
# Usage: tests/run-stages.sh STAGE...   (each run as `make STAGE`; MAKE names the make to use)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: $0 STAGE..." >&2; exit 2; }
make=${MAKE:-make}
stages=("$@")
results=()   # one per stage run so far: "passed", "FAILED" or "interrupted"
seconds=()
begin=$(date +%s)
current=""   # the stage running, for the interrupt handler
current_start=0
child=0
reported=0

duration() {   # seconds -> "1h 02m 03s", "12m 03s" or "45s"
  local s=$1
  if [ "$s" -ge 3600 ]; then printf '%dh %02dm %02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif [ "$s" -ge 60 ]; then printf '%dm %02ds' $((s / 60)) $((s % 60))
  else printf '%ds' "$s"; fi
}

report() {
  local i passed=0 failed=0 not_run=0 result wall
  [ "$reported" = 0 ] || return 0
  reported=1
  echo
  echo "make test: stages ($(duration $(( $(date +%s) - begin ))) in all)"
  printf '  %-16s %-18s %10s\n' "STAGE" "RESULT" "WALL"
  for i in "${!stages[@]}"; do
    if [ "$i" -lt "${#results[@]}" ]; then
      result=${results[$i]} wall=$(duration "${seconds[$i]}")
      case "$result" in passed) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
    else
      result="not run" wall="-"
      not_run=$((not_run + 1))
    fi
    printf '  %-16s %-18s %10s\n' "${stages[$i]}" "$result" "$wall"
  done
  local total=0
  for i in "${seconds[@]}"; do total=$((total + i)); done
  printf '  %-16s %-18s %10s\n' "total" "" "$(duration "$total")"
  if [ "$not_run" -gt 0 ]; then
    echo "$passed passed, $failed failed, $not_run skipped"
  else
    echo "$passed passed, $failed failed"
  fi
}

# shellcheck disable=SC2317  # reached through the traps below
interrupted() {   # signal name
  trap - INT TERM
  if [ -n "$current" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    results+=("interrupted")
    seconds+=("$(( $(date +%s) - current_start ))")
  fi
  report
  echo "make test: interrupted (SIG$1)"
  exit 130
}
trap 'interrupted INT' INT
trap 'interrupted TERM' TERM

status=0
for stage in "${stages[@]}"; do
  echo
  echo "make test: stage $stage"
  current=$stage current_start=$(date +%s)
  # In the background and waited for: a signal reaches the handler above at once, not when make ends.
  "$make" --no-print-directory "$stage" &
  child=$!
  if wait "$child"; then
    rc=0
  else
    rc=$?
  fi
  seconds+=("$(( $(date +%s) - current_start ))")
  current=""
  if [ "$rc" -eq 0 ]; then
    results+=("passed")
  else
    results+=("FAILED")
    echo "make test: stage $stage FAILED; the stages after it are not run"
    status=1
    break
  fi
done
report
exit "$status"
