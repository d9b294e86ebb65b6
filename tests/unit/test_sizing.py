"""model_memory: the KV-cache formula, its inputs, and the seed's error."""

from __future__ import annotations

import math

import pytest

from ansible_collections.frontier.llm.plugins.module_utils import catalog, sizing
from ansible_collections.frontier.llm.plugins.module_utils.units import GIB, MIB

QWEN = "qwen2.5-coder:32b-instruct-q8_0"


def seed_context_formula(max_tokens: int, batch_size: int, num_layers: int) -> int:
    """The seed guide's context formula (max_tokens x batch_size x 4 bytes x layers), kept to show its error."""
    return max_tokens * batch_size * 4 * num_layers


def test_seed_formula_is_off_by_about_a_thousand() -> None:
    # The seed's example: "8192 x 4 x 4 x 80 = 10GB". It is 10 MiB.
    assert seed_context_formula(8192, 4, 80) == 10 * MIB
    right = sizing.model_memory(QWEN, ctx=8192, parallel=4)["kv_bytes"]
    assert right == 8 * GIB
    assert 800 < right / seed_context_formula(8192, 4, 80) < 1000


@pytest.mark.parametrize("cache, flash, gib", [
    ("f16", False, 8.0),
    ("q8_0", True, 4.25),
    ("q4_0", True, 2.25),
])
def test_qwen_32b_kv_cache(cache: str, flash: bool, gib: float) -> None:
    figures = sizing.model_memory(QWEN, ctx=8192, parallel=4, kv_cache_type=cache, flash_attention=flash)
    assert figures["kv_bytes"] == int(gib * GIB)
    assert figures["kv_tokens"] == 32768
    assert figures["warnings"] == []


def test_llama2_13b_has_no_gqa_25_gib() -> None:
    # Without the trained-context cap (context_length 0 = unknown) 8192 x 4 tokens in f16 is 25 GiB,
    # far beyond the seed's 16 GB minimum for 13B.
    meta = dict(catalog.MODELS["llama2:13b-chat-q4_K_M"], context_length=None)
    assert sizing.model_memory(meta, ctx=8192, parallel=4)["kv_bytes"] == 25 * GIB


def test_ctx_is_capped_at_the_trained_context() -> None:
    figures = sizing.model_memory("llama2:13b-chat-q4_K_M", ctx=8192, parallel=4)
    assert figures["ctx"] == 4096 and figures["kv_tokens"] == 16384
    assert "above the trained context 4096" in figures["warnings"][0]


def test_quantized_cache_without_flash_attention_stays_f16() -> None:
    figures = sizing.model_memory(QWEN, ctx=8192, parallel=4, kv_cache_type="q8_0", flash_attention=False)
    assert figures["kv_cache_type"] == "f16"
    assert figures["kv_bytes"] == 8 * GIB
    assert "needs flash attention" in figures["warnings"][0]


def test_key_and_value_lengths_differ() -> None:
    meta = {"n_layer": 2, "n_head": 4, "n_head_kv": 2, "key_length": 192, "value_length": 128,
            "embedding_length": 512, "vocab_size": 1000, "context_length": 1024, "file_bytes": 1000}
    figures = sizing.model_memory(meta, ctx=100, parallel=1)
    assert figures["kv_bytes"] == 2 * 100 * 2 * (192 + 128) * 2


def test_head_dim_falls_back_to_embedding_over_heads() -> None:
    # Qwen3-8B style: embedding 4096 / 32 heads = 128 when the GGUF has no key_length.
    meta = {"n_layer": 1, "n_head": 32, "n_head_kv": 8, "embedding_length": 4096, "vocab_size": 10,
            "file_bytes": 1}
    assert sizing.model_memory(meta, ctx=1, parallel=1)["kv_bytes"] == 1 * 1 * 8 * 256 * 2


def test_key_length_beats_the_fallback() -> None:
    # Qwen3: 4096 / 64 = 64 by the fallback, but attention.key_length is 128.
    meta = {"n_layer": 1, "n_head": 64, "n_head_kv": 4, "key_length": 128, "value_length": 128,
            "embedding_length": 4096, "vocab_size": 10, "file_bytes": 1}
    assert sizing.model_memory(meta, ctx=1, parallel=1)["kv_bytes"] == 4 * 256 * 2


def test_weights_from_params_and_quant() -> None:
    meta = dict(catalog.MODELS["mistral:7b-instruct-q4_K_M"], file_bytes=None)
    figures = sizing.model_memory(meta)
    assert figures["weights_bytes"] == math.ceil(7.25e9 * 4.89 / 8)


def test_graph_with_and_without_flash_attention() -> None:
    meta = catalog.MODELS[QWEN]
    without = sizing.model_memory(QWEN, ctx=8192, parallel=4)["graph_bytes"]
    with_fa = sizing.model_memory(QWEN, ctx=8192, parallel=4, flash_attention=True)["graph_bytes"]
    assert with_fa == 4 * 512 * (meta["embedding_length"] + meta["vocab_size"])
    assert without == 4 * 512 * 32768 * meta["n_head"]
    assert without > with_fa


@pytest.mark.parametrize("backend, gpus, overhead_mib", [
    ("cpu", 1, 150), ("cuda", 2, 150 + 2 * 457), ("rocm", 1, 150 + 457), ("metal", 1, 150 + 512),
])
def test_overhead_per_backend(backend: str, gpus: int, overhead_mib: int) -> None:
    assert sizing.model_memory(QWEN, backend=backend, gpu_count=gpus)["overhead_bytes"] == overhead_mib * MIB


def test_total_is_the_sum() -> None:
    figures = sizing.model_memory(QWEN, ctx=8192, parallel=2)
    assert figures["total_bytes"] == sum(figures[key] for key in ("weights_bytes", "kv_bytes", "graph_bytes", "overhead_bytes"))


def test_seed_mixtral_tag_resolves_with_a_warning() -> None:
    figures = sizing.model_memory("mixtral:8x7b-instruct-q4_K_M")
    assert figures["name"] == "mixtral:8x7b-instruct-v0.1-q4_K_M"
    assert "seed's spelling" in figures["warnings"][0]


def test_dict_with_a_catalog_name_overrides_fields() -> None:
    figures = sizing.model_memory({"name": QWEN, "file_bytes": "30G"})
    assert figures["weights_bytes"] == 30 * GIB


def test_every_catalog_model_is_valid() -> None:
    for tag in catalog.MODELS:
        figures = sizing.model_memory(tag)
        assert figures["total_bytes"] > figures["weights_bytes"] > 0
