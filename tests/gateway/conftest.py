"""The gateway under test: the role's own nginx.conf.j2, router.js and policy, in the stack's Nginx image, in front
of a recording upstream (``recorder.py``, a test double for the engine) on a Docker network of its own.

Needs a running Docker engine and the images ``make images`` builds (the stack's Nginx image, and the Debian 13
systemd image for the recorder's Python). A missing one fails the tests: it is never skipped.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import uuid
from http.client import HTTPSConnection
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.frontier.llm.plugins.module_utils import apikeys, gateway, planner  # noqa: E402

NGINX_IMAGE = os.environ.get("FRONTIER_TEST_NGINX_IMAGE", "frontier-llm/nginx:1.26-debian13")
PYTHON_IMAGE = os.environ.get("FRONTIER_TEST_IMAGE_DEBIAN13", "frontier-llm/systemd:debian13")
UPSTREAM_PORT = 8000
KEYS = {"alice": "flm_user_key_of_alice_for_the_gateway_tests_0001",
        "frontier-ops": "flm_operator_key_for_the_gateway_tests_00000001"}
# SmolLM2-135M-Instruct's header figures, as the sandbox serves it.
SMOLLM2 = {"name": "smollm2", "n_layer": 30, "n_head": 9, "n_head_kv": 3, "head_dim": 64, "embedding_length": 576,
           "vocab_size": 49152, "context_length": 8192, "file_bytes": 96550000}
FACTS = {"memtotal_mb": 16384, "processor_vcpus": 4, "system": "Linux",
         "frontier_llm": {"physical_cores": 4, "numa_nodes": [], "gpus": []}}


def docker(*args: str, check: bool = True) -> str:
    """Run a docker command; its stdout."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout.strip()


def plan_for(engine: str, ctx: int = 2048) -> Dict[str, Any]:
    """The planner's plan of a 16 GiB host serving SmolLM2 with ``engine``."""
    return planner.resource_plan(FACTS, [dict(SMOLLM2, ctx=ctx)], engine=engine, ctx=ctx, parallel=2)


def render_nginx_conf(dest: Path, variables: Mapping[str, Any]) -> None:
    """The role's nginx.conf.j2 rendered by Ansible's template module, as the role renders it."""
    vars_file = dest.parent / "template-vars.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
         "-e", "ansible_python_interpreter=" + sys.executable, "-e", "@%s" % vars_file, "-m", "ansible.builtin.template",
         "-a", json.dumps({"src": str(ROOT / "roles/stack/templates/nginx.conf.j2"), "dest": str(dest)})],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


class Gateway:
    """A running gateway and its recording upstream."""

    def __init__(self, workdir: Path, policy: Tuple[Any, ...], engine_vars: Mapping[str, Any],
                 settings: Optional[Mapping[str, Any]] = None) -> None:
        self.workdir = workdir
        self.name = "frontier-gwtest-%s" % uuid.uuid4().hex[:8]
        conf = workdir / "nginx"
        (conf / "tls").mkdir(parents=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(conf / "tls/key.pem"), "-out", str(conf / "tls/cert.pem")],
                       check=True, capture_output=True)
        store = {name: {"generation": 1, "key": key, "previous": None} for name, key in KEYS.items()}
        (conf / "keys.map").write_text(apikeys.nginx_map(store))
        (conf / "policy.js").write_text(gateway.policy_module(*policy))
        (conf / "router.js").write_text((ROOT / "roles/stack/files/nginx/router.js").read_text())
        variables = {"stack_engine": dict(engine_vars), "stack_rate_limit": "1000r/s", "stack_rate_burst": 1000,
                     "stack_conn_limit": 64, "stack_max_body_size": "1m", "stack_ops_key_name": "frontier-ops",
                     "stack_unauthenticated_rate_limit": "1000r/s", "stack_unauthenticated_burst": 1000,
                     "stack_nginx_http_port": None, "stack_nginx_https_port": 443}
        variables.update(settings or {})
        render_nginx_conf(conf / "nginx.conf", variables)
        (workdir / "record").mkdir()
        self.log = workdir / "record" / "log.jsonl"
        self.log.touch()
        # The modes the role gives the files the running Nginx reads (stack_gateway_files, directories 0700): Nginx's
        # workers, which are not root, read none of them.
        role_vars = yaml.safe_load((ROOT / "roles/stack/vars/main.yml").read_text())
        for entry in role_vars["stack_gateway_files"]:
            (conf / entry["file"]).chmod(int(entry["mode"], 8))
        for path in (conf, conf / "tls"):
            path.chmod(0o700)
        (workdir / "record").chmod(0o777)
        self.log.chmod(0o666)
        docker("network", "create", self.name)
        docker("run", "-d", "--name", self.name + "-upstream", "--network", self.name, "--network-alias", "upstream",
               "-v", "%s:/recorder:ro" % (ROOT / "tests/gateway"), "-v", "%s:/record" % (workdir / "record"),
               "--entrypoint", "python3", PYTHON_IMAGE, "/recorder/recorder.py", str(UPSTREAM_PORT), "/record/log.jsonl")
        docker("run", "-d", "--name", self.name + "-nginx", "--network", self.name, "-p", "127.0.0.1::443",
               "-v", "%s:/etc/nginx/frontier:ro" % conf, NGINX_IMAGE,
               "nginx", "-c", "/etc/nginx/frontier/nginx.conf", "-g", "daemon off;")
        self.port = int(docker("port", self.name + "-nginx", "443/tcp").splitlines()[0].rsplit(":", 1)[1])
        self.context = ssl.create_default_context(cafile=str(conf / "tls/cert.pem"))
        deadline = time.time() + 30
        while True:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError("the gateway did not answer: %s" % docker("logs", self.name + "-nginx", check=False))
            time.sleep(0.3)

    def request(self, method: str, path: str, key: Optional[str] = None, body: Any = None,
                raw_body: Optional[bytes] = None) -> Tuple[int, Dict[str, Any]]:
        """Send one request through the gateway; its status and JSON answer ({} when it is not JSON)."""
        connection = HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=10)
        headers = {"Authorization": "Bearer %s" % KEYS[key]} if key else {}
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read()
        connection.close()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {}
        return response.status, answer if isinstance(answer, dict) else {"value": answer}

    def recorded(self) -> List[Dict[str, Any]]:
        """What reached the upstream since the last call (the record is emptied)."""
        lines = self.log.read_text().splitlines()
        self.log.write_text("")
        return [json.loads(line) for line in lines if line.strip()]

    def close(self) -> None:
        """Remove the containers and the network."""
        docker("rm", "-f", self.name + "-nginx", self.name + "-upstream", check=False)
        docker("network", "rm", self.name, check=False)


def single_host_vars(engine: str, monitoring: bool = False) -> Dict[str, Any]:
    """stack_engine as the single-host stack's compose project gives it, with the recorder as the engine."""
    return {"engine": engine, "engine_service": "upstream", "engine_port": UPSTREAM_PORT, "health_path": "/v1/models",
            "monitoring": monitoring, "gateway_log": None, "grafana": False}


@pytest.fixture(scope="module")
def gateway_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start gateways for a test module; each is removed at the module's end."""
    started: List[Gateway] = []

    def start(policy: Tuple[Any, ...], engine_vars: Mapping[str, Any],
              settings: Optional[Mapping[str, Any]] = None) -> Gateway:
        found = Gateway(tmp_path_factory.mktemp("gateway"), policy, engine_vars, settings)
        started.append(found)
        return found

    yield start
    for found in started:
        found.close()


def routes_fixture(engine: str) -> Dict[str, Any]:
    """The engine's whole route table, read from its upstream source (tests/gateway/routes/)."""
    return json.loads((ROOT / "tests" / "gateway" / "routes" / ("%s.json" % engine)).read_text())


__all__ = ["KEYS", "Gateway", "docker", "gateway", "gateway_factory", "plan_for", "routes_fixture", "single_host_vars"]
