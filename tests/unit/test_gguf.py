"""The GGUF header reader and the gguf_info module, on tiny files written with gguf.GGUFWriter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from gguf import GGUFReader, GGUFWriter

from ansible_collections.frontier.llm.plugins.module_utils import gguf as ours
from ansible_collections.frontier.llm.plugins.module_utils import sizing
from conftest import adhoc


def write_model(path: Path, arch: str = "llama", layers: int = 4, heads: int = 8, kv_heads: Optional[int] = 2,
                embedding: int = 64, ctx: int = 2048, vocab: int = 300, key_length: Optional[int] = None,
                value_length: Optional[int] = None, name: str = "tiny test model") -> Path:
    """Write a small but well-formed GGUF with one tensor and a vocabulary of ``vocab`` tokens."""
    writer = GGUFWriter(str(path), arch)
    writer.add_name(name)
    writer.add_block_count(layers)
    writer.add_head_count(heads)
    if kv_heads is not None:
        writer.add_head_count_kv(kv_heads)
    writer.add_embedding_length(embedding)
    writer.add_context_length(ctx)
    if key_length is not None:
        writer.add_key_length(key_length)
    if value_length is not None:
        writer.add_value_length(value_length)
    writer.add_file_type(15)  # MOSTLY_Q4_K_M
    writer.add_token_list(["tok%d" % i for i in range(vocab)])
    writer.add_token_scores([0.0] * vocab)
    writer.add_tensor("token_embd.weight", np.zeros((vocab, embedding), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_reader_agrees_with_gguf_reader(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m.gguf", key_length=16, value_length=8)
    version, tensors, meta = ours.read_header(str(path))
    reference = GGUFReader(str(path))
    assert tensors == len(reference.tensors) == 1
    for key in ("llama.block_count", "llama.attention.head_count", "llama.attention.head_count_kv",
                "llama.embedding_length", "llama.context_length", "llama.attention.key_length"):
        field = reference.fields[key]
        assert meta[key] == field.parts[field.data[0]][0], key
    assert len(meta["tokenizer.ggml.tokens"]) == len(reference.fields["tokenizer.ggml.tokens"].data) == 300
    assert meta["general.name"] == "tiny test model"
    assert version == 3


def test_model_metadata(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m.gguf", arch="qwen3", layers=3, heads=8, kv_heads=2, embedding=64,
                       key_length=16, value_length=16)
    meta = ours.model_metadata(str(path), file_bytes=os.path.getsize(path))
    assert {k: meta[k] for k in ("arch", "n_layer", "n_head", "n_head_kv", "embedding_length", "context_length",
                                 "vocab_size", "key_length", "value_length")} == {
        "arch": "qwen3", "n_layer": 3, "n_head": 8, "n_head_kv": 2, "embedding_length": 64, "context_length": 2048,
        "vocab_size": 300, "key_length": 16, "value_length": 16}
    # The planner takes it as it is.
    figures = sizing.model_memory(meta, ctx=1024, parallel=2)
    assert figures["kv_bytes"] == 3 * 2048 * 2 * (16 + 16) * 2
    assert figures["weights_bytes"] == os.path.getsize(path)


def test_missing_kv_heads_means_no_gqa(tmp_path: Path) -> None:
    meta = ours.model_metadata(str(write_model(tmp_path / "m.gguf", kv_heads=None)))
    assert meta["n_head_kv"] == meta["n_head"] == 8


@pytest.mark.parametrize("content, message", [
    (b"", "not a GGUF file"),
    (b"GGML\x03\x00\x00\x00", "not a GGUF file"),
    (b"GGUF\x01\x00\x00\x00", "version 1"),
    (b"GGUF\x00\x00\x00\x03", "not supported"),
    (b"GGUF\x03\x00\x00\x00\x01\x00", "truncated"),
])
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ours.GGUFError, match=message) as err:
        ours.model_metadata(str(path))
    assert str(path) in str(err.value)


def test_truncated_real_file(tmp_path: Path) -> None:
    path = write_model(tmp_path / "m.gguf")
    data = path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:200])
    with pytest.raises(ours.GGUFError, match="truncated"):
        ours.read_header(str(cut))


def test_module_reads_an_ollama_store(tmp_path: Path) -> None:
    store = tmp_path / "models"
    blob = store / "blobs" / ("sha256-" + "ab" * 32)
    blob.parent.mkdir(parents=True)
    write_model(blob, layers=5)
    manifest = store / "manifests" / "registry.ollama.ai" / "library" / "tiny" / "q4"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.license", "digest": "sha256:" + "cd" * 32},
        {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:" + "ab" * 32}]}))
    result = adhoc("frontier.llm.gguf_info", {"ollama_model": "tiny:q4", "ollama_models_dir": str(store)})
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["model"]["name"] == "tiny:q4"
    assert result["model"]["n_layer"] == 5
    assert result["model"]["file_bytes"] == blob.stat().st_size


def test_module_fails_clearly_without_a_manifest(tmp_path: Path) -> None:
    result = adhoc("frontier.llm.gguf_info", {"ollama_model": "absent:7b", "ollama_models_dir": str(tmp_path)})
    assert result["failed"] is True
    assert "no manifest for 'absent:7b'" in result["msg"]


def test_module_fails_clearly_on_a_non_gguf(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"PK\x03\x04 not a model")
    result = adhoc("frontier.llm.gguf_info", {"path": str(path)})
    assert result["failed"] is True
    assert "not a GGUF file" in result["msg"]
