#!/usr/bin/env bash
# make test: run the named make targets (the stages) in order, stop at the first failure, and
# print at the end - also when a stage fails or the run is interrupted - each stage's wall time,
# the machine's CPU use while it ran, its result, and the elapsed total. A stage after a failed
# one is reported "not run".
#
# A stage written bg:NAME runs `make NAME` in the background at the lowest CPU priority (nice 19),
# beside the stages after it, with its output in .cache/stages/NAME.log (its tail is shown when it
# fails). It takes the CPU the foreground stages leave idle - Molecule's hosts wait on services,
# boots and healthchecks much of the time - and is waited for after the last foreground stage.
# A stage written par:NAME runs the same way at the normal priority: for a long stage bound by its
# own clock (a VM under software emulation) that would otherwise hold up every stage after it.
# Only stages that share nothing with the others (no Docker container, no Molecule scenario, no
# file they write, no make prerequisite another stage may be building) may run so.
#
# The last line is the plain count CI reads: "N passed, N failed, N skipped", counting stages
# (skipped: not run because an earlier stage failed).
#
# Usage: tests/run-stages.sh STAGE|bg:STAGE|par:STAGE...   (each run as `make STAGE`; MAKE names the make to use)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: $0 STAGE|bg:STAGE|par:STAGE..." >&2; exit 2; }
make=${MAKE:-make}
logs=.cache/stages
mkdir -p "$logs"
stages=("$@")
declare -A result=() wall=() cpu=() bg_pid=() bg_start=() bg_cpu=()
begin=$(date +%s)
current=""   # the foreground stage running, for the interrupt handler
current_start=0
child=0
reported=0

duration() {   # seconds -> "1h 02m 03s", "12m 03s" or "45s"
  local s=$1
  if [ "$s" -ge 3600 ]; then printf '%dh %02dm %02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif [ "$s" -ge 60 ]; then printf '%dm %02ds' $((s / 60)) $((s % 60))
  else printf '%ds' "$s"; fi
}

cpu_ticks() {   # "busy total" from the machine's /proc/stat (all CPUs; idle and iowait are not busy)
  local _cpu user nice system idle iowait irq softirq steal
  read -r _cpu user nice system idle iowait irq softirq steal _ </proc/stat
  echo "$((user + nice + system + irq + softirq + steal)) $((user + nice + system + idle + iowait + irq + softirq + steal))"
}

cpu_since() {   # "busy total" at the start -> the machine's CPU use since then, in percent
  local busy0 total0 busy1 total1
  read -r busy0 total0 <<<"$1"
  read -r busy1 total1 <<<"$(cpu_ticks)"
  if [ "$total1" -gt "$total0" ]; then echo "$(( 100 * (busy1 - busy0) / (total1 - total0) ))%"; else echo "-"; fi
}

report() {
  local name stage passed=0 failed=0 not_run=0 shown
  [ "$reported" = 0 ] || return 0
  reported=1
  echo
  echo "make test: stages ($(duration $(( $(date +%s) - begin ))) elapsed)"
  printf '  %-30s %-22s %10s %5s\n' "STAGE" "RESULT" "WALL" "CPU"
  for stage in "${stages[@]}"; do
    name=${stage#*:}
    shown=${result[$name]:-not run}
    case "$shown" in
      passed) passed=$((passed + 1)) ;;
      "not run") not_run=$((not_run + 1)) ;;
      *) failed=$((failed + 1)) ;;
    esac
    [ "$name" = "$stage" ] || shown="$shown (${stage%%:*})"
    printf '  %-30s %-22s %10s %5s\n' "$name" "$shown" "${wall[$name]:--}" "${cpu[$name]:--}"
  done
  echo "  (bg: in the background at nice 19, par: in the background at normal priority, each beside the stages after it;"
  echo "   CPU: the machine's use while the stage ran)"
  if [ "$not_run" -gt 0 ]; then
    echo "$passed passed, $failed failed, $not_run skipped"
  else
    echo "$passed passed, $failed failed"
  fi
}

stop_background() {   # end the background stages still running, each reported "interrupted"; record the ended ones
  local name
  for name in "${!bg_pid[@]}"; do
    [ -z "${result[$name]:-}" ] || continue
    if ! kill -0 "${bg_pid[$name]}" 2>/dev/null; then
      join_one "$name" || true
    else
      kill -TERM -- "-${bg_pid[$name]}" 2>/dev/null || kill -TERM "${bg_pid[$name]}" 2>/dev/null || true
      wait "${bg_pid[$name]}" 2>/dev/null || true
      result[$name]="interrupted"
      wall[$name]=$(duration $(( $(date +%s) - ${bg_start[$name]} )))
    fi
  done
}

join_one() {   # wait for the background stage NAME and record its result; 1 when it failed
  local name=$1 rc
  if wait "${bg_pid[$name]}"; then rc=0; else rc=$?; fi
  wall[$name]=$(duration $(( $(cat "$logs/$name.end" 2>/dev/null || date +%s) - ${bg_start[$name]} )))
  cpu[$name]=$(cpu_since "${bg_cpu[$name]}")
  if [ "$rc" -eq 0 ]; then
    result[$name]="passed"
    echo "make test: background stage $name passed; its output: $logs/$name.log"
    # A fault figure a background stage printed (the linux_vm scenario's reboot row) is shown here, not only in its log.
    grep -o 'faults: [^"]*' "$logs/$name.log" | sed 's/^/  /' || true
    return 0
  fi
  result[$name]="FAILED"
  echo "make test: background stage $name FAILED; the end of $logs/$name.log:"
  tail -n 60 "$logs/$name.log" || true
  return 1
}

join_background() {   # wait for every background stage; 1 when one failed
  local name failed=0
  for name in "${!bg_pid[@]}"; do
    [ -z "${result[$name]:-}" ] || continue
    echo "make test: waiting for the background stage $name"
    join_one "$name" || failed=1
  done
  return "$failed"
}

background_failed() {   # 0 when a background stage has ended and failed (every ended one is recorded)
  local name failed=1
  for name in "${!bg_pid[@]}"; do
    if [ -z "${result[$name]:-}" ] && ! kill -0 "${bg_pid[$name]}" 2>/dev/null; then
      join_one "$name" || failed=0
    fi
  done
  return "$failed"
}

# shellcheck disable=SC2317  # reached through the traps below
interrupted() {   # signal name
  trap - INT TERM
  if [ -n "$current" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    result[$current]="interrupted"
    wall[$current]=$(duration $(( $(date +%s) - current_start )))
  fi
  stop_background
  report
  echo "make test: interrupted (SIG$1)"
  exit 130
}
trap 'interrupted INT' INT
trap 'interrupted TERM' TERM

status=0
for stage in "${stages[@]}"; do
  name=${stage#*:}
  if [ "$name" != "$stage" ]; then
    case "${stage%%:*}" in
      bg) niceness=19 ;;
      par) niceness=0 ;;
      *) echo "make test: unknown stage prefix in '$stage' (bg:, par:)" >&2; exit 2 ;;
    esac
    echo
    echo "make test: stage $name, in the background (nice $niceness; output in $logs/$name.log)"
    bg_start[$name]=$(date +%s)
    bg_cpu[$name]=$(cpu_ticks)
    # A process group of its own (set -m), so that stopping it stops everything it started.
    set -m
    # Its end time goes to NAME.end: it is joined only when a foreground stage ends, and its wall time is its own.
    rm -f "$logs/$name.end"
    # shellcheck disable=SC2016  # the $ are the inner shell's
    nice -n "$niceness" bash -c '"$0" --no-print-directory "$1" >"$2.log" 2>&1; rc=$?; date +%s >"$2.end"; exit "$rc"' \
      "$make" "$name" "$logs/$name" &
    bg_pid[$name]=$!
    set +m
    continue
  fi
  echo
  echo "make test: stage $name"
  current=$name current_start=$(date +%s)
  ticks=$(cpu_ticks)
  # In the background and waited for: a signal reaches the handler above at once, not when make ends.
  "$make" --no-print-directory "$name" &
  child=$!
  if wait "$child"; then
    rc=0
  else
    rc=$?
  fi
  wall[$name]=$(duration $(( $(date +%s) - current_start )))
  cpu[$name]=$(cpu_since "$ticks")
  current=""
  if [ "$rc" -eq 0 ]; then
    result[$name]="passed"
    if background_failed; then
      echo "make test: a background stage FAILED; the stages after $name are not run"
      stop_background
      status=1
      break
    fi
  else
    result[$name]="FAILED"
    echo "make test: stage $name FAILED; the stages after it are not run"
    stop_background
    status=1
    break
  fi
done
if [ "$status" = 0 ]; then
  join_background || status=1
fi
report
exit "$status"
