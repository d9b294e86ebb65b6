"""Sizes as Docker and the seed spell them (frontier.llm.to_bytes / human_bytes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.frontier.llm.plugins.module_utils.units import (
    GIB, MIB, SizeError, docker_mib, human_bytes, to_bytes, to_mib)


@pytest.mark.parametrize("text, count", [
    ("64G", 64 * GIB),
    ("64g", 64 * GIB),
    ("512m", 512 * MIB),
    ("512MB", 512 * MIB),
    ("32GiB", 32 * GIB),
    ("1.5T", int(1.5 * 1024 * GIB)),
    ("2 GB", 2 * GIB),
    ("100", 100),
    ("100b", 100),
    ("1k", 1024),
    (4096, 4096),
    (1.2, 2),
    ("0", 0),
])
def test_to_bytes(text, count: int) -> None:
    assert to_bytes(text) == count


@pytest.mark.parametrize("value, message", [
    ("-1G", "negative"),
    (-5, "negative"),
    ("64X", "not a size"),
    ("", "not a size"),
    ("G", "not a size"),
    ("1.2.3G", "not a size"),
    ("iB", "not a size"),
    (True, "boolean"),
    (None, "not a size"),
    ([64], "not a size"),
    (float("nan"), "not a finite size"),
])
def test_to_bytes_rejects(value, message: str) -> None:
    with pytest.raises(SizeError, match=message) as err:
        to_bytes(value, "mem_limit")
    assert "mem_limit" in str(err.value)


@pytest.mark.parametrize("count, text", [
    (64 * GIB, "64G"),
    (512 * MIB, "512M"),
    (int(1.5 * 1024 * GIB), "1.5T"),
    (1536 * MIB, "1.5G"),
    (1000, "1000"),
    (0, "0"),
])
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text


def test_human_bytes_precision() -> None:
    assert human_bytes(int(1.25 * GIB), 2) == "1.25G"
    assert human_bytes(int(1.25 * GIB), 1) == "1.2G"
    with pytest.raises(SizeError, match="precision"):
        human_bytes(1, -1)


@given(st.integers(min_value=1, max_value=1023), st.sampled_from(["K", "M", "G", "T", "P"]))
def test_round_trip_whole_units(number: int, unit: str) -> None:
    count = to_bytes("%d%s" % (number, unit))
    assert human_bytes(count) == "%d%s" % (number, unit)
    assert to_bytes(human_bytes(count)) == count


def test_to_mib_and_docker_mib() -> None:
    assert to_mib("1.5G") == 1536
    assert to_mib(1) == 1
    assert docker_mib(65536) == "64G"
    assert docker_mib(1536) == "1536M"
