#!/usr/bin/env bash
# The release check (make release-check; part of make test):
#   1. the ansible-core versions meta/runtime.yml claims: the oldest (2.17, on Python 3.11) and the
#      newest the machine's Pythons allow (2.21 needs Python >= 3.12) each run the unit tests that
#      run Ansible (pytest -m ansible: the marker tests/unit/conftest.py gives them; the others are
#      plain Python, the same under every ansible-core, and make unit runs them), ansible-test sanity
#      and Molecule's default scenario in a venv of their own (tests/release/requirements-core*.txt);
#      a version that cannot run is reported NOT RUN, and fails the check unless
#      RELEASE_CHECK_ALLOW_NOT_RUN=1 (the newest needs Python >= 3.12);
#   2. the execution environment's build context (ansible-builder create, meta/execution-environment.yml);
#   3. galaxy-importer on the built tarball (its ansible-test run off: it needs Galaxy's container image);
#   4. antsibull-docs lint-collection-docs --plugin-docs;
#   5. antsibull-changelog lint.
# Venvs are cached under .cache/release, keyed by a hash of their requirements and Python.
#
# Environment:
#   RELEASE_CHECK_STAGES   which stages run (default: "versions ee importer docs changelog")
#   RELEASE_CHECK_VERSIONS which versions stage 1 runs (default: "oldest newest")
#   RELEASE_CHECK_STEPS    what stage 1 runs per version (default: "unit sanity molecule")
#   RELEASE_CHECK_UNIT     which unit tests: "ansible" (default: those marked ansible) or "all"
#   RELEASE_CHECK_UNIT_WORKERS  pytest-xdist workers for them (default: auto, one per core)
#   RELEASE_CHECK_NEWEST_PYTHON  the Python >= 3.12 for the newest ansible-core (default: the newest found)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
cache=$top/.cache/release
mkdir -p "$cache"
stages=${RELEASE_CHECK_STAGES:-versions ee importer docs changelog}
versions=${RELEASE_CHECK_VERSIONS:-oldest newest}
steps=${RELEASE_CHECK_STEPS:-unit sanity molecule}
case "${RELEASE_CHECK_UNIT:-ansible}" in
  ansible) unit_select=(-m ansible) unit_what="unit tests (ansible)" ;;
  all) unit_select=() unit_what="unit tests (all)" ;;
  *) echo "release-check: RELEASE_CHECK_UNIT is ansible or all, not '$RELEASE_CHECK_UNIT'"; exit 2 ;;
esac
unit_workers=${RELEASE_CHECK_UNIT_WORKERS:-auto}
dev_python=$top/.venv/bin/python
[ -x "$dev_python" ] || { echo "release-check: $top/.venv is missing: run make venv"; exit 1; }

results=()   # "stage|what|result|seconds"
failed=0 passed=0 not_run=0
record() {   # stage what result seconds
  results+=("$1|$2|$3|$4")
  case "$3" in
    passed) passed=$((passed + 1)) ;;
    "NOT RUN"*) not_run=$((not_run + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
  printf 'release-check: %-28s %-22s %s (%ss wall/CPU)\n' "$1" "$2" "$3" "$4"
}

# A step: its output goes to .cache/release/logs/NAME.log, whose tail is shown when it fails.
step() {   # stage what command...
  local stage=$1 what=$2 log start rc cpu TIMEFORMAT='%R %U %S'
  shift 2
  log="$cache/logs/${stage// /_}-${what// /_}.log"
  mkdir -p "$cache/logs"
  echo "release-check: $stage: $what ..."
  start=$(date +%s)
  # A subshell with errexit of its own: a failing command inside a function step fails the step.
  # bash's `time` adds the CPU seconds of every process the step waited for: on a busy machine
  # they tell what the step costs better than the wall clock does.
  set +e
  { time { (set -e; "$@") >"$log" 2>&1; }; } 2>"$log.time"
  rc=$?
  set -e
  cpu=$(awk '{printf "%d", $2 + $3}' "$log.time" 2>/dev/null || echo "?")
  if [ "$rc" -eq 0 ]; then
    if [ "${show_log:-0}" = 1 ]; then sed 's/^/  | /' "$log"; fi
    record "$stage" "$what" passed "$(( $(date +%s) - start ))/$cpu"
  else
    echo "release-check: $stage: $what FAILED (exit $rc); the end of $log:"
    tail -n 40 "$log" | sed 's/^/  | /'
    record "$stage" "$what" "FAILED" "$(( $(date +%s) - start ))/$cpu"
  fi
}

# A cached venv of a requirements file on a Python; prints its directory.
venv_for() {   # name python requirements
  local name=$1 python=$2 requirements=$3 key dir
  key=$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
  dir="$cache/venv-$name-$key"
  # make test runs the release check's two parts at once (release-check-static, release-check-molecule-built): one
  # waits while the other makes the venv, rather than remove it half made. Called in $(...): the lock ends with it.
  mkdir -p "$cache"
  exec 9>"$cache/venv-$name.lock"
  flock 9
  if [ ! -f "$dir/.installed" ]; then
    rm -rf "$cache/venv-$name-"*
    "$python" -m venv "$dir" >&2 || return 1
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >"$cache/venv-$name.log" 2>&1 || {
      echo "release-check: pip install -r $requirements failed:" >&2
      grep -v '^WARNING: Location' "$cache/venv-$name.log" | tail -n 20 >&2
      rm -rf "$dir"
      return 1
    }
    touch "$dir/.installed"
  fi
  echo "$dir"
}

python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# The newest Python >= 3.12 on PATH or under pyenv.
newest_python() {
  local candidate best="" best_version=0 version
  for candidate in python3.14 python3.13 python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    candidate=$(command -v "$candidate" 2>/dev/null) || continue
    version=$("$candidate" -c 'import sys; print(sys.version_info[0] * 100 + sys.version_info[1])' 2>/dev/null) || continue
    "$candidate" -c 'import ensurepip, venv' 2>/dev/null || continue
    if [ "$version" -ge 312 ] && [ "$version" -gt "$best_version" ]; then best=$candidate best_version=$version; fi
  done
  echo "$best"
}

# Stage 1: one ansible-core version.
check_version() {   # label python requirements
  local label=$1 python=$2 requirements=$3 venv core s start
  start=$(date +%s)
  if ! venv=$(venv_for "core-$label" "$python" "$requirements"); then
    record "ansible-core $label" "install" "FAILED" $(( $(date +%s) - start ))
    return
  fi
  echo "release-check: venv of $requirements ready in $(( $(date +%s) - start ))s"
  core=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
  s="ansible-core $core (Python $(python_version "$python"))"
  echo "release-check: $s in $venv"
  # The venv's bin first: the tests, tests/sanity.sh and Molecule run ansible, ansible-test and python from PATH.
  for what in $steps; do
    case "$what" in
      unit) step "$s" "$unit_what" env PATH="$venv/bin:$PATH" \
              python -m pytest -q -p no:cacheprovider -n "$unit_workers" "${unit_select[@]}" tests/unit ;;
      sanity) step "$s" "ansible-test sanity" env PATH="$venv/bin:$PATH" tests/sanity.sh ;;
      # The base config named: molecule < 26.10 does not find it from a git worktree (.git is a file there).
      molecule) step "$s" "molecule default" env PATH="$venv/bin:$PATH" \
                  molecule --base-config "$top/.config/molecule/config.yml" test -s default ;;
      *) echo "release-check: unknown step '$what' (unit, sanity, molecule)"; exit 2 ;;
    esac
  done
}

stage_versions() {
  local oldest_python newest
  for version in $versions; do
    case "$version" in
      oldest)
        oldest_python=$(command -v python3.11 || command -v python3)
        case "$(python_version "$oldest_python")" in
          3.10|3.11|3.12) check_version oldest "$oldest_python" tests/release/requirements-core217.txt ;;
          *) record "ansible-core 2.17" "all" "NOT RUN: $oldest_python is Python $(python_version "$oldest_python"), 2.17 needs 3.10-3.12" 0 ;;
        esac ;;
      newest)
        newest=${RELEASE_CHECK_NEWEST_PYTHON:-$(newest_python)}
        if [ -z "$newest" ]; then
          echo "release-check: ansible-core 2.20+: not run (no Python >= 3.12 on this machine)"
          record "ansible-core 2.20+" "all" "NOT RUN: no Python >= 3.12 on this machine" 0
        else
          check_version newest "$newest" tests/release/requirements-core-newest.txt
        fi ;;
      *) echo "release-check: unknown version '$version' (oldest, newest)"; exit 2 ;;
    esac
  done
}

# The release tools' venv. galaxy-importer's ansible-lint and antsibull-docs resolve the
# collection's dependencies (community.docker, ...): Galaxy is not reachable, so they are the
# pinned community bundle's, linked in from the project's venv.
release_venv() {
  local venv bundle site
  venv=$(venv_for tools python3 tests/release/requirements-release.txt)
  bundle=$("$dev_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  [ -d "$bundle" ] || { echo "release-check: no collections in $bundle (requirements-dev.txt's ansible bundle)" >&2; return 1; }
  ln -sfn "$bundle" "$site/ansible_collections"
  echo "$venv"
}

tarball() {   # builds the collection as make build does; prints the tarball
  local version
  version=$("$dev_python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
  "$top/.venv/bin/ansible-galaxy" collection build --force --output-path .cache/dist . >/dev/null
  echo "$top/.cache/dist/frontier-llm-$version.tar.gz"
}

# Stage 2: the EE build context holds the collection's requirements.
ee_context() {   # tools-venv
  local venv=$1 context=$top/.cache/ee-context collections
  rm -rf "$context"
  "$venv/bin/ansible-builder" create --file meta/execution-environment.yml --context "$context" --output-filename Containerfile
  echo "ee: build context $context:"
  (cd "$context" && find . -type f | sort | sed 's/^/  /')
  cmp "$context/_build/requirements.txt" requirements.txt
  cmp "$context/_build/bindep.txt" bindep.txt
  grep -q 'name: frontier.llm' "$context/_build/requirements.yml"
  grep -q '^ARG EE_BASE_IMAGE=' "$context/Containerfile"
  grep -q 'COPY _build/requirements.txt' "$context/Containerfile"
  grep -q 'COPY _build/bindep.txt' "$context/Containerfile"
  # What the image build's introspection finds in the installed collection: its Python and
  # system requirements, read through its meta/execution-environment.yml.
  collections=$(mktemp -d)
  # --force: the checkout itself is frontier.llm on ansible.cfg's collections path.
  ANSIBLE_COLLECTIONS_PATH=$collections "$venv/bin/ansible-galaxy" collection install --force --no-deps -p "$collections" "$(tarball)" >/dev/null
  "$venv/bin/python" "$context/_build/scripts/introspect.py" introspect "$collections" | tee "$collections/introspect.txt"
  grep -q 'frontier.llm' "$collections/introspect.txt"
  grep -q 'docker>=' "$collections/introspect.txt"
  grep -q 'openssh-clients' "$collections/introspect.txt"
  rm -rf "$collections"
}

# Stage 3: galaxy-importer, with its report in .cache/galaxy-importer.log; any WARNING or ERROR fails.
galaxy_import() {   # tools-venv
  local venv=$1 work=$top/.cache/galaxy-importer file report=$top/.cache/galaxy-importer.log
  file=$(tarball)
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && GALAXY_IMPORTER_CONFIG=$top/tests/release/galaxy-importer.cfg PATH="$venv/bin:$PATH" \
     "$venv/bin/python" -m galaxy_importer.main "$file") >"$report" 2>&1
  echo "galaxy-importer: $(head -n 1 "$report"); report in $report"
  grep -E '^(Loading|Linting)' "$report" | awk '{print $2}' | sort | uniq -c | sed 's/^/  /'
  if grep -E '^(WARNING|ERROR)' "$report"; then
    echo "galaxy-importer: the warnings and errors above"
    return 1
  fi
  grep -q 'Importer processing completed successfully' "$report"
  echo "galaxy-importer: no warning, no error"
}

stage_tools() {
  local venv start
  start=$(date +%s)
  if ! venv=$(release_venv); then
    record "release tools" "install" "FAILED" $(( $(date +%s) - start ))
    return
  fi
  echo "release-check: venv of tests/release/requirements-release.txt ready in $(( $(date +%s) - start ))s"
  for stage in $stages; do
    case "$stage" in
      versions) ;;
      ee) show_log=1 step "execution environment" "ansible-builder create" ee_context "$venv" ;;
      importer) show_log=1 step "galaxy-importer" "import of the tarball" galaxy_import "$venv" ;;
      docs) step "antsibull-docs" "lint-collection-docs" env PATH="$venv/bin:$PATH" \
              antsibull-docs lint-collection-docs --plugin-docs . ;;
      changelog) step "antsibull-changelog" "lint" env PATH="$venv/bin:$PATH" antsibull-changelog lint ;;
      *) echo "release-check: unknown stage '$stage' (versions ee importer docs changelog)"; exit 2 ;;
    esac
  done
}

begin=$(date +%s)
case " $stages " in *" versions "*) stage_versions ;; esac
case " $stages " in *" ee "*|*" importer "*|*" docs "*|*" changelog "*) stage_tools ;; esac

echo
echo "release-check: results ($(( $(date +%s) - begin ))s in all)"
printf '  %-40s %-24s %-12s %s\n' "STAGE" "CHECK" "WALL/CPU s" "RESULT"
for row in "${results[@]}"; do
  IFS='|' read -r stage what result seconds <<<"$row"
  printf '  %-40s %-24s %-12s %s\n' "$stage" "$what" "$seconds" "$result"
done
echo "release-check: $passed passed, $failed failed, $not_run skipped"
if [ "$failed" -gt 0 ]; then exit 1; fi
if [ "$not_run" -gt 0 ] && [ "${RELEASE_CHECK_ALLOW_NOT_RUN:-0}" != 1 ]; then
  echo "release-check: a check did not run (above); RELEASE_CHECK_ALLOW_NOT_RUN=1 accepts that"
  exit 1
fi
