# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LLM stack as a Docker Swarm stack: node labels, per-model engine services, the gateway.

Plain Python with no Ansible import; the swarm role writes :func:`stack_file`'s result as the
file ``docker stack deploy`` reads.

Design (issue 13):

- **One engine service per model** (``engine-<model>``), as llama.cpp serves one model per
  server. Its replicas are the model's replicas; its placement constraint is a node label the
  swarm role sets on the nodes :func:`placement.place_models` chose (``frontier.llm.model.<slug>``),
  so Swarm keeps the replicas on nodes whose budget holds them and, when one is drained, moves
  its task to another labelled node. Swarm itself refuses to start a task whose memory
  reservation no node has free.
- **Limits from the nodes' own plans**: each model is planned alone (``resource_plan``) with the
  facts of every node that hosts it; the service takes the plan of the node with the fewest
  CPUs (its threads suit every replica's node; the memory figures depend on the model, not the
  node). A plan that does not fit a hosting node is refused, naming both.
- **Endpoints**: every engine service uses ``endpoint_mode: dnsrr`` (the ingress routing mesh
  does not work in nested engines and is not needed): Nginx resolves ``engine-<model>`` through
  Docker's DNS to the addresses of its healthy tasks and balances over them, trying the next
  one when a replica does not answer.
- **The gateway**: Nginx on every manager, published in host mode (the only published port);
  it reads the ``model`` field of a request (njs) and passes it to that model's service. Its
  files (configuration, router, policy, API keys, TLS certificate and key) are not Swarm configs or
  secrets but a directory the swarm role writes on **every manager** (``gateway_dir``, root-only as
  on a single host), bind-mounted read-only: a change of keys, certificate or routes is a graceful
  ``nginx -s reload`` in each manager's gateway task, which lets open streams finish on the old
  workers. A Swarm config or secret cannot change in place: a new one replaces the task, and with a
  host-mode port the replacement can only be stop-first, which cut every open stream (issue 21).
- **Monitoring**: Prometheus on a manager; node-exporter on every node (global). Prometheus
  finds the engines' and exporters' tasks through DNS (``tasks.<service>``), not through
  ``dockerswarm_sd_configs``: that needs the Docker API socket inside Prometheus, which is
  root on the manager.
- **The single host's other monitoring services**, each when the stack role's variable asks for it
  (:mod:`monitoring` builds them; this module only places them): Alertmanager (``stack_alertmanager``)
  on the manager where Prometheus runs, its configuration from that manager's directory, which
  Prometheus's ``alerting`` section names; mtail (``stack_gateway_metrics``) on every manager, next to
  the gateway, sharing the node-local volume ``gateway-log`` that carries Nginx's access log to mtail's
  socket, scraped through ``tasks.mtail`` as the ``gateway`` job; Grafana (``stack_grafana``) on that
  manager too, its provisioning and dashboards from that manager's directory and its admin password a
  Swarm secret named after its digest, behind the gateway's ``/grafana/``. cAdvisor does not run on
  Swarm: it needs a privileged container, which ``docker stack deploy`` cannot start. No Grafana image
  can be built offline here, so Grafana on Swarm is tested by the unit tests of :func:`stack_file` only.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.frontier.llm.plugins.module_utils import monitoring as monitoring_utils
from ansible_collections.frontier.llm.plugins.module_utils import placement as placement_utils
from ansible_collections.frontier.llm.plugins.module_utils import planner as planner_utils
from ansible_collections.frontier.llm.plugins.module_utils import stack as stack_utils
from ansible_collections.frontier.llm.plugins.module_utils.sizing import ENGINE_SERVICE, PlanError

STACK = "frontier-llm"
NETWORK = "backend"
LABEL_PREFIX = "frontier.llm."
MODEL_LABEL_PREFIX = LABEL_PREFIX + "model."
# The engines a Swarm stack runs: llama.cpp (one model per server). Ollama pulls its models from a registry and
# mistral.rs reads a TOML file per node: neither is built for Swarm yet.
ENGINES = ("llamacpp",)
GATEWAY = "gateway"
# Compose keys ``docker stack deploy`` ignores or refuses, that the single-host services carry.
_UNSUPPORTED = ("restart", "pid", "security_opt", "container_name", "depends_on")


# mtail's program on the first manager (relative to the stack's directory), written by the stack role's tasks.
MTAIL_PROGRAM = "prometheus/mtail/gateway.mtail"


# An IPv4 address in dotted decimal, without leading zeros (as Docker reads an advertise address).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4_RE = re.compile(r"^%s(?:\.%s){3}\Z" % (_OCTET, _OCTET))


def _whole(value: Any) -> Optional[int]:
    """A whole number given as one (or as its digits), else None; never a boolean."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^[0-9]{1,9}\Z", value):
        return int(value)
    return None


def settings_errors(settings: Mapping[str, Any]) -> List[str]:
    """Every problem with the swarm role's own values that reach a node's Docker, the stack file or a path, each
    naming the variable and the value; empty when all is well. (The gateway's settings are the stack role's,
    checked by :func:`stack.settings_errors`; each model's name and GGUF path by the role's model check.)

    :param settings: ``swarm_address`` (``swarm_advertise_addr``, or the node's default IPv4 address),
        ``swarm_https_port``, ``swarm_wait_timeout`` and ``swarm_image_archives``.
    """
    errors: List[str] = []
    address = settings.get("swarm_address")
    if not isinstance(address, str) or not IPV4_RE.match(address):
        errors.append("swarm_advertise_addr: %r is not an IPv4 address of the node (four numbers 0-255, no leading "
                      "zeros; by default the node's default IPv4 address)" % (address,))
    port = _whole(settings.get("swarm_https_port"))
    if port is None or not 1 <= port <= 65535:
        errors.append("swarm_https_port: %r is not a port number (1-65535)" % (settings.get("swarm_https_port"),))
    wait = _whole(settings.get("swarm_wait_timeout"))
    if wait is None or not 10 <= wait <= stack_utils.MAX_TIMEOUT:
        errors.append("swarm_wait_timeout: %r is not a whole number of seconds from 10 to %d (a week)"
                      % (settings.get("swarm_wait_timeout"), stack_utils.MAX_TIMEOUT))
    archives = settings.get("swarm_image_archives", [])
    if not isinstance(archives, list):
        errors.append("swarm_image_archives: expected a list of paths on every node, got %r" % (archives,))
    else:
        for index, archive in enumerate(archives):
            try:
                stack_utils.check_file_path(archive, "swarm_image_archives[%d]" % index)
            except PlanError as err:
                errors.append(str(err))
    return errors


def model_slug(name: Any) -> str:
    """A model's name as it appears in service names and node labels: lower case, ``[a-z0-9-]``, at most 40."""
    if not isinstance(name, str) or not stack_utils.MODEL_NAME_RE.match(name):
        raise PlanError("swarm_models: %r is not a model name (letters, digits and . _ : + -, at most 128)" % (name,))
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if len(slug) > 40:
        slug = "%s-%s" % (slug[:33].rstrip("-"), hashlib.sha256(name.encode()).hexdigest()[:6])
    return slug


def model_service(name: Any) -> str:
    """The engine service of a model (``engine-<slug>``)."""
    return "engine-%s" % model_slug(name)


def node_labels(facts: Any, placed: Any = ()) -> Dict[str, str]:
    """The labels the swarm role sets on a node: what its facts say and the models placed on it.

    :param facts: the node's facts (``ansible_facts`` with ``frontier_llm`` from ``host_facts``).
    :param placed: the model names ``place_models`` put on the node.
    :returns: label -> value, every key under ``frontier.llm.``.
    """
    # pylint: disable-next=protected-access
    host = planner_utils._host(facts)
    gpus = host["gpus"]
    memory_gib = host["effective_mb"] // 1024
    labels = {
        LABEL_PREFIX + "memory_gib": str(memory_gib),
        # A coarse class of the node's memory for placement constraints: below 16 GiB small, below 64 GiB medium.
        LABEL_PREFIX + "memory_class": "small" if memory_gib < 16 else ("medium" if memory_gib < 64 else "large"),
        LABEL_PREFIX + "cpus": str(host["vcpus"]),
        LABEL_PREFIX + "numa_nodes": str(max(1, len(host["numa_nodes"]))),
        LABEL_PREFIX + "gpu_vendor": str(gpus[0].get("vendor") or "unknown") if gpus else "none",
        LABEL_PREFIX + "gpu_count": str(len(gpus)),
        LABEL_PREFIX + "gpu_memory_gib": str(sum(int(gpu["memory_mb"]) for gpu in gpus) // 1024),
    }
    if isinstance(placed, (str, bytes)) or not isinstance(placed, (list, tuple)):
        raise PlanError("placed: expected a list of model names, got %r" % (placed,))
    for name in placed:
        labels[MODEL_LABEL_PREFIX + model_slug(name)] = "true"
    return labels


def service_plans(nodes: Mapping[str, Any], placements: Mapping[str, Any], models: List[Any],
                  plan_args: Optional[Mapping[str, Any]] = None) -> Dict[str, Dict[str, Any]]:
    """Each placed model's plan: the model alone, planned on each node that hosts it; the node with the fewest CPUs wins.

    :param nodes: node name -> facts.
    :param placements: ``place_models``' ``placements`` (node -> model names).
    :param models: the models as the planner takes them (catalog tags or metadata dicts with ``name``).
    :param plan_args: keyword arguments of ``resource_plan`` (engine, profile, ctx, parallel, ...).
    :returns: model name -> ``{plan, node, nodes}`` (the chosen node and every hosting node).
    """
    args = _plan_args(plan_args)
    by_name: Dict[str, Any] = {}
    for entry in models:
        name = entry.get("name") if isinstance(entry, Mapping) else entry
        model_slug(name)
        by_name[name] = _plain_model(entry)
    hosting: Dict[str, List[str]] = {}
    for node in sorted(placements):
        if node not in nodes:
            raise PlanError("placements: the node %r has no facts (is it in the play?)" % (node,))
        for name in placements[node]:
            if name not in by_name:
                raise PlanError("placements: %r on %r is not one of the models" % (name, node))
            if node not in hosting.setdefault(name, []):
                hosting[name].append(node)
    slugs: Dict[str, str] = {}
    result: Dict[str, Dict[str, Any]] = {}
    for name in sorted(hosting):
        slug = model_slug(name)
        if slug in slugs:
            raise PlanError("swarm_models: %r and %r give the same service name engine-%s; rename one"
                            % (slugs[slug], name, slug))
        slugs[slug] = name
        plans = []
        for node in hosting[name]:
            plan = planner_utils.resource_plan(_cpu_only(nodes[node]), models=[by_name[name]], **args)
            if not plan["fits"]:
                raise PlanError("%s: the model %r does not fit alone: %s" % (
                    node, name, (plan.get("warnings") or ["no reason given"])[0]))
            plans.append((int(plan["host"]["vcpus"]), node, plan))
        plans.sort(key=lambda item: (item[0], item[1]))
        result[name] = {"plan": plans[0][2], "node": plans[0][1], "nodes": hosting[name]}
    return result


def _cpu_only(facts: Any) -> Any:
    """A node's facts without its GPUs: the Swarm services get no GPU device yet, so the engines run on CPU and
    are sized for host memory (a plan for the GPUs would give a limit sized for VRAM)."""
    if not isinstance(facts, Mapping) or not isinstance(facts.get("frontier_llm"), Mapping):
        return facts
    ours = dict(facts["frontier_llm"])
    ours["gpus"] = []
    return dict(facts, frontier_llm=ours)


def _to_swarm(service: Dict[str, Any], deploy: Dict[str, Any]) -> Dict[str, Any]:
    """A single-host Compose service as a Swarm service: limits into ``deploy.resources``, tmpfs as a mount."""
    swarm = {key: value for key, value in copy.deepcopy(service).items()
             if key not in _UNSUPPORTED + ("mem_limit", "mem_reservation", "cpus", "tmpfs")}
    volumes = list(swarm.get("volumes", []))
    volumes.extend({"type": "tmpfs", "target": path} for path in service.get("tmpfs", []))
    if volumes:
        swarm["volumes"] = volumes
    deploy = dict(deploy)
    deploy["resources"] = {
        "limits": {"memory": service["mem_limit"], "cpus": str(service["cpus"])},
        "reservations": {"memory": service["mem_reservation"]}}
    deploy.setdefault("restart_policy", {"condition": "any", "delay": "5s"})
    swarm["deploy"] = deploy
    return swarm


def _engine_service(name: str, entry: Mapping[str, Any], replicas: int, image: str, model_file: str,
                    start_period: str) -> Dict[str, Any]:
    """The Swarm service of one model's engine."""
    plan = entry["plan"]
    spec = stack_utils.ENGINES[plan["engine"]]
    file_name = model_file.rsplit("/", 1)[-1]
    env = stack_utils.engine_env(plan, {name: file_name})
    service: Dict[str, Any] = {
        "image": image,
        "environment": env,
        "volumes": [{"type": "bind", "source": model_file, "target": "%s/%s" % (spec["models_mount"], file_name),
                     "read_only": True}],
        "networks": [NETWORK],
        "healthcheck": stack_utils.engine_healthcheck(plan["engine"], start_period),
        "stop_grace_period": "30s",
    }
    monitoring_utils.hardened(service, plan["components"][ENGINE_SERVICE[plan["engine"]]])
    return _to_swarm(service, {
        "replicas": replicas,
        "endpoint_mode": "dnsrr",
        "placement": {"constraints": ["node.labels.%s%s == true" % (MODEL_LABEL_PREFIX, model_slug(name))],
                      "max_replicas_per_node": int(entry.get("max_per_node", 1))},
        # One replica at a time, the old one stopped first: a node holds the replicas its budget was planned for.
        "update_config": {"parallelism": 1, "order": "stop-first", "failure_action": "rollback", "monitor": "30s"},
        "rollback_config": {"parallelism": 1, "order": "stop-first"},
    })


def stack_file(services: Mapping[str, Mapping[str, Any]], images: Mapping[str, str],
               model_files: Mapping[str, Any], settings: Mapping[str, Any]) -> Dict[str, Any]:
    """The Swarm stack file (Compose format, as ``docker stack deploy`` reads it).

    :param services: :func:`swarm_services`' ``services`` (each with its ``replicas``).
    :param images: ``stack_images`` (``llamacpp``, ``nginx``, ``prometheus``, ``node_exporter``).
    :param model_files: model name -> absolute path of its GGUF file, the same on every node hosting it.
    :param settings: ``https_port``, ``start_period``, ``config_dir`` (the manager's directory with
        ``prometheus/``), ``gateway_dir`` (the directory with Nginx's files, ``nginx.conf``, ``router.js``,
        ``policy.js``, ``keys.map`` and ``tls/``, which the role writes on every manager), ``digests`` (file ->
        digest of its content: the names of the Swarm configs and secrets; ``prometheus``, ``alertmanager`` and
        ``grafana``: the digests of what those services, pinned to ``prometheus_node``, read at start there, whose
        change recreates them), ``monitoring`` (bool), ``prometheus_node`` (that manager's hostname, where
        Prometheus, Alertmanager and Grafana run), ``encrypted`` (bool, default true: the overlay network's traffic
        between nodes in IPsec) and, with ``monitoring``, ``alertmanager`` (bool; its configuration in
        ``prometheus/alertmanager/``), ``gateway_metrics`` (bool; mtail, its program
        ``prometheus/mtail/gateway.mtail`` a Swarm config, which needs a digest) and ``grafana`` (None, or ``dir``,
        the manager's directory of its provisioning and dashboards, ``root_url`` and ``uid``, the user its image
        runs as; its admin password is the secret ``secrets/grafana_admin_password`` under ``config_dir``, which
        needs a digest).
    """
    if not services:
        raise PlanError("swarm: no model is placed on any node")
    monitoring = bool(settings.get("monitoring"))
    alertmanager = monitoring and bool(settings.get("alertmanager"))
    gateway_metrics = monitoring and bool(settings.get("gateway_metrics"))
    grafana = settings.get("grafana") if monitoring else None
    wanted = ("nginx",) + (("prometheus", "node_exporter") if monitoring else ()) \
        + (("alertmanager",) if alertmanager else ()) + (("mtail",) if gateway_metrics else ()) \
        + (("grafana",) if grafana else ())
    for name in wanted:
        if name not in images:
            raise PlanError("stack_images: no image for the service %r" % name)
        stack_utils.check_image(images[name], "stack_images.%s" % name)
    network: Dict[str, Any] = {"driver": "overlay"}
    if settings.get("encrypted", True):
        # IPsec between the nodes: the engines answer without a key, and VXLAN (UDP 4789) authenticates nothing.
        network["driver_opts"] = {"encrypted": "true"}
    # Compose file format 3.8: what `docker stack deploy` reads (named configs and secrets need 3.5).
    compose: Dict[str, Any] = {"version": "3.8", "services": {}, "networks": {NETWORK: network},
                               "configs": {}, "secrets": {}}
    for name in sorted(services):
        plan = services[name]["plan"]
        engine_image = images.get(ENGINE_SERVICE[plan["engine"]])
        stack_utils.check_image(engine_image, "stack_images.%s" % ENGINE_SERVICE[plan["engine"]])
        path = stack_utils.check_path(model_files.get(name), "swarm_models[%s].gguf" % name) \
            if isinstance(model_files.get(name), str) else None
        if not path or not path.endswith(".gguf"):
            raise PlanError("swarm_models: %r needs gguf, the absolute path of its GGUF file on every node" % name)
        compose["services"][model_service(name)] = _engine_service(
            name, services[name], int(services[name]["replicas"]), engine_image, path, str(settings.get("start_period", "10m")))
    first = services[sorted(services)[0]]["plan"]
    config_dir = str(settings["config_dir"])
    digests = dict(settings.get("digests") or {})

    def named(kind: str, key: str, file_name: str) -> str:
        """Declare a Swarm config or secret named after its content's digest; return its key."""
        if file_name not in digests:
            raise PlanError("settings.digests: no digest for %s" % file_name)
        compose[kind][key] = {"file": "%s/%s" % (config_dir, file_name),
                              "name": "%s-%s-%s" % (STACK, key.replace("_", "-"), str(digests[file_name])[:12])}
        return key

    gateway_dir = stack_utils.check_path(settings.get("gateway_dir"), "settings.gateway_dir")
    gateway = stack_utils.gateway_service(first, images)
    gateway.update({
        "ports": [{"target": 443, "published": int(settings.get("https_port", 443)), "protocol": "tcp",
                   "mode": "host"}],
        # Written by the role on every manager, and reloaded there in place (the module's docstring).
        "volumes": [{"type": "bind", "source": gateway_dir, "target": stack_utils.NGINX_DIR, "read_only": True}]})
    managers = {"mode": "global", "endpoint_mode": "dnsrr", "placement": {"constraints": ["node.role == manager"]}}
    if gateway_metrics:
        # Nginx writes its access-log lines to mtail's socket in this volume, local to each manager.
        gateway["volumes"].append({"type": "volume", "source": monitoring_utils.GATEWAY_LOG_VOLUME,
                                   "target": monitoring_utils.GATEWAY_LOG_DIR})
    compose["services"][GATEWAY] = _to_swarm(gateway, dict(
        copy.deepcopy(managers), update_config={"parallelism": 1, "order": "stop-first"}))
    if monitoring:
        _monitoring_services(compose, first, images, "%s/prometheus" % config_dir, digests, settings, named,
                             alertmanager, gateway_metrics, grafana, managers)
    return _escaped(compose)


def _monitoring_services(compose: Dict[str, Any], plan: Mapping[str, Any], images: Mapping[str, str],
                         prometheus_dir: str, digests: Mapping[str, Any], settings: Mapping[str, Any],
                         named: Any, alertmanager: bool, gateway_metrics: bool,
                         grafana: Optional[Mapping[str, Any]], managers: Mapping[str, Any]) -> None:
    """Add Prometheus, node-exporter and, as asked, Alertmanager, mtail and Grafana to the stack file.

    The services are :mod:`monitoring`'s, as on a single host; here they get their placement and, for what they
    read at start, a label with its digest (a changed digest changes the service's spec: Swarm recreates its task).
    """
    def digest(name: str) -> str:
        """The digest of what a service reads at start; refused when missing (the service would never be recreated)."""
        if name not in digests:
            raise PlanError("settings.digests: no digest for %s" % name)
        return str(digests[name])

    # What runs with its configuration and data on the manager that deployed the stack (its files are there).
    pinned = {"replicas": 1, "endpoint_mode": "dnsrr",
              "placement": {"constraints": ["node.hostname == %s" % settings["prometheus_node"]]},
              "update_config": {"order": "stop-first"}}
    found = monitoring_utils.services(plan, images, NETWORK, config_dir=prometheus_dir,
                                      config_hash=str(digests.get("prometheus", "")))
    compose["services"]["prometheus"] = _to_swarm(found["prometheus"], copy.deepcopy(pinned))
    compose["services"]["node-exporter"] = _to_swarm(found["node-exporter"], {"mode": "global", "endpoint_mode": "dnsrr"})
    volumes: Dict[str, Any] = {"prometheus-data": {}}
    if alertmanager:
        compose["services"]["alertmanager"] = _to_swarm(monitoring_utils.alertmanager_service(
            plan, images, NETWORK, prometheus_dir, digest("alertmanager")), copy.deepcopy(pinned))
        volumes["alertmanager-data"] = {}
    if gateway_metrics:
        # Next to each gateway task: the socket it writes to is in the node's own gateway-log volume. Its program
        # is a Swarm config, like Nginx's: it runs on every manager, and only the first one has the file.
        mtail = monitoring_utils.mtail_service(plan, images, NETWORK, None, digest(MTAIL_PROGRAM))
        mtail["configs"] = [{"source": named("configs", "mtail_program", MTAIL_PROGRAM),
                             "target": "%s/gateway.mtail" % monitoring_utils.MTAIL_PROGRAM_DIR}]
        compose["services"]["mtail"] = _to_swarm(mtail, copy.deepcopy(managers))
        volumes[monitoring_utils.GATEWAY_LOG_VOLUME] = {}
    if grafana:
        for key in ("dir", "root_url", "uid"):
            if grafana.get(key) in (None, ""):
                raise PlanError("settings.grafana: no %s" % key)
        service = monitoring_utils.grafana_service(plan, images, NETWORK, {
            "dir": str(grafana["dir"]), "root_url": str(grafana["root_url"]), "config_hash": digest("grafana")})
        # The admin password: a Swarm secret (in the Swarm's encrypted store, on the node only in the task's
        # memory), readable by Grafana's user alone.
        service["secrets"] = [{"source": named("secrets", "grafana_admin_password", "secrets/grafana_admin_password"),
                               "target": monitoring_utils.GRAFANA_PASSWORD_FILE, "uid": str(grafana["uid"]),
                               "gid": "0", "mode": 0o400}]
        compose["services"]["grafana"] = _to_swarm(service, copy.deepcopy(pinned))
        volumes["grafana-data"] = {}
    compose["volumes"] = volumes


def _escaped(value: Any) -> Any:
    """Every string with ``$`` written ``$$``: ``docker stack deploy`` interpolates variables in the whole file."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    return value


def prometheus_config(services: Mapping[str, Mapping[str, Any]], scrape_interval: str = "15s",
                      gateway_metrics: bool = False, alertmanager: bool = False) -> Dict[str, Any]:
    """Prometheus's configuration for the Swarm stack: every engine replica and node-exporter found through DNS.

    :param gateway_metrics: scrape every manager's mtail (``tasks.mtail``) as the single host's ``gateway`` job,
        with the same labels (:func:`monitoring.gateway_labels`).
    :param alertmanager: send the alerts to the stack's Alertmanager, as on a single host (:func:`monitoring.alerting`).
    """
    jobs: List[Dict[str, Any]] = [
        {"job_name": "prometheus", "metrics_path": "%s/metrics" % monitoring_utils.ROUTE_PREFIX,
         "static_configs": [{"targets": ["127.0.0.1:%d" % monitoring_utils.PROMETHEUS_PORT]}]},
        {"job_name": "node", "dns_sd_configs": [{"names": ["tasks.node-exporter"], "type": "A",
                                                 "port": monitoring_utils.NODE_EXPORTER_PORT}]},
    ]
    engines = [name for name in sorted(services) if monitoring_utils.ENGINE_METRICS.get(services[name]["plan"]["engine"])]
    if engines:
        # One job, as on a single host (the rules read job="engine"); each task labelled with its model.
        plan = services[engines[0]]["plan"]
        jobs.append({"job_name": "engine", "metrics_path": monitoring_utils.ENGINE_METRICS[plan["engine"]],
                     "dns_sd_configs": [{"names": ["tasks.%s" % model_service(name) for name in engines], "type": "A",
                                         "port": stack_utils.ENGINES[plan["engine"]]["port"]}],
                     "relabel_configs": [{"target_label": "engine", "replacement": plan["engine"]}] + [
                         {"source_labels": ["__meta_dns_name"], "regex": re.escape("tasks.%s" % model_service(name)),
                          "target_label": "model", "replacement": name} for name in engines]})
    if gateway_metrics:
        labels = monitoring_utils.gateway_labels(services[sorted(services)[0]]["plan"]["engine"] if services else "",
                                                 sorted(services))
        jobs.append({"job_name": monitoring_utils.GATEWAY_JOB,
                     "dns_sd_configs": [{"names": ["tasks.mtail"], "type": "A", "port": monitoring_utils.MTAIL_PORT}],
                     "relabel_configs": [{"target_label": key, "replacement": value}
                                         for key, value in sorted(labels.items())]})
    config: Dict[str, Any] = {"global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                                         "external_labels": {"host": "swarm"}},
                              "rule_files": [monitoring_utils.RULE_FILES],
                              "scrape_configs": jobs}
    if alertmanager:
        config["alerting"] = monitoring_utils.alerting()
    return config


def gateway_routes(services: Mapping[str, Mapping[str, Any]]) -> Dict[str, str]:
    """Model name -> the ``host:port`` Nginx passes its requests to (the model's engine service)."""
    return {name: "%s:%d" % (model_service(name), stack_utils.ENGINES[services[name]["plan"]["engine"]]["port"])
            for name in sorted(services)}


def _plan_args(plan_args: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``resource_plan``'s keyword arguments for a Swarm model: llama.cpp unless given, and only an engine Swarm runs."""
    args = dict(plan_args or {})
    engine = args.setdefault("engine", "llamacpp")
    if engine not in ENGINES:
        raise PlanError("plan_args.engine: %r does not run on Swarm yet (%s does)" % (engine, ", ".join(ENGINES)))
    return args


def place(nodes: Mapping[str, Any], models: List[Any], engine_nodes: List[str],
          plan_args: Optional[Mapping[str, Any]] = None, previous: Any = None, rebalance: Any = False) -> Dict[str, Any]:
    """Place the models' replicas on the engine nodes (``place_models``), each node's budget from its own plan.

    A node's budget is what its plan of the first model leaves the engine (the monitoring services and the
    operating system's reserve taken out); one replica's size is the model's resident size in the plan of the
    first engine node by name (it depends on the model and its settings, not on the node). Every plan is made
    on CPU (:func:`_cpu_only`).
    """
    if not isinstance(engine_nodes, list) or not engine_nodes:
        raise PlanError("engine_nodes: expected a non-empty list of node names, got %r" % (engine_nodes,))
    if not isinstance(models, list) or not models:
        raise PlanError("swarm_models: expected a non-empty list of models, got %r" % (models,))
    args = _plan_args(plan_args)
    for node in engine_nodes:
        if node not in nodes:
            raise PlanError("engine_nodes: the node %r has no facts (is it in the play?)" % (node,))
    plain = [_plain_model(entry) for entry in models]
    budgets = [{"name": node, "plan": planner_utils.resource_plan(_cpu_only(nodes[node]), models=[plain[0]], **args)}
               for node in sorted(engine_nodes)]
    sized = []
    for entry, model in zip(models, plain):
        plan = planner_utils.resource_plan(_cpu_only(nodes[sorted(engine_nodes)[0]]), models=[model], **args)
        replicas = entry.get("replicas", 1) if isinstance(entry, Mapping) else 1
        sized.append({"name": plan["models"][0]["name"], "bytes": int(plan["models"][0]["total_bytes"]),
                      "replicas": replicas})
    return placement_utils.place_models(budgets, sized, previous=previous, rebalance=rebalance)


def _plain_model(entry: Any) -> Any:
    """A model as the planner takes it: the swarm's own keys (``replicas``, ``gguf``) taken out."""
    if isinstance(entry, Mapping):
        return {key: value for key, value in entry.items() if key not in ("replicas", "gguf")}
    return entry


def swarm_services(nodes: Mapping[str, Any], models: List[Any], engine_nodes: List[str],
                   plan_args: Optional[Mapping[str, Any]] = None, previous: Any = None, rebalance: Any = False,
                   scrape_interval: str = "15s", gateway_metrics: bool = False,
                   alertmanager: bool = False) -> Dict[str, Any]:
    """What the Swarm stack serves: where each model's replicas go, each model's plan, the gateway's routes,
    Prometheus's configuration and each node's labels.

    :param nodes: node name -> facts (every node of the Swarm; a node with no model still gets its labels).
    :param models: the models as the planner takes them, each with ``replicas`` (default 1).
    :param engine_nodes: the nodes the engines may run on.
    :param plan_args: keyword arguments of ``resource_plan``.
    :param previous: the last result's ``placement`` (its replicas stay where they are unless ``rebalance``).
    :param gateway_metrics: Prometheus scrapes mtail (:func:`prometheus_config`).
    :param alertmanager: Prometheus sends its alerts to Alertmanager.
    :returns: ``placement`` (``place_models``' result), ``services`` (model -> ``{plan, node, nodes, replicas,
        max_per_node, service}``), ``routes``, ``gateway_log`` (where Nginx sends its access log for mtail, or None: nginx.conf's
        ``gateway_log``, as the single-host stack sets it), ``prometheus`` and ``labels`` (node -> labels).
    :raises PlanError: a replica that no node has room for, with the reason.
    """
    placement = place(nodes, models, engine_nodes, plan_args, previous, rebalance)
    if placement.get("unplaced"):
        raise PlanError("no node has room for: %s" % "; ".join(
            "%s (replica %s): %s" % (item["model"], item["replica"], item["reason"]) for item in placement["unplaced"]))
    placements = placement["placements"]
    services = service_plans(nodes, placements, [_plain_model(entry) for entry in models], plan_args)
    for name, entry in services.items():
        entry["service"] = model_service(name)
        entry["replicas"] = sum(list(placements[node]).count(name) for node in placements)
        # The most copies place_models put on one node: Swarm may not put more there (a node budgeted for one).
        entry["max_per_node"] = max(list(placements[node]).count(name) for node in placements)
    return {"placement": placement, "services": services, "routes": gateway_routes(services),
            "gateway_log": monitoring_utils.MTAIL_SOCKET if gateway_metrics else None,
            "prometheus": prometheus_config(services, scrape_interval, gateway_metrics, alertmanager),
            "labels": {node: node_labels(nodes[node], sorted(set(placements.get(node, []))))
                       for node in sorted(nodes)}}
