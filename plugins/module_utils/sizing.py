# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Memory of one model as an inference engine holds it: weights, KV cache, graph, overhead.

Plain Python with no Ansible import, shared by the filter plugins and the modules.

The seed guide's formula, ``context = max_tokens x batch_size x 4 bytes x num_layers``
(its example: 8192 x 4 x 4 x 80 = "10GB"), is wrong: that product is 10,485,760 bytes,
10 MiB, because the width of a layer's keys and values per token is missing. llama.cpp
(which Ollama runs) allocates per layer a K and a V tensor of
``n_head_kv x key_length`` and ``n_head_kv x value_length`` elements per token, so

    kv_bytes = n_layer x kv_tokens x n_head_kv x (key_length + value_length) x bytes_per_element

which for Qwen2.5-Coder-32B at 8192 tokens x 4 parallel in f16 is
64 x 32768 x 8 x 256 x 2 = 8 GiB (llama.cpp ``llama_kv_cache`` sizing; Ollama
``llm/memory.go``; gguf-parser-go ``LLaMACppRunEstimate``).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.frontier.llm.plugins.module_utils.catalog import ALIASES, MODELS
from ansible_collections.frontier.llm.plugins.module_utils.units import MIB, SizeError, to_bytes


class PlanError(ValueError):
    """Input the planner cannot use; the message names the argument and the value."""


# Bytes per cached element: ggml block sizes (ggml-common.h: block_q8_0 is 32 int8 values
# plus an f16 scale = 34 bytes per 32; block_q4_0 is 16 bytes of nibbles plus the scale = 18).
KV_BYTES_PER_ELEMENT: Dict[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

# Whole-file bits per weight that llama.cpp's quantize tool reports for each type
# (llama.cpp examples/quantize README), used when the file size is unknown.
BITS_PER_WEIGHT: Dict[str, float] = {
    "Q2_K": 3.16, "Q3_K_S": 3.64, "Q3_K_M": 4.0, "Q4_0": 4.6, "Q4_K_M": 4.89,
    "Q5_K_M": 5.70, "Q6_K": 6.56, "Q8_0": 8.50, "F16": 16.0,
}

# The runtime's own footprint in RAM (gguf-parser-go adds 150 MiB) and the fixed
# reservations Ollama makes per GPU backend (llm/memory.go: 457 MiB per CUDA/ROCm device,
# 512 MiB on Metal).
RUNTIME_RAM_BYTES = 150 * MIB
# llama.cpp's default physical batch (n_ubatch), common/common.h.
DEFAULT_UBATCH = 512
GPU_OVERHEAD_BYTES: Dict[str, int] = {"cpu": 0, "cuda": 457 * MIB, "rocm": 457 * MIB, "metal": 512 * MIB}

ENGINES = ("ollama", "mistralrs", "llamacpp")
# The Compose service that runs each engine: the one mapping every module reads.
ENGINE_SERVICE: Dict[str, str] = {"ollama": "ollama", "mistralrs": "mistral", "llamacpp": "llamacpp"}
# llama.cpp rounds each sequence's context up to a multiple of this many cells
# (llama-context.cpp pads n_ctx_seq; seen in its ``llama_kv_cache: size`` log line).
LLAMACPP_CTX_PAD = 256
BACKENDS = tuple(GPU_OVERHEAD_BYTES)
# The compute graph works on micro-batches of at most this many tokens (llama.cpp n_ubatch).
UBATCH = 512


def check_engine(engine: Any) -> str:
    """The engine, or PlanError naming the known ones: the one check of the engine, for the planner and the sizing."""
    if engine not in ENGINES:
        raise PlanError("engine: %r is unknown; choose one of %s" % (engine, ", ".join(ENGINES)))
    return engine


def check_kv_cache_type(kv_cache_type: Any) -> str:
    """The cache type, or PlanError naming the known ones: the one check of kv_cache_type."""
    if kv_cache_type not in KV_BYTES_PER_ELEMENT:
        raise PlanError("kv_cache_type: %r is unknown; choose one of %s" % (kv_cache_type, ", ".join(KV_BYTES_PER_ELEMENT)))
    return kv_cache_type


def positive_int(value: Any, name: str, allow_zero: bool = False) -> int:
    """Return value as an int > 0 (or >= 0), or raise PlanError naming it."""
    if isinstance(value, int) and not isinstance(value, bool) and (value > 0 or (allow_zero and value == 0)):
        return value  # the common case, a plain int in range: none of the conversions below applies
    if isinstance(value, bool):
        raise PlanError("%s: %r is a boolean, expected a whole number" % (name, value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise PlanError("%s: %r is not a whole number" % (name, value))
    if value < 0 or (value == 0 and not allow_zero):
        raise PlanError("%s: %r must be %s" % (name, value, ">= 0" if allow_zero else "> 0"))
    return value


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
        return value.strip().lower() in ("true", "yes", "1", "on")
    raise PlanError("%s: %r is not a boolean" % (name, value))


def resolve_model(model: Any, catalog: Optional[Mapping[str, Any]] = None) -> Tuple[str, Dict[str, Any], List[str]]:
    """Turn a catalog tag or a metadata dict into (name, validated metadata, warnings).

    A dict may carry ``name`` alone (a tag, looked up) plus fields that override the
    catalog's. ``catalog`` adds to or overrides the built-in catalog.
    """
    warnings: List[str] = []
    catalog = dict(catalog or {})
    if isinstance(model, str):
        spec: Dict[str, Any] = {"name": model}
    elif isinstance(model, Mapping):
        spec = dict(model)
    else:
        raise PlanError("model: %r is neither a catalog tag (string) nor a dict of metadata" % (model,))
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise PlanError("model.name: %r is not a string" % (name,))
    base: Dict[str, Any] = {}
    if name is not None:
        tag = name
        if tag not in catalog and tag not in MODELS and tag in ALIASES:
            warnings.append("model %r is the seed's spelling; the Ollama tag is %r" % (tag, ALIASES[tag]))
            tag = ALIASES[tag]
        if tag in catalog:
            if not isinstance(catalog[tag], Mapping):
                raise PlanError("catalog[%s]: expected a dict of model metadata, got %r" % (tag, catalog[tag]))
            base = dict(catalog[tag])
        elif tag in MODELS:
            base = dict(MODELS[tag])
        elif "n_layer" not in spec:
            known = ", ".join(sorted(set(MODELS) | set(catalog)))
            raise PlanError("model: unknown model tag %r; known tags: %s (or pass a dict of metadata: "
                            "n_layer, n_head, n_head_kv, head_dim or key_length/value_length, embedding_length, "
                            "vocab_size, context_length, and file_bytes or params + quant)" % (name, known))
        name = tag
    base.update({key: value for key, value in spec.items() if key != "name"})
    label = name or "model"
    meta = _validate_metadata(base, label)
    return label, meta, warnings


def _validate_metadata(meta: Dict[str, Any], label: str) -> Dict[str, Any]:
    """Check and complete a model's metadata; every error names the field and the model."""
    out: Dict[str, Any] = dict(meta)
    for field in ("n_layer", "n_head", "embedding_length", "vocab_size"):
        if field not in meta:
            raise PlanError("model %s: %s is missing" % (label, field))
        out[field] = positive_int(meta[field], "model %s: %s" % (label, field))
    out["n_head_kv"] = positive_int(meta.get("n_head_kv", out["n_head"]), "model %s: n_head_kv" % label)
    if out["n_head_kv"] > out["n_head"]:
        raise PlanError("model %s: n_head_kv %d is more than n_head %d" % (label, out["n_head_kv"], out["n_head"]))
    if "key_length" in meta or "value_length" in meta:
        out["key_length"] = positive_int(meta.get("key_length"), "model %s: key_length" % label)
        out["value_length"] = positive_int(meta.get("value_length", out["key_length"]), "model %s: value_length" % label)
    elif "head_dim" in meta:
        out["key_length"] = out["value_length"] = positive_int(meta["head_dim"], "model %s: head_dim" % label)
    else:
        # llama.cpp's fallback when the GGUF has no attention.key_length: n_embd / n_head.
        if out["embedding_length"] < out["n_head"]:
            raise PlanError("model %s: embedding_length %d is below n_head %d, a head size of 0: give head_dim or "
                            "key_length" % (label, out["embedding_length"], out["n_head"]))
        out["key_length"] = out["value_length"] = out["embedding_length"] // out["n_head"]
    ctx = meta.get("context_length")
    out["context_length"] = None if ctx is None else positive_int(ctx, "model %s: context_length" % label)
    if meta.get("file_bytes") is not None:
        try:
            out["file_bytes"] = to_bytes(meta["file_bytes"], "model %s: file_bytes" % label)
        except SizeError as err:
            raise PlanError(str(err)) from None
        if out["file_bytes"] == 0:
            raise PlanError("model %s: file_bytes must be > 0" % label)
    else:
        params = meta.get("params")
        quant = meta.get("quant")
        if params is None or quant is None:
            raise PlanError("model %s: give file_bytes, or params and quant" % label)
        if isinstance(params, bool) or not isinstance(params, (int, float)) or not math.isfinite(params) or params <= 0:
            raise PlanError("model %s: params %r must be a number > 0" % (label, params))
        if str(quant).upper() not in BITS_PER_WEIGHT:
            raise PlanError("model %s: quant %r is unknown; known: %s" % (label, quant, ", ".join(BITS_PER_WEIGHT)))
        out["file_bytes"] = None
    return out


def weights_bytes(meta: Mapping[str, Any]) -> int:
    """The weights' size: the model file when known, else params x bits per weight / 8."""
    if meta.get("file_bytes"):
        return int(meta["file_bytes"])
    return int(math.ceil(float(meta["params"]) * BITS_PER_WEIGHT[str(meta["quant"]).upper()] / 8))


def host_side_bytes(meta: Mapping[str, Any], parallel: int) -> Tuple[int, int]:
    """What llama.cpp keeps in host RAM even when every layer is offloaded to a GPU: (embedding table, compute buffer).

    - The token-embedding table: llama.cpp never offloads the input layer ("there is very little benefit to
      offloading the input layer, so always keep it on the CPU", src/llama-model.cpp, b11434). It is
      ``vocab_size x embedding_length`` weights, at the file's average bytes per weight when the parameter count
      is known, else at f16 (2 bytes, the upper bound of the types GGUF files store it in).
    - The CPU backend's buffers: the embedded input batch, ``embedding_length x n_ubatch`` f32 values (n_ubatch
      512 by default, common/common.h), and the logits of each sequence, ``vocab_size`` f32 values.
    """
    weights = weights_bytes(meta)
    per_weight = weights / float(meta["params"]) if meta.get("params") else 2.0
    embedding = int(math.ceil(meta["vocab_size"] * meta["embedding_length"] * per_weight))
    buffers = 4 * (meta["embedding_length"] * DEFAULT_UBATCH + meta["vocab_size"] * parallel)
    return embedding, buffers


def kv_cache_bytes(meta: Mapping[str, Any], kv_tokens: int, kv_cache_type: str = "f16") -> int:
    """``n_layer x kv_tokens x n_head_kv x (key_length + value_length) x bytes_per_element``."""
    elements = meta["n_layer"] * kv_tokens * meta["n_head_kv"] * (meta["key_length"] + meta["value_length"])
    return int(math.ceil(elements * KV_BYTES_PER_ELEMENT[kv_cache_type]))


def graph_bytes(meta: Mapping[str, Any], kv_tokens: int, flash_attention: bool) -> int:
    """A bound on the compute graph's buffers, in bytes.

    With b = min(kv_tokens, 512) tokens per micro-batch, E the embedding length and V the
    vocabulary: ``4 x b x (E + V)`` for the f32 activations and logits, and without flash
    attention also the f32 attention scores, ``4 x b x kv_tokens x n_head``, whichever is
    larger (the bound gguf-parser-go and Ollama's estimate reduce to).
    """
    batch = min(kv_tokens, UBATCH)
    activations = 4 * batch * (meta["embedding_length"] + meta["vocab_size"])
    if flash_attention:
        return activations
    return max(activations, 4 * batch * kv_tokens * meta["n_head"])


def model_memory(model: Any, ctx: Any = 4096, parallel: Any = 1, kv_cache_type: str = "f16",
                 flash_attention: Any = False, engine: str = "ollama", backend: str = "cpu",
                 gpu_count: Any = 1, catalog: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Memory one loaded model needs, in bytes, and how it was reached.

    :param model: a catalog tag or a dict of metadata (see :func:`resolve_model`).
    :param ctx: context length per request (Ollama's ``num_ctx``); capped at the model's
        trained context, as current Ollama does.
    :param parallel: requests served at once (``OLLAMA_NUM_PARALLEL``; mistral.rs
        ``max_seqs``; llama.cpp ``--parallel``). Each parallel slot gets the full context, so
        ``kv_tokens = min(ctx, context_length) x parallel``; for llama.cpp each slot's context
        is first rounded up to a multiple of 256 cells, as llama.cpp allocates it.
    :param kv_cache_type: ``f16``, ``q8_0`` or ``q4_0`` (``OLLAMA_KV_CACHE_TYPE``). Ollama
        quantizes the cache only with flash attention on; otherwise the cache is f16, and a
        warning says so.
    :param backend: ``cpu``, ``cuda``, ``rocm`` or ``metal``: the fixed overhead added per GPU.
    :returns: ``weights_bytes, kv_bytes, graph_bytes, overhead_bytes, total_bytes, kv_tokens``
        plus ``name``, ``ctx`` (after the cap), ``parallel``, ``kv_cache_type`` (as used),
        ``flash_attention`` and ``warnings``.
    """
    return size_model(resolve_model(model, catalog), ctx=ctx, parallel=parallel, kv_cache_type=kv_cache_type,
                      flash_attention=flash_attention, engine=engine, backend=backend, gpu_count=gpu_count)


def size_model(resolved: Tuple[str, Dict[str, Any], List[str]], ctx: Any = 4096, parallel: Any = 1,
               kv_cache_type: str = "f16", flash_attention: Any = False, engine: str = "ollama", backend: str = "cpu",
               gpu_count: Any = 1) -> Dict[str, Any]:
    """:func:`model_memory` of a model :func:`resolve_model` has already resolved: (name, metadata, warnings).

    The planner resolves each model once and sizes it for every profile it tries; ``resolved`` is not changed.
    """
    check_engine(engine)
    if backend not in BACKENDS:
        raise PlanError("backend: %r is unknown; choose one of %s" % (backend, ", ".join(BACKENDS)))
    ctx = positive_int(ctx, "ctx")
    parallel = positive_int(parallel, "parallel")
    gpu_count = positive_int(gpu_count, "gpu_count")
    flash_attention = as_bool(flash_attention, "flash_attention")
    check_kv_cache_type(kv_cache_type)
    return size_checked(resolved, ctx, parallel, kv_cache_type, flash_attention, engine, backend, gpu_count)


def size_checked(resolved: Tuple[str, Dict[str, Any], List[str]], ctx: int, parallel: int, kv_cache_type: str,
                 flash_attention: bool, engine: str, backend: str, gpu_count: int) -> Dict[str, Any]:
    """:func:`size_model` of arguments already checked: ints > 0, a known cache type, engine and backend, a bool.

    The planner checks its settings once per plan and sizes each model with them under several profiles; the
    figures are those :func:`size_model` returns for the same arguments.
    """
    name, meta, resolve_warnings = resolved
    warnings = list(resolve_warnings)
    used_ctx = ctx
    if meta["context_length"] is not None and ctx > meta["context_length"]:
        used_ctx = meta["context_length"]
        warnings.append("%s: ctx %d is above the trained context %d; the engine caps it at %d"
                        % (name, ctx, meta["context_length"], used_ctx))
    used_cache = kv_cache_type
    if kv_cache_type != "f16" and engine == "mistralrs":
        used_cache = "f16"
        warnings.append("%s: the planner sizes mistral.rs with an f16 cache; kv_cache_type %s applies to Ollama"
                        % (name, kv_cache_type))
    elif kv_cache_type != "f16" and not flash_attention:
        used_cache = "f16"
        warnings.append("%s: kv_cache_type %s needs flash attention (OLLAMA_FLASH_ATTENTION, "
                        "LLAMA_ARG_FLASH_ATTN); without it the cache stays f16" % (name, kv_cache_type))
    seq_cells = used_ctx
    if engine == "llamacpp":
        seq_cells = -(-used_ctx // LLAMACPP_CTX_PAD) * LLAMACPP_CTX_PAD
    kv_tokens = seq_cells * parallel
    weights = weights_bytes(meta)
    kv = kv_cache_bytes(meta, kv_tokens, used_cache)
    graph = graph_bytes(meta, kv_tokens, flash_attention)
    devices = 1 if backend == "metal" else gpu_count
    overhead = RUNTIME_RAM_BYTES + GPU_OVERHEAD_BYTES[backend] * (devices if backend != "cpu" else 0)
    embedding, buffers = host_side_bytes(meta, parallel)
    return {
        "name": name,
        "weights_bytes": weights,
        "kv_bytes": kv,
        "graph_bytes": graph,
        "overhead_bytes": overhead,
        "total_bytes": weights + kv + graph + overhead,
        # Kept in host RAM on a GPU host (see host_side_bytes): the embedding table is part of the weights above,
        # the CPU buffers come on top.
        "host_side_bytes": embedding + buffers,
        "kv_tokens": kv_tokens,
        "ctx": used_ctx,
        "parallel": parallel,
        "kv_cache_type": used_cache,
        "flash_attention": flash_attention,
        "warnings": warnings,
    }
