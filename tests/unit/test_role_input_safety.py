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
its result), that Ansible counted a failure for the host, and that no task reported a change.
The accepting cases run only the role's checks (``test_tasks_from: validate``): the rest of a
role would install and configure this machine. An accepted host went through the role's play
with no failed or changed task.

The cases run in batches, one ``ansible-playbook`` run per role and entry point (main or
validate: include_role takes the first host's ``tasks_from`` for every host, so the two cannot
share a run). Each case is an inventory host of its own, named for it, with the case's variables
as host variables, in the groups its case names (the swarm role's managers and workers: then
every host of the batch is in both). ``ansible_facts``, which an inventory variable cannot set, is
an extra variable shared by the batch (the macos role's Mac). All the hosts are this machine, so its facts are
gathered once per batch, in a play before the role's, which takes them (ANSIBLE_GATHERING=smart)
rather than gathering them per host. The json callback gives each host's tasks in order and its
counts (failures, unreachable), which stand for the exit code a run of its own had; a play after
the role's marks the hosts that went through it, and an accepted case needs its host there. A
batch that did not run through (an exit code other than 0 or 2, or one the counts do not explain,
output that is not the callback's JSON) fails every case in it; the tests of ``read_run`` check
that. A batch holds the cases of the tests pytest collected; the first test that needs it runs
it, and pytest-xdist's workers share the result (a lock and a file in the session's temporary
directory), so each batch runs once a session. Files a case needs (a swap file, symbolic links)
are made in a directory of its own before the batch runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import pytest
import yaml

from conftest import adhoc

ROOT = Path(__file__).resolve().parents[2]
SPEC_TASK = "Validating arguments against arg spec 'main'"
MAC = {"system": "Darwin", "memtotal_mb": 65536, "processor_vcpus": 12, "user_dir": "/Users/llm",
       "frontier_llm": {"physical_cores": 12, "apple_silicon": True}}
# The play each batch runs after the role's: the hosts that reach its task went through the role's play.
END_PLAY = "Mark the hosts that went through the role's play"
END_TASK = "Went through the role's play"
# The play before the role's: this machine's facts, gathered once for all the batch's hosts.
FACTS_PLAY = "Gather this machine's facts for every host"
FACTS_TASK = "Gather the facts once"
BATCH_TIMEOUT = 900


@dataclass(frozen=True, eq=False)
class Case:
    """One application of a role: an inventory host of its own, with the case's variables as host variables."""

    host: str  # distinct per case; no case's host is part of another's, so a message names one case
    role: str  # applied by tests/unit/playbooks/ROLE_role.yml
    variables: Mapping[str, Any] = field(default_factory=dict)
    checks_only: bool = False  # only the role's checks (tasks/validate.yml), not its main tasks
    groups: Tuple[str, ...] = ()  # inventory groups of the host (the swarm role's managers and workers)
    extra_vars: Mapping[str, Any] = field(default_factory=dict)  # given with -e: the same for the whole batch
    # Makes what the case needs before the batch runs (files in the directory it is given, a plan) and returns the
    # variables that name it.
    prepare: Optional[Callable[[Path], Dict[str, Any]]] = None
    param: Any = None  # the test's own parameter, which its assertions name

    @property
    def batch(self) -> str:
        """What the cases of one batch share: the role, its entry point, the groups and the extra variables."""
        return json.dumps([self.role, self.checks_only, list(self.groups), self.extra_vars], sort_keys=True)


CASES: Dict[str, Case] = {}


def role_case(host: str, role: str, test_id: Optional[str] = None, **options: Any) -> Any:
    """Register the case of ``role`` on ``host``, as a pytest parameter named ``test_id`` (or the host)."""
    for other in CASES:
        assert host not in other and other not in host, "hosts %r and %r: one's name is part of the other's" % (
            host, other)
    CASES[host] = Case(host, role, **options)
    return pytest.param(CASES[host], id=test_id or host)


def series(prefix: str, role: str, params: Sequence[Any], variables: Callable[[Any], Dict[str, Any]],
           ids: Optional[Sequence[str]] = None, **options: Any) -> List[Any]:
    """A case per test parameter, on the hosts PREFIX-01, PREFIX-02... with ``variables(param)``.

    :param ids: the test ids (default: each parameter as a string)
    """
    return [role_case("%s-%02d" % (prefix, index), role, test_id=ids[index - 1] if ids else str(param),
                      variables=variables(param), param=param, **options)
            for index, param in enumerate(params, 1)]


def one_case(host: str, role: str, **options: Any) -> pytest.MarkDecorator:
    """The parametrization of a test with its one case (a batch finds its cases among the collected parameters)."""
    return pytest.mark.parametrize("case", [role_case(host, role, **options)])


@dataclass
class Run:
    """What one case's host did in its batch: its tasks in order (name, result) and the json callback's counts."""

    host: str
    tasks: List[Tuple[str, Dict[str, Any]]]
    stats: Dict[str, int]
    went_through: bool  # the host reached the play after the role's
    directory: Path  # the case's own directory, with the files it prepared
    output: str  # everything the batch's ansible-playbook printed (its standard output and error)
    problem: Optional[str] = None  # why the batch (or the case) gives no result to read

    def describe(self) -> str:
        """The host's counts and tasks, and the end of the batch's output (for assertion messages)."""
        own = json.dumps([[name, result] for name, result in self.tasks], indent=1, default=str)
        return "host %s, counts %s, its tasks:\n%s\nthe end of the batch's output:\n%s" % (
            self.host, self.stats, own[-3000:], self.output[-2000:])

    def check(self) -> None:
        """The batch ran through, and the json callback counted this host."""
        if self.problem:
            raise AssertionError("%s (host %s)\n%s" % (self.problem, self.host, self.output[-3000:]))

    @property
    def failed(self) -> bool:
        """The host failed (what exit code 2 told of a run of its own): a failure counted, nothing unreachable."""
        self.check()
        return self.stats.get("failures", 0) > 0 and self.stats.get("unreachable", 0) == 0 and not self.went_through

    @property
    def succeeded(self) -> bool:
        """The host went through the role's play with no failure (exit code 0 for a run of its own)."""
        self.check()
        return self.stats.get("failures") == 0 and self.stats.get("unreachable") == 0 and self.went_through

    def first_failure(self) -> Tuple[str, Dict[str, Any]]:
        """The first task that failed, as (name, result)."""
        self.check()
        for name, result in self.tasks:
            if result.get("failed"):
                return name, result
        raise AssertionError("no task failed: " + self.describe())


def playbook(role: str) -> str:
    """The batch's playbook: the role's test playbook, then the play that marks the hosts that went through it.

    When the role's playbook gathers facts, a play before it gathers them once for all the hosts (they are all this
    machine) and the role's play, run with ANSIBLE_GATHERING=smart, takes them instead of gathering them per host.
    """
    role_playbook = ROOT / "tests/unit/playbooks" / ("%s_role.yml" % role)
    plays: List[Dict[str, Any]] = []
    if any(play.get("gather_facts", True) for play in yaml.safe_load(role_playbook.read_text())):
        plays.append({"name": FACTS_PLAY, "hosts": "all", "gather_facts": False,
                      "tasks": [{"name": FACTS_TASK, "ansible.builtin.gather_facts": {}, "run_once": True}]})
    plays.append({"name": "Apply the role", "ansible.builtin.import_playbook": str(role_playbook)})
    plays.append({"name": END_PLAY, "hosts": "all", "gather_facts": False,
                  "tasks": [{"name": END_TASK, "ansible.builtin.debug": {"msg": "went through"}}]})
    return yaml.safe_dump(plays, sort_keys=False)


class Batch:
    """One ansible-playbook run of a role for many cases, each on its own host, read per host."""

    def __init__(self, cases: Sequence[Case], root: Path) -> None:
        self.cases = list(cases)
        first = self.cases[0]
        digest = hashlib.sha256(json.dumps([first.batch] + [[one.host, one.variables] for one in self.cases],
                                           sort_keys=True, default=repr).encode()).hexdigest()[:12]
        self.name = "%s-%s-%s" % (first.role.replace("_", "-"), "validate" if first.checks_only else "main", digest)
        self.root = root
        self.result = self._shared_result()

    def _shared_result(self) -> Dict[str, Any]:
        """The batch's result: run here, or read when another pytest-xdist worker ran it (waiting for it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        done = self.root / (self.name + ".json")
        with open(self.root / (self.name + ".lock"), "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # let go when the file closes, or the worker dies
            if not done.exists():
                result = self._execute(Path(tempfile.mkdtemp(prefix=self.name + "-", dir=self.root)))
                partial_result = done.with_suffix(".part")
                partial_result.write_text(json.dumps(result))
                partial_result.replace(done)
            return json.loads(done.read_text())

    def _execute(self, directory: Path) -> Dict[str, Any]:
        """Prepare each case in its own directory, then apply the role to all their hosts in one run."""
        hosts: Dict[str, Dict[str, Any]] = {}
        unprepared: Dict[str, str] = {}
        for one in self.cases:
            hosts[one.host] = dict(one.variables)
            if one.prepare is not None:
                (directory / one.host).mkdir()
                try:
                    hosts[one.host].update(one.prepare(directory / one.host))
                except (OSError, subprocess.CalledProcessError) as error:
                    unprepared[one.host] = repr(error)
                    del hosts[one.host]
        result: Dict[str, Any] = {"directory": str(directory), "unprepared": unprepared, "rc": None, "stdout": "",
                                  "stderr": ""}
        if not hosts:
            result["stderr"] = "no case of the batch could be prepared"
            return result
        first = self.cases[0]
        inventory: Dict[str, Any] = {"hosts": hosts}
        if first.groups:
            inventory["children"] = {group: {"hosts": {host: {} for host in hosts}} for group in first.groups}
        # JSON is YAML: the yaml inventory plugin reads it.
        (directory / "inventory.yml").write_text(json.dumps({"all": inventory}))
        (directory / "playbook.yml").write_text(playbook(first.role))
        extra = dict(first.extra_vars, test_tasks_from="validate" if first.checks_only else "main",
                     ansible_python_interpreter=sys.executable)
        # The facts in memory: the checkout's fact cache (.cache/facts) would get a file per case's host.
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                   ANSIBLE_CACHE_PLUGIN="memory", ANSIBLE_GATHERING="smart")
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(directory / "inventory.yml"),
                   "-c", "local", "--check", "-f", str(len(hosts)), "-e", json.dumps(extra),
                   str(directory / "playbook.yml")]
        try:
            proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BATCH_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            result["stderr"] = "ansible-playbook did not finish in %d s" % BATCH_TIMEOUT
            return result
        result.update(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
        return result

    def run_of(self, one: Case) -> Run:
        """What ``one``'s host did in the batch."""
        return read_run(self.result, one.host)


def read_run(result: Mapping[str, Any], host: str) -> Run:
    """What ``host`` did in a batch, from the batch's result; with a problem when the batch did not run through."""
    run = Run(host, [], {}, False, Path(result["directory"]) / host, result["stdout"] + result["stderr"])
    try:
        report = json.loads(result["stdout"])
        stats = report["stats"]
        tasks = [(play["play"]["name"], task["task"]["name"], task["hosts"][host])
                 for play in report["plays"] for task in play["tasks"] if host in task["hosts"]]
    except (ValueError, KeyError, TypeError):
        run.problem = "ansible-playbook (exit code %s) printed no result of the json callback" % result["rc"]
        return run
    for play, task, outcome in tasks:
        if play == END_PLAY:
            run.went_through = task == END_TASK and not outcome.get("failed")
        else:
            run.tasks.append((task.split(" : ", 1)[-1], outcome))
    run.stats = stats.get(host, {})
    failed = sorted(name for name, counts in stats.items() if counts.get("failures"))
    if host in result["unprepared"]:
        run.problem = "the case could not be prepared: " + result["unprepared"][host]
    elif result["rc"] not in (0, 2) or (result["rc"] == 2) != bool(failed):
        # 2: some host failed, none was unreachable; 0: none failed. Anything else: the run itself went wrong.
        run.problem = "ansible-playbook exited %s, with failures counted for %s" % (result["rc"], failed or "no host")
    elif not run.stats:
        run.problem = "the json callback counted nothing for the host"
    return run


class RoleRuns:
    """The batches of the collected cases, each run once, the first time one of its cases asks."""

    def __init__(self, cases: Sequence[Case], root: Path) -> None:
        self.cases = list(cases)
        self.root = root
        self.batches: Dict[str, Batch] = {}

    def __call__(self, one: Case) -> Run:
        """Apply ``one``'s role with its variables to its host, in check mode (in the batch of its kind)."""
        if one.batch not in self.batches:
            members = [other for other in self.cases if other.batch == one.batch]
            self.batches[one.batch] = Batch(members if one in members else members + [one], self.root)
        return self.batches[one.batch].run_of(one)


@pytest.fixture(scope="session")
def role_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RoleRuns:
    """The runs of the cases of the collected tests (the parameter ``case`` of each), shared by pytest-xdist's workers.

    Each worker collects every test, so all of them know the same batches; they meet in the session's temporary
    directory, the parent of each worker's own.
    """
    collected: List[Case] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        found = callspec.params.get("case") if callspec is not None else None
        if isinstance(found, Case) and found not in collected:
            collected.append(found)
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return RoleRuns(collected, shared / "role-input-safety")


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
    """The host's play stopped in an input check naming the variable (and the host), and nothing changed."""
    name, result = run.first_failure()
    message = result.get("msg", "")
    by_spec = name.startswith(SPEC_TASK)  # Ansible's task name goes on with the spec's short description
    assert by_spec or name in role_checks(role), "the first failure is %r, not an input check: %s" % (name, message)
    assert run.failed, "Ansible did not count the host failed: " + run.describe()
    assert variable in message, message
    if not by_spec:
        assert run.host in message, message
    for word in words:
        assert word in message, message
    assert [task for task, outcome in run.tasks if outcome.get("changed")] == []
    return message


def assert_accepted(run: Run) -> None:
    """The role's checks all passed and changed nothing."""
    assert run.succeeded, "the host did not go through the role's play (it failed, or the play stopped): " + run.describe()
    assert not [name for name, result in run.tasks if result.get("failed") or result.get("changed")]


# The batches themselves: an accepted host passes only when its batch ran through and it went through the role's play.

def batch_result(rc: Optional[int], others_failed: bool = False, counted: bool = True,
                 went_through: bool = True) -> Dict[str, Any]:
    """A batch's result for the host accepted-host (one check passed) and, with ``others_failed``, a refused host."""
    plays = [{"play": {"name": "Apply the macos role"}, "tasks": [
        {"task": {"name": "frontier.llm.macos : Check"}, "hosts": {"accepted-host": {"changed": False}}}]}]
    if went_through:
        plays.append({"play": {"name": END_PLAY}, "tasks": [{"task": {"name": END_TASK}, "hosts": {"accepted-host": {}}}]})
    stats = {"refused-host": {"failures": int(others_failed), "unreachable": 0}}
    if counted:
        stats["accepted-host"] = {"failures": 0, "unreachable": 0, "changed": 0, "ok": 2}
    return {"directory": "/nonexistent", "unprepared": {}, "rc": rc, "stdout": json.dumps({"plays": plays, "stats": stats}),
            "stderr": ""}


def test_an_accepted_host_passes_with_its_batch_and_despite_another_hosts_refusal() -> None:
    assert_accepted(read_run(batch_result(0), "accepted-host"))
    assert_accepted(read_run(batch_result(2, others_failed=True), "accepted-host"))


@pytest.mark.parametrize("result", [
    pytest.param(dict(batch_result(0), stdout=""), id="no-output"),
    pytest.param(dict(batch_result(0), stdout='{"plays": []'), id="cut-output"),
    pytest.param(batch_result(250), id="crashed-after-printing"),
    pytest.param(batch_result(4), id="unreachable-or-parse-error"),
    pytest.param(batch_result(None), id="timed-out"),
    pytest.param(batch_result(2), id="exit-2-but-no-failure-counted"),
    pytest.param(batch_result(0, others_failed=True), id="exit-0-but-a-failure-counted"),
    pytest.param(batch_result(0, counted=False), id="host-not-counted"),
    pytest.param(batch_result(2, others_failed=True, went_through=False), id="play-stopped-before-the-end"),
    pytest.param(dict(batch_result(0), unprepared={"accepted-host": "OSError()"}), id="case-not-prepared"),
])
def test_an_accepted_host_fails_when_its_batch_did_not_run_through(result: Dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        assert_accepted(read_run(result, "accepted-host"))


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


DOCKER_TCP = [["unix:///run/docker.sock", "0.0.0.0:2375"], [":2375"]]


@pytest.mark.parametrize("case", series("docker-tcp", "docker_engine", DOCKER_TCP,
                                        lambda hosts: {"docker_engine_daemon_extra": {"hosts": hosts}},
                                        ids=[",".join(hosts) for hosts in DOCKER_TCP]))
def test_docker_bare_tcp_listener_is_refused_before_any_change(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "docker_engine", "docker_engine_daemon_extra", "must not expose the Docker API over TCP",
                   case.param[-1])


@one_case("docker-metrics-anywhere", "docker_engine", variables={"docker_engine_daemon_extra": {"metrics-addr": "0.0.0.0:9323"}})
def test_docker_metrics_beyond_loopback_is_refused(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "docker_engine", "docker_engine_daemon_extra", "0.0.0.0:9323",
                   "docker_engine_metrics_beyond_loopback")


@one_case("docker-metrics-allowed", "docker_engine", checks_only=True, variables={
    "docker_engine_metrics_beyond_loopback": True, "docker_engine_daemon_extra": {"metrics-addr": "0.0.0.0:9323"}})
def test_docker_metrics_beyond_loopback_is_accepted_when_allowed(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


@one_case("docker-local-hosts", "docker_engine", checks_only=True, variables={"docker_engine_daemon_extra": {
    "hosts": ["fd://", "unix:///run/docker.sock"], "metrics-addr": "[::1]:9323"}})
def test_docker_local_hosts_and_loopback_metrics_are_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


@one_case("docker-unknown-user", "docker_engine", variables={"docker_engine_users": ["root", "no-such-user-frontier"]})
def test_docker_unknown_user_is_refused_by_name(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "docker_engine", "docker_engine_users names no-such-user-frontier,")


@one_case("docker-known-user", "docker_engine", checks_only=True, variables={"docker_engine_users": ["root"]})
def test_docker_known_user_is_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


@one_case("docker-short-key-id", "docker_engine", variables={"docker_engine_ce_gpg_fingerprints": ["0EBFCD88"]})
def test_docker_repository_key_fingerprints_must_be_fingerprints(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "docker_engine", "docker_engine_ce_gpg_fingerprints", "0EBFCD88")


@one_case("docker-fingerprint", "docker_engine", checks_only=True,
          variables={"docker_engine_ce_gpg_fingerprints": ["9dc858229fc7dd38854ae2d88d81803c0ebfcd88"]})
def test_docker_repository_key_fingerprint_is_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


@one_case("docker-proxy-injecting", "docker_engine", variables={
    "docker_engine_https_proxy": "http://user:s3cret@proxy.example:3128\nExecStartPre=/bin/touch /tmp/owned"})
def test_docker_proxy_that_would_inject_a_unit_line_is_refused_without_printing_it(case: Case,
                                                                                   role_run: RoleRuns) -> None:
    run = role_run(case)
    assert_refused(run, "docker_engine", "docker_engine_https_proxy")
    assert "s3cret" not in run.output  # nowhere in what the batch printed


@one_case("docker-proxy-encoded", "docker_engine", checks_only=True,
          variables={"docker_engine_http_proxy": "http://user:p%40ss@proxy.example:3128"})
def test_docker_proxy_with_a_password_is_accepted_without_printing_it(case: Case, role_run: RoleRuns) -> None:
    run = role_run(case)
    assert_accepted(run)
    assert "p%40ss" not in run.output


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

SWAP_FILE = {"linux_tuning_swap": "file"}


def swap_file_path(directory: Path) -> Dict[str, Any]:
    """A swap file yet to be made, in the case's directory."""
    return {"linux_tuning_swapfile_path": str(directory / "swapfile")}


def precious_file(directory: Path) -> Dict[str, Any]:
    """A file of data where the swap file would go."""
    (directory / "data").write_text("precious\n")
    return {"linux_tuning_swapfile_path": str(directory / "data")}


def through_links(directory: Path, path: str) -> Dict[str, Any]:
    """``path`` in the case's directory, where etc is a symbolic link to /etc and link one to /etc/passwd."""
    (directory / "etc").symlink_to("/etc")
    (directory / "link").symlink_to("/etc/passwd")
    return {"linux_tuning_swapfile_path": str(directory / path)}


def existing_swap_file(directory: Path) -> Dict[str, Any]:
    """A swap file of 1 MiB, made by mkswap."""
    swap = directory / "existing.swap"
    swap.write_bytes(b"\0" * 1048576)
    swap.chmod(0o600)
    subprocess.run(["mkswap", str(swap)], check=True, capture_output=True)
    return {"linux_tuning_swapfile_path": str(swap)}


def zeros(directory: Path, size: int) -> Dict[str, Any]:
    """A file of ``size`` zero bytes, as dd leaves it when it dies."""
    leftover = directory / ("swapfile-%d" % size)
    leftover.write_bytes(b"\0" * size)
    return {"linux_tuning_swapfile_path": str(leftover)}


def mostly_zeros(directory: Path) -> Dict[str, Any]:
    """Zeros, then data."""
    (directory / "mostly-zeros").write_bytes(b"\0" * 65536 + b"x")
    return {"linux_tuning_swapfile_path": str(directory / "mostly-zeros")}


@pytest.mark.parametrize("case", series(
    "swap-path", "linux_tuning", ["/etc/passwd", "/usr/swapfile", "/var/lib/swapfile", "/boot/swap", "/lib64/swap",
                                  "/run/swapfile", "swapfile", "/srv/../etc/passwd", "/swap file", "/swap;id"],
    lambda path: dict(SWAP_FILE, linux_tuning_swapfile_path=path)))
def test_swapfile_on_a_system_or_odd_path_is_refused(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "linux_tuning", "linux_tuning_swapfile_path", case.param)


@one_case("swap-over-data", "linux_tuning", variables=SWAP_FILE, prepare=precious_file)
def test_existing_file_that_is_not_swap_is_refused(case: Case, role_run: RoleRuns) -> None:
    run = role_run(case)
    data = run.directory / "data"
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", str(data), "not a swap file")
    assert data.read_text() == "precious\n"


SWAP_LINKS = ["etc/passwd", "link", "etc/frontier-swap"]


@pytest.mark.parametrize("case", [
    role_case("swap-link-%02d" % index, "linux_tuning", test_id=path, variables=SWAP_FILE, param=path,
              prepare=partial(through_links, path=path))
    for index, path in enumerate(SWAP_LINKS, 1)])
def test_swapfile_through_a_symbolic_link_is_refused(case: Case, role_run: RoleRuns) -> None:
    run = role_run(case)
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", str(run.directory / case.param), "symbolic link")


@pytest.mark.parametrize("case", series("swap-size", "linux_tuning", [0, -1, 10 ** 9],
                                        lambda size_mb: dict(SWAP_FILE, linux_tuning_swapfile_size_mb=size_mb),
                                        prepare=swap_file_path))
def test_swapfile_size_must_be_positive_and_fit_the_disk(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "linux_tuning", "linux_tuning_swapfile_size_mb", str(case.param))


@pytest.mark.parametrize("case", [
    role_case("swap-new", "linux_tuning", checks_only=True, variables=dict(SWAP_FILE, linux_tuning_swapfile_size_mb=1),
              prepare=swap_file_path),
    role_case("swap-existing", "linux_tuning", checks_only=True, variables=dict(SWAP_FILE, linux_tuning_swapfile_size_mb=1),
              prepare=existing_swap_file),
])
def test_new_or_existing_swap_file_is_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


GOVERNOR = "performance; touch /x"


@one_case("governor-by-spec", "linux_tuning", variables={"linux_tuning_cpu_governor": GOVERNOR})
def test_cpu_governor_outside_the_kernels_names_is_refused(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "linux_tuning", "linux_tuning_cpu_governor", GOVERNOR)


# The role's own check, for runs that skip the argument spec (--skip-tags always).
@one_case("governor-by-check", "linux_tuning", checks_only=True, variables={"linux_tuning_cpu_governor": GOVERNOR})
def test_cpu_governor_outside_the_kernels_names_is_refused_by_the_roles_check(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "linux_tuning", "linux_tuning_cpu_governor", GOVERNOR)


@one_case("governor-of-the-kernel", "linux_tuning", checks_only=True,
          variables={"linux_tuning_swap": "keep", "linux_tuning_cpu_governor": "performance"})
def test_cpu_governor_of_the_kernel_is_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


@one_case("swap-auto-without-plan", "linux_tuning")
def test_swap_auto_without_a_plan_is_refused(case: Case, role_run: RoleRuns) -> None:
    # auto follows the plan; without one it used to mean "off", turning the host's swap off unasked.
    assert_refused(role_run(case), "linux_tuning", "linux_tuning_swap", "planner_plan")


SWAP_POLICIES = [("auto", {"profile": "medium"}), ("off", None), ("keep", None)]


@pytest.mark.parametrize("case", series(
    "swap-policy", "linux_tuning", SWAP_POLICIES, checks_only=True, ids=[policy for policy, _plan in SWAP_POLICIES],
    variables=lambda policy_plan: dict({"linux_tuning_swap": policy_plan[0]},
                                       **({"planner_plan": policy_plan[1]} if policy_plan[1] else {}))))
def test_swap_auto_with_a_plan_or_an_explicit_policy_is_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


# dd died before mkswap (the full size) or during dd (part of it): nothing there to lose.
@pytest.mark.parametrize("case", [
    role_case("swap-zeros-%02d" % index, "linux_tuning", test_id=str(size), checks_only=True,
              variables=dict(SWAP_FILE, linux_tuning_swapfile_size_mb=1), prepare=partial(zeros, size=size))
    for index, size in enumerate((1048576, 65536, 0), 1)])
def test_zeros_left_by_an_interrupted_run_are_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


@one_case("swap-mostly-zeros", "linux_tuning", variables=dict(SWAP_FILE, linux_tuning_swapfile_size_mb=1),
          prepare=mostly_zeros)
def test_zeros_then_data_are_refused(case: Case, role_run: RoleRuns) -> None:
    run = role_run(case)
    assert_refused(run, "linux_tuning", "linux_tuning_swapfile_path", str(run.directory / "mostly-zeros"),
                   "not a swap file")


def test_governor_choices_are_the_kernels() -> None:
    spec = yaml.safe_load((ROOT / "roles/linux_tuning/meta/argument_specs.yml").read_text())
    choices = spec["argument_specs"]["main"]["options"]["linux_tuning_cpu_governor"]["choices"]
    names = yaml.safe_load((ROOT / "roles/linux_tuning/vars/main.yml").read_text())["linux_tuning_cpu_governors"]
    assert choices == [None] + names
    assert set(names) == {"performance", "powersave", "schedutil", "ondemand", "conservative", "userspace"}


# macos: the native Ollama on loopback unless opened on purpose.

@pytest.mark.parametrize("case", series(
    "ollama-refused", "macos", ["0.0.0.0:11434", ":11434", "192.168.1.10:11434", "localhost:11434", "127.0.0.1",
                                "127.0.0.1:99999"],
    lambda host: {"macos_ollama_native": True, "macos_ollama_host": host}, extra_vars={"ansible_facts": MAC}))
def test_native_ollama_beyond_loopback_is_refused(case: Case, role_run: RoleRuns) -> None:
    assert_refused(role_run(case), "macos", "macos_ollama_host", case.param, "macos_ollama_allow_network")


OLLAMA_ACCEPTED = [("127.0.0.1:11434", False), ("[::1]:11500", False), ("0.0.0.0:11434", True)]


@pytest.mark.parametrize("case", series(
    "ollama-accepted", "macos", OLLAMA_ACCEPTED, checks_only=True, extra_vars={"ansible_facts": MAC},
    ids=["%s-%s" % host_allow for host_allow in OLLAMA_ACCEPTED],
    variables=lambda host_allow: {"macos_ollama_native": True, "macos_ollama_host": host_allow[0],
                                  "macos_ollama_allow_network": host_allow[1]}))
def test_native_ollama_address_is_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


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


def with_plan(directory: Path) -> Dict[str, Any]:  # pylint: disable=unused-argument
    """The plan the stack serves, as planner_plan."""
    return {"planner_plan": stack_plan()}


@pytest.mark.parametrize("case", series(
    "stack-refused", "stack", STACK_REFUSALS, lambda refusal: {"stack_port_check": False, refusal[0]: refusal[1]},
    ids=["%s=%r" % (refusal[0], refusal[1]) for refusal in STACK_REFUSALS], prepare=with_plan))
def test_stack_value_that_reaches_nginx_or_compose_is_refused_before_any_change(case: Case, role_run: RoleRuns) -> None:
    _variable, _value, named, word = case.param
    run = role_run(case)
    assert_refused(run, "stack", named, word)
    assert "Create the stack's directories" not in [name for name, _result in run.tasks]


@one_case("stack-safe-values", "stack", checks_only=True, prepare=with_plan, variables={
    "stack_port_check": False, "stack_ops_key_name": "ops-2", "stack_api_keys": [{"name": "team-a_1"}, {"name": "b"}],
    "stack_engine_start_period": "1h30m", "stack_public_url": "https://llm.example.com:8443/gw",
    "stack_max_body_size": "64m", "stack_image_archives": ["/srv/images/stack.tar"],
    "stack_verify_cert_dir": "plans/certs", "stack_pull_timeout": 7200, "stack_wait_timeout": 60})
def test_stack_safe_values_are_accepted(case: Case, role_run: RoleRuns) -> None:
    assert_accepted(role_run(case))


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

SWARM_GROUPS = ("swarm_managers", "swarm_workers")
SWARM_MODELS = [{"name": "smollm2", "gguf": "/srv/frontier-test/smollm2.gguf"}]
SWARM_REFUSALS = [
    ("swarm_advertise_addr", "300.0.0.1", "swarm_advertise_addr", "300.0.0.1"),
    ("swarm_image_archives", ["images.tar"], "swarm_image_archives[0]", "images.tar"),
    ("stack_engine_start_period", "soon", "stack_engine_start_period", "soon"),
    ("stack_public_url", "http://llm.example.com", "stack_public_url", "https://"),
    ("stack_ops_key_name", 'ops" ; include /etc/passwd; "', "stack_ops_key_name", "a-z 0-9"),
]


@pytest.mark.parametrize("case", series(
    "swarm-refused", "swarm", SWARM_REFUSALS, groups=SWARM_GROUPS,
    ids=["%s=%r" % (refusal[0], refusal[1]) for refusal in SWARM_REFUSALS],
    variables=lambda refusal: {"swarm_advertise_addr": "10.0.0.5", "swarm_models": SWARM_MODELS, refusal[0]: refusal[1]}))
def test_swarm_value_is_refused_before_any_change(case: Case, role_run: RoleRuns) -> None:
    _variable, _value, named, word = case.param
    assert_refused(role_run(case), "swarm", named, word)


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
