# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model catalog: metadata of the models the seed guide recommends.

A table of data kept in Python so that controller plugins and modules import it alike.
Per model: the GGUF metadata the KV-cache and graph formulas need
(``{arch}.block_count``, ``attention.head_count``, ``attention.head_count_kv``,
``attention.key_length`` / ``value_length``, ``embedding_length``, the vocabulary size,
``context_length``) and the size of the model file Ollama pulls for the tag.

Sources: the models' configuration files (config.json of each base model: hidden_size,
num_hidden_layers, num_attention_heads, num_key_value_heads, vocab_size,
max_position_embeddings) and the sizes the Ollama library lists for each tag, as collected
in the project's sizing notes. Codestral and DeepSeek-Coder layer and head counts agree
with their parameter counts but were not confirmed from a primary source.

Corrections to the seed's tags (aliases below resolve them, with a warning):
- ``mixtral:8x7b-instruct-q4_K_M`` does not exist in the Ollama library; the tag is
  ``mixtral:8x7b-instruct-v0.1-q4_K_M``.
- ``qwen3:235b-instruct-q4_K_M`` ("130GB, when available") is published as
  ``qwen3:235b-a22b-q4_K_M``, about 142 GB.
"""

from __future__ import annotations

from typing import Any, Dict

GB = 1000 ** 3  # Ollama's library lists file sizes in decimal gigabytes.

MODELS: Dict[str, Dict[str, Any]] = {
    "mistral:7b-instruct-q4_K_M": {
        "arch": "llama", "n_layer": 32, "n_head": 32, "n_head_kv": 8, "head_dim": 128,
        "embedding_length": 4096, "vocab_size": 32768, "context_length": 32768,
        "params": 7.25e9, "quant": "Q4_K_M", "file_bytes": int(4.37 * GB),
    },
    "llama2:13b-chat-q4_K_M": {
        "arch": "llama", "n_layer": 40, "n_head": 40, "n_head_kv": 40, "head_dim": 128,
        "embedding_length": 5120, "vocab_size": 32000, "context_length": 4096,
        "params": 13.0e9, "quant": "Q4_K_M", "file_bytes": int(7.87 * GB),
    },
    "codellama:13b-code-q4_K_M": {
        "arch": "llama", "n_layer": 40, "n_head": 40, "n_head_kv": 40, "head_dim": 128,
        "embedding_length": 5120, "vocab_size": 32016, "context_length": 16384,
        "params": 13.0e9, "quant": "Q4_K_M", "file_bytes": int(7.87 * GB),
    },
    "qwen2.5-coder:32b-instruct-q8_0": {
        "arch": "qwen2", "n_layer": 64, "n_head": 40, "n_head_kv": 8, "head_dim": 128,
        "embedding_length": 5120, "vocab_size": 152064, "context_length": 32768,
        "params": 32.8e9, "quant": "Q8_0", "file_bytes": int(34.8 * GB),
    },
    "codestral:22b-v0.1-q5_K_M": {
        "arch": "llama", "n_layer": 56, "n_head": 48, "n_head_kv": 8, "head_dim": 128,
        "embedding_length": 6144, "vocab_size": 32768, "context_length": 32768,
        "params": 22.2e9, "quant": "Q5_K_M", "file_bytes": int(15.72 * GB),
    },
    "deepseek-coder:33b-instruct-q4_K_M": {
        "arch": "llama", "n_layer": 62, "n_head": 56, "n_head_kv": 8, "head_dim": 128,
        "embedding_length": 7168, "vocab_size": 32256, "context_length": 16384,
        "params": 33.3e9, "quant": "Q4_K_M", "file_bytes": int(19.94 * GB),
    },
    "llama2:70b-chat-q4_K_M": {
        "arch": "llama", "n_layer": 80, "n_head": 64, "n_head_kv": 8, "head_dim": 128,
        "embedding_length": 8192, "vocab_size": 32000, "context_length": 4096,
        "params": 69.0e9, "quant": "Q4_K_M", "file_bytes": int(41.42 * GB),
    },
    "mixtral:8x7b-instruct-v0.1-q4_K_M": {
        "arch": "llama", "n_layer": 32, "n_head": 32, "n_head_kv": 8, "head_dim": 128,
        "embedding_length": 4096, "vocab_size": 32000, "context_length": 32768,
        "params": 46.7e9, "quant": "Q4_K_M", "file_bytes": int(26.44 * GB),
    },
    "qwen3:235b-a22b-q4_K_M": {
        "arch": "qwen3moe", "n_layer": 94, "n_head": 64, "n_head_kv": 4, "head_dim": 128,
        "embedding_length": 4096, "vocab_size": 151936, "context_length": 40960,
        "params": 235e9, "quant": "Q4_K_M", "file_bytes": int(142 * GB),
    },
}

# The seed's spellings that are not Ollama tags, and the tag each stands for.
ALIASES: Dict[str, str] = {
    "mixtral:8x7b-instruct-q4_K_M": "mixtral:8x7b-instruct-v0.1-q4_K_M",
    "qwen3:235b-instruct-q4_K_M": "qwen3:235b-a22b-q4_K_M",
}
