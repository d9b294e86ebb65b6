"""The macos role's LaunchAgent and decisions, rendered with its own template and vars.

No Mac is reachable here: the plist is rendered by ansible-playbook on this machine for
macOS facts and a native plan, then parsed with plistlib. Loading it with launchd, Homebrew,
pmset and Docker Desktop themselves are exercised only by the macos workflow on a real Mac.
"""

from __future__ import annotations

import json
import os
import plistlib
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan

ROOT = Path(__file__).resolve().parents[2]
MAC = {"system": "Darwin", "memtotal_mb": 196608, "processor_vcpus": 24, "user_dir": "/Users/llm",
       "frontier_llm": {"physical_cores": 24, "apple_silicon": True, "gpu_working_set_mb": 147456}}


def render(tmp_path: Path, **extra: Any) -> Dict[str, Any]:
    dest = tmp_path / "agent.plist"
    variables = {"ansible_facts": MAC, "render_dest": str(dest), **extra}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable,
                           str(ROOT / "tests/unit/playbooks/macos_launch_agent.yml"), "-e", json.dumps(variables)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    decisions = json.loads(proc.stdout)["plays"][0]["tasks"][1]["hosts"]["localhost"]["msg"]
    return {"plist": plistlib.loads(dest.read_bytes()), **decisions}


def test_native_plan_renders_a_loopback_agent_with_the_plans_settings(tmp_path: Path) -> None:
    plan = resource_plan(MAC, models=["llama2:70b-chat-q4_K_M"], runtime="native")
    rendered = render(tmp_path, planner_plan=plan)
    assert rendered["enabled"] is True
    plist = rendered["plist"]
    assert plist["Label"] == "com.frontier-llm.ollama"
    assert plist["ProgramArguments"] == ["/opt/homebrew/opt/ollama/bin/ollama", "serve"]
    env = plist["EnvironmentVariables"]
    assert env["OLLAMA_HOST"] == "127.0.0.1:11434"
    assert env["OLLAMA_MODELS"] == "/Users/llm/.ollama/models"
    for key in ("OLLAMA_NUM_PARALLEL", "OLLAMA_MAX_LOADED_MODELS", "OLLAMA_KEEP_ALIVE", "OLLAMA_FLASH_ATTENTION",
                "OLLAMA_KV_CACHE_TYPE", "OLLAMA_CONTEXT_LENGTH"):
        assert env[key] == plan["env"][key], key
    assert "OLLAMA_MEMORY_LIMIT" not in env  # a container limit, meaningless natively
    assert plist["KeepAlive"] is True and plist["RunAtLoad"] is True
    assert plist["StandardOutPath"] == "/Users/llm/Library/Logs/frontier-ollama.log"
    assert rendered["size"] == plan["docker_desktop"]


def test_container_plan_does_not_enable_the_native_server(tmp_path: Path) -> None:
    plan = resource_plan(MAC, models=["mistral:7b-instruct-q4_K_M"])
    rendered = render(tmp_path, planner_plan=plan, macos_docker_desktop_resources={"cpus": 8})
    assert rendered["enabled"] is False
    assert rendered["size"] == dict(plan["docker_desktop"], cpus=8)
