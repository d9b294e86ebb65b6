"""The planner's playbooks end to end with ansible-playbook: offline plans, and refusals.

The site.yml cases stop in its first, read-only play (a refusal or a validation error), so
they change nothing on this machine; each asserts the failure came from that play. Our test
machines run no systemd (PID 1 is not an init system), which the preflight refuses: these
cases set preflight_require_systemd false to reach the planner, and one case checks that
refusal itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from conftest import flat

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The site.yml cases run against this machine (inventories/local), not the default sandbox.
LOCAL = str(ROOT / "inventories/local")


def playbook(args: List[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ansible-playbook from the checkout, the way `make site` / `make plan` do."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PWD=str(tmp_path), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_offline_plan_of_the_example_inventory(tmp_path: Path) -> None:
    proc = playbook([str(ROOT / "playbooks/plan.yml"), "-i", str(ROOT / "inventories/examples")], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    plans = json.loads((tmp_path / "plans" / "plan.json").read_text())
    assert sorted(plans) == ["gpu-server-2x24g", "laptop-16g", "linux-32g", "linux-64g", "mac-studio-192g"]
    for host, plan in plans.items():
        assert plan["fits"], (host, plan["warnings"])
        assert {"profile", "budget_mb", "components", "env", "models", "numa", "fits", "warnings"} <= set(plan)
    assert plans["mac-studio-192g"]["docker_desktop"]["cpus"] == 22
    # The engine goes to the node with the most memory (node 1 has 200 MiB more).
    assert plans["gpu-server-2x24g"]["numa"]["ollama"]["cpuset_mems"] == "1"
    assert plans["gpu-server-2x24g"]["numa"]["ollama"]["cpuset_cpus"] == "16-31,48-63"
    assert plans["gpu-server-2x24g"]["backend"] == "cuda"
    markdown = (tmp_path / "plans" / "plan.md").read_text()
    assert "| laptop-16g | low_memory |" in markdown
    assert "### mac-studio-192g: large profile" in markdown
    # Offline hosts are never contacted: no host-side task ran.
    assert "UNREACHABLE" not in proc.stdout


NO_SYSTEMD_CHECK = '{"preflight_require_systemd": false}'


def test_site_refuses_a_plan_that_does_not_fit(tmp_path: Path) -> None:
    proc = playbook([str(ROOT / "site.yml"), "-i", LOCAL, "-e", NO_SYSTEMD_CHECK,
                     "-e", '{"planner_models": ["qwen3:235b-a22b-q4_K_M"]}'], tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "Refuse a plan that does not fit" in proc.stdout
    assert "localhost: the plan does not fit: ollama needs" in proc.stdout
    assert "planner_allow_overcommit" in proc.stdout


def test_site_rejects_an_unknown_engine_by_name(tmp_path: Path) -> None:
    proc = playbook([str(ROOT / "site.yml"), "-i", LOCAL, "-e", NO_SYSTEMD_CHECK, "-e", "planner_engine=vllm"], tmp_path)
    assert proc.returncode == 2
    assert "planner_engine" in proc.stdout and "vllm" in proc.stdout


def test_plan_rejects_a_bad_headroom_by_name(tmp_path: Path) -> None:
    proc = playbook([str(ROOT / "playbooks/plan.yml"), "-i", str(ROOT / "inventories/examples"),
                     "-e", '{"planner_headroom": 1.5}'], tmp_path)
    assert proc.returncode == 2
    assert "frontier.llm.resource_plan: headroom: 1.5 must be a number in [0, 1)" in flat(proc.stdout)
    assert not (tmp_path / "plans").exists()


def test_plan_rejects_an_unknown_model_by_name(tmp_path: Path) -> None:
    proc = playbook([str(ROOT / "playbooks/plan.yml"), "-i", str(ROOT / "inventories/examples"),
                     "-e", '{"planner_models": ["llama9:1t"]}'], tmp_path)
    assert proc.returncode == 2
    assert "model: unknown model tag 'llama9:1t'" in flat(proc.stdout)


def test_site_refuses_a_linux_host_without_systemd(tmp_path: Path) -> None:
    service_manager = Path("/proc/1/comm").read_text().strip()
    if service_manager == "systemd":
        pytest.skip("this machine runs systemd; the refusal is for hosts that do not")
    proc = playbook([str(ROOT / "site.yml"), "-i", LOCAL], tmp_path)
    assert proc.returncode == 2
    assert "Check that a Linux host runs systemd" in proc.stdout
    assert "preflight_require_systemd" in proc.stdout
    assert "changed=0" in proc.stdout


@pytest.mark.parametrize("variables, message", [
    ('{"stack_root": "/etc"}', "stack_root: '/etc' is a system directory"),
    ('{"stack_nginx_bind_address": "0.0.0.0:443; include /etc/shadow"}', "stack_nginx_bind_address"),
    ('{"stack_images": {"ollama": "ollama/ollama:latest", "nginx": "nginx:1.28.0"}}', "stack_images.ollama"),
    ('{"planner_engine": "mistralrs"}', "stack_model_files: no GGUF file for"),
])
def test_site_refuses_bad_stack_variables_in_the_preflight(tmp_path: Path, variables: str, message: str) -> None:
    proc = playbook([str(ROOT / "site.yml"), "-i", LOCAL, "-e", NO_SYSTEMD_CHECK, "-e", variables], tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "Refuse unsafe or malformed variables" in proc.stdout and message in flat(proc.stdout), proc.stdout[-3000:]
    assert "localhost: " in proc.stdout
    # The refusal came in the read-only first play: nothing of the later plays ran.
    assert "Tune the kernel" not in proc.stdout and "changed=0" in proc.stdout


def test_the_example_fleet_inventories_share_their_group_variables(tmp_path: Path) -> None:
    groups = {}
    for name in ("staging", "production"):
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventories/example" / name), "--list"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True)
        inventory = json.loads(proc.stdout)
        groups[name] = {group for group in ("mac_studios", "linux_gpu", "linux_cpu") if inventory.get(group, {}).get("hosts")}
        hostvars = inventory["_meta"]["hostvars"]
        gpu_host = inventory["linux_gpu"]["hosts"][0]
        # One file sets these for both inventories: group_vars is a link to inventories/example/group_vars.
        assert hostvars[gpu_host]["planner_ctx"] == 8192
        assert hostvars[gpu_host]["stack_api_keys"] == [{"name": "apps"}, {"name": "ci"}]
    assert groups == {"staging": {"linux_gpu", "linux_cpu"}, "production": {"mac_studios", "linux_gpu", "linux_cpu"}}


def test_site_refuses_a_gateway_port_another_program_holds(tmp_path: Path) -> None:
    import socket
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = playbook([str(ROOT / "site.yml"), "-i", LOCAL, "-e", NO_SYSTEMD_CHECK,
                         "-e", '{"stack_nginx_https_port": %d}' % port], tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "Refuse a port the gateway needs that another program holds" in proc.stdout
    assert "localhost: port %d is held by python" % port in proc.stdout, proc.stdout[-3000:]
    assert "Tune the kernel" not in proc.stdout and "changed=0" in proc.stdout
