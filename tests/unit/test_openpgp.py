"""OpenPGP fingerprints computed without gpg, and the signing_key module that pins a repository's key."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.openpgp import OpenPGPError, fingerprints, normalize
from conftest import adhoc

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openpgp"
# What `gpg --with-colons --fingerprint` printed for the two keys generated for these fixtures.
ED25519 = "B3269843EE5C0644A9E8B2151277226E7065245E"
RSA2048 = "C69C1C73457BB879B72448A90E3810C963343BB1"


@pytest.mark.parametrize("name, expected", [("ed25519.asc", ED25519), ("rsa2048.asc", RSA2048), ("rsa2048.gpg", RSA2048)])
def test_fingerprints_are_gpgs(name: str, expected: str) -> None:
    assert fingerprints((FIXTURES / name).read_bytes()) == [expected]


def test_a_damaged_key_is_an_error() -> None:
    data = (FIXTURES / "rsa2048.gpg").read_bytes()
    with pytest.raises(OpenPGPError, match="runs past the end"):
        fingerprints(data[:100])
    with pytest.raises(OpenPGPError, match="not a packet header"):
        fingerprints(b"\x00\x01\x02")
    with pytest.raises(OpenPGPError, match="not valid base64"):
        fingerprints(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n")


def test_normalize() -> None:
    assert normalize("9dc8 5822 9fc7 dd38 854a  e2d8 8d81 803c 0ebf cd88") == "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
    with pytest.raises(OpenPGPError):
        normalize("0EBFCD88")


@pytest.fixture()
def key_server() -> Iterator[str]:
    """A local web server publishing the fixture keys."""
    def handler(*args: Any) -> http.server.SimpleHTTPRequestHandler:
        return http.server.SimpleHTTPRequestHandler(*args, directory=str(FIXTURES))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_a_key_with_another_fingerprint_is_refused_and_not_written(key_server: str, tmp_path: Path) -> None:
    dest = tmp_path / "keyrings" / "docker.asc"
    docker = "9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"
    result = adhoc("frontier.llm.signing_key", {"url": key_server + "/rsa2048.asc", "dest": str(dest), "fingerprints": [docker]})
    assert result.get("failed"), result
    assert "the key's fingerprint is %s, not the pinned 9DC858229FC7DD38854AE2D88D81803C0EBFCD88" % RSA2048 in result["msg"]
    assert not dest.exists()


def test_the_pinned_key_is_written_once(key_server: str, tmp_path: Path) -> None:
    dest = tmp_path / "keyrings" / "repo.asc"
    args = {"url": key_server + "/ed25519.asc", "dest": str(dest), "fingerprints": [ED25519.lower()]}
    first = adhoc("frontier.llm.signing_key", args)
    assert first["changed"] and not first.get("failed"), first
    assert dest.read_bytes() == (FIXTURES / "ed25519.asc").read_bytes()
    assert dest.stat().st_mode & 0o777 == 0o644
    assert adhoc("frontier.llm.signing_key", args)["changed"] is False
