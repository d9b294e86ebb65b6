"""Benchmarks of the planner, run by `make bench`. Prints figures; asserts nothing.

1. Plans per second: resource_plan over 10,000 synthetic hosts in this process, beside
   model_memory calls over the same hosts' models with the settings each plan sized them with
   (ctx, parallel, cache type, flash attention, engine, backend, GPUs): the ratio is what a plan
   costs beyond sizing its models. Again for the plans that fit alone, which make no suggestions.
2. playbooks/plan.yml on a 200-host offline inventory, its wall time divided by that of a
   no-op playbook (one set_fact per host) over the same inventory, both run here, one after
   the other, with the same forks.
3. The docker_engine role's idempotent re-run on a Debian 13 systemd container (converged
   once first, not timed), divided by `ansible -m setup` on the same container, alternated
   three times each; needs a Docker engine and the test image (tests/platform/build-images.sh).
4. P1: site.yml's idempotent re-run on the sandbox host (inventories/sandbox, made by the first, untimed
   run), divided by `ansible -m setup` on it, alternated twice each; a sandbox made for it is removed after.
5. P2: site.yml's idempotent re-run on the four sandbox hosts of tests/fleet, divided by the same re-run
   limited to one of them, alternated twice each (four, not the issue's six: four nested Docker engines with
   their stacks is what two cores carry); the hosts are removed after.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.frontier.llm.plugins.module_utils import catalog  # noqa: E402
from ansible_collections.frontier.llm.plugins.module_utils.planner import PROFILES, resource_plan  # noqa: E402
from ansible_collections.frontier.llm.plugins.module_utils.sizing import model_memory  # noqa: E402

TAGS = sorted(catalog.MODELS)


def synthetic_host(rng: random.Random) -> Dict[str, Any]:
    """Facts of a random host: Linux or macOS, 8 GiB to 1 TiB, sometimes GPUs and NUMA."""
    ram = rng.choice([8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024]) * 1024
    vcpus = rng.choice([2, 4, 8, 16, 24, 32, 64, 128])
    mac = rng.random() < 0.2
    ours: Dict[str, Any] = {"physical_cores": vcpus if mac else max(1, vcpus // 2), "gpus": [], "numa_nodes": []}
    if mac:
        ours.update(apple_silicon=True, gpu_working_set_mb=ram * 3 // 4)
    else:
        if rng.random() < 0.3:
            ours["gpus"] = [{"vendor": "nvidia", "index": i, "memory_mb": rng.choice([16384, 24576, 81920])}
                            for i in range(rng.choice([1, 2, 4]))]
        if rng.random() < 0.3 and vcpus >= 4:
            half = vcpus // 2
            ours["numa_nodes"] = [{"id": 0, "cpus": "0-%d" % (half - 1), "memory_mb": ram // 2},
                                  {"id": 1, "cpus": "%d-%d" % (half, vcpus - 1), "memory_mb": ram // 2}]
    return {"system": "Darwin" if mac else "Linux", "memtotal_mb": ram, "processor_vcpus": vcpus, "frontier_llm": ours}


def sizing_arguments(facts: Dict[str, Any], plan: Dict[str, Any]) -> Dict[str, Any]:
    """model_memory's arguments for the settings a plan sized its models with (the synthetic GPUs are all NVIDIA)."""
    settings = plan["settings"]
    gpus = len(facts["frontier_llm"]["gpus"]) if plan["backend"] in ("cuda", "rocm") else 0
    return {"ctx": settings["ctx"], "parallel": settings["parallel"], "kv_cache_type": settings["kv_cache_type"],
            "flash_attention": settings["flash_attention"], "engine": plan["engine"], "backend": plan["backend"],
            "gpu_count": max(gpus, 1)}


def time_plans(cases: List[Any], arguments: List[Dict[str, Any]]) -> Tuple[float, float]:
    """Seconds to plan each case, and seconds to size its models alone with the plan's settings (``arguments``).

    The plans are not kept: a list of thousands of them would slow the garbage collector down as it grows.
    """
    start = time.perf_counter()
    for facts, models, profile in cases:
        resource_plan(facts, models=models, profile=profile)
    plan_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for (_facts, models, _profile), sizing in zip(cases, arguments):
        for model in models:
            model_memory(model, **sizing)
    return plan_seconds, time.perf_counter() - start


def bench_plans(count: int = 10000) -> None:
    rng = random.Random(20261127)
    cases = [(synthetic_host(rng), rng.sample(TAGS, rng.randint(1, 3)), rng.choice(["auto"] + sorted(PROFILES)))
             for _index in range(count)]
    arguments, fits = [], []
    for facts, models, profile in cases:  # not timed: each plan's settings, and whether it fits
        plan = resource_plan(facts, models=models, profile=profile)
        arguments.append(sizing_arguments(facts, plan))
        fits.append(plan["fits"])
    plan_seconds, sizing_seconds = time_plans(cases, arguments)
    fitting = [index for index, fit in enumerate(fits) if fit]
    fit_plan_seconds, fit_sizing_seconds = time_plans([cases[index] for index in fitting],
                                                      [arguments[index] for index in fitting])
    print("planner: %d plans in %.2f s = %.0f plans/s (%d fit); sizing the same models alone took %.2f s, "
          "plan/sizing time ratio %.1f (%.1f for the %d plans that fit, which make no suggestions)"
          % (count, plan_seconds, count / plan_seconds, len(fitting), sizing_seconds, plan_seconds / sizing_seconds,
             fit_plan_seconds / fit_sizing_seconds, len(fitting)))


def inventory(path: Path, hosts: int = 200) -> None:
    rng = random.Random(7)
    entries = {}
    for index in range(hosts):
        entries["host-%03d" % index] = {"frontier_llm_facts": synthetic_host(rng),
                                        "planner_models": rng.sample(TAGS, rng.randint(1, 3)),
                                        "planner_allow_overcommit": True}
    path.write_text(yaml.safe_dump({"all": {"hosts": entries}}))


def timed(args: List[str], cwd: Path, program: str = "ansible-playbook") -> float:
    """Wall time of one run of an Ansible command from the venv; a failure stops the benchmark."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PWD=str(cwd), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.null")
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / program), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("bench: %s %s failed:\n%s%s" % (program, " ".join(args), proc.stdout[-2000:], proc.stderr[-2000:]))
    return seconds


def bench_playbook(hosts: int = 200, forks: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inventory(work / "hosts.yml", hosts)
        (work / "noop.yml").write_text(
            "- name: No-op\n  hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - name: Set one fact\n      ansible.builtin.set_fact:\n        bench_noop: true\n")
        noop = timed([str(work / "noop.yml"), "-i", str(work / "hosts.yml"), "-f", str(forks)], work)
        plan = timed([str(ROOT / "playbooks" / "plan.yml"), "-i", str(work / "hosts.yml"), "-f", str(forks)], work)
        print("plan.yml: %d offline hosts in %.1f s; no-op playbook %.1f s; ratio %.2f (forks %d)"
              % (hosts, plan, noop, plan / noop, forks))


BENCH_CONTAINER = "frontier-bench-engine"
# The container settings of .config/molecule/config.yml, for `docker run`.
SYSTEMD_DIND = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
                "--security-opt", "apparmor=unconfined", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-v", "/var/lib/docker"]


def bench_docker_engine(rounds: int = 3) -> None:
    image = os.environ.get("FRONTIER_TEST_IMAGE_DEBIAN13", "frontier-llm/systemd:debian13")
    subprocess.run([str(ROOT / "tests/platform/build-images.sh"), "debian13"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["docker", "rm", "-f", BENCH_CONTAINER], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", BENCH_CONTAINER, *SYSTEMD_DIND, image], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        for _attempt in range(60):
            state = subprocess.run(["docker", "exec", BENCH_CONTAINER, "systemctl", "is-system-running"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(1)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {BENCH_CONTAINER: {
                "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
            converge = [str(ROOT / "molecule/docker_engine/converge.yml"), "-i", str(work / "hosts.yml")]
            timed(converge, work)  # the first converge installs the engine; not measured
            role, setup = [], []
            for _round in range(rounds):
                role.append(timed(converge, work))
                setup.append(timed([BENCH_CONTAINER, "-i", str(work / "hosts.yml"), "-m", "ansible.builtin.setup"],
                                   work, program="ansible"))
        best_role, best_setup = min(role), min(setup)
        print("docker_engine: idempotent re-run %.1f s, ansible -m setup %.1f s (best of %d each); ratio %.1f"
              % (best_role, best_setup, rounds, best_role / best_setup))
    finally:
        subprocess.run(["docker", "rm", "-f", BENCH_CONTAINER], capture_output=True, check=False)


def bench_site(rounds: int = 2) -> None:
    sandbox = ["-i", str(ROOT / "inventories/sandbox"), "-e", "sandbox_cache_dir=%s" % (ROOT / ".cache")]
    existed = subprocess.run(["docker", "inspect", "frontier-sandbox"], capture_output=True, check=False).returncode == 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            timed([str(ROOT / "site.yml"), *sandbox], work)  # makes and provisions the sandbox; not measured
            site, setup = [], []
            for _round in range(rounds):
                site.append(timed([str(ROOT / "site.yml"), *sandbox], work))
                setup.append(timed(["frontier-sandbox", "-i", str(ROOT / "inventories/sandbox"), "-m",
                                    "ansible.builtin.setup"], work, program="ansible"))
            best_site, best_setup = min(site), min(setup)
            print("P1 site.yml: idempotent re-run on the sandbox %.1f s, ansible -m setup %.1f s (best of %d each); "
                  "ratio %.1f (goal 3)" % (best_site, best_setup, rounds, best_site / best_setup))
        finally:
            if not existed:  # a sandbox the user had stays
                timed([str(ROOT / "playbooks/sandbox.yml"), *sandbox, "-e", "sandbox_state=absent"], work)


def bench_fleet(rounds: int = 2) -> None:
    fleet = ["-i", str(ROOT / "tests/fleet"), "-e", "sandbox_cache_dir=%s" % (ROOT / ".cache")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            timed([str(ROOT / "site.yml"), *fleet], work)  # makes and provisions the four hosts; not measured
            four, one = [], []
            for _round in range(rounds):
                four.append(timed([str(ROOT / "site.yml"), *fleet], work))
                one.append(timed([str(ROOT / "site.yml"), *fleet, "--limit", "fleet-a"], work))
            best_four, best_one = min(four), min(one)
            print("P2 site.yml: idempotent re-run on 4 hosts %.1f s, on 1 host %.1f s (best of %d each); ratio %.2f "
                  "(goal 2, for six)" % (best_four, best_one, rounds, best_four / best_one))
        finally:
            timed([str(ROOT / "playbooks/sandbox.yml"), *fleet, "-e", "sandbox_state=absent"], work)


BENCHES = {"planner": bench_plans, "playbook": bench_playbook, "docker_engine": bench_docker_engine, "site": bench_site,
           "fleet": bench_fleet}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(BENCHES), action="append",
                        help="run only this benchmark (repeat for more); all of them by default")
    for name in parser.parse_args().only or BENCHES:
        BENCHES[name]()
