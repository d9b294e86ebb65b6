"""The collection builds, installs into an empty collections path, and documents itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(args, cwd: Path, env: dict) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_build_install_and_document(tmp_path: Path) -> None:
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # none of the checkout's settings
    env["ANSIBLE_CONFIG"] = str(tmp_path / "ansible.cfg")
    run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)], tmp_path, env)
    tarball = tmp_path / ("frontier-llm-%s.tar.gz" % version)
    assert tarball.is_file()
    listing = run(["tar", "tzf", str(tarball)], tmp_path, env)
    assert ".collections/" not in listing and ".venv/" not in listing
    collections = tmp_path / "collections"
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections), str(tarball)], tmp_path, env)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    modules = run([str(BIN / "ansible-doc"), "-l", "frontier.llm"], tmp_path, env)
    for name in ("host_facts", "gguf_info", "pmset", "docker_desktop_settings", "api_keys"):
        assert "frontier.llm." + name in modules, modules
    roles = run([str(BIN / "ansible-doc"), "-t", "role", "-l", "frontier.llm"], tmp_path, env)
    for name in ("preflight", "planner", "docker_engine", "linux_tuning", "macos", "stack", "images"):
        assert "frontier.llm." + name in roles, roles
    filters = run([str(BIN / "ansible-doc"), "-t", "filter", "-l", "frontier.llm"], tmp_path, env)
    for name in ("model_memory", "resource_plan", "to_bytes", "human_bytes", "plan_markdown", "fleet_markdown",
                 "stack_compose", "stack_engine_env", "stack_errors", "stack_model_file_names",
                 "docker_daemon_exposures"):
        assert "frontier.llm." + name in filters, filters
    doc = run([str(BIN / "ansible-doc"), "-t", "filter", "frontier.llm.model_memory"], tmp_path, env)
    assert "10 MiB" in doc and "off by a factor of" in doc
