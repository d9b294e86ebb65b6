"""The docker_engine role's decisions for hosts we cannot converge here.

Docker's and NVIDIA's apt repositories are not reachable from our machines, and there is no
GPU, so the docker_ce and NVIDIA paths are tested by rendering the role's own expressions
(roles/docker_engine/vars/main.yml) with ansible-playbook for given facts. What was not run:
installing from those repositories, and the nvidia runtime starting a GPU container.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from conftest import flat

ROOT = Path(__file__).resolve().parents[2]


def render(facts: Dict[str, Any], **role_vars: Any) -> Dict[str, Any]:
    extra = {"ansible_facts": facts, **role_vars}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           str(ROOT / "tests/unit/playbooks/docker_engine_vars.yml"), "-e", json.dumps(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]


def facts(distribution: str, major: str, release: str, arch: str = "x86_64", gpus: Any = ()) -> Dict[str, Any]:
    return {"distribution": distribution, "distribution_major_version": major, "distribution_release": release,
            "architecture": arch, "os_family": "Debian", "frontier_llm": {"gpus": list(gpus)}}


@pytest.mark.parametrize("host, source, packages", [
    (facts("Debian", "13", "trixie"), "distro", ["docker.io", "docker-compose"]),
    (facts("Ubuntu", "24", "noble"), "distro", ["docker.io", "docker-compose-v2"]),
    (facts("Debian", "12", "bookworm"), "docker_ce", ["docker-ce", "docker-ce-cli", "containerd.io",
                                                      "docker-buildx-plugin", "docker-compose-plugin"]),
    (facts("Ubuntu", "22", "jammy"), "docker_ce", ["docker-ce", "docker-ce-cli", "containerd.io",
                                                   "docker-buildx-plugin", "docker-compose-plugin"]),
])
def test_package_choice(host: Dict[str, Any], source: str, packages: list) -> None:
    rendered = render(host)
    assert rendered["source"] == source
    assert rendered["packages"] == packages


def test_docker_repository_for_debian_12() -> None:
    assert render(facts("Debian", "12", "bookworm"))["ce_repo"] == {
        "name": "docker", "types": ["deb"], "uris": "https://download.docker.com/linux/debian",
        "suites": ["bookworm"], "components": ["stable"], "architectures": ["amd64"],
        "key_url": "https://download.docker.com/linux/debian/gpg", "signed_by": "/etc/apt/keyrings/docker.asc"}


def test_docker_repository_for_ubuntu_on_arm() -> None:
    repo = render(facts("Ubuntu", "22", "jammy", arch="aarch64"))["ce_repo"]
    assert repo["uris"] == "https://download.docker.com/linux/ubuntu"
    assert repo["suites"] == ["jammy"] and repo["architectures"] == ["arm64"]


def test_forcing_distro_on_debian_12_keeps_the_choice() -> None:
    # The role then stops in install_distro.yml with a message naming docker_engine_source.
    rendered = render(facts("Debian", "12", "bookworm"), docker_engine_source="distro")
    assert rendered["source"] == "distro" and rendered["packages"] == []


def test_nvidia_host_gets_the_toolkit_and_runtime() -> None:
    gpu = {"vendor": "nvidia", "index": 0, "name": "NVIDIA GeForce RTX 3090", "memory_mb": 24576}
    rendered = render(facts("Debian", "13", "trixie", gpus=[gpu]))
    assert rendered["nvidia"] is True
    assert rendered["nvidia_repo"]["uris"] == "https://nvidia.github.io/libnvidia-container/stable/deb/amd64"
    assert rendered["nvidia_repo"]["key_url"] == "https://nvidia.github.io/libnvidia-container/gpgkey"
    assert rendered["nvidia_repo"]["signed_by"] == "/etc/apt/keyrings/nvidia-container-toolkit.asc"
    assert rendered["daemon"]["runtimes"] == {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}
    assert "default-runtime" not in rendered["daemon"]
    rendered = render(facts("Debian", "13", "trixie", gpus=[gpu]), docker_engine_nvidia_default_runtime=True)
    assert rendered["daemon"]["default-runtime"] == "nvidia"


def test_no_gpu_no_nvidia_and_user_additions_merge() -> None:
    rendered = render(facts("Debian", "13", "trixie"),
                      docker_engine_daemon_extra={"log-opts": {"max-size": "50m"}, "debug": True})
    assert rendered["nvidia"] is False
    assert "runtimes" not in rendered["daemon"]
    assert rendered["daemon"]["log-opts"] == {"max-size": "50m", "max-file": "3"}
    assert rendered["daemon"]["debug"] is True
    assert rendered["daemon"]["metrics-addr"] == "127.0.0.1:9323"


def refuse(**role_vars: Any) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "--check",
                           "-e", "ansible_python_interpreter=" + sys.executable,
                           str(ROOT / "tests/unit/playbooks/docker_engine_role.yml"), "-e", json.dumps(role_vars)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_tcp_api_is_refused_before_any_change() -> None:
    proc = refuse(docker_engine_daemon_extra={"hosts": ["unix:///run/docker.sock", "tcp://0.0.0.0:2375"]})
    assert proc.returncode == 2
    assert "Check the daemon options before any change" in proc.stdout
    assert "must not expose the Docker API over TCP" in flat(proc.stdout)
    assert "changed=0" in proc.stdout


def test_unknown_source_is_refused_by_name() -> None:
    proc = refuse(docker_engine_source="snap")
    assert proc.returncode == 2
    assert "docker_engine_source" in proc.stdout and "snap" in proc.stdout
