"""Verify the Docker engine role on a Debian 13 host running its own engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / ".collections"))
from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan  # noqa: E402
from ansible_collections.frontier.llm.plugins.module_utils.units import MIB  # noqa: E402

testinfra_hosts = ["ansible://all"]

# What daemon.json must hold with the role's defaults (roles/docker_engine/meta/argument_specs.yml).
EXPECTED_DAEMON = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "live-restore": True,
    "default-address-pools": [{"base": "172.30.0.0/16", "size": 24}],
    "metrics-addr": "127.0.0.1:9323",
}


def test_engine_active_and_enabled(host) -> None:
    service = host.service("docker")
    assert service.is_running
    assert service.is_enabled


def test_daemon_json_as_rendered(host) -> None:
    daemon = host.file("/etc/docker/daemon.json")
    assert daemon.mode == 0o644 and daemon.user == "root"
    assert json.loads(daemon.content_string) == EXPECTED_DAEMON


def test_engine_runs_with_that_config(host) -> None:
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"


def test_api_only_on_the_unix_socket_and_metrics_on_loopback(host) -> None:
    listening = host.check_output("ss -Hltn")
    assert "127.0.0.1:9323" in listening
    assert ":2375" not in listening and ":2376" not in listening
    assert host.socket("unix:///run/docker.sock").is_listening


def test_compose_v2_at_least_2_18(host) -> None:
    version = host.check_output("docker compose version --short").strip().lstrip("v")
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) >= (2, 18), version


def test_memory_limit_reaches_the_cgroup(host) -> None:
    # No registry is reachable: make a tiny image from the host's own sleep, cat and sh.
    host.check_output(
        "tar -C / -ch usr/bin/sleep usr/bin/cat usr/bin/dash usr/lib/x86_64-linux-gnu/libc.so.6 "
        "lib64/ld-linux-x86-64.so.2 | docker import -c 'CMD [\"/usr/bin/sleep\", \"300\"]' - frontier-test/tiny")
    host.run("docker rm -f frontier-limit")
    # --network none: the test host's /proc/sys is read-only, so the nested engine cannot set up a
    # bridge interface without DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE; the cgroup limit needs no network.
    # The limit a plan gives Nginx on this host, so the figure comes from the collection, not from the test.
    memtotal_mb = int(host.check_output("awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo"))
    vcpus = int(host.check_output("nproc"))
    plan = resource_plan({"memtotal_mb": memtotal_mb, "processor_vcpus": vcpus, "system": "Linux"},
                         models=["mistral:7b-instruct-q4_K_M"])
    wanted = plan["components"]["nginx"]["mem_limit_mb"] * MIB
    host.check_output("docker run -d --name frontier-limit --network none --memory %db frontier-test/tiny" % wanted)
    try:
        assert host.check_output("docker inspect -f '{{.HostConfig.Memory}}' frontier-limit") == str(wanted)
        limit = host.check_output(
            "docker exec frontier-limit /usr/bin/dash -c "
            "'/usr/bin/cat /sys/fs/cgroup/memory.max 2>/dev/null || /usr/bin/cat /sys/fs/cgroup/memory/memory.limit_in_bytes'")
        assert int(limit) == wanted
    finally:
        host.run("docker rm -f frontier-limit")
