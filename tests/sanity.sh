#!/usr/bin/env bash
# ansible-test sanity on the collection. ansible-test needs the collection at
# .../ansible_collections/frontier/llm, so the files git knows of (tracked, and untracked
# ones not ignored) are copied into a temporary tree of that shape.
# Sanity tests with their own requirements (pylint, mypy, validate-modules, ...) run in
# virtual environments ansible-test makes for them (--requirements fetches from PyPI).
set -euo pipefail
# ansible-test skips its shellcheck test with a mere warning when the program is missing;
# a skipped check must not pass for a run one.
command -v shellcheck >/dev/null || { echo "sanity: shellcheck is missing (apt-get install shellcheck)"; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/frontier-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/frontier/llm"
mkdir -p "$dest"
(cd "$top" && git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' \
  | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -c) | tar -x -C "$dest"
cd "$dest"

# ansible-test bootstraps pip in each of its virtual environments with a get-pip script it
# downloads from a host our machines cannot reach; its error message says to place the
# script in its cache by hand. We place a stand-in there that does the same job from the
# Python's own ensurepip, then installs the pinned pip the usual way.
pip_version=$(python - <<'PY'
import pathlib, re, ansible_test
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
found = re.search(r"pip='([0-9.]+)'", source.read_text())
print(found.group(1) if found else "")
PY
)
pip_version=${pip_version:-24.2}
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$get_pip" ] || ! grep -q frontier-llm-stand-in "$get_pip"; then
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip" <<'PY'
"""frontier-llm-stand-in for get-pip.py: ensurepip, then `pip install` with our arguments."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null in our environment; the machine's pip
# configuration (certificates, indexes) must apply to the real install below.
os.environ.pop("PIP_CONFIG_FILE", None)
os.environ.pop("ENSUREPIP_OPTIONS", None)
# --no-setuptools / --no-wheel are get-pip's own options, not pip's.
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
PY
fi
# The local Python only: ansible-test would otherwise test every Python the release supports.
python_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --color no --python "$python_version" --requirements "$@"
