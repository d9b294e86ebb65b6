#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a GGUF model file's header on the managed host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gguf_info
short_description: Read a GGUF model's metadata so the planner sizes it from the real file
version_added: 0.1.0
description:
  - Reads the header of a GGUF file (the model format of llama.cpp and Ollama) on the managed host and returns
    the metadata C(frontier.llm.model_memory) and C(frontier.llm.resource_plan) take - layers, attention heads and
    key/value heads, key and value lengths, embedding length, vocabulary size, trained context - with the file's size.
  - The file is found by O(path), or by an Ollama tag in Ollama's model store (O(ollama_model)), whose manifest
    names the model blob.
  - Only the header is read, never the tensors; the reader needs nothing beyond Python's standard library.
author:
  - frontier.llm developers (@frontier-llm)
options:
  path:
    description: Path of a GGUF file.
    type: path
  ollama_model:
    description:
      - An Ollama tag such as C(qwen2.5-coder:32b-instruct-q8_0) or C(namespace/model:tag); C(latest) when no tag is given.
    type: str
  ollama_models_dir:
    description:
      - Ollama's model store (C(OLLAMA_MODELS)), holding C(manifests/) and C(blobs/).
    type: path
    default: ~/.ollama/models
  ollama_registry:
    description: The registry host part of the manifest path.
    type: str
    default: registry.ollama.ai
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is nothing to show.
    support: none
notes:
  - GGUF versions 2 and 3, little-endian (every file llama.cpp and Ollama publish).
"""

EXAMPLES = r"""
- name: Read a model file's metadata
  frontier.llm.gguf_info:
    path: /srv/models/qwen2.5-coder-32b-instruct-q8_0.gguf
  register: qwen

- name: Read a model Ollama has pulled
  frontier.llm.gguf_info:
    ollama_model: mistral:7b-instruct-q4_K_M
    ollama_models_dir: /var/lib/frontier-llm/ollama/models
  register: mistral

- name: Size it
  ansible.builtin.debug:
    msg: "{{ mistral.model | frontier.llm.model_memory(ctx=8192) }}"
"""

RETURN = r"""
path:
  description: The GGUF file read.
  returned: success
  type: str
model:
  description: Metadata in the form the planner filters take; C(name) is the Ollama tag or the file name.
  returned: success
  type: dict
  sample:
    name: mistral:7b-instruct-q4_K_M
    arch: llama
    n_layer: 32
    n_head: 32
    n_head_kv: 8
    embedding_length: 4096
    context_length: 32768
    vocab_size: 32768
    file_bytes: 4372812000
    gguf_version: 3
    tensor_count: 291
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.frontier.llm.plugins.module_utils.gguf import GGUFError, model_metadata

MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"


def ollama_blob(models_dir, registry, tag):
    """Resolve an Ollama tag to its model blob through the manifest; raise ValueError if absent."""
    name, _sep, version = tag.partition(":")
    if not name:
        raise ValueError("ollama_model: %r has no model name" % tag)
    parts = name.split("/")
    if len(parts) == 1:
        parts = ["library"] + parts
    manifest = os.path.join(models_dir, "manifests", registry, *(parts + [version or "latest"]))
    try:
        with open(manifest, encoding="utf-8") as handle:
            layers = json.load(handle).get("layers", [])
    except OSError:
        raise ValueError("ollama_model: no manifest for %r at %s (is the model pulled, and is ollama_models_dir "
                         "right?)" % (tag, manifest)) from None
    except ValueError:
        raise ValueError("ollama_model: the manifest %s is not valid JSON" % manifest) from None
    for layer in layers:
        if layer.get("mediaType") == MODEL_MEDIA_TYPE and str(layer.get("digest", "")).startswith("sha256:"):
            return os.path.join(models_dir, "blobs", layer["digest"].replace(":", "-", 1))
    raise ValueError("ollama_model: the manifest %s lists no model layer" % manifest)


def main():
    """Entry point."""
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "ollama_model": {"type": "str"},
            "ollama_models_dir": {"type": "path", "default": "~/.ollama/models"},
            "ollama_registry": {"type": "str", "default": "registry.ollama.ai"},
        },
        mutually_exclusive=[("path", "ollama_model")],
        required_one_of=[("path", "ollama_model")],
        supports_check_mode=True,
    )
    path = module.params["path"]
    name = None
    if module.params["ollama_model"]:
        name = module.params["ollama_model"]
        try:
            path = ollama_blob(module.params["ollama_models_dir"], module.params["ollama_registry"], name)
        except ValueError as err:
            module.fail_json(msg=str(err))
    if not os.path.isfile(path):
        module.fail_json(msg="path: %s is not a file" % path)
    try:
        model = model_metadata(path, file_bytes=os.path.getsize(path))
    except GGUFError as err:
        module.fail_json(msg=str(err))
    model["name"] = name or os.path.basename(path)
    module.exit_json(changed=False, path=path, model=model)


if __name__ == "__main__":
    main()
