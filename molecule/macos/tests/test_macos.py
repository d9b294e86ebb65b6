"""Verify the macos role on a real Mac (GitHub's macOS runners or a developer's Mac)."""

from __future__ import annotations

import plistlib

testinfra_hosts = ["ansible://all"]


def test_pmset_sleep_and_disksleep_off(host) -> None:
    custom = host.check_output("pmset -g custom")
    sections = custom.split("Power:")[1:]
    assert sections, custom
    for block in sections:
        values = dict(line.split()[:2] for line in block.splitlines() if line.startswith(" ") and len(line.split()) >= 2)
        assert values.get("sleep") == "0", block
        assert values.get("disksleep") == "0", block


def test_app_nap_off_for_docker_desktop(host) -> None:
    assert host.check_output("defaults read com.docker.docker NSAppSleepDisabled").strip() == "1"


def test_ollama_launch_agent(host) -> None:
    home = host.check_output("echo $HOME").strip()
    agent = host.file(home + "/Library/LaunchAgents/com.frontier-llm.ollama.plist")
    assert agent.exists
    plist = plistlib.loads(agent.content)
    assert plist["ProgramArguments"][-1] == "serve"
    assert plist["EnvironmentVariables"]["OLLAMA_HOST"] == "127.0.0.1:11434"
    assert plist["EnvironmentVariables"]["OLLAMA_NUM_PARALLEL"].isdigit()
    assert "com.frontier-llm.ollama" in host.check_output("launchctl list")
