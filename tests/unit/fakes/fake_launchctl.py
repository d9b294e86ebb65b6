"""A stand-in for macOS launchctl (a test double), for community.general.launchd.

``launchctl load PLIST`` loads the plist's Label (read with plistlib, so it must be a real
plist) into FAKE_LAUNCHCTL_STATE, a JSON object label -> pid; ``start``/``stop`` give the
label a pid or none; ``list`` prints launchctl's PID/Status/Label table. Every call is
appended as a JSON list to FAKE_LAUNCHCTL_LOG.
"""
import json
import os
import plistlib
import sys

state_file = os.environ["FAKE_LAUNCHCTL_STATE"]
args = sys.argv[1:]
with open(os.environ["FAKE_LAUNCHCTL_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\n")
state = {}
if os.path.exists(state_file):
    with open(state_file, encoding="utf-8") as handle:
        state = json.load(handle)
command = args[0]
if command == "list":
    sys.stdout.write("PID\tStatus\tLabel\n")
    for label, pid in sorted(state.items()):
        sys.stdout.write("%s\t0\t%s\n" % (pid or "-", label))
elif command in ("load", "unload"):
    with open(args[1], "rb") as handle:
        label = plistlib.load(handle)["Label"]
    if command == "load":
        state[label] = 4242
    else:
        state.pop(label, None)
elif command in ("start", "stop"):
    if args[1] not in state:
        sys.stderr.write("Could not find service \"%s\" in domain\n" % args[1])
        sys.exit(3)
    state[args[1]] = 4242 if command == "start" else None
else:
    sys.stderr.write("fake launchctl: unexpected call %s\n" % args)
    sys.exit(2)
with open(state_file, "w", encoding="utf-8") as handle:
    json.dump(state, handle)
