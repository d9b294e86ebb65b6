"""The stack's Compose project, engine environment and variable checks, from a plan."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.planner import resource_plan
from ansible_collections.frontier.llm.plugins.module_utils.sizing import PlanError
from ansible_collections.frontier.llm.plugins.module_utils.stack import (
    check_image,
    check_path,
    compose_project,
    engine_env,
    mistralrs_config,
    model_file_names,
    settings_errors,
)
from ansible_collections.frontier.llm.plugins.module_utils.units import to_mib
from test_planner import gpu_server, linux

IMAGES = {"ollama": "ollama/ollama:0.13.4", "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-b11434", "nginx": "nginx:1.28.0",
          "mistral": "ghcr.io/ericlbuehler/mistral.rs:cpu-0.9.5"}
SMOLLM2 = {"name": "smollm2:135m", "n_layer": 30, "n_head": 9, "n_head_kv": 3, "head_dim": 64,
           "embedding_length": 576, "vocab_size": 49152, "context_length": 8192, "file_bytes": 96550000}


def good_settings() -> Dict[str, Any]:
    return {"stack_root": "/opt/frontier-llm", "stack_models_dir": "/var/lib/frontier-llm/models", "stack_images": IMAGES,
            "stack_nginx_bind_address": "0.0.0.0", "stack_nginx_https_port": 443, "stack_nginx_http_port": 80,
            "stack_rate_limit": "10r/s", "stack_max_body_size": "16m", "stack_api_keys": [{"name": "default"}],
            "stack_ops_key_name": "frontier-ops", "stack_model_files": {}, "stack_rate_burst": 20,
            "stack_tls_cert": None, "stack_tls_key": None}


def test_limits_come_from_the_plan() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    compose = compose_project(plan, IMAGES)
    for service in ("ollama", "nginx"):
        wanted = plan["components"][service]
        got = compose["services"][service]
        assert to_mib(got["mem_limit"], "mem_limit") == wanted["mem_limit_mb"]
        assert to_mib(got["mem_reservation"], "mem_reservation") == wanted["mem_reservation_mb"]
        assert got["cpus"] == wanted["cpus"]


def test_only_nginx_publishes_ports() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    compose = compose_project(plan, IMAGES, bind_address="10.1.2.3", https_port=8443, http_port=None)
    assert "ports" not in compose["services"]["ollama"]
    assert compose["services"]["nginx"]["ports"] == ["10.1.2.3:8443:443"]
    assert compose_project(plan, IMAGES, bind_address="::1")["services"]["nginx"]["ports"][0] == "[::1]:443:443"


def test_ollama_healthcheck_needs_no_curl() -> None:
    compose = compose_project(resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"]), IMAGES)
    assert compose["services"]["ollama"]["healthcheck"]["test"] == ["CMD", "ollama", "list"]


def test_numa_cpuset_and_gpus() -> None:
    plan = resource_plan(gpu_server(), models=["qwen2.5-coder:32b-instruct-q8_0"])
    compose = compose_project(plan, IMAGES, numa={"ollama": {"cpuset_cpus": "0-11", "cpuset_mems": "0"}})
    engine = compose["services"]["ollama"]
    assert engine["cpuset"] == "0-11"
    assert engine["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    cpu = compose_project(resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"]), IMAGES)
    assert "deploy" not in cpu["services"]["ollama"] and "cpuset" not in cpu["services"]["ollama"]


def test_llamacpp_env_names_the_model_file() -> None:
    plan = resource_plan(linux(16), models=[SMOLLM2], engine="llamacpp")
    env = engine_env(plan, {"smollm2:135m": "SmolLM2-135M-Instruct.Q4_1.gguf"})
    assert env["LLAMA_ARG_MODEL"] == "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert env["LLAMA_ARG_ALIAS"] == "smollm2:135m"
    assert env["LLAMA_ARG_CTX_SIZE"] == plan["env"]["LLAMA_ARG_CTX_SIZE"]
    with pytest.raises(PlanError, match="no GGUF file"):
        engine_env(plan, {})


def test_extra_env_adds_but_never_overrides_the_plan() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    assert engine_env(plan, extra={"HTTPS_PROXY": "http://proxy:3128"})["HTTPS_PROXY"] == "http://proxy:3128"
    with pytest.raises(PlanError, match="OLLAMA_NUM_PARALLEL set by the plan"):
        engine_env(plan, extra={"OLLAMA_NUM_PARALLEL": "32"})
    with pytest.raises(PlanError, match="BAD NAME"):
        engine_env(plan, extra={"BAD NAME": "x"})


def test_env_refuses_a_value_that_would_inject_a_line() -> None:
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    bad = copy.deepcopy(plan)
    bad["env"]["OLLAMA_KEEP_ALIVE"] = "5m\nLD_PRELOAD=/tmp/x.so"
    with pytest.raises(PlanError, match="OLLAMA_KEEP_ALIVE"):
        engine_env(bad)


@pytest.mark.parametrize("reference, ok", [
    ("nginx:1.28.0", True), ("ghcr.io/ggml-org/llama.cpp:server-b11434", True),
    ("localhost:5000/a/b:1", True), ("nginx@sha256:" + "a" * 64, True),
    ("nginx", False), ("nginx:latest", False), ("nginx:1; rm -rf /", False), ("NGINX:1", False), ("", False),
])
def test_images_must_be_pinned(reference: str, ok: bool) -> None:
    if ok:
        assert check_image(reference, "x") == reference
    else:
        with pytest.raises(PlanError, match="x: "):
            check_image(reference, "x")


@pytest.mark.parametrize("path", ["/", "/etc", "/etc/", "/usr", "relative", "/opt/../etc", "/opt/a b", "/opt/$(x)",
                                  "/var/lib", None])
def test_unsafe_paths_are_refused(path: Any) -> None:
    with pytest.raises(PlanError, match="stack_root"):
        check_path(path, "stack_root")


def test_good_settings_have_no_errors() -> None:
    assert settings_errors(good_settings()) == []
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    assert settings_errors(good_settings(), plan) == []


@pytest.mark.parametrize("field, value, message", [
    ("stack_root", "/etc", "stack_root"),
    ("stack_models_dir", "models", "stack_models_dir"),
    ("stack_nginx_bind_address", "0.0.0.0; listen 81", "stack_nginx_bind_address"),
    ("stack_nginx_bind_address", "example.org", "stack_nginx_bind_address"),
    ("stack_nginx_https_port", 70000, "stack_nginx_https_port"),
    ("stack_nginx_http_port", 443, "both"),
    ("stack_images", dict(IMAGES, nginx="nginx:latest"), "stack_images.nginx"),
    ("stack_rate_limit", "10r/s; allow all", "stack_rate_limit"),
    ("stack_max_body_size", "1g;", "stack_max_body_size"),
    ("stack_api_keys", [{"name": "a", "state": "absent"}], "no key is present"),
    ("stack_api_keys", [{"name": "frontier-ops"}], "the role's own key"),
    ("stack_model_files", {"m": {"url": "file:///etc/shadow.gguf"}}, "stack_model_files[m].url"),
    ("stack_model_files", {"m": {"path": "/srv/m.bin"}}, ".gguf"),
    ("stack_model_files", {"m": {"path": "/srv/a.gguf", "url": "https://x/a.gguf"}}, "exactly one"),
    ("stack_model_files", {"m": {"src": "a.gguf", "checksum": "md5:1"}}, "checksum"),
    ("stack_models_dir", "/opt/frontier-llm/models", "overlaps stack_root"),
    ("stack_models_dir", "/opt", "overlaps stack_root"),
    ("stack_rate_burst", -1, "stack_rate_burst"),
    ("stack_conn_limit", "16; include /etc/shadow", "stack_conn_limit"),
    ("stack_conn_limit", True, "stack_conn_limit"),
    ("stack_tls_renew_days", 0, "stack_tls_renew_days"),
    ("stack_tls_renew_days", "30d", "stack_tls_renew_days"),
    ("stack_tls_extra_names", ["DNS:gw.example.com; rm -rf /"], "stack_tls_extra_names"),
    ("stack_tls_extra_names", ["IP:10.0.0.300"], "stack_tls_extra_names"),
    ("stack_tls_extra_names", "DNS:gw", "stack_tls_extra_names"),
    ("stack_tls_cert", "/etc/ssl/mine.pem", "give both"),
])
def test_bad_settings_are_named(field: str, value: Any, message: str) -> None:
    settings = good_settings()
    settings[field] = value
    errors = settings_errors(settings)
    assert errors and message in " ".join(errors), errors


def test_plan_checks() -> None:
    settings = good_settings()
    mistral = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"], engine="mistralrs")
    assert any("no GGUF file for 'mistral:7b-instruct-q4_K_M'" in e for e in settings_errors(settings, mistral))
    native = dict(mistral, runtime="native")
    assert any("planner_runtime: native" in e for e in settings_errors(settings, native))
    assert any("not served by the stack role" in e for e in settings_errors(settings, dict(mistral, engine="vllm")))
    llama = resource_plan(linux(16), models=[SMOLLM2], engine="llamacpp")
    assert any("needs the GGUF file of 'smollm2:135m'" in e for e in settings_errors(settings, llama))
    settings["stack_model_files"] = {"smollm2:135m": {"url": "https://example.org/models/SmolLM2.gguf"}}
    assert settings_errors(settings, llama) == []
    settings["stack_engine_env_extra"] = {"LLAMA_ARG_CTX_SIZE": "999999"}
    assert any("LLAMA_ARG_CTX_SIZE set by the plan" in e for e in settings_errors(settings, llama))
    assert model_file_names(settings["stack_model_files"]) == {"smollm2:135m": "SmolLM2.gguf"}


def mistral_plan(**kwargs: Any) -> Dict[str, Any]:
    """A mistral.rs plan serving two tiny models."""
    second = dict(SMOLLM2, name="smollm2-b")
    return resource_plan(linux(16), models=[SMOLLM2, second], engine="mistralrs", ctx=3000, parallel=3, **kwargs)


MISTRAL_FILES = {"smollm2:135m": "SmolLM2.gguf", "smollm2-b": "other.gguf"}


def test_mistralrs_config_is_the_plan() -> None:
    tomllib = pytest.importorskip("tomllib")
    plan = mistral_plan()
    config = tomllib.loads(mistralrs_config(plan, MISTRAL_FILES))
    assert config["command"] == "serve" and config["default_model_id"] == "smollm2:135m"
    assert config["runtime"]["max_seqs"] == 3 == plan["settings"]["parallel"]
    assert config["server"] == {"host": "0.0.0.0", "port": 1234}
    assert config["paged_attn"] == {"mode": "off"}
    assert [(m["model_id"], m["format"]["quantized_file"]) for m in config["models"]] == [
        ("smollm2:135m", "SmolLM2.gguf"), ("smollm2-b", "other.gguf")]
    for model in config["models"]:
        assert model["device"] == {"cpu": True, "max_seq_len": 3000, "max_batch_size": 3}


def test_mistralrs_compose_mounts_each_model_alone_and_recreates_on_a_new_config() -> None:
    plan = mistral_plan()
    compose = compose_project(plan, IMAGES, models_dir="/srv/models", config_dir="/opt/llm", model_files=MISTRAL_FILES)
    engine = compose["services"]["mistral"]
    # The long syntax: the short one would split the catalog tag's colon.
    assert [(v["source"], v["target"], v["read_only"], v["type"]) for v in engine["volumes"]] == [
        ("/srv/models/other.gguf", "/models/smollm2-b/other.gguf", True, "bind"),
        ("/srv/models/SmolLM2.gguf", "/models/smollm2:135m/SmolLM2.gguf", True, "bind"),
        ("/opt/llm/mistralrs.toml", "/etc/mistralrs/config.toml", True, "bind")]
    assert engine["command"] == ["from-config", "--file", "/etc/mistralrs/config.toml"]
    assert engine["working_dir"] == "/models" and "ports" not in engine
    assert compose["x-frontier"]["engine_port"] == 1234
    other_plan = resource_plan(linux(16), models=[SMOLLM2, dict(SMOLLM2, name="smollm2-b")], engine="mistralrs", ctx=2048,
                               parallel=3)
    other = compose_project(other_plan, IMAGES, model_files=MISTRAL_FILES)["services"]["mistral"]
    assert other["labels"] != engine["labels"]
    assert compose_project(plan, IMAGES, model_files=MISTRAL_FILES)["services"]["mistral"]["labels"] == engine["labels"]


@pytest.mark.parametrize("files, message", [
    ({"smollm2:135m": "SmolLM2.gguf"}, "no GGUF file for 'smollm2-b'"),
    (dict(MISTRAL_FILES, **{"smollm2-b": "../x.gguf"}), "is not a .gguf file name"),
])
def test_mistralrs_refuses_missing_or_unsafe_files(files: Dict[str, str], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        mistralrs_config(mistral_plan(), files)


def test_mistralrs_refuses_a_model_name_that_is_not_a_directory_name() -> None:
    plan = resource_plan(linux(16), models=[dict(SMOLLM2, name="org/model")], engine="mistralrs")
    with pytest.raises(PlanError, match="cannot name a model for mistral.rs"):
        compose_project(plan, IMAGES, model_files={"org/model": "m.gguf"})


def test_every_root_filesystem_is_read_only_but_cadvisors() -> None:
    # What a service writes goes to its volumes or to a /tmp in memory (Nginx's pid and temporary files too).
    plan = resource_plan(linux(64), models=["mistral:7b-instruct-q4_K_M"])
    monitoring = {"config_dir": "/opt/frontier-llm/prometheus", "config_hash": "x", "retention_time": "15d",
                  "retention_size": "10GB", "cadvisor": True, "engine_probe": True}
    images = dict(IMAGES, prometheus="prom/prometheus:v2.53.3", node_exporter="prom/node-exporter:v1.9.0",
                  blackbox_exporter="prom/blackbox-exporter:v0.26.0", cadvisor="gcr.io/cadvisor/cadvisor:v0.49.1")
    services = compose_project(plan, images, monitoring=monitoring)["services"]
    assert set(services) == {"ollama", "nginx", "prometheus", "node-exporter", "blackbox-exporter", "cadvisor"}
    for name, service in services.items():
        if name != "cadvisor":
            assert service["read_only"] is True and service["tmpfs"] == ["/tmp"], name


@pytest.mark.parametrize("docker, compose, system, message", [
    ("26.1.5+dfsg1", "2.26.1", "Linux", None),
    ("", "", "Linux", None),  # docker_engine installs both
    ("28.0.1", "v2.33.1-desktop.1", "Darwin", None),
    ("", "", "Darwin", "install and start Docker Desktop"),
    ("19.03.15", "2.26.1", "Linux", "the Docker engine is 19.03.15; the stack needs 20.10"),
    ("26.1.5", "2.10.2", "Linux", "Compose v2 is 2.10.2; the stack needs 2.18"),
    ("26.1.5", "garbage", "Linux", "not one the preflight can read"),
])
def test_docker_and_compose_versions(docker: str, compose: str, system: str, message: Any) -> None:
    from ansible_collections.frontier.llm.plugins.module_utils.stack import docker_version_errors
    errors = docker_version_errors(docker, compose, system)
    assert (errors == []) if message is None else any(message in error for error in errors), errors
