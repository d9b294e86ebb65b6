# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Markdown renderings of resource plans: one host's tables, and a fleet's summary."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

from ansible_collections.frontier.llm.plugins.module_utils.sizing import ENGINE_SERVICE, PlanError
from ansible_collections.frontier.llm.plugins.module_utils.units import MIB, human_bytes


def _mib(value: int) -> str:
    return human_bytes(int(value) * MIB)


# What a plan from frontier.llm.resource_plan holds that the renderings read.
PLAN_KEYS = ("profile", "engine", "runtime", "backend", "budget_mb", "used_mb", "fits", "host", "components", "models",
             "resident_models", "warnings")


def check_plan(plan: Any, where: str) -> Mapping[str, Any]:
    """Return ``plan``, or raise naming ``where`` when it is not a plan of frontier.llm.resource_plan."""
    if not isinstance(plan, Mapping):
        raise PlanError("%s: expected a plan (frontier.llm.resource_plan), got %r" % (where, type(plan).__name__))
    missing = [key for key in PLAN_KEYS if key not in plan]
    if missing:
        raise PlanError("%s: not a plan of frontier.llm.resource_plan (missing %s)" % (where, ", ".join(missing)))
    if plan["engine"] not in ENGINE_SERVICE or ENGINE_SERVICE[plan["engine"]] not in (plan["components"] or {}):
        raise PlanError("%s: the plan's engine %r has no entry in its components" % (where, plan["engine"]))
    return plan


def host_markdown(plan: Mapping[str, Any], host: str = "host") -> str:
    """One host's plan: headline, service table, model table, Docker Desktop, NUMA, warnings."""
    info = check_plan(plan, "plan of %s" % host)["host"]
    lines: List[str] = [
        "### %s: %s profile, %s (%s, %s), %s" % (
            host, plan["profile"], plan["engine"], plan["runtime"], plan["backend"], "fits" if plan["fits"] else "DOES NOT FIT"),
        "",
        "Budget %s of %s RAM, %s planned; %d CPUs, %d physical cores, %d GPU(s), %d NUMA node(s)."
        % (_mib(plan["budget_mb"]), _mib(info["memtotal_mb"]), _mib(plan["used_mb"]), info["vcpus"],
           info["physical_cores"], info["gpus"], info["numa_nodes"]),
        "",
        "| Service | Limit | Reservation | CPUs |",
        "|---|---|---|---|",
    ]
    for name, entry in plan["components"].items():
        lines.append("| %s%s | %s | %s | %s |" % (
            name, " (native)" if entry.get("native") else "", _mib(entry["mem_limit_mb"]), _mib(entry["mem_reservation_mb"]),
            entry["cpus"]))
    lines += ["", "| Model | ctx x parallel | Weights | KV cache | Graph | Total | Resident |", "|---|---|---|---|---|---|---|"]
    for model in plan["models"]:
        lines.append("| %s | %d x %d (%s) | %s | %s | %s | %s | %s |" % (
            model["name"], model["ctx"], model["parallel"], model["kv_cache_type"], human_bytes(model["weights_bytes"]),
            human_bytes(model["kv_bytes"]), human_bytes(model["graph_bytes"]), human_bytes(model["total_bytes"]),
            "yes" if model["name"] in plan["resident_models"] else "no"))
    desktop = plan.get("docker_desktop")
    if desktop:
        lines += ["", "Docker Desktop: %s memory, %d CPUs, %s swap, %s disk image." % (
            _mib(desktop["memory_mib"]), desktop["cpus"], _mib(desktop["swap_mib"]), _mib(desktop["disk_size_mib"]))]
    for service, placement in (plan.get("numa") or {}).items():
        lines += ["", "NUMA: %s on node(s) %s (cpuset-cpus %s, cpuset-mems %s)." % (
            service, ",".join(str(node) for node in placement["nodes"]), placement["cpuset_cpus"], placement["cpuset_mems"])]
    if plan["warnings"]:
        lines += ["", "Warnings:"] + ["- " + warning for warning in plan["warnings"]]
    return "\n".join(lines) + "\n"


def fleet_markdown(plans: Mapping[str, Mapping[str, Any]], details: bool = True) -> str:
    """A table with a row per host, then (with ``details``) each host's tables."""
    if not isinstance(plans, Mapping):
        raise PlanError("plans: expected a dict of host -> plan, got %r" % (type(plans).__name__,))
    lines = ["| Host | Profile | Budget | Planned | Engine limit / reservation | Models | Fits |",
             "|---|---|---|---|---|---|---|"]
    for host, plan in plans.items():
        check_plan(plan, "plans[%s]" % host)
        engine = plan["components"][ENGINE_SERVICE[plan["engine"]]]
        lines.append("| %s | %s | %s | %s | %s / %s | %s | %s |" % (
            host, plan["profile"], _mib(plan["budget_mb"]), _mib(plan["used_mb"]), _mib(engine["mem_limit_mb"]),
            _mib(engine["mem_reservation_mb"]), ", ".join(model["name"] for model in plan["models"]),
            "yes" if plan["fits"] else "NO"))
    text = "\n".join(lines) + "\n"
    if details:
        sections: Dict[str, str] = {host: host_markdown(plan, host) for host, plan in plans.items()}
        text = "# frontier.llm resource plans\n\n" + text + "".join("\n" + section for section in sections.values())
    return text
