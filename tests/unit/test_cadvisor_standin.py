"""The cAdvisor test double (tests/images/cadvisor-standin) reads real cgroup files the way cAdvisor does.

It is a test double, not cAdvisor: these tests check that its figures follow cAdvisor's definitions
(working set = usage less inactive file pages; no limit exports 0) on cgroup v1 and v2 trees.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

SPEC = importlib.util.spec_from_file_location(
    "cadvisor_standin", Path(__file__).resolve().parents[1] / "images/cadvisor-standin/exporter.py")
standin: Any = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(standin)
CID = "a" * 64


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_v2_figures(tmp_path: Path) -> None:
    group = tmp_path / ("system.slice/docker-%s.scope" % CID)
    write(group / "memory.current", "104857600\n")
    write(group / "memory.stat", "anon 50000000\nfile 54857600\ninactive_file 4857600\n")
    write(group / "memory.max", "209715200\n")
    write(group / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    write(group / "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\n")
    fig = standin.figures(str(tmp_path), "0::/system.slice/docker-%s.scope\n" % CID, CID)
    assert fig == {"id": "/system.slice/docker-%s.scope" % CID, "usage": 104857600, "inactive_file": 4857600,
                   "limit": 209715200, "oom_kills": 1, "cpu_seconds": 2.5}


def test_v2_no_limit_is_zero_as_in_cadvisor(tmp_path: Path) -> None:
    write(tmp_path / "docker" / CID / "memory.max", "max\n")
    assert standin.figures(str(tmp_path), "0::/docker/%s\n" % CID, CID)["limit"] == 0


def test_v1_figures_and_a_systemd_containers_init_scope(tmp_path: Path) -> None:
    memory = tmp_path / "memory/docker" / CID
    write(memory / "memory.usage_in_bytes", "73400320\n")
    write(memory / "memory.limit_in_bytes", "9223372036854771712\n")
    write(memory / "memory.stat", "cache 1000\ntotal_inactive_file 3400320\n")
    write(memory / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    write(tmp_path / "cpu,cpuacct/docker" / CID / "cpuacct.usage", "1500000000\n")
    proc = "4:memory:/docker/%s/init.scope\n2:cpu,cpuacct:/docker/%s/init.scope\n" % (CID, CID)
    fig = standin.figures(str(tmp_path), proc, CID)
    # The container's cgroup, not the init.scope its PID 1 moved into; "no limit" exports 0.
    assert fig == {"id": "/docker/" + CID, "usage": 73400320, "inactive_file": 3400320, "limit": 0, "oom_kills": 2,
                   "cpu_seconds": 1.5}


def test_exposition_uses_cadvisors_names_and_labels() -> None:
    container = {"Name": "/frontier-llm-llamacpp-1", "Config": {"Image": "llama:1", "Labels": {
        "com.docker.compose.service": "llamacpp"}}}
    text = standin.collect([(standin.labels(container, "/docker/x"), {
        "usage": 100, "inactive_file": 30, "limit": 1000, "oom_kills": 0, "cpu_seconds": 1.0, "start": 1700000000.0})])
    line = ('container_memory_working_set_bytes{id="/docker/x",image="llama:1",name="frontier-llm-llamacpp-1",'
            'container_label_com_docker_compose_service="llamacpp"} 70.0')
    assert line in text.splitlines()
    assert "# TYPE container_oom_events_total counter" in text
    assert "test double" in text.splitlines()[0]


@pytest.mark.parametrize("stamp, seconds", [("2026-11-29T00:10:00.123456789Z", 1795911000.123456),
                                            ("2026-11-29T00:10:00Z", 1795911000.0)])
def test_docker_start_times(stamp: str, seconds: float) -> None:
    assert standin.started(stamp) == pytest.approx(seconds)
