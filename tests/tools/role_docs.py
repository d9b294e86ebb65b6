"""Render each role's variable table and defaults from its meta/argument_specs.yml.

meta/argument_specs.yml is the single source of truth for a role's variables: Ansible
validates against it but does not apply its defaults, so ``defaults/main.yml`` is generated
from it, and so is the variable table in the role's README.md (between the markers
``<!-- BEGIN VARIABLES -->`` and ``<!-- END VARIABLES -->``). The table shows the options of the
``main`` entry point; those named with another role's prefix are inputs set by that role
(``planner_plan``), listed as such and never given a default here. ``--write`` regenerates both;
without it the tool lists what is stale (the unit tests check the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN VARIABLES -->"
END = "<!-- END VARIABLES -->"


def load_entries(role: Path) -> Dict[str, Dict[str, Any]]:
    """Return the options of each entry point of a role's argument spec, by entry point."""
    data = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return {entry: spec.get("options", {}) or {} for entry, spec in data["argument_specs"].items()}


def load_spec(role: Path) -> Dict[str, Any]:
    """Return the options of a role's main entry point."""
    return load_entries(role)["main"]


def input_from(role: Path, name: str) -> Optional[str]:
    """The other role of the collection whose prefix the option ``name`` has (an input the role reads from it), or None."""
    owners = [path.name for path in (ROOT / "roles").iterdir()
              if path.is_dir() and path.name != role.name and name.startswith(path.name + "_")]
    return max(owners, key=len) if owners and not name.startswith(role.name + "_") else None


def spec_defaults(role: Path) -> Dict[str, Any]:
    """The defaults the argument spec declares (options without a default, the inputs from other roles among them, are left out)."""
    return {name: option["default"] for name, option in load_spec(role).items()
            if "default" in option and input_from(role, name) is None}


def _cell(value: Any) -> str:
    text = json.dumps(value, sort_keys=False) if not isinstance(value, str) else value
    return "`" + text.replace("|", "\\|") + "`"


def render_table(role: Path) -> str:
    """The Markdown table of a role's variables."""
    lines = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in sorted(load_spec(role).items()):
        description = option.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        kind = option.get("type", "str")
        if option.get("elements"):
            kind += " of " + option["elements"]
        if option.get("choices"):
            description += " Choices: " + ", ".join("`%s`" % choice for choice in option["choices"]) + "."
        default = _cell(option["default"]) if "default" in option else ("required" if option.get("required") else "")
        if input_from(role, name):
            default = "from `frontier.llm.%s`" % input_from(role, name)
        lines.append("| `%s` | %s | %s | %s |" % (name, kind, default, description.replace("\n", " ").replace("|", "\\|")))
    return "\n".join(lines) + "\n"


class _IndentedDumper(yaml.SafeDumper):
    """A dumper that indents lists under their key, as yamllint's default wants."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: D102
        super().increase_indent(flow, False)


def render_defaults(role: Path) -> str:
    """The text of a role's generated defaults/main.yml."""
    body = yaml.dump(spec_defaults(role), Dumper=_IndentedDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=120)
    return ("---\n# Generated from meta/argument_specs.yml by tests/tools/role_docs.py --write: edit the spec,\n"
            "# not this file. The spec says what each variable means.\n" + body)


def readme_section(text: str) -> str:
    """The text between the markers of a README, or '' without markers."""
    if BEGIN not in text or END not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def roles() -> List[Path]:
    """Roles that have an argument spec."""
    return sorted(path.parent.parent for path in (ROOT / "roles").glob("*/meta/argument_specs.yml"))


def main() -> int:
    """Write or check every role's README table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README tables")
    args = parser.parse_args()
    stale = []
    for role in roles():
        defaults = role / "defaults" / "main.yml"
        if not defaults.exists() or defaults.read_text() != render_defaults(role):
            if args.write:
                defaults.parent.mkdir(exist_ok=True)
                defaults.write_text(render_defaults(role))
                print("wrote %s" % defaults.relative_to(ROOT))
            else:
                stale.append(str(defaults.relative_to(ROOT)))
        readme = role / "README.md"
        text = readme.read_text() if readme.exists() else ""
        table = render_table(role)
        if readme_section(text) == table:
            continue
        if args.write:
            if BEGIN not in text:
                text = text.rstrip("\n") + "\n\n## Variables\n\n" + BEGIN + "\n" + END + "\n"
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            readme.write_text(head + BEGIN + "\n" + table + END + tail)
            print("wrote %s" % readme.relative_to(ROOT))
        else:
            stale.append(str(readme.relative_to(ROOT)))
    if stale:
        print("stale generated files (run tests/tools/role_docs.py --write): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
