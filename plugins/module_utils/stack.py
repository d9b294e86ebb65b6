# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Compose project of the LLM stack, computed from a resource plan.

Plain Python with no Ansible import. :func:`compose_project` turns ``planner_plan`` and the
stack role's settings into the Compose file's content, so every limit the stack applies is
the plan's and a unit test can check it without Docker. :func:`engine_env` is the engine's
environment file: the plan's ``env`` plus the wiring the container needs (its listen address,
its models directory, the model file for llama.cpp).

Rules:

- Only Nginx publishes ports, on ``bind_address``; the engine listens on the project's
  network alone. Plain HTTP on Nginx only redirects to HTTPS.
- Each service gets ``mem_limit``, ``mem_reservation`` and ``cpus`` from the plan; the
  engine also gets the NUMA node's CPUs as its cpuset (``linux_tuning_numa``) and, on NVIDIA hosts, a device
  reservation for every GPU (``deploy.resources.reservations.devices``).
- Healthchecks use what each image contains: the Ollama image has no curl, so its check is
  ``ollama list`` (the CLI asks the server); llama-server answers ``/health`` with 503 while
  it loads the model.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.frontier.llm.plugins.module_utils import apikeys
from ansible_collections.frontier.llm.plugins.module_utils import monitoring as monitoring_utils
from ansible_collections.frontier.llm.plugins.module_utils.sizing import ENGINE_SERVICE, PlanError

PROJECT = "frontier-llm"
NETWORK = "backend"

# How each engine runs in a container: its port, where its models live, its healthcheck and
# the environment that wires it to the stack (the plan's env comes on top). probe_path: what the blackbox
# exporter GETs on the project's network for the LLMEngineDown alert (monitoring.probe_job), a cheap answer
# that is 2xx only when the engine serves: llama-server's and mistral.rs's /health (503 while a model loads),
# Ollama's /api/version (its server answers it without touching a model; Ollama has no /health).
ENGINES: Dict[str, Dict[str, Any]] = {
    "ollama": {
        "port": 11434,
        "models_mount": "/root/.ollama",
        "healthcheck": ["CMD", "ollama", "list"],
        "env": {"OLLAMA_HOST": "0.0.0.0:11434", "OLLAMA_MODELS": "/root/.ollama/models"},
        "health_path": "/api/tags",
        "probe_path": "/api/version",
    },
    "llamacpp": {
        "port": 8080,
        "models_mount": "/models",
        "healthcheck": ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health"],
        "env": {"LLAMA_ARG_HOST": "0.0.0.0", "LLAMA_ARG_PORT": "8080"},
        "health_path": "/v1/models",
        "probe_path": "/health",
    },
    # mistral.rs reads its settings from upstream's `mistralrs from-config` TOML file (written from the plan by
    # mistralrs_config); each model's GGUF file is mounted alone at /models/<name>/<file>, and the server runs in
    # /models, so a model's id (what requests name) is its name.
    "mistralrs": {
        "port": 1234,
        "models_mount": "/models",
        "healthcheck": ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:1234/health"],
        "env": {},
        "health_path": "/v1/models",
        "probe_path": "/health",
        "config": "/etc/mistralrs/config.toml",
    },
}
# A model's name where it becomes a directory (mistral.rs): no slash, no leading dot.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}\Z")

# An image reference with a tag or a digest (docker/distribution reference grammar, reduced).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(
    r"^(?:(?P<registry>[A-Za-z0-9.-]+(?::[0-9]+)?)/)?(?P<path>%s(?:/%s)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?\Z" % (_COMPONENT, _COMPONENT))
MODEL_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}\.gguf\Z")
# Directories a stack (or its models) must never be put into or onto.
SYSTEM_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root",
               "/run", "/sbin", "/sys", "/usr", "/var", "/var/lib", "/var/log", "/tmp", "/home")
SAFE_PATH_RE = re.compile(r"^/[A-Za-z0-9._/-]*\Z")
# A certificate's DNS subject alternative name (RFC 1123 labels, a leading wildcard allowed).
TLS_DNS_NAME_RE = re.compile(r"^DNS:(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z")


# The oldest Docker engine and Compose the stack runs on: Compose v2's `up --wait` with healthchecks and the
# project's network and volume keys as the role writes them (2.18), on an engine with cgroup v2 support (20.10).
MIN_DOCKER_VERSION = (20, 10)
MIN_COMPOSE_VERSION = (2, 18)
_VERSION_RE = re.compile(r"^v?([0-9]+)\.([0-9]+)")


def docker_version_errors(docker: Any, compose: Any, system: str = "Linux") -> List[str]:
    """What is wrong with a host's Docker engine and Compose versions (empty: nothing), for the preflight.

    :param docker: ``docker version``'s server version, empty when Docker is absent or not running.
    :param compose: ``docker compose version --short``, empty when Compose v2 is absent.
    :param system: ``Linux`` (where frontier.llm.docker_engine installs both when absent) or ``Darwin``
        (Docker Desktop must be there).
    """
    errors: List[str] = []
    for name, found, minimum in (("the Docker engine", docker, MIN_DOCKER_VERSION),
                                 ("Compose v2", compose, MIN_COMPOSE_VERSION)):
        text = str(found or "").strip()
        if not text:
            if system == "Darwin":
                errors.append("%s does not answer: install and start Docker Desktop (it brings Compose v2)" % name)
            continue
        parsed = _VERSION_RE.match(text)
        if parsed is None:
            errors.append("%s reports the version %r, which is not one the preflight can read" % (name, text))
        elif (int(parsed.group(1)), int(parsed.group(2))) < minimum:
            errors.append("%s is %s; the stack needs %d.%d or newer: upgrade it (Docker's own packages, or Docker "
                          "Desktop) before running" % (name, text, minimum[0], minimum[1]))
    return errors


def check_image(reference: Any, name: str) -> str:
    """Return a pinned image reference, or raise naming the variable: a tag or digest, never latest."""
    found = IMAGE_RE.match(reference) if isinstance(reference, str) else None
    if found is None:
        raise PlanError("%s: %r is not an image reference such as nginx:1.28.0" % (name, reference))
    if not found.group("tag") and not found.group("digest"):
        raise PlanError("%s: %r has no tag: pin a version (nothing :latest)" % (name, reference))
    if found.group("tag") == "latest":
        raise PlanError("%s: %r is :latest: pin a version" % (name, reference))
    return reference


def check_path(path: Any, name: str) -> str:
    """Return an absolute, plain path that is not a system directory, or raise naming the variable."""
    if not isinstance(path, str) or not SAFE_PATH_RE.match(path) or "/../" in path + "/" or "//" in path:
        raise PlanError("%s: %r must be an absolute path of letters, digits and . _ - / only" % (name, path))
    normal = path.rstrip("/") or "/"
    if normal in SYSTEM_DIRS:
        raise PlanError("%s: %r is a system directory; use a directory of its own such as /opt/frontier-llm" % (name, path))
    return normal


def engine_env(plan: Mapping[str, Any], model_files: Optional[Mapping[str, str]] = None,
               extra: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
    """The engine's environment: the plan's ``env``, the container's wiring and the user's extra.

    :param model_files: model name -> file name in the models directory (llama.cpp).
    :param extra: ``stack_engine_env_extra``, variables the plan does not set (a proxy for
        pulls, a debug switch); one that the plan or the wiring sets is refused, so the plan
        stays the one source of every sizing setting.
    """
    engine = plan["engine"]
    env: Dict[str, str] = dict(ENGINES[engine]["env"])
    env.update({str(key): str(value) for key, value in plan["env"].items()})
    clash = sorted(set(extra or {}) & (set(env) | {"LLAMA_ARG_MODEL", "LLAMA_ARG_ALIAS"}))
    if clash:
        raise PlanError("stack_engine_env_extra: %s set by the plan or the stack; change them through the planner's "
                        "variables (planner_ctx, planner_parallel, ...)" % ", ".join(clash))
    env.update({str(key): str(value) for key, value in (extra or {}).items()})
    if engine == "llamacpp":
        name = plan["models"][0]["name"]
        files = dict(model_files or {})
        if name not in files:
            raise PlanError("stack_model_files: no GGUF file for %r, the model the plan serves with llamacpp" % name)
        env["LLAMA_ARG_MODEL"] = "%s/%s" % (ENGINES[engine]["models_mount"], files[name])
        env["LLAMA_ARG_ALIAS"] = name
    elif engine == "mistralrs":
        _mistralrs_files(plan, model_files)
    for key, value in env.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\Z", key) or re.search(r"[\x00-\x1f\x7f]", value):
            raise PlanError("planner_plan.env: %s=%r cannot go into an environment file (a name of letters, digits "
                            "and _, a value without control characters)" % (key, value))
    return env


def _mistralrs_files(plan: Mapping[str, Any], model_files: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Model name -> GGUF file name for every model of a mistral.rs plan; raise naming what is missing or unsafe."""
    files = dict(model_files or {})
    result: Dict[str, str] = {}
    for model in plan["models"]:
        name = model["name"]
        if name not in files:
            raise PlanError("stack_model_files: no GGUF file for %r; mistral.rs serves every model of the plan from "
                            "its GGUF file" % name)
        if not MODEL_NAME_RE.match(name):
            raise PlanError("planner_models: %r cannot name a model for mistral.rs (it becomes a directory): letters, "
                            "digits and . _ : + - only, at most 128" % name)
        if not MODEL_FILE_RE.match(files[name]):
            raise PlanError("stack_model_files[%s]: %r is not a .gguf file name" % (name, files[name]))
        result[name] = files[name]
    return result


def _toml(value: Any) -> str:
    """A TOML value for a string, whole number or boolean (JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def mistralrs_config(plan: Mapping[str, Any], model_files: Optional[Mapping[str, str]] = None) -> str:
    """The TOML file mistral.rs serves from (``mistralrs from-config --file``), every figure the plan's.

    ``max_seqs`` is the plan's parallel; each model's ``max_seq_len`` (what mistral.rs maps devices for) its
    context; ``cpu`` forces the CPU when the plan has no GPU; paged attention stays off, because by default it
    claims 90% of the VRAM for its cache whatever the plan sized (upstream's docs/CLI_CONFIG.md).
    """
    files = _mistralrs_files(plan, model_files)
    spec = ENGINES["mistralrs"]
    lines = ["# Written by frontier.llm.stack from planner_plan; edits are overwritten.",
             "# mistral.rs reads it with: mistralrs from-config --file %s" % spec["config"],
             "command = \"serve\"",
             "default_model_id = %s" % _toml(plan["models"][0]["name"]),
             "", "[global]", "token_source = \"none\"",
             "", "[server]", "host = \"0.0.0.0\"", "port = %d" % spec["port"],
             "", "[runtime]", "max_seqs = %d" % int(plan["settings"]["parallel"]),
             "", "[paged_attn]", "mode = \"off\""]
    for model in plan["models"]:
        lines += ["", "[[models]]", "kind = \"text\"", "model_id = %s" % _toml(model["name"]),
                  "", "[models.format]", "format = \"gguf\"", "quantized_file = %s" % _toml(files[model["name"]]),
                  "", "[models.device]", "cpu = %s" % _toml(plan.get("backend") == "cpu"),
                  "max_seq_len = %d" % int(model["ctx"]), "max_batch_size = %d" % int(model["parallel"])]
    return "\n".join(lines) + "\n"


# Where Nginx reads its configuration, keys map, TLS files (and the Swarm gateway's router) in its container.
NGINX_DIR = "/etc/nginx/frontier"


def engine_healthcheck(engine: str, start_period: str) -> Dict[str, Any]:
    """The engine's healthcheck (:data:`ENGINES`), waiting ``start_period`` while it loads its models."""
    return {"test": list(ENGINES[engine]["healthcheck"]), "interval": "10s", "timeout": "5s", "retries": 3,
            "start_period": start_period}


def gateway_service(plan: Mapping[str, Any], images: Mapping[str, str]) -> Dict[str, Any]:
    """Nginx's service, as the single-host stack and the Swarm stack share it: its command, healthcheck, hardening
    and the plan's limits (the caller adds its ports, its files and, where the platform has it, no-new-privileges)."""
    nginx: Dict[str, Any] = {
        "image": images["nginx"],
        "command": ["nginx", "-c", "%s/nginx.conf" % NGINX_DIR, "-g", "daemon off;"],
        "networks": [NETWORK],
        "healthcheck": {"test": ["CMD", "curl", "-fsk", "-o", "/dev/null", "https://127.0.0.1/healthz"],
                        "interval": "10s", "timeout": "5s", "retries": 3, "start_period": "20s"},
        # The master starts as root and hands the requests to unprivileged workers: it keeps only what that takes.
        "cap_drop": ["ALL"],
        "cap_add": ["CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"],
        # Its pid file and temporary files go to /tmp (nginx.conf).
        "read_only": True,
        "tmpfs": ["/tmp"],
    }
    nginx.update(monitoring_utils.limits(plan["components"]["nginx"]))
    return nginx


def compose_project(plan: Mapping[str, Any], images: Mapping[str, str], bind_address: str = "0.0.0.0",
                    https_port: int = 443, http_port: Optional[int] = None, models_dir: str = "/var/lib/frontier-llm/models",
                    nginx_dir: str = "/opt/frontier-llm/nginx", numa: Optional[Mapping[str, Any]] = None,
                    start_period: str = "10m", monitoring: Optional[Mapping[str, Any]] = None,
                    model_files: Optional[Mapping[str, str]] = None, config_dir: str = "/opt/frontier-llm") -> Dict[str, Any]:
    """The Compose file of the stack for one host's plan.

    :param plan: ``planner_plan`` (``frontier.llm.resource_plan``).
    :param images: service name -> pinned image reference (``stack_images``).
    :param numa: ``linux_tuning_numa``: service -> ``cpuset_cpus`` / ``cpuset_mems``.
    :param monitoring: None for no monitoring services, else the keyword arguments of
        :func:`monitoring.services` beyond the plan, images and network (``config_dir``,
        ``config_hash``, ``retention_time``, ``retention_size``).
    :param model_files: model name -> GGUF file name in ``models_dir`` (mistral.rs mounts each alone).
    :param config_dir: where mistral.rs's TOML file (``mistralrs.toml``, :func:`mistralrs_config`) is written.
    :returns: the Compose project as a dict (``name``, ``services``, ``networks``, ``volumes``).
    """
    engine = plan["engine"]
    if plan.get("runtime") == "native":
        raise PlanError("planner_plan: runtime native runs the engine on the host (macos role), not in the stack")
    service = ENGINE_SERVICE[engine]
    spec = ENGINES[engine]
    needed = [service, "nginx"] + (["prometheus", "node_exporter"] if monitoring is not None else [])
    if monitoring is not None and monitoring.get("engine_probe"):
        needed.append("blackbox_exporter")
    if monitoring is not None and monitoring.get("cadvisor"):
        needed.append("cadvisor")
    gateway_metrics = bool(monitoring is not None and monitoring.get("gateway_metrics"))
    if gateway_metrics:
        needed.append("mtail")
    if monitoring is not None and monitoring.get("grafana"):
        needed.append("grafana")
    if monitoring is not None and monitoring.get("alertmanager"):
        needed.append("alertmanager")
    if monitoring is not None and monitoring.get("dcgm") and plan.get("backend") == "cuda":
        needed.append("dcgm_exporter")
    for name in needed:
        if name not in images:
            raise PlanError("stack_images: no image for the service %r" % name)
        check_image(images[name], "stack_images.%s" % name)

    engine_service: Dict[str, Any] = {
        "image": images[service],
        "restart": "unless-stopped",
        "env_file": ["engine.env"],
        "volumes": ["%s:%s" % (models_dir, spec["models_mount"])],
        "networks": [NETWORK],
        "healthcheck": engine_healthcheck(engine, start_period),
        "stop_grace_period": "30s",
    }
    if engine == "mistralrs":
        files = _mistralrs_files(plan, model_files)
        config = mistralrs_config(plan, model_files)
        # The long syntax: a model's name may hold a colon (a catalog tag), which the short one splits on.
        engine_service["volumes"] = [
            {"type": "bind", "source": "%s/%s" % (models_dir, files[name]), "read_only": True,
             "target": "%s/%s/%s" % (spec["models_mount"], name, files[name])} for name in sorted(files)]
        engine_service["volumes"].append({"type": "bind", "source": "%s/mistralrs.toml" % config_dir,
                                          "target": spec["config"], "read_only": True})
        engine_service["command"] = ["from-config", "--file", spec["config"]]
        engine_service["working_dir"] = spec["models_mount"]
        # The file is bind-mounted: its digest in a label makes Compose recreate the engine when it changes.
        engine_service["labels"] = {"org.frontier-llm.config": hashlib.sha256(config.encode()).hexdigest()[:16]}
    monitoring_utils.hardened(engine_service, plan["components"][service])
    placement = (numa or {}).get(service)
    if placement:
        # Compose has no cpuset-mems: pinned to its node's CPUs, the engine's memory comes from
        # that node by the kernel's first-touch policy (kernel.numa_balancing is off, linux_tuning).
        engine_service["cpuset"] = str(placement["cpuset_cpus"])
    if plan.get("backend") == "cuda":
        engine_service["deploy"] = {"resources": {"reservations": {"devices": [
            {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]}}}

    ports: List[str] = ["%s:%d:443" % (_publish_host(bind_address), int(https_port))]
    if http_port:
        ports.append("%s:%d:80" % (_publish_host(bind_address), int(http_port)))
    shared = gateway_service(plan, images)
    # No depends_on: Compose would recreate Nginx whenever the engine is recreated. Nginx
    # finds the engine through Docker's DNS at request time and answers 502 until it is up.
    nginx: Dict[str, Any] = {
        "image": shared.pop("image"), "restart": "unless-stopped", "command": shared.pop("command"), "ports": ports,
        "volumes": ["%s:%s:ro" % (nginx_dir, NGINX_DIR)], "networks": shared.pop("networks"),
        "healthcheck": shared.pop("healthcheck"), "security_opt": ["no-new-privileges:true"]}
    nginx.update(shared)
    project: Dict[str, Any] = {
        "name": PROJECT,
        # Compose ignores x- keys: what the role needs to reach the engine through Nginx.
        "x-frontier": {"engine": engine, "engine_service": service, "engine_port": spec["port"],
                       "health_path": spec["health_path"], "monitoring": monitoring is not None,
                       "gateway_log": monitoring_utils.MTAIL_SOCKET if gateway_metrics else None,
                       "grafana": bool(monitoring is not None and monitoring.get("grafana"))},
        "services": {service: engine_service, "nginx": nginx},
        "networks": {NETWORK: {"driver": "bridge"}},
    }
    if monitoring is not None:
        project["services"].update(monitoring_utils.services(plan, images, NETWORK, **monitoring))
        project["volumes"] = {"prometheus-data": {}}
        if monitoring.get("grafana"):
            project["volumes"]["grafana-data"] = {}
        if monitoring.get("alertmanager"):
            project["volumes"]["alertmanager-data"] = {}
    if gateway_metrics:
        # Nginx writes its access-log lines to mtail's socket in this volume.
        nginx["volumes"].append("%s:%s" % (monitoring_utils.GATEWAY_LOG_VOLUME, monitoring_utils.GATEWAY_LOG_DIR))
        project["volumes"][monitoring_utils.GATEWAY_LOG_VOLUME] = {}
    return project


def prometheus_config(plan: Mapping[str, Any], models_mountpoint: str, scrape_interval: str = "15s",
                      host: str = "", cadvisor: bool = False, gateway_metrics: bool = False,
                      alertmanager: bool = False, dcgm: bool = False, engine_probe: bool = False) -> Dict[str, Any]:
    """Prometheus's configuration for the stack of one host's plan (see :func:`monitoring.prometheus_config`).

    :param engine_probe: probe the engine's health endpoint (:data:`ENGINES`' ``probe_path``) through the blackbox
        exporter, the ``engine_probe`` job (``stack_engine_probe``).
    """
    engine = plan["engine"]
    if engine not in ENGINES:
        raise PlanError("planner_plan: the stack does not serve the engine %r" % (engine,))
    return monitoring_utils.prometheus_config(plan, ENGINE_SERVICE[engine], ENGINES[engine]["port"], models_mountpoint,
                                              scrape_interval, host, cadvisor, gateway_metrics, alertmanager, dcgm,
                                              probe_path=ENGINES[engine]["probe_path"] if engine_probe else None)


def mountpoint(mounts: Any, path: str) -> str:
    """The mount point of the filesystem that holds ``path``: the longest mount that contains it.

    :param mounts: ``ansible_facts.mounts`` (dicts with ``mount``); ``/`` when none contains the path.
    """
    best = "/"
    for entry in mounts or []:
        mount = str(entry.get("mount", "")) if isinstance(entry, Mapping) else ""
        if mount and (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) > len(best):
            best = mount
    return best


def _publish_host(address: str) -> str:
    """An address as Compose's short port syntax wants it (IPv6 in brackets)."""
    return "[%s]" % address if ":" in address else address


_RATE_RE = re.compile(r"^[1-9][0-9]{0,5}r/[sm]\Z")
# Nginx's client_max_body_size: bytes, or k / m (either case); 0 would lift the limit.
_BODY_RE = re.compile(r"^([0-9]{1,10})([kKmM]?)\Z")
# The gateway holds each request's whole body in memory (router.js reads it): a few at once must fit its limit.
MAX_BODY_BYTES = 64 * 1024 * 1024
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._~%/+:=?&-]*\Z")
# A duration as Docker reads it (Go's time.ParseDuration, Compose's start_period): whole numbers with units, such as
# 90s, 10m or 1h30m.
DOCKER_DURATION_RE = re.compile(r"^(?:[0-9]{1,5}(?:h|m|s|ms)){1,4}\Z")
# The URL clients are told (stack_public_url): https, a host name, an IPv4 address or an IPv6 one in brackets, an
# optional port and an optional path of plain characters, no trailing slash (the role appends /v1/, /grafana/).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PUBLIC_URL_RE = re.compile(r"^https://(?P<host>%s(?:\.%s)*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
                           r"(?P<path>(?:/[A-Za-z0-9._~-]+)*)\Z" % (_LABEL, _LABEL))
# A directory on the controller that a printed shell command names (stack_verify_cert_dir).
_CONTROLLER_PATH_RE = re.compile(r"^[A-Za-z0-9._/~+-]+\Z")
# Seconds a pull or a wait may take: at most a week.
MAX_TIMEOUT = 7 * 24 * 3600
SUPPORTED_ENGINES = ("ollama", "llamacpp", "mistralrs")


def is_ip(address: Any) -> bool:
    """An IPv4 or IPv6 address (no host names: Docker publishes on addresses)."""
    try:
        ipaddress.ip_address(address if isinstance(address, str) else "")
    except ValueError:
        return False
    return True


def check_file_path(path: Any, name: str) -> str:
    """Return an absolute, plain path of a file (not a system directory check: a file may be anywhere), or raise
    naming the variable."""
    if not isinstance(path, str) or not SAFE_PATH_RE.match(path) or "/../" in path + "/" or "//" in path \
            or path.endswith("/"):
        raise PlanError("%s: %r must be the absolute path of a file, of letters, digits and . _ - / only" % (name, path))
    return path


def max_body_errors(value: Any) -> List[str]:
    """What is wrong with ``stack_max_body_size`` (Nginx's ``client_max_body_size``); empty when nothing is."""
    found = _BODY_RE.match(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if found is None:
        return ["stack_max_body_size: %r is not a size such as 16m (bytes, or k or m)" % (value,)]
    size = int(found.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[found.group(2).lower()]
    if size == 0:
        return ["stack_max_body_size: %r would make Nginx's request bodies unlimited; give a size such as 16m" % (value,)]
    if size > MAX_BODY_BYTES:
        return ["stack_max_body_size: %r is more than 64m; the gateway holds a request's whole body in memory" % (value,)]
    return []


def public_url_errors(url: Any) -> List[str]:
    """What is wrong with ``stack_public_url``, the URL clients are told (empty: nothing, or derived)."""
    if url is None or url == "":
        return []
    found = PUBLIC_URL_RE.match(url) if isinstance(url, str) else None
    problem = ""
    if found is None:
        problem = "is not an https:// URL of a host name or address, an optional port and path"
    else:
        host, port, path = found.group("host"), found.group("port"), found.group("path")
        if host.startswith("[") and not (is_ip(host[1:-1]) and ":" in host):
            problem = "has no IPv6 address between its brackets"
        elif re.match(r"^[0-9.]+$", host) and not is_ip(host):
            problem = "has no IPv4 address as its host"
        elif port is not None and not 1 <= int(port) <= 65535:
            problem = "has a port out of 1-65535"
        elif any(set(segment) == {"."} for segment in path.split("/")[1:]):
            problem = "has a . or .. segment in its path"
    if problem:
        return ["stack_public_url: %r %s: give https://host[:port][/path] (letters, digits and . _ ~ - in the path, "
                "no trailing /); the gateway serves TLS only" % (url, problem)]
    return []


def api_key_errors(keys: Any, operator: Any) -> List[str]:
    """What is wrong with ``stack_api_keys`` and ``stack_ops_key_name``, as the api_keys module would refuse it.

    Checked before any change: a name reaches Nginx's key map and the gateway's policy, and the module that would
    refuse it runs after the stack's directories are made. A key's value is never shown.
    """
    errors: List[str] = []
    if not isinstance(operator, str) or not apikeys.NAME_RE.match(operator):
        errors.append("stack_ops_key_name: %r must be 1-32 of a-z 0-9 _ - starting with a letter or digit" % (operator,))
    if not isinstance(keys, list):
        return errors + ["stack_api_keys: expected a list of {name, state, generation, keep_previous, key}, got %s"
                         % type(keys).__name__]
    for index, entry in enumerate(keys):
        if not isinstance(entry, Mapping):
            errors.append("stack_api_keys[%d]: expected a dict with a name, got %s" % (index, type(entry).__name__))
        elif not isinstance(entry.get("name"), str) or not apikeys.NAME_RE.match(entry["name"]):
            errors.append("stack_api_keys[%d].name: %r must be 1-32 of a-z 0-9 _ - starting with a letter or digit"
                          % (index, entry.get("name")))
    if not errors:
        try:
            apikeys.validate(keys)
        except apikeys.ApiKeyError as err:
            errors.append(re.sub(r"^keys\b", "stack_api_keys", str(err)))
    return errors


def error_collector(errors: List[str]) -> Callable[[Callable[[], Any]], None]:
    """A function that runs a check and appends its PlanError's message to ``errors`` instead of raising."""

    def guard(check: Callable[[], Any]) -> None:
        try:
            check()
        except PlanError as err:
            errors.append(str(err))

    return guard


def settings_errors(settings: Mapping[str, Any], plan: Optional[Mapping[str, Any]] = None) -> List[str]:
    """Every problem with the stack role's variables, each naming the variable and the value.

    Empty when the settings are safe to act on: paths that are absolute and not system
    directories, a listen address and ports, pinned images, key names (each of ``stack_api_keys``
    and ``stack_ops_key_name``, as the api_keys module checks them), Nginx limits (a body size
    that is not 0, at most 1024m), the engine's start period (a Docker duration), the URL clients
    are told (https), image archives, timeouts and model sources that cannot inject anything into
    a config file, the Compose file or a root command.
    """
    errors: List[str] = []
    guard = error_collector(errors)
    for name in ("stack_root", "stack_models_dir"):
        guard(lambda name=name: check_path(settings.get(name), name))
    root, models = str(settings.get("stack_root")).rstrip("/"), str(settings.get("stack_models_dir")).rstrip("/")
    if root == models or (root + "/").startswith(models + "/") or models.startswith(root + "/"):
        errors.append("stack_models_dir: %r overlaps stack_root %r: the engine would see the keys and certificates; "
                      "keep them apart" % (settings.get("stack_models_dir"), settings.get("stack_root")))
    for name in ("stack_rate_burst", "stack_conn_limit", "stack_unauthenticated_burst"):
        value = settings.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100000:
            errors.append("%s: %r is not a whole number from 0 to 100000" % (name, value))
    renew = settings.get("stack_tls_renew_days", 30)
    if isinstance(renew, bool) or not isinstance(renew, int) or not 1 <= renew <= 800:
        errors.append("stack_tls_renew_days: %r is not a whole number of days from 1 to 800 (the certificate lasts 825)"
                      % (renew,))
    if (settings.get("stack_tls_cert") is None) != (settings.get("stack_tls_key") is None):
        errors.append("stack_tls_cert and stack_tls_key: give both (a certificate and its key) or neither")
    extra_names = settings.get("stack_tls_extra_names", [])
    if not isinstance(extra_names, list) or not all(
            isinstance(name, str) and (TLS_DNS_NAME_RE.match(name) or (name.startswith("IP:") and is_ip(name[3:])))
            for name in extra_names):
        errors.append("stack_tls_extra_names: %r must be a list of DNS:<host name> or IP:<address>" % (extra_names,))
    for name in ("stack_tls_cert", "stack_tls_key"):
        if settings.get(name) is not None and not SAFE_PATH_RE.match(str(settings.get(name))):
            errors.append("%s: %r must be an absolute path of letters, digits and . _ - / only" % (name, settings.get(name)))
    if not is_ip(settings.get("stack_nginx_bind_address")):
        errors.append("stack_nginx_bind_address: %r is not an IP address (0.0.0.0 for every interface, or one of "
                      "the host's addresses)" % (settings.get("stack_nginx_bind_address"),))
    ports = {}
    for name in ("stack_nginx_https_port", "stack_nginx_http_port"):
        value = settings.get(name)
        if name == "stack_nginx_http_port" and value in (None, 0):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            errors.append("%s: %r is not a port number (1-65535)" % (name, value))
        else:
            ports[name] = value
    if len(set(ports.values())) < len(ports):
        errors.append("stack_nginx_https_port and stack_nginx_http_port are both %r" % (list(ports.values())[0],))
    images = settings.get("stack_images")
    if not isinstance(images, Mapping):
        errors.append("stack_images: expected a dict of service -> image, got %r" % (images,))
    else:
        for service, reference in images.items():
            guard(lambda service=service, reference=reference: check_image(reference, "stack_images.%s" % service))
    for name in ("stack_rate_limit", "stack_unauthenticated_rate_limit"):
        if not _RATE_RE.match(str(settings.get(name, "1r/s"))):
            errors.append("%s: %r is not a rate such as 10r/s or 600r/m" % (name, settings.get(name)))
    errors.extend(max_body_errors(settings.get("stack_max_body_size")))
    keys = settings.get("stack_api_keys")
    errors.extend(api_key_errors(keys, settings.get("stack_ops_key_name")))
    keys = keys if isinstance(keys, list) else []
    names = [entry.get("name") for entry in keys if isinstance(entry, Mapping)]
    if not any(entry.get("state", "present") == "present" for entry in keys if isinstance(entry, Mapping)):
        errors.append("stack_api_keys: no key is present: nobody could use the stack")
    generation = settings.get("stack_ops_key_generation", 1)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
        errors.append("stack_ops_key_generation: %r is not a whole number >= 1" % (generation,))
    if not isinstance(settings.get("stack_ops_key_keep_previous", False), bool):
        errors.append("stack_ops_key_keep_previous: %r is not true or false" % (settings.get("stack_ops_key_keep_previous"),))
    if settings.get("stack_ops_key_name") in names:
        errors.append("stack_api_keys: %r is the role's own key; choose another name" % settings.get("stack_ops_key_name"))
    start_period = settings.get("stack_engine_start_period", "10m")
    if not isinstance(start_period, str) or not DOCKER_DURATION_RE.match(start_period):
        errors.append("stack_engine_start_period: %r is not a Docker duration such as 30s, 10m or 1h30m"
                      % (start_period,))
    errors.extend(public_url_errors(settings.get("stack_public_url")))
    archives = settings.get("stack_image_archives", [])
    if not isinstance(archives, list):
        errors.append("stack_image_archives: expected a list of paths on the host, got %r" % (archives,))
    else:
        for index, archive in enumerate(archives):
            guard(lambda index=index, archive=archive: check_file_path(archive, "stack_image_archives[%d]" % index))
    for name in ("stack_pull_timeout", "stack_wait_timeout"):
        value = settings.get(name, 60)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIMEOUT:
            errors.append("%s: %r is not a whole number of seconds from 1 to %d (a week)" % (name, value, MAX_TIMEOUT))
    cert_dir = settings.get("stack_verify_cert_dir")
    if cert_dir not in (None, "") and (not isinstance(cert_dir, str) or not _CONTROLLER_PATH_RE.match(cert_dir)):
        errors.append("stack_verify_cert_dir: %r must be a path of letters, digits and . _ ~ + - / only (the verify "
                      "step prints it in a curl command)" % (cert_dir,))
    files = settings.get("stack_model_files") or {}
    if not isinstance(files, Mapping):
        errors.append("stack_model_files: expected a dict of model name -> {path|src|url, checksum}, got %r" % (files,))
        files = {}
    for model, source in files.items():
        errors.extend(_model_file_errors(str(model), source))
    if settings.get("stack_monitoring") and settings.get("stack_alertmanager"):
        guard(lambda: monitoring_utils.alertmanager_config(settings.get("stack_alertmanager_receiver"),
                                                           settings.get("stack_alertmanager_group_wait", "30s")))
    if settings.get("stack_monitoring"):
        guard(lambda: monitoring_utils.check_settings(settings.get("stack_prometheus_retention_time"),
                                                      settings.get("stack_prometheus_retention_size"),
                                                      settings.get("stack_prometheus_scrape_interval")))
        if isinstance(images, Mapping):
            wanted = (("prometheus", "node_exporter") + (("blackbox_exporter",) if settings.get("stack_engine_probe") else ())
                      + (("cadvisor",) if settings.get("stack_cadvisor") else ())
                      + (("mtail",) if settings.get("stack_gateway_metrics") else ())
                      + (("grafana",) if settings.get("stack_grafana") else ())
                      + (("alertmanager",) if settings.get("stack_alertmanager") else ())
                      + (("dcgm_exporter",) if settings.get("stack_dcgm_exporter") and plan is not None
                         and plan.get("backend") == "cuda" else ()))
            missing = [name for name in wanted if name not in images]
            if missing:
                errors.append("stack_images: no image for %s, which stack_monitoring deploys" % ", ".join(missing))
    if plan is not None:
        if plan.get("engine") not in SUPPORTED_ENGINES:
            errors.append("planner_engine: %r is not served by the stack role (%s are)"
                          % (plan.get("engine"), ", ".join(SUPPORTED_ENGINES)))
        if plan.get("runtime") == "native":
            errors.append("planner_runtime: native runs the engine on the host (the macos role), not in the stack")
        if plan.get("engine") == "llamacpp" and plan.get("models") and plan["models"][0]["name"] not in files:
            errors.append("stack_model_files: llamacpp needs the GGUF file of %r (path, src or url)"
                          % plan["models"][0]["name"])
        elif plan.get("engine") in SUPPORTED_ENGINES:
            guard(lambda: engine_env(plan, model_file_names(files), settings.get("stack_engine_env_extra")))
    return errors


def _model_file_errors(model: str, source: Any) -> List[str]:
    where = "stack_model_files[%s]" % model
    if not isinstance(source, Mapping):
        return ["%s: expected a dict with one of path, src, url" % where]
    given = [key for key in ("path", "src", "url") if source.get(key)]
    if len(given) != 1:
        return ["%s: give exactly one of path (on the host), src (on the controller) or url" % where]
    unknown = set(source) - {"path", "src", "url", "checksum"}
    if unknown:
        return ["%s: unknown field(s) %s" % (where, ", ".join(sorted(unknown)))]
    value = str(source[given[0]])
    if not MODEL_FILE_RE.match(value.rsplit("/", 1)[-1]):
        return ["%s.%s: %r must name a .gguf file of letters, digits and . _ + -" % (where, given[0], value)]
    if given[0] == "url" and not _URL_RE.match(value):
        return ["%s.url: %r is not a plain http(s) URL" % (where, value)]
    if given[0] == "path" and not SAFE_PATH_RE.match(value):
        return ["%s.path: %r must be an absolute path of letters, digits and . _ - / only" % (where, value)]
    if source.get("checksum") is not None and not re.match(r"^sha256:[a-f0-9]{64}\Z", str(source["checksum"])):
        return ["%s.checksum: %r must be sha256:<64 hex digits>" % (where, source["checksum"])]
    return []


def model_file_names(files: Mapping[str, Any]) -> Dict[str, str]:
    """Model name -> the file's name in the models directory."""
    return {str(model): str(source.get("path") or source.get("src") or source.get("url")).rsplit("/", 1)[-1]
            for model, source in (files or {}).items()}
