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


# The native Ollama's tasks (tasks/ollama.yml) applied to this machine for real, with fake
# brew and launchctl (tests/unit/fakes) first on PATH and a home directory under tmp_path.

FAKES = ROOT / "tests/unit/fakes"


def run_ollama_tasks(tmp_path: Path, check: bool = False, installed: bool = False) -> Dict[str, Any]:
    """Run the role's ollama.yml once; its result: rc, stats, the tasks' results by name, the fakes' calls."""
    home, bin_dir, state = tmp_path / "home", tmp_path / "bin", tmp_path / "brew-state"
    for directory in (home, bin_dir, state):
        directory.mkdir(exist_ok=True)
    for name in ("brew", "launchctl"):
        wrapper = bin_dir / name
        if wrapper.exists():  # a test's own variant
            continue
        wrapper.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, FAKES / ("fake_%s.py" % name)))
        wrapper.chmod(0o755)
    if installed:
        (state / "ollama").touch()
    facts = dict(MAC, user_dir=str(home))
    extra = {"ansible_facts": facts, "test_tasks_from": "ollama", "macos_ollama_native": True,
             "ansible_python_interpreter": sys.executable}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json", HOME=str(home),
               PATH="%s:%s" % (bin_dir, os.environ["PATH"]), FAKE_BREW_STATE=str(state),
               FAKE_BREW_LOG=str(tmp_path / "brew.log"), FAKE_LAUNCHCTL_STATE=str(tmp_path / "launchctl.json"),
               FAKE_LAUNCHCTL_LOG=str(tmp_path / "launchctl.log"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "mac,", "-c", "local",
               str(ROOT / "tests/unit/playbooks/macos_role.yml"), "-e", json.dumps(extra)]
    proc = subprocess.run(command + (["--check"] if check else []), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    report = json.loads(proc.stdout)
    tasks = {task["task"]["name"].split(" : ", 1)[-1]: task["hosts"]["mac"]
             for play in report["plays"] for task in play["tasks"] if "mac" in task["hosts"]}
    brew_log = tmp_path / "brew.log"
    return {"rc": proc.returncode, "stats": report["stats"]["mac"], "tasks": tasks, "output": proc.stdout[-3000:],
            "brew": [json.loads(line) for line in brew_log.read_text().splitlines()] if brew_log.exists() else []}


def test_check_mode_on_a_mac_without_ollama_completes(tmp_path: Path) -> None:
    # brew --prefix ollama answers even without Ollama; the agent must not be asked of launchd
    # in check mode when nothing was installed or written.
    run = run_ollama_tasks(tmp_path, check=True)
    assert run["rc"] == 0 and run["stats"]["failures"] == 0, run["output"]
    assert ["install", "ollama"] not in run["brew"]
    assert not (tmp_path / "home/Library/LaunchAgents").exists()


def test_absent_ollama_fails_with_a_message_naming_the_host(tmp_path: Path) -> None:
    run = run_ollama_tasks(tmp_path, installed=True)
    assert run["rc"] == 0, run["output"]
    # Homebrew now claims Ollama is installed (info) while it is gone (--prefix --installed fails).
    (tmp_path / "brew-state/ollama").unlink()
    fake_info = tmp_path / "bin/brew"
    fake_info.write_text(fake_info.read_text().replace(
        'exec ', 'case "$1" in info) echo \'{"formulae": [{"name": "ollama", "full_name": "ollama", "tap": null, '
        '"installed": [{"version": "0.9.0"}]}], "casks": []}\'; exit 0;; esac\nexec ', 1))
    broken = run_ollama_tasks(tmp_path)
    assert broken["rc"] != 0
    failed = [name for name, result in broken["tasks"].items() if result.get("failed")]
    assert failed == ["Check Ollama is installed"], broken["output"]
    assert "mac" in broken["tasks"]["Check Ollama is installed"]["msg"]


def test_real_run_keeps_the_modes_of_existing_library_folders_and_is_idempotent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for name, mode in (("Logs", 0o700), ("LaunchAgents", 0o755)):
        (home / "Library" / name).mkdir(parents=True)
        (home / "Library" / name).chmod(mode)
    first = run_ollama_tasks(tmp_path)
    assert first["rc"] == 0 and first["stats"]["changed"] > 0, first["output"]
    assert ["install", "ollama"] in first["brew"]
    assert (home / "Library/Logs").stat().st_mode & 0o7777 == 0o700
    assert (home / "Library/LaunchAgents").stat().st_mode & 0o7777 == 0o755
    plist = plistlib.loads((home / "Library/LaunchAgents/com.frontier-llm.ollama.plist").read_bytes())
    assert plist["ProgramArguments"] == ["/opt/homebrew/opt/ollama/bin/ollama", "serve"]
    second = run_ollama_tasks(tmp_path)
    assert second["rc"] == 0 and second["stats"]["changed"] == 0, second["output"]


def test_missing_library_folders_are_created(tmp_path: Path) -> None:
    run = run_ollama_tasks(tmp_path, installed=True)
    assert run["rc"] == 0, run["output"]
    for name in ("Logs", "LaunchAgents"):
        assert (tmp_path / "home/Library" / name).is_dir()
