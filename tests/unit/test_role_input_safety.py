"""Input the docker_engine, linux_tuning, macos, stack and swarm roles must refuse before they change anything.

0.1.0 accepted a bare ``host:port`` in daemon.json's ``hosts`` (dockerd reads it as TCP), wrote
zeros over any ``linux_tuning_swapfile_path`` (``/etc/passwd`` included), put any
``linux_tuning_cpu_governor`` into a root unit's ``ExecStart``, created an account for a
misspelt ``docker_engine_users`` entry, and let the native Ollama listen on every interface.
0.2.0's stack role let through an operator key name that closes Nginx's quoted string
(``stack_ops_key_name``), key names that only the api_keys module refused (after the stack's
directories were made), a start period Compose cannot read, any URL as the one clients are told,
``stack_max_body_size: 0`` (no limit on request bodies in Nginx), and archive paths, timeouts and a
certificate directory without any pattern; the swarm role took 300.0.0.1 as an address.

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
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

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


def run_role(role: str, checks_only: bool = False, groups: Optional[List[str]] = None, **role_vars: Any) -> Run:
    """Apply ``role`` to this machine in check mode (only its checks with ``checks_only``).

    :param groups: inventory groups the host is in (the swarm role's managers and workers).
    """
    extra = dict(role_vars, test_tasks_from="validate" if checks_only else "main")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    with tempfile.TemporaryDirectory() as directory:
        inventory = HOST + ","
        if groups:
            inventory = str(Path(directory) / "inventory.yml")
            Path(inventory).write_text(json.dumps({"all": {"children": {
                group: {"hosts": {HOST: {}}} for group in groups}}}))
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory, "-c", "local",
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


# stack: every value that reaches nginx.conf, the Compose file, a path on the host or a root command has a pattern,
# checked in tasks/validate.yml (frontier.llm.stack_errors) before the stack's directories are made.

def stack_plan() -> Dict[str, Any]:
    """A plan the stack serves (Ollama, one model)."""
    from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan
    from test_planner import linux
    return resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])


def good_stack_settings() -> Dict[str, Any]:
    """stack_settings as roles/stack/vars/main.yml assembles them, with the role's defaults."""
    defaults = yaml.safe_load((ROOT / "roles/stack/defaults/main.yml").read_text())
    names = yaml.safe_load((ROOT / "roles/stack/vars/main.yml").read_text())["stack_settings"]
    return {name: defaults[name] for name in names}


STACK_REFUSALS = [
    ("stack_ops_key_name", 'ops" ; include /etc/passwd; "', "stack_ops_key_name", "a-z 0-9"),
    ("stack_api_keys", [{"name": "default"}, {"name": 'x"; include /etc/passwd; "'}], "stack_api_keys[1].name", "a-z 0-9"),
    ("stack_api_keys", [{"name": "Ops Team"}], "stack_api_keys[0].name", "Ops Team"),
    ("stack_engine_start_period", "soon", "stack_engine_start_period", "soon"),
    ("stack_engine_start_period", "10 m", "stack_engine_start_period", "1h30m"),
    ("stack_public_url", "ftp://x", "stack_public_url", "ftp://x"),
    ("stack_public_url", "http://llm.example.com", "stack_public_url", "https://"),
    ("stack_public_url", "https://llm.example.com/$(id)", "stack_public_url", "$(id)"),
    ("stack_public_url", "https://llm.example.com:99999", "stack_public_url", "99999"),
    ("stack_max_body_size", 0, "stack_max_body_size", "unlimited"),
    ("stack_max_body_size", "0k", "stack_max_body_size", "unlimited"),
    ("stack_max_body_size", "65m", "stack_max_body_size", "64m"),
    ("stack_image_archives", ["images.tar"], "stack_image_archives[0]", "images.tar"),
    ("stack_image_archives", ["/srv/images.tar; rm -rf /"], "stack_image_archives[0]", "rm -rf"),
    ("stack_verify_cert_dir", "certs; rm -rf ~", "stack_verify_cert_dir", "rm -rf"),
    ("stack_pull_timeout", 0, "stack_pull_timeout", "0"),
    ("stack_wait_timeout", -5, "stack_wait_timeout", "-5"),
]


@pytest.mark.parametrize("variable, value, named, word", STACK_REFUSALS,
                         ids=["%s=%r" % (case[0], case[1]) for case in STACK_REFUSALS])
def test_stack_value_that_reaches_nginx_or_compose_is_refused_before_any_change(variable: str, value: Any,
                                                                                named: str, word: str) -> None:
    run = run_role("stack", planner_plan=stack_plan(), stack_port_check=False, **{variable: value})
    assert_refused(run, "stack", named, word)
    assert "Create the stack's directories" not in [name for name, _result in run.tasks]


def test_stack_safe_values_are_accepted() -> None:
    assert_accepted(run_role("stack", checks_only=True, planner_plan=stack_plan(), stack_port_check=False,
                             stack_ops_key_name="ops-2", stack_api_keys=[{"name": "team-a_1"}, {"name": "b"}],
                             stack_engine_start_period="1h30m", stack_public_url="https://llm.example.com:8443/gw",
                             stack_max_body_size="64m", stack_image_archives=["/srv/images/stack.tar"],
                             stack_verify_cert_dir="plans/certs", stack_pull_timeout=7200, stack_wait_timeout=60))


@pytest.mark.parametrize("variable, value, named", [(case[0], case[1], case[2]) for case in STACK_REFUSALS] + [
    ("stack_public_url", "https://llm.example.com/", "stack_public_url"),
    ("stack_public_url", "https://llm.example.com/a/../b", "stack_public_url"),
    ("stack_public_url", "https://[::1", "stack_public_url"),
    ("stack_public_url", "https://[fe80::zz]", "stack_public_url"),
    ("stack_public_url", "https://999.1.1.1", "stack_public_url"),
    ("stack_public_url", "https://llm.example.com:0", "stack_public_url"),
    ("stack_public_url", "https://user@llm.example.com", "stack_public_url"),
    ("stack_public_url", "https://llm.example.com/?x=1", "stack_public_url"),
    ("stack_public_url", "https://llm.example.com\nX-Injected: 1", "stack_public_url"),
    ("stack_max_body_size", "1g", "stack_max_body_size"),
    ("stack_max_body_size", "1048577k", "stack_max_body_size"),
    ("stack_max_body_size", "-1", "stack_max_body_size"),
    ("stack_max_body_size", True, "stack_max_body_size"),
    ("stack_max_body_size", "16m;", "stack_max_body_size"),
    ("stack_engine_start_period", 600, "stack_engine_start_period"),
    ("stack_engine_start_period", "", "stack_engine_start_period"),
    ("stack_engine_start_period", "1.5h", "stack_engine_start_period"),
    ("stack_engine_start_period", "10m\nprivileged: true", "stack_engine_start_period"),
    ("stack_ops_key_name", "", "stack_ops_key_name"),
    ("stack_ops_key_name", None, "stack_ops_key_name"),
    ("stack_ops_key_name", "Frontier-Ops", "stack_ops_key_name"),
    ("stack_api_keys", [{"name": "a" * 33}], "stack_api_keys[0].name"),
    ("stack_api_keys", [{"name": "a"}, {"name": "a"}], "stack_api_keys[1].name"),
    ("stack_api_keys", [{"name": "a", "state": "gone"}], "stack_api_keys[a].state"),
    ("stack_api_keys", [{"name": "a", "key": 'k" ; include /etc/passwd; "k'}], "stack_api_keys[a].key"),
    ("stack_api_keys", ["default"], "stack_api_keys[0]"),
    ("stack_api_keys", {"name": "default"}, "stack_api_keys"),
    ("stack_image_archives", "/srv/images.tar", "stack_image_archives"),
    ("stack_image_archives", ["/srv/../etc/shadow"], "stack_image_archives[0]"),
    ("stack_image_archives", ["/srv/images.tar\n"], "stack_image_archives[0]"),
    ("stack_verify_cert_dir", "/tmp/certs\n", "stack_verify_cert_dir"),
    ("stack_pull_timeout", "3600", "stack_pull_timeout"),
    ("stack_pull_timeout", True, "stack_pull_timeout"),
    ("stack_wait_timeout", 10 ** 9, "stack_wait_timeout"),
])
def test_stack_errors_name_each_unsafe_value(variable: str, value: Any, named: str) -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.stack import settings_errors
    settings = good_stack_settings()
    assert settings_errors(settings, stack_plan()) == []
    settings[variable] = value
    errors = settings_errors(settings, stack_plan())
    assert any(error.startswith(named + ":") for error in errors), errors
    assert "k\" ; include" not in " ".join(errors)  # a key's value is never shown


@pytest.mark.parametrize("variable, value", [
    ("stack_public_url", None), ("stack_public_url", ""), ("stack_public_url", "https://llm.example.com"),
    ("stack_public_url", "https://10.0.0.5"), ("stack_public_url", "https://[::1]:8443"),
    ("stack_public_url", "https://LLM.example.com:443/a/b-c_d.e~f"),
    ("stack_max_body_size", "16m"), ("stack_max_body_size", "16M"), ("stack_max_body_size", "512k"),
    ("stack_max_body_size", "1048576"), ("stack_max_body_size", 1048576), ("stack_max_body_size", "64m"),
    ("stack_engine_start_period", "10m"), ("stack_engine_start_period", "90s"), ("stack_engine_start_period", "0s"),
    ("stack_engine_start_period", "1h30m"), ("stack_engine_start_period", "500ms"),
    ("stack_image_archives", []), ("stack_image_archives", ["/srv/a.tar", "/mnt/usb/b.tar.gz"]),
    ("stack_verify_cert_dir", None), ("stack_verify_cert_dir", "~/frontier/plans/certs"),
    ("stack_ops_key_name", "ops"), ("stack_api_keys", [{"name": "0-a_b"}, {"name": "x", "state": "absent"}]),
])
def test_stack_errors_accept_safe_values(variable: str, value: Any) -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.stack import settings_errors
    settings = good_stack_settings()
    settings[variable] = value
    assert settings_errors(settings, stack_plan()) == []


def test_every_stack_variable_that_reaches_a_file_or_command_is_checked() -> None:
    # What tasks/validate.yml passes to stack_errors: every variable of the role but the switches, the prompt (a
    # JSON value in one request) and the Swarm's own. The inputs from other roles (planner_plan, ...) are not its own.
    spec = {name: option for name, option in yaml.safe_load((ROOT / "roles/stack/meta/argument_specs.yml").read_text())
            ["argument_specs"]["main"]["options"].items() if name.startswith("stack_")}
    checked = set(yaml.safe_load((ROOT / "roles/stack/vars/main.yml").read_text())["stack_settings"])
    switches = {name for name, option in spec.items() if option["type"] == "bool"}
    assert set(spec) - checked - switches == {"stack_verify_prompt"}


# swarm: its own values that reach the stack file, a node's Docker or a path are checked as the stack's are.

SWARM_GROUPS = ["swarm_managers", "swarm_workers"]
SWARM_MODELS = [{"name": "smollm2", "gguf": "/srv/frontier-test/smollm2.gguf"}]


@pytest.mark.parametrize("variable, value, named, word", [
    ("swarm_advertise_addr", "300.0.0.1", "swarm_advertise_addr", "300.0.0.1"),
    ("swarm_image_archives", ["images.tar"], "swarm_image_archives[0]", "images.tar"),
    ("stack_engine_start_period", "soon", "stack_engine_start_period", "soon"),
    ("stack_public_url", "http://llm.example.com", "stack_public_url", "https://"),
    ("stack_ops_key_name", 'ops" ; include /etc/passwd; "', "stack_ops_key_name", "a-z 0-9"),
])
def test_swarm_value_is_refused_before_any_change(variable: str, value: Any, named: str, word: str) -> None:
    role_vars = {"swarm_advertise_addr": "10.0.0.5", "swarm_models": SWARM_MODELS, variable: value}
    run = run_role("swarm", groups=SWARM_GROUPS, **role_vars)
    assert_refused(run, "swarm", named, word)


@pytest.mark.parametrize("variable, value, named", [
    ("swarm_address", "300.0.0.1", "swarm_advertise_addr"), ("swarm_address", "10.0.0.05", "swarm_advertise_addr"),
    ("swarm_address", "", "swarm_advertise_addr"), ("swarm_address", "10.0.0.5 --force", "swarm_advertise_addr"),
    ("swarm_https_port", "443.5", "swarm_https_port"), ("swarm_https_port", 0, "swarm_https_port"),
    ("swarm_https_port", True, "swarm_https_port"), ("swarm_wait_timeout", 0, "swarm_wait_timeout"),
    ("swarm_wait_timeout", "600; x", "swarm_wait_timeout"), ("swarm_image_archives", "/srv/a.tar", "swarm_image_archives"),
    ("swarm_image_archives", ["/srv/a.tar", "/srv/../b.tar"], "swarm_image_archives[1]"),
])
def test_swarm_errors_name_each_unsafe_value(variable: str, value: Any, named: str) -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.swarm import settings_errors
    good = {"swarm_address": "10.0.0.5", "swarm_https_port": 443, "swarm_wait_timeout": 600,
            "swarm_image_archives": ["/srv/images/stack.tar"]}
    assert settings_errors(good) == []
    errors = settings_errors(dict(good, **{variable: value}))
    assert any(error.startswith(named + ":") for error in errors), errors


@pytest.mark.parametrize("variable, value, named", [
    ("stack_root", "/opt/frontier-llm\n", "stack_root"), ("stack_rate_limit", "10r/s\n", "stack_rate_limit"),
    ("stack_max_body_size", "16m\n", "stack_max_body_size"), ("stack_ops_key_name", "ops\n", "stack_ops_key_name"),
    ("stack_api_keys", [{"name": "a\n"}], "stack_api_keys[0].name"),
    ("stack_images", {"ollama": "ollama/ollama:0.13.4\n", "nginx": "nginx:1.28.0"}, "stack_images.ollama"),
    ("stack_tls_extra_names", ["DNS:gw.example.com\n"], "stack_tls_extra_names"),
    ("stack_prometheus_retention_time", "15d\n", "stack_prometheus_retention_time"),
    ("stack_engine_start_period", "10m\n", "stack_engine_start_period"),
    ("stack_public_url", "https://llm.example.com\n", "stack_public_url"),
])
def test_a_trailing_newline_is_not_matched_as_the_end(variable: str, value: Any, named: str) -> None:
    # Python's $ also matches before a final newline: every pattern ends with \Z instead.
    from ansible_collections.frontier.llm.plugins.module_utils.stack import settings_errors
    settings = good_stack_settings()
    settings[variable] = value
    errors = settings_errors(settings, stack_plan())
    assert any(error.startswith(named + ":") for error in errors), errors
