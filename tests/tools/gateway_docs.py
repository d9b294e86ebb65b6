"""The stack README's tables of what a key may do, generated from module_utils/gateway.py.

``python tests/tools/gateway_docs.py`` prints the tables; ``--write`` puts them into roles/stack/README.md between
``<!-- BEGIN ALLOWLIST -->`` and ``<!-- END ALLOWLIST -->``. tests/unit/test_gateway.py fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.frontier.llm.plugins.module_utils import gateway  # noqa: E402

README = ROOT / "roles" / "stack" / "README.md"
BEGIN = "<!-- BEGIN ALLOWLIST -->"
END = "<!-- END ALLOWLIST -->"
FIELD_WORDS = {"context": "at most the model's planned context, and set to it (any other value reloads the model)",
               "plan": "replaced by the plan's value", "refuse": "refused", "max": "at most %s",
               "max_or_bool": "true, false or at most %s", "tools": "tools of type %s only (no server-side tools)"}


def tables() -> str:
    """The allowlist of each engine and the request fields a user key may not set, as Markdown."""
    lines = []
    for engine in sorted(gateway.ROUTES):
        lines += ["", "**%s**" % engine, "", "| method | path (regular expression) | user key | operator key |",
                  "|---|---|---|---|"]
        for methods, pattern, access, _json in gateway.ROUTES[engine]:
            user = "yes" if access == gateway.USER else "403"
            lines.append("| %s | `%s` | %s | yes |" % (" ".join(methods), pattern, user))
        fields = gateway.FIELDS[engine]
        if fields:
            lines += ["", "Request fields a user key may not set freely (the operator key may; a null counts as absent):", ""]
            for field, kind, value in fields:
                shown = " or ".join(value) if isinstance(value, list) else value
                words = FIELD_WORDS[kind] % shown if "%s" in FIELD_WORDS[kind] else FIELD_WORDS[kind]
                lines.append("- `%s`: %s" % (field, words))
        if engine in gateway.CANONICAL_KEYS:
            lines += ["- every key of %s must be spelt as %s spells its fields (%s): its JSON decoder matches names "
                      "without regard to case, so `Options` or `Keep_Alive` would carry a value past these rules"
                      % (" and ".join("`%s`" % place if place else "the body" for place in gateway.CANONICAL_KEYS[engine]),
                         engine, "lower case, digits and `_`")]
    return "\n".join(lines[1:]) + "\n"


def block() -> str:
    """The README's block, markers included."""
    return "%s\n%s%s" % (BEGIN, tables(), END)


def current() -> str:
    """The README's block as it is."""
    text = README.read_text()
    return text[text.index(BEGIN):text.index(END) + len(END)]


def main() -> None:
    """Print the tables, or write them into the README with --write."""
    if "--write" in sys.argv[1:]:
        text = README.read_text()
        README.write_text(text.replace(current(), block()))
        print("wrote %s" % README.relative_to(ROOT))
    else:
        print(tables())


if __name__ == "__main__":
    main()
