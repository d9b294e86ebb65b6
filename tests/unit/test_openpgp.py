"""OpenPGP fingerprints computed without gpg, and the signing_key module that pins a repository's key."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, List, Set, Tuple

import pytest

from ansible_collections.frontier.llm.plugins.module_utils.openpgp import OpenPGPError, fingerprints, normalize, packets
from conftest import adhoc

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openpgp"
# What `gpg --with-colons --fingerprint` printed for the two keys generated for these fixtures.
ED25519 = "B3269843EE5C0644A9E8B2151277226E7065245E"
RSA2048 = "C69C1C73457BB879B72448A90E3810C963343BB1"
# Files holding both keys, which `gpg --show-keys` lists in this order: two-keys.gpg and two-keys.asc are
# `gpg --export` and `gpg --armor --export` of the two (one block); pinned-then-other.asc is ed25519.asc followed
# by rsa2048.asc (two armored blocks), the file a publisher could serve to have a second key trusted.
BOTH = [ED25519, RSA2048]


@pytest.mark.parametrize("name, expected", [("ed25519.asc", [ED25519]), ("rsa2048.asc", [RSA2048]),
                                            ("rsa2048.gpg", [RSA2048]), ("two-keys.gpg", BOTH), ("two-keys.asc", BOTH)])
def test_fingerprints_are_gpgs(name: str, expected: List[str]) -> None:
    assert fingerprints((FIXTURES / name).read_bytes()) == expected


def test_a_second_armored_block_is_refused() -> None:
    # gpg --show-keys lists both keys of this file; 0.2.0 read the first block alone and saw only the pinned key.
    with pytest.raises(OpenPGPError, match="after the armored key"):
        fingerprints((FIXTURES / "pinned-then-other.asc").read_bytes())


@pytest.mark.parametrize("before, after", [
    (b"", b"trailing text\n"), (b"", b"\n="), (b"", (FIXTURES / "rsa2048.gpg").read_bytes()),
    (b"", (FIXTURES / "rsa2048.asc").read_bytes()), (b"a comment\n", b""), ((FIXTURES / "rsa2048.gpg").read_bytes(), b""),
], ids=["text after", "a stray line after", "a binary key after", "an armored key after", "text before",
        "a binary key before"])
def test_anything_but_whitespace_around_the_armored_block_is_refused(before: bytes, after: bytes) -> None:
    armored = (FIXTURES / "ed25519.asc").read_bytes()
    with pytest.raises(OpenPGPError, match="(after|before) the armored key"):
        fingerprints(before + armored + after)
    assert fingerprints(b"\n \r\n" + armored + b"\n\t \r\n") == [ED25519]


def new_format(data: bytes) -> Tuple[bytes, Set[int]]:
    """A binary key file with its packets' headers rewritten in the new format (RFC 9580 4.2.1), and the offsets
    where its packets end. One-, two- and five-octet lengths all occur: every other packet gets the five-octet form."""
    out, ends = b"", set()
    for index, (tag, body) in enumerate(packets(data)):
        size = len(body)
        if index % 2:
            header = bytes([0xC0 | tag, 255]) + size.to_bytes(4, "big")
        elif size < 192:
            header = bytes([0xC0 | tag, size])
        else:
            header = bytes([0xC0 | tag, ((size - 192) >> 8) + 192, (size - 192) & 0xFF])
        out += header + body
        ends.add(len(out))
    return out, ends


def old_format(data: bytes) -> Tuple[bytes, Set[int]]:
    """The file as gpg wrote it (old-format headers), and the offsets where its packets end."""
    ends, pos = set(), 0
    for _tag, body in packets(data):
        pos = data.index(body, pos) + len(body)
        ends.add(pos)
    return data, ends


@pytest.mark.parametrize("name", ["rsa2048.gpg", "two-keys.gpg"])
@pytest.mark.parametrize("encode", [old_format, new_format], ids=["old headers", "new headers"])
def test_every_truncation_of_a_binary_key_is_an_openpgp_error(name: str, encode: Callable[[bytes], Tuple[bytes, Set[int]]]) -> None:
    # A cut inside a packet's header used to raise IndexError (new-format headers), or read a short length as the
    # length (old-format ones).
    data, ends = encode((FIXTURES / name).read_bytes())
    assert fingerprints(data) == fingerprints((FIXTURES / name).read_bytes())
    for length in range(len(data)):
        if length in ends:  # whole packets: a shorter file that is still well formed
            assert fingerprints(data[:length])
            continue
        with pytest.raises(OpenPGPError):
            fingerprints(data[:length])


@pytest.mark.parametrize("name", ["ed25519.asc", "rsa2048.asc", "two-keys.asc"])
def test_every_truncation_of_an_armored_key_is_an_openpgp_error(name: str) -> None:
    # A cut in the END line used to pass; one in the base64 text could reach the packet reader cut short.
    data = (FIXTURES / name).read_bytes()
    for length in range(len(data.rstrip())):
        with pytest.raises(OpenPGPError):
            fingerprints(data[:length])


@pytest.mark.parametrize("data, message", [
    (b"\xc6", "header"), (b"\xc6\xc0", "header"), (b"\xc6\xff\x00\x00", "header"), (b"\x99\x00", "header"),
    (b"\x9a\x00\x00\x00", "header"), (b"\xc6\x05\x04", "runs past"), (b"\xc6\x00", "no public key"),
], ids=["new, no length", "new, two-octet length cut", "new, five-octet length cut", "old, two-octet length cut",
        "old, four-octet length cut", "body cut", "empty key packet"])
def test_a_cut_packet_header_is_an_openpgp_error(data: bytes, message: str) -> None:
    with pytest.raises(OpenPGPError, match=message):
        fingerprints(data)


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


def test_a_pinned_key_followed_by_another_armored_key_is_refused(key_server: str, tmp_path: Path) -> None:
    dest = tmp_path / "keyrings" / "repo.asc"
    result = adhoc("frontier.llm.signing_key", {"url": key_server + "/pinned-then-other.asc", "dest": str(dest),
                                                "fingerprints": [ED25519]})
    assert result.get("failed"), result
    assert "after the armored key" in result["msg"] and "nothing was installed" in result["msg"], result["msg"]
    assert not dest.exists()


def test_a_key_file_with_a_key_that_is_not_pinned_is_refused(key_server: str, tmp_path: Path) -> None:
    # Any key in the file would be trusted to sign the repository: each one must be pinned, not just one of them.
    dest = tmp_path / "keyrings" / "repo.gpg"
    for name in ("two-keys.gpg", "two-keys.asc"):
        result = adhoc("frontier.llm.signing_key", {"url": key_server + "/" + name, "dest": str(dest),
                                                    "fingerprints": [ED25519]})
        assert result.get("failed"), result
        assert "%s is not pinned" % RSA2048 in result["msg"] and "nothing was installed" in result["msg"], result["msg"]
        assert result["fingerprints"] == BOTH
        assert not dest.exists()
    accepted = adhoc("frontier.llm.signing_key", {"url": key_server + "/two-keys.gpg", "dest": str(dest),
                                                  "fingerprints": [RSA2048, ED25519]})
    assert accepted["changed"] and not accepted.get("failed"), accepted
    assert dest.read_bytes() == (FIXTURES / "two-keys.gpg").read_bytes()


def test_a_secret_key_packet_is_refused() -> None:
    # A secret key packet holds its public key, which a reader of the file could take as one more primary key.
    data = (FIXTURES / "rsa2048.gpg").read_bytes()
    assert data[0] == 0x99  # old format, tag 6 (public key), two-octet length
    with pytest.raises(OpenPGPError, match="secret key"):
        fingerprints(bytes([0x95]) + data[1:])  # the same packet as tag 5 (secret key)
