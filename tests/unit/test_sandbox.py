"""The sandbox role's settings: what reaches debootstrap, the Docker API, a path or a listener is refused."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.sandbox import settings_errors


def good() -> Dict[str, Any]:
    return {"sandbox_hosts": ["frontier-sandbox"], "sandbox_image": "frontier-llm/systemd:debian13",
            "sandbox_debian_mirror": "http://deb.debian.org/debian", "sandbox_cache_dir": "/work/main/.cache",
            "sandbox_https_bind": "127.0.0.1", "sandbox_https_port": 8443}


def test_the_defaults_of_inventories_sandbox_are_accepted() -> None:
    assert settings_errors(good()) == []


def test_no_sandbox_hosts_is_accepted() -> None:
    assert settings_errors(dict(good(), sandbox_hosts=[])) == []


@pytest.mark.parametrize("name, value, needle", [
    ("sandbox_hosts", ["Frontier_Sandbox"], "the host 'Frontier_Sandbox'"),
    ("sandbox_hosts", ["x; rm -rf /"], "container name"),
    ("sandbox_hosts", "frontier-sandbox", "expected a list"),
    ("sandbox_image", "frontier-llm/systemd", "has no tag"),
    ("sandbox_image", "frontier-llm/systemd:latest", ":latest"),
    ("sandbox_image", "--privileged", "not an image reference"),
    ("sandbox_debian_mirror", "ftp://deb.debian.org/debian", "sandbox_debian_mirror"),
    ("sandbox_debian_mirror", "http://deb.debian.org/debian $(reboot)", "sandbox_debian_mirror"),
    ("sandbox_cache_dir", "/", "system directory"),
    ("sandbox_cache_dir", "/etc", "system directory"),
    ("sandbox_cache_dir", "relative/.cache", "absolute path"),
    ("sandbox_cache_dir", "/srv/../etc", "absolute path"),
    ("sandbox_https_bind", "localhost", "not an IP address"),
    ("sandbox_https_bind", "127.0.0.1:80", "not an IP address"),
    ("sandbox_https_port", 443, "from 1024"),
    ("sandbox_https_port", 65536, "from 1024"),
    ("sandbox_https_port", "84x3", "from 1024"),
    ("sandbox_https_port", True, "from 1024"),
])
def test_each_unsafe_value_is_refused_naming_the_variable(name: str, value: Any, needle: str) -> None:
    errors = settings_errors(dict(good(), **{name: value}))
    assert len(errors) == 1, errors
    assert needle in errors[0]
    assert (name if name != "sandbox_hosts" else "frontier_sandbox") in errors[0]


def test_a_port_given_on_the_command_line_as_text_is_accepted() -> None:
    assert settings_errors(dict(good(), sandbox_https_port="8450")) == []
    assert settings_errors(dict(good(), sandbox_https_port="80")) != []


def test_the_last_port_leaves_room_for_every_host() -> None:
    errors = settings_errors(dict(good(), sandbox_hosts=["a", "b", "c"], sandbox_https_port=65534))
    assert errors == ["sandbox_https_port: 65534 must be a port from 1024 to 65533 (one per sandbox host)"]
    assert settings_errors(dict(good(), sandbox_hosts=["a", "b", "c"], sandbox_https_port=65533)) == []
