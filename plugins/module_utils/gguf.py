# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a GGUF file's header: the metadata the planner sizes a model from.

A small reader of our own in the standard library, so managed hosts need neither the
``gguf`` package nor numpy; the tests check it against ``gguf.GGUFReader`` on files written
with ``gguf.GGUFWriter``. Format: ggml's docs/gguf.md. A file begins with the magic
``GGUF``, a uint32 version (2 and 3 are read; version 1 used 32-bit counts), the uint64
tensor and key/value counts, then the key/value pairs: a string key, a uint32 value type and
the value. Tensor data is never read; arrays such as the 150,000-token vocabulary are
skipped, keeping only their length.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO, Dict, Optional, Tuple

MAGIC = b"GGUF"
# value type -> struct format of one element (little-endian); 8 = string, 9 = array
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
# Arrays longer than this are not kept (their length is); the vocabulary is one.
_KEEP_ARRAY = 64
# Sanity bounds against a corrupt header.
_MAX_STRING = 1 << 24
_MAX_KV = 1 << 20


class GGUFError(ValueError):
    """A file that is not a readable GGUF; the message names the file and what is wrong."""


class _Reader:
    def __init__(self, handle: BinaryIO, path: str, size: int) -> None:
        self.handle, self.path, self.size = handle, path, size

    def read(self, count: int) -> bytes:
        data = self.handle.read(count)
        if len(data) != count:
            raise GGUFError("%s: truncated GGUF header at byte %d" % (self.path, self.handle.tell()))
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack("<" + fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("Q")
        if length > _MAX_STRING:
            raise GGUFError("%s: a string of %d bytes in the header; the file is corrupt" % (self.path, length))
        return self.read(length).decode("utf-8", errors="replace")

    def skip(self, count: int) -> None:
        target = self.handle.tell() + count
        if target > self.size:
            raise GGUFError("%s: truncated GGUF header (an array runs past the end of the file)" % self.path)
        self.handle.seek(target)

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            element, count = self.unpack("I"), self.unpack("Q")
            if element in _SCALARS and count > _KEEP_ARRAY:
                self.skip(count * struct.calcsize(_SCALARS[element]))
                return _Skipped(count)
            if element == _STRING and count > _KEEP_ARRAY:
                for _index in range(count):
                    self.skip(self.unpack("Q"))
                return _Skipped(count)
            return [self.value(element) for _index in range(count)]
        raise GGUFError("%s: unknown GGUF value type %d" % (self.path, kind))


class _Skipped:
    """An array too long to keep; only its length is known."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count


def read_header(path: str) -> Tuple[int, int, Dict[str, Any]]:
    """Return (version, tensor_count, metadata) of a GGUF file; long arrays become lengths."""
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise GGUFError("%s: cannot open: %s" % (path, err.strerror)) from None
    with handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(0)
        reader = _Reader(handle, path, size)
        if handle.read(4) != MAGIC:
            raise GGUFError("%s: not a GGUF file (no GGUF magic)" % path)
        version = reader.unpack("I")
        if version not in (2, 3):
            if version in (1,):
                raise GGUFError("%s: GGUF version 1 is obsolete and not read" % path)
            raise GGUFError("%s: GGUF version %d is not supported (big-endian files and versions other than 2 and 3)"
                            % (path, version))
        tensors, count = reader.unpack("Q"), reader.unpack("Q")
        if count > _MAX_KV:
            raise GGUFError("%s: %d metadata entries in the header; the file is corrupt" % (path, count))
        metadata: Dict[str, Any] = {}
        for _index in range(count):
            key = reader.string()
            metadata[key] = reader.value(reader.unpack("I"))
        return version, tensors, metadata


def _largest(value: Any) -> Any:
    """Per-layer arrays (e.g. head_count_kv on some models): the largest entry sizes the cache."""
    if isinstance(value, list):
        return max(value) if value else None
    return value


def model_metadata(path: str, file_bytes: Optional[int] = None) -> Dict[str, Any]:
    """The planner's metadata for a GGUF model file (see sizing.resolve_model)."""
    version, tensors, meta = read_header(path)
    arch = meta.get("general.architecture")
    if not isinstance(arch, str):
        raise GGUFError("%s: general.architecture is missing" % path)

    def field(name: str) -> Any:
        return _largest(meta.get("%s.%s" % (arch, name)))

    out: Dict[str, Any] = {
        "arch": arch,
        "n_layer": field("block_count"),
        "n_head": field("attention.head_count"),
        "n_head_kv": field("attention.head_count_kv") or field("attention.head_count"),
        "embedding_length": field("embedding_length"),
        "context_length": field("context_length"),
        "vocab_size": field("vocab_size") or (len(meta["tokenizer.ggml.tokens"]) if "tokenizer.ggml.tokens" in meta else None),
        "file_bytes": file_bytes,
        "gguf_version": version,
        "tensor_count": tensors,
    }
    for name in ("key_length", "value_length"):
        if field("attention." + name) is not None:
            out[name] = field("attention." + name)
    if isinstance(meta.get("general.name"), str):
        out["general_name"] = meta["general.name"]
    if isinstance(meta.get("general.file_type"), int):
        out["file_type"] = meta["general.file_type"]
    missing = [key for key in ("n_layer", "n_head", "embedding_length", "vocab_size") if out[key] is None]
    if missing:
        raise GGUFError("%s: the header lacks %s for architecture %s" % (path, ", ".join(missing), arch))
    return out
