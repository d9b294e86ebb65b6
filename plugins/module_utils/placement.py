# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model placement for a Swarm fleet: which node serves which model replicas.

Plain Python with no Ansible import. :func:`place_models` takes the fleet's nodes, each with a
memory budget for models, and the models with their replica counts, and assigns every replica it
can to a node so that each node's resident set (the sum of the sizes of every replica placed on
it: a Swarm replica keeps its model loaded) stays within the node's budget.

Input
-----

- A **node** is a dict with ``name`` and exactly one of

  - ``budget_bytes``: bytes for models (an int, or a size such as ``64G``, binary units as
    :func:`units.to_bytes` reads them), or
  - ``plan``: the node's plan from :func:`planner.resource_plan`. Its budget for models is what
    the plan leaves the engine, ``budget_mb - (used_mb - engine mem_limit_mb)`` (the host's budget
    less the monitoring services, or less the Docker Desktop VM of a native Mac), divided by
    ``1 + headroom`` because the engine's limit is the resident models times ``1 + headroom``.
    It counts RAM: on a CUDA/ROCm node, where most of a model goes to VRAM, give ``budget_bytes``.

  ``labels`` (a dict) may be given and is checked to be a dict of strings; this version does not
  use it. Node names are unique.
- A **model** is a catalog tag (one replica), or a dict with ``name`` (unique), ``replicas`` (a
  whole number >= 1, default 1) and either ``bytes`` (the resident size: an int or a size string)
  or what :func:`sizing.model_memory` takes (the metadata fields, and ``ctx``, ``parallel``,
  ``kv_cache_type``, ``flash_attention``, ``engine``, ``backend``, ``gpu_count``), whose
  ``total_bytes`` is then the size, and the name is the catalog's tag for it.
- ``previous`` is an earlier result of this function (or its ``placements``, node -> model
  names): every node it names must be one of ``nodes``.

Algorithm
---------

1. Unless ``rebalance`` is true, the previous assignments are kept first: models largest first
   (ties by name), and for each model its previous nodes by (copy number on that node, node
   name), so that spread copies are kept before a second copy on one node. An assignment is kept
   while the model is still listed, its replica count is not yet reached, and it still fits the
   node's free budget; every other is reported in ``dropped``, with the reason. With ``rebalance``
   nothing is kept: every replica is placed afresh, and each previous assignment whose node no
   longer holds that replica is reported in ``dropped`` as moved by rebalance.
2. The remaining replicas are placed in order: size descending, then model name, then replica
   number. Each goes to the node with the most free budget among the nodes that can hold it and
   hold no replica of that model yet (ties: node name). Only when no such node has room does it
   go to the node with the most free budget that already holds one (reported in ``colocated``).
   When no node has room, it is ``unplaced``; its reason names its size and, against the final
   budgets, either the largest node budget (when the replica is larger than every node) or the
   largest free budget left (at its turn there was no more room than that anywhere either).
3. ``colocated`` lists every node holding more than one replica of a model, kept or new.

Guarantees (tests/unit/test_placement.py checks each as a property):

- No node's placed sizes exceed its budget: ``free_bytes`` is never negative.
- A replica is unplaced only when, at its turn, no node had a free budget of its size; so its
  size exceeds every node's final free budget.
- A second replica of a model goes onto a node that already holds it only when, at its turn, no
  node without that model had room for it (without ``previous``; kept assignments are not moved).
- Stability: with ``previous`` = an earlier result, the same models and the same nodes plus new
  ones, the earlier nodes keep exactly their models; new replicas and earlier unplaced ones go
  to the new nodes. Re-running with ``previous`` = the result returns the same result.
- Deterministic: the same input in any order of nodes or models gives the same result.

Greedy placement is not optimal bin packing: a set of replicas that would all fit in some other
arrangement may leave some unplaced. Spreading onto the node with the most room (worst fit)
favours balance over packing.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.frontier.llm.plugins.module_utils.sizing import ENGINE_SERVICE, PlanError, as_bool, model_memory, positive_int
from ansible_collections.frontier.llm.plugins.module_utils.units import MIB, SizeError, human_bytes, to_bytes

# Keys of a model entry that are not model metadata but model_memory's other arguments.
MEMORY_ARGS = ("ctx", "parallel", "kv_cache_type", "flash_attention", "engine", "backend", "gpu_count")
PLAN_BUDGET_KEYS = ("engine", "budget_mb", "used_mb", "headroom", "components")


def _size(value: Any, name: str) -> int:
    try:
        return to_bytes(value, name)
    except SizeError as err:
        raise PlanError(str(err)) from None


def _plan_budget(plan: Any, where: str) -> int:
    """Bytes a node's resource_plan leaves for the models the engine holds."""
    if not isinstance(plan, Mapping):
        raise PlanError("%s: expected a plan of frontier.llm.resource_plan, got %r" % (where, type(plan).__name__))
    missing = [key for key in PLAN_BUDGET_KEYS if key not in plan]
    if missing:
        raise PlanError("%s: not a plan of frontier.llm.resource_plan (missing %s)" % (where, ", ".join(missing)))
    service = ENGINE_SERVICE.get(plan["engine"])
    components = plan["components"]
    if service is None or not isinstance(components, Mapping) or not isinstance(components.get(service), Mapping):
        raise PlanError("%s: the plan's engine %r has no entry in its components" % (where, plan["engine"]))
    engine_mb = positive_int(components[service].get("mem_limit_mb"), "%s.components.%s.mem_limit_mb" % (where, service))
    budget_mb = positive_int(plan["budget_mb"], "%s.budget_mb" % where)
    used_mb = positive_int(plan["used_mb"], "%s.used_mb" % where)
    headroom = plan["headroom"]
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not 0 <= headroom < 1:
        raise PlanError("%s.headroom: %r must be a number in [0, 1)" % (where, headroom))
    room_mb = budget_mb - (used_mb - engine_mb)
    return max(0, int(room_mb * MIB // (1 + headroom)))


def _nodes(nodes: Any) -> Dict[str, int]:
    """Validate the nodes; return name -> budget in bytes."""
    if isinstance(nodes, (str, Mapping)) or not isinstance(nodes, (list, tuple)):
        raise PlanError("nodes: expected a list of nodes ({name, budget_bytes} or {name, plan}), got %r"
                        % (type(nodes).__name__,))
    budgets: Dict[str, int] = {}
    for index, node in enumerate(nodes):
        where = "nodes[%d]" % index
        if not isinstance(node, Mapping):
            raise PlanError("%s: expected a dict with name and budget_bytes or plan, got %r" % (where, node))
        name = node.get("name")
        if not isinstance(name, str) or not name:
            raise PlanError("%s.name: %r is not a non-empty string" % (where, name))
        where = "nodes[%d] (%s)" % (index, name)
        unknown = set(node) - {"name", "budget_bytes", "plan", "labels"}
        if unknown:
            raise PlanError("%s: unknown key(s) %s; known: name, budget_bytes, plan, labels"
                            % (where, ", ".join(sorted(map(str, unknown)))))
        if name in budgets:
            raise PlanError("%s.name: node %r is listed more than once" % (where, name))
        if ("budget_bytes" in node) == ("plan" in node):
            raise PlanError("%s: give exactly one of budget_bytes and plan" % where)
        labels = node.get("labels")
        if labels is not None and (not isinstance(labels, Mapping)
                                   or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
            raise PlanError("%s.labels: %r is not a dict of strings" % (where, labels))
        if "plan" in node:
            budgets[name] = _plan_budget(node["plan"], where + ".plan")
        else:
            budgets[name] = _size(node["budget_bytes"], where + ".budget_bytes")
    return budgets


def _models(models: Any, catalog: Optional[Mapping[str, Any]]) -> Dict[str, Tuple[int, int]]:
    """Validate the models; return name -> (size in bytes, replicas)."""
    if isinstance(models, (str, Mapping)) or not isinstance(models, (list, tuple)):
        raise PlanError("models: expected a list of models ({name, bytes, replicas} or catalog tags), got %r"
                        % (type(models).__name__,))
    out: Dict[str, Tuple[int, int]] = {}
    for index, entry in enumerate(models):
        where = "models[%d]" % index
        spec: Dict[str, Any] = {"name": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, Mapping) else {}
        if not spec:
            raise PlanError("%s: %r is neither a catalog tag nor a dict with name and bytes" % (where, entry))
        name = spec.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise PlanError("%s.name: %r is not a non-empty string" % (where, name))
        where = "models[%d] (%s)" % (index, name)
        replicas = positive_int(spec.pop("replicas", 1), where + ".replicas")
        if "bytes" in spec:
            if name is None:
                raise PlanError("%s.name: missing" % where)
            extra = set(spec) - {"name", "bytes"}
            if extra:
                raise PlanError("%s: bytes is the size; %s would size it again: give one or the other"
                                % (where, ", ".join(sorted(map(str, extra)))))
            size = _size(spec["bytes"], where + ".bytes")
        else:
            arguments = {key: spec.pop(key) for key in MEMORY_ARGS if key in spec}
            figures = model_memory(spec, catalog=catalog, **arguments)
            name, size = figures["name"], int(figures["total_bytes"])
        if size <= 0:
            raise PlanError("%s.bytes: %r must be > 0" % (where, size))
        if name in out:
            raise PlanError("%s: model %r is listed more than once; give it replicas instead" % (where, name))
        out[name] = (size, replicas)
    return out


def _previous(previous: Any, budgets: Mapping[str, int]) -> Dict[str, List[str]]:
    """Validate ``previous`` (a result of place_models, or its placements); return node -> model names."""
    if previous is None:
        return {}
    if isinstance(previous, Mapping) and "placements" in previous:
        previous = previous["placements"]
    if not isinstance(previous, Mapping):
        raise PlanError("previous: expected a result of frontier.llm.place_models or its placements (node -> "
                        "model names), got %r" % (type(previous).__name__,))
    out: Dict[str, List[str]] = {}
    for node, names in previous.items():
        if node not in budgets:
            raise PlanError("previous: node %r is not one of the nodes (%s); drop it from previous to place its "
                            "models elsewhere" % (node, ", ".join(sorted(budgets))))
        if isinstance(names, (str, Mapping)) or not isinstance(names, (list, tuple)) \
                or not all(isinstance(name, str) for name in names):
            raise PlanError("previous[%s]: %r is not a list of model names" % (node, names))
        out[node] = list(names)
    return out


def place_models(nodes: Any, models: Any, previous: Any = None, rebalance: Any = False,
                 catalog: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Assign model replicas to nodes within each node's budget; see the module's documentation.

    :param nodes: list of ``{name, budget_bytes}`` or ``{name, plan}`` (a resource_plan), ``labels`` optional.
    :param models: list of catalog tags or ``{name, bytes, replicas}`` (or metadata in place of bytes).
    :param previous: an earlier result (or its ``placements``): its assignments are kept where they still fit.
    :param rebalance: when true, ``previous`` is ignored and everything is placed afresh.
    :param catalog: extra catalog entries for models sized from metadata.
    :returns: ``placements`` (node -> model names, largest first; a name twice is two replicas),
        ``free_bytes`` and ``budget_bytes`` (node -> bytes), ``model_bytes`` (model -> bytes of one replica),
        ``unplaced`` ([{model, replica, bytes, reason}]), ``colocated`` ([{model, node, replicas}]) and
        ``dropped`` ([{model, node, reason}]: previous assignments not kept).
    """
    if catalog is not None and not isinstance(catalog, Mapping):
        raise PlanError("catalog: expected a dict of tag -> metadata, got %r" % (catalog,))
    budgets = _nodes(nodes)
    sizes = _models(models, catalog)
    earlier = _previous(previous, budgets)
    rebalance = as_bool(rebalance, "rebalance")
    order = sorted(sizes, key=lambda name: (-sizes[name][0], name))
    free = dict(budgets)
    held: Dict[str, List[str]] = {node: [] for node in budgets}
    dropped: List[Dict[str, Any]] = []

    # 1. Keep the previous assignments that still fit.
    for node in sorted(earlier):
        for name in sorted(set(earlier[node])):
            if name not in sizes:
                dropped.extend({"model": name, "node": node, "reason": "no longer in models"}
                               for _copy in range(earlier[node].count(name)))
    remaining: Dict[str, int] = {name: sizes[name][1] for name in sizes}
    if not rebalance:
        for name in order:
            size = sizes[name][0]
            copies = sorted((copy, node) for node in earlier for copy in range(1, earlier[node].count(name) + 1))
            for _copy, node in copies:
                if remaining[name] == 0:
                    dropped.append({"model": name, "node": node, "reason": "replicas lowered to %d" % sizes[name][1]})
                elif size > free[node]:
                    dropped.append({"model": name, "node": node,
                                    "reason": "no longer fits: needs %s, %s free" % (_human(size), _human(free[node]))})
                else:
                    free[node] -= size
                    held[node].append(name)
                    remaining[name] -= 1

    # 2. Place the remaining replicas, largest first, each on the node with the most room.
    unplaced: List[Dict[str, Any]] = []
    for name in order:
        size, replicas = sizes[name]
        for replica in range(replicas - remaining[name] + 1, replicas + 1):
            fitting = [node for node in budgets if free[node] >= size]
            spread = [node for node in fitting if name not in held[node]]
            candidates = spread or fitting
            if not candidates:
                unplaced.append({"model": name, "replica": replica, "bytes": size})
                continue
            node = min(candidates, key=lambda candidate: (-free[candidate], candidate))
            free[node] -= size
            held[node].append(name)

    if rebalance:
        for node in sorted(earlier):
            for name in sorted(set(earlier[node]) & set(sizes)):
                moved = earlier[node].count(name) - held[node].count(name)
                dropped.extend({"model": name, "node": node, "reason": "moved by rebalance"} for _copy in range(moved))

    # Reasons, against the final budgets (at a replica's turn there was no more room than this).
    for entry in unplaced:
        entry["reason"] = _reason(entry["bytes"], budgets, free)
    rank = {name: index for index, name in enumerate(order)}
    placements = {node: sorted(held[node], key=rank.__getitem__) for node in sorted(budgets)}
    colocated = [{"model": name, "node": node, "replicas": placements[node].count(name)}
                 for node in sorted(placements) for name in order if placements[node].count(name) > 1]
    return {
        "placements": placements,
        "free_bytes": {node: free[node] for node in sorted(budgets)},
        "budget_bytes": {node: budgets[node] for node in sorted(budgets)},
        "model_bytes": {name: sizes[name][0] for name in order},
        "unplaced": unplaced,
        "colocated": colocated,
        "dropped": dropped,
    }


def _human(count: int) -> str:
    return "%s (%d bytes)" % (human_bytes(count), count)


def _reason(size: int, budgets: Mapping[str, int], free: Mapping[str, int]) -> str:
    """Why a replica of ``size`` bytes has no node: larger than every budget, or no room left."""
    if not budgets:
        return "needs %s; there are no nodes" % _human(size)
    biggest = min(budgets, key=lambda node: (-budgets[node], node))
    if size > budgets[biggest]:
        return "needs %s, more than any node's whole budget (the largest: %s on %s)" % (
            _human(size), _human(budgets[biggest]), biggest)
    roomiest = min(free, key=lambda node: (-free[node], node))
    return "needs %s; the largest free budget left is %s on %s" % (_human(size), _human(free[roomiest]), roomiest)
