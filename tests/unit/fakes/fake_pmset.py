"""A stand-in for macOS pmset (a test double: no Mac is reachable here).

`pmset -g custom` prints the file named by FAKE_PMSET_OUTPUT; any other call is appended as a
JSON list to FAKE_PMSET_LOG and, when FAKE_PMSET_APPLY=1, applied to that output file so a
second run sees the new values (-a/-c/-b/-u scopes, as pmset does).
"""
import json
import os
import re
import sys

output = os.environ["FAKE_PMSET_OUTPUT"]
args = sys.argv[1:]
if args == ["-g", "custom"]:
    with open(output, encoding="utf-8") as handle:
        sys.stdout.write(handle.read())
    sys.exit(0)
with open(os.environ["FAKE_PMSET_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\n")
if os.environ.get("FAKE_PMSET_APPLY") == "1":
    sections = {"-a": None, "-c": "AC Power", "-b": "Battery Power", "-u": "UPS Power"}[args[0]]
    pairs = dict(zip(args[1::2], args[2::2]))
    lines, current = [], None
    with open(output, encoding="utf-8") as handle:
        for line in handle.read().splitlines():
            if not line.startswith(" "):
                current = line.rstrip(":")
            else:
                match = re.match(r"^ (\S.*?)\s+(\S+)(\s+\(.*\))?$", line)
                if match and match.group(1) in pairs and sections in (None, current):
                    line = " %-20s %s" % (match.group(1), pairs[match.group(1)])
            lines.append(line)
    with open(output, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
