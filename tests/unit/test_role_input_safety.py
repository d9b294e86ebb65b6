"""Input the docker_engine, linux_tuning and macos roles must refuse before they change anything.

0.1.0 accepted a bare ``host:port`` in daemon.json's ``hosts`` (dockerd reads it as TCP), wrote
zeros over any ``linux_tuning_swapfile_path`` (``/etc/passwd`` included), put any
``linux_tuning_cpu_governor`` into a root unit's ``ExecStart``, created an account for a
misspelt ``docker_engine_users`` entry, and let the native Ollama listen on every interface.

Each refusal case applies the role to this machine in check mode with the bad value (Ansible
checks the argument spec first, then the role's own checks in tasks/validate.yml run) and
asserts that the first failing task is one of those checks, that its message names the
variable and the host (an argument spec message names the variable; the host is the key of
its result), and that no task reported a change. The accepting cases run only the role's
checks (``test_tasks_from: validate``): the rest of a role would install and configure this
machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
import yaml

from conftest import adhoc

ROOT = Path(__file__).resolve().parents[2]
HOST = "input-safety-host"
SPEC_TASK = "Validating arguments against arg spec 'main'"
MAC = {"system": "Darwin", "memtotal_mb": 65536, "processor_vcpus": 12, "user_dir": "/Users/llm",
       "frontier_llm": {"physical_cores": 12, "apple_silicon": True}}


@dataclass
class Run:
    """One ansible-playbook run: its exit code, its tasks in order (name, result) and its output."""

    rc: int
    tasks: List[Tuple[str, Dict[str, Any]]]
    output: str

    def first_failure(self) -> Tuple[str, Dict[str, Any]]:
        """The first task that failed, as (name, result)."""
        for name, result in self.tasks:
            if result.get("failed"):
                return name, result
        raise AssertionError("no task failed:\n" + self.output[-3000:])


def run_role(role: str, checks_only: bool = False, **role_vars: Any) -> Run:
    """Apply ``role`` to this machine in check mode (only its checks with ``checks_only``)."""
    extra = dict(role_vars, test_tasks_from="validate" if checks_only else "main")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", HOST + ",", "-c", "local",
                           "--check", "-e", "ansible_python_interpreter=" + sys.executable,
                           str(ROOT / "tests/unit/playbooks" / ("%s_role.yml" % role)), "-e", json.dumps(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(proc.stdout[-2000:] + proc.stderr[-2000:]) from None
    tasks = [(task["task"]["name"].split(" : ", 1)[-1], task["hosts"][HOST])
             for play in report["plays"] for task in play["tasks"] if HOST in task["hosts"]]
    return Run(proc.returncode, tasks, proc.stdout + proc.stderr)


def _tasks(path: Path) -> List[Dict[str, Any]]:
    """The tasks of a task file, those of its blocks included."""
    found = []
    for task in yaml.safe_load(path.read_text()) or []:
        found.append(task)
        found.extend(task.get("block", []))
    return found


def role_checks(role: str) -> Set[str]:
    """The names of a role's own input checks, the tasks of its tasks/validate.yml."""
    path = ROOT / "roles" / role / "tasks" / "validate.yml"
    return {task["name"] for task in _tasks(path)} if path.exists() else set()


def assert_refused(run: Run, role: str, variable: str, *words: str) -> str:
    """The play stopped in an input check naming the variable (and the host), and nothing changed."""
    name, result = run.first_failure()
    message = result.get("msg", "")
    by_spec = name.startswith(SPEC_TASK)  # Ansible's task name goes on with the spec's short description
    assert by_spec or name in role_checks(role), "the first failure is %r, not an input check: %s" % (name, message)
    assert run.rc == 2
    assert variable in message, message
    if not by_spec:
        assert HOST in message, message
    for word in words:
        assert word in message, message
    assert [task for task, outcome in run.tasks if outcome.get("changed")] == []
    return message


def assert_accepted(run: Run) -> None:
    """The role's checks all passed and changed nothing."""
    assert run.rc == 0, run.output[-3000:]
    assert not [name for name, result in run.tasks if result.get("failed") or result.get("changed")]


# docker_engine: the API never on TCP, metrics on loopback, users that exist, proxies that stay values.

@pytest.mark.parametrize("entry, local", [
    ("unix:///run/docker.sock", True), ("unix://", True), ("fd://", True), (" fd:// ", True),
    ("tcp://0.0.0.0:2375", False), ("0.0.0.0:2375", False), (":2375", False), ("localhost", False),
    ("127.0.0.1:2375", False), ("TCP://0.0.0.0:2375", False), ("", False), ("ssh://me@host", False),
])
def test_a_hosts_entry_is_local_only_as_unix_or_fd(entry: str, local: bool) -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.docker_daemon import daemon_exposures
    assert (daemon_exposures({"hosts": [entry]}) == []) is local


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1:9323", True), ("127.9.9.9:9323", True), ("[::1]:9323", True),
    ("0.0.0.0:9323", False), (":9323", False), ("[::]:9323", False), ("localhost:9323", False),
    ("10.0.0.5:9323", False), ("127.0.0.1", False), ("127.0.0.1:0", False), ("127.0.0.1:70000", False),
])
def test_metrics_address_on_loopback(address: str, loopback: bool) -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.docker_daemon import address_is_loopback, daemon_exposures
    assert address_is_loopback(address) is loopback
    assert (daemon_exposures({"metrics-addr": address}) == []) is loopback
    assert daemon_exposures({"metrics-addr": address}, metrics_beyond_loopback=True) == []


def test_the_filter_reads_its_switch_as_ansible_reads_booleans() -> None:
    from ansible_collections.frontier.llm.plugins.filter.docker_engine import docker_daemon_exposures
    exposed = {"hosts": ["fd://"], "metrics-addr": "0.0.0.0:9323"}
    assert docker_daemon_exposures(exposed, "false") and docker_daemon_exposures(exposed, "no")
    assert docker_daemon_exposures(exposed, "true") == []


@pytest.mark.parametrize("hosts", [["unix:///run/docker.sock", "0.0.0.0:2375"], [":2375"]])
def test_docker_bare_tcp_listener_is_refused_before_any_change(hosts: List[str]) -> None:
    run = run_role("docker_engine", docker_engine_daemon_extra={"hosts": hosts})
    assert_refused(run, "docker_engine", "docker_engine_daemon_extra", "must not expose the Docker API over TCP",
                   hosts[-1])


def test_docker_metrics_beyond_loopback_is_refused_unless_allowed() -> None:
    run = run_role("docker_engine", docker_engine_daemon_extra={"metrics-addr": "0.0.0.0:9323"})
    assert_refused(run, "docker_engine", "docker_engine_daemon_extra", "0.0.0.0:9323",
                   "docker_engine_metrics_beyond_loopback")
    assert_accepted(run_role("docker_engine", checks_only=True, docker_engine_metrics_beyond_loopback=True,
                             docker_engine_daemon_extra={"metrics-addr": "0.0.0.0:9323"}))


def test_docker_local_hosts_and_loopback_metrics_are_accepted() -> None:
    assert_accepted(run_role("docker_engine", checks_only=True, docker_engine_daemon_extra={
        "hosts": ["fd://", "unix:///run/docker.sock"], "metrics-addr": "[::1]:9323"}))


def test_docker_unknown_user_is_refused_by_name() -> None:
    run = run_role("docker_engine", docker_engine_users=["root", "no-such-user-frontier"])
    assert_refused(run, "docker_engine", "docker_engine_users names no-such-user-frontier,")
    assert_accepted(run_role("docker_engine", checks_only=True, docker_engine_users=["root"]))


def test_docker_repository_key_fingerprints_must_be_fingerprints() -> None:
    run = run_role("docker_engine", docker_engine_ce_gpg_fingerprints=["0EBFCD88"])
    assert_refused(run, "docker_engine", "docker_engine_ce_gpg_fingerprints", "0EBFCD88")
    assert_accepted(run_role("docker_engine", checks_only=True,
                             docker_engine_ce_gpg_fingerprints=["9dc858229fc7dd38854ae2d88d81803c0ebfcd88"]))


def test_docker_proxy_that_would_inject_a_unit_line_is_refused_without_printing_it() -> None:
    proxy = "http://user:s3cret@proxy.example:3128\nExecStartPre=/bin/touch /tmp/owned"
    run = run_role("docker_engine", docker_engine_https_proxy=proxy)
    assert_refused(run, "docker_engine", "docker_engine_https_proxy")
    assert "s3cret" not in run.output
    accepted = run_role("docker_engine", checks_only=True, docker_engine_http_proxy="http://user:p%40ss@proxy.example:3128")
    assert_accepted(accepted)
    assert "p%40ss" not in accepted.output


def test_every_docker_engine_task_that_carries_a_proxy_url_is_no_log() -> None:
    role = ROOT / "roles" / "docker_engine"
    secrets = ("docker_engine_http_proxy", "docker_engine_https_proxy")
    carriers = []
    for path in sorted((role / "tasks").glob("*.yml")) + [role / "handlers" / "main.yml"]:
        for task in _tasks(path):
            module = {key: value for key, value in task.items()
                      if key not in ("name", "when", "no_log", "notify", "register", "block")}
            text = json.dumps(module)
            template = module.get("ansible.builtin.template", {}).get("src")
            if template:
                text += (role / "templates" / template).read_text()
            if any(secret in text for secret in secrets) and "ansible.builtin.assert" not in module:
                carriers.append(task)
    assert [task["name"] for task in carriers] == ["Set the engine's proxy"]
    for task in carriers:
        assert task.get("no_log") is True, task["name"]
        assert task["ansible.builtin.template"]["mode"] == "0600"


def test_proxy_drop_in_escapes_systemd_specifiers() -> None:
    result = adhoc("ansible.builtin.debug",
                   {"msg": "{{ lookup('ansible.builtin.template', 'roles/docker_engine/templates/http-proxy.conf.j2') }}"},
                   options=["-e", json.dumps({"docker_engine_http_proxy": "http://u:p%40ss@proxy:3128",
                                              "docker_engine_https_proxy": "", "docker_engine_no_proxy": "localhost"})])
    assert 'Environment="HTTP_PROXY=http://u:p%%40ss@proxy:3128"' in result["msg"]
    assert "HTTPS_PROXY" not in result["msg"]


# linux_tuning: the swap file never on a system file, the governor one of the kernel's.

@pytest.mark.parametrize("path", ["/etc/passwd", "/usr/swapfile", "/var/lib/swapfile", "/boot/swap", "/lib64/swap",
                                  "/run/swapfile", "swapfile", "/srv/../etc/passwd", "/swap file", "/swap;id"])
def test_swapfile_on_a_system_or_odd_path_is_refused(path: str) -> None:
    run = run_role("linux_tuning", linux_tuning_swap="file", linux_tuning_swapfile_path=path)
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", path)


def test_existing_file_that_is_not_swap_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("precious\n")
    run = run_role("linux_tuning", linux_tuning_swap="file", linux_tuning_swapfile_path=str(data))
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", str(data), "not a swap file")
    assert data.read_text() == "precious\n"


def test_swapfile_through_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "etc").symlink_to("/etc")
    (tmp_path / "link").symlink_to("/etc/passwd")
    for path in (tmp_path / "etc" / "passwd", tmp_path / "link", tmp_path / "etc" / "frontier-swap"):
        run = run_role("linux_tuning", linux_tuning_swap="file", linux_tuning_swapfile_path=str(path))
        assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", str(path), "symbolic link")


@pytest.mark.parametrize("size_mb", [0, -1, 10 ** 9])
def test_swapfile_size_must_be_positive_and_fit_the_disk(tmp_path: Path, size_mb: int) -> None:
    run = run_role("linux_tuning", linux_tuning_swap="file", linux_tuning_swapfile_path=str(tmp_path / "swapfile"),
                   linux_tuning_swapfile_size_mb=size_mb)
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_size_mb", str(size_mb))


def test_new_or_existing_swap_file_is_accepted(tmp_path: Path) -> None:
    assert_accepted(run_role("linux_tuning", checks_only=True, linux_tuning_swap="file",
                             linux_tuning_swapfile_path=str(tmp_path / "swapfile"), linux_tuning_swapfile_size_mb=1))
    swap = tmp_path / "existing.swap"
    swap.write_bytes(b"\0" * 1048576)
    swap.chmod(0o600)
    subprocess.run(["mkswap", str(swap)], check=True, capture_output=True)
    assert_accepted(run_role("linux_tuning", checks_only=True, linux_tuning_swap="file",
                             linux_tuning_swapfile_path=str(swap), linux_tuning_swapfile_size_mb=1))


def test_cpu_governor_outside_the_kernels_names_is_refused() -> None:
    governor = "performance; touch /x"
    assert_refused(run_role("linux_tuning", linux_tuning_cpu_governor=governor), "linux_tuning",
                   "linux_tuning_cpu_governor", governor)
    # The role's own check, for runs that skip the argument spec (--skip-tags always).
    assert_refused(run_role("linux_tuning", checks_only=True, linux_tuning_cpu_governor=governor), "linux_tuning",
                   "linux_tuning_cpu_governor", governor)


def test_cpu_governor_of_the_kernel_is_accepted() -> None:
    assert_accepted(run_role("linux_tuning", checks_only=True, linux_tuning_swap="keep",
                             linux_tuning_cpu_governor="performance"))


def test_swap_auto_without_a_plan_is_refused() -> None:
    # auto follows the plan; without one it used to mean "off", turning the host's swap off unasked.
    assert_refused(run_role("linux_tuning"), "linux_tuning", "linux_tuning_swap", "planner_plan")


@pytest.mark.parametrize("policy, plan", [("auto", {"profile": "medium"}), ("off", None), ("keep", None)])
def test_swap_auto_with_a_plan_or_an_explicit_policy_is_accepted(policy: str, plan: Any) -> None:
    plan_vars = {"planner_plan": plan} if plan else {}
    assert_accepted(run_role("linux_tuning", checks_only=True, linux_tuning_swap=policy, **plan_vars))


def test_zeros_left_by_an_interrupted_run_are_accepted(tmp_path: Path) -> None:
    # dd died before mkswap (the full size) or during dd (part of it): nothing there to lose.
    for size in (1048576, 65536, 0):
        leftover = tmp_path / ("swapfile-%d" % size)
        leftover.write_bytes(b"\0" * size)
        assert_accepted(run_role("linux_tuning", checks_only=True, linux_tuning_swap="file",
                                 linux_tuning_swapfile_path=str(leftover), linux_tuning_swapfile_size_mb=1))
    data = tmp_path / "mostly-zeros"
    data.write_bytes(b"\0" * 65536 + b"x")
    run = run_role("linux_tuning", linux_tuning_swap="file", linux_tuning_swapfile_path=str(data),
                   linux_tuning_swapfile_size_mb=1)
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", str(data), "not a swap file")


def test_governor_choices_are_the_kernels() -> None:
    spec = yaml.safe_load((ROOT / "roles/linux_tuning/meta/argument_specs.yml").read_text())
    choices = spec["argument_specs"]["main"]["options"]["linux_tuning_cpu_governor"]["choices"]
    names = yaml.safe_load((ROOT / "roles/linux_tuning/vars/main.yml").read_text())["linux_tuning_cpu_governors"]
    assert choices == [None] + names
    assert set(names) == {"performance", "powersave", "schedutil", "ondemand", "conservative", "userspace"}


# macos: the native Ollama on loopback unless opened on purpose.

@pytest.mark.parametrize("host", ["0.0.0.0:11434", ":11434", "192.168.1.10:11434", "localhost:11434",
                                  "127.0.0.1", "127.0.0.1:99999"])
def test_native_ollama_beyond_loopback_is_refused(host: str) -> None:
    run = run_role("macos", ansible_facts=MAC, macos_ollama_native=True, macos_ollama_host=host)
    assert_refused(run, "macos", "macos_ollama_host", host, "macos_ollama_allow_network")


@pytest.mark.parametrize("host, allow", [("127.0.0.1:11434", False), ("[::1]:11500", False), ("0.0.0.0:11434", True)])
def test_native_ollama_address_is_accepted(host: str, allow: bool) -> None:
    assert_accepted(run_role("macos", checks_only=True, ansible_facts=MAC, macos_ollama_native=True,
                             macos_ollama_host=host, macos_ollama_allow_network=allow))
