"""A stand-in for Homebrew's brew (a test double: no Mac is reachable here).

Ollama counts as installed while the file FAKE_BREW_STATE/ollama exists; ``brew install ollama``
creates it. Like the real brew, ``brew --prefix ollama`` prints the formula's opt prefix
whether it is installed or not; only ``brew --prefix --installed ollama`` fails without it.
``brew info --json=v2 ollama`` answers what community.general.homebrew reads. Every call is
appended as a JSON list to FAKE_BREW_LOG.
"""
import json
import os
import sys

PREFIX = "/opt/homebrew/opt"
state = os.environ["FAKE_BREW_STATE"]
args = sys.argv[1:]
with open(os.environ["FAKE_BREW_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\n")


def installed(formula: str) -> bool:
    return os.path.exists(os.path.join(state, formula))


if args[:1] == ["--prefix"]:
    formulae = [arg for arg in args[1:] if not arg.startswith("--")]
    if "--installed" in args and not all(installed(formula) for formula in formulae):
        sys.exit(1)  # Homebrew's --installed: no output, a failing status
    sys.stdout.write("".join("%s/%s\n" % (PREFIX, formula) for formula in formulae))
elif args[:2] == ["info", "--json=v2"]:
    formulae = [{"name": name, "full_name": name, "tap": "homebrew/core", "aliases": [], "oldnames": [],
                 "installed": [{"version": "0.9.0"}] if installed(name) else [], "outdated": False}
                for name in args[2:] if not name.startswith("--")]
    json.dump({"formulae": formulae, "casks": []}, sys.stdout)
elif args[:1] == ["install"]:
    for name in args[1:]:
        if not name.startswith("--"):
            with open(os.path.join(state, name), "w", encoding="utf-8"):
                pass
else:
    sys.stderr.write("fake brew: unexpected call %s\n" % args)
    sys.exit(2)
