#!/usr/bin/env bash
# What this machine needs, installed and started - the one list of system packages of `make venv`, `make site` on the
# sandbox (the default inventory) and `.ci/run` (`make test`). As root on Debian or Ubuntu (apt-get) it installs what
# is missing and starts the Docker engine when none answers: systemd's unit, or dockerd in the background where
# systemd does not run (a CI container). Anywhere else, or as another user, it installs nothing and stops with one
# line naming what to install. It prints nothing when there is nothing to do.
#
# Usage: scripts/host-setup.sh [--check] SET...
#   venv     Python's venv module with ensurepip (python3-venv), for the toolchain's .venv ($PYTHON, else python3)
#   sandbox  a Docker engine that answers (docker.io) and debootstrap, which make the sandbox host and its image
#   test     venv and sandbox, and make, git, shellcheck, QEMU (qemu-system-x86, qemu-utils), ssh and curl
#   --check  install and start nothing (make site CHECK=1): what is missing stops it with the one line
# HOST_SETUP_FOR names the command in that line (default: host-setup); HOST_SETUP_DOCKERD_LOG is dockerd's log
# where it is started without systemd (default: /var/log/dockerd-frontier.log).
set -euo pipefail
check=false
if [ "${1:-}" = --check ]; then check=true; shift; fi
[ $# -gt 0 ] || { echo "usage: scripts/host-setup.sh [--check] venv|sandbox|test..." >&2; exit 2; }
who=${HOST_SETUP_FOR:-host-setup}
python=${PYTHON:-python3}

need=()
add() {  # add PACKAGE, once
  case " ${need[*]-} " in *" $1 "*) ;; *) need+=("$1") ;; esac
}
wants() {  # wants COMMAND PACKAGE: the Debian package that gives the command, when the command is missing
  command -v "$1" >/dev/null 2>&1 || add "$2"
}
docker_engine=false
for set in "$@"; do
  case "$set" in
    venv) "$python" -c 'import ensurepip, venv' 2>/dev/null || add python3-venv ;;
    sandbox)
      docker_engine=true
      # An engine that answers needs no package (it may run elsewhere, through DOCKER_HOST).
      docker info >/dev/null 2>&1 || wants dockerd docker.io
      wants debootstrap debootstrap ;;
    test)
      docker_engine=true
      wants dockerd docker.io
      wants debootstrap debootstrap
      wants make make
      wants git git
      wants shellcheck shellcheck
      wants qemu-system-x86_64 qemu-system-x86
      wants qemu-img qemu-utils
      wants ssh openssh-client
      wants curl curl
      "$python" -c 'import ensurepip, venv' 2>/dev/null || add python3-venv ;;
    *) echo "host-setup: unknown set '$set' (venv, sandbox, test)" >&2; exit 2 ;;
  esac
done

root=false
[ "$(id -u)" = 0 ] && root=true
apt=false
command -v apt-get >/dev/null 2>&1 && apt=true
if [ ${#need[@]} -gt 0 ]; then
  if $check; then
    echo "$who: missing ${need[*]}; a dry run installs nothing: apt-get install ${need[*]} (as root)"
    exit 1
  elif ! $apt; then
    echo "$who: missing ${need[*]} (Debian's package names); with no apt-get here, install their equivalents"
    exit 1
  elif ! $root; then
    echo "$who: missing ${need[*]}: run as root to have them installed, or apt-get install ${need[*]} (as root)"
    exit 1
  fi
  echo "$who: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if $docker_engine && ! docker info >/dev/null 2>&1; then
  if $check || ! $root; then
    echo "$who: the Docker engine does not answer (docker info): start it as root (systemctl start docker), or let" \
      "$(id -un) use it (the group docker)"
    exit 1
  fi
  echo "$who: starting the Docker engine"
  log=${HOST_SETUP_DOCKERD_LOG:-/var/log/dockerd-frontier.log}
  if [ -d /run/systemd/system ]; then
    systemctl start docker
  else
    mkdir -p "$(dirname "$log")"
    nohup dockerd >"$log" 2>&1 &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "$who: the Docker engine did not start"; tail -n 50 "$log" 2>/dev/null || true; exit 1; }
fi
