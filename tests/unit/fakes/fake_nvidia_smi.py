"""A stand-in for nvidia-smi (a test double: no GPU is reachable here).

Prints the file named by FAKE_NVIDIA_SMI_OUTPUT for the query host_facts makes, and fails,
as nvidia-smi does, for anything else.
"""
import os
import sys

if "--query-gpu=index,name,memory.total,uuid,driver_version,pci.bus_id" in sys.argv and "--format=csv,noheader,nounits" in sys.argv:
    with open(os.environ["FAKE_NVIDIA_SMI_OUTPUT"], encoding="utf-8") as handle:
        sys.stdout.write(handle.read())
    sys.exit(0)
sys.stderr.write("fake nvidia-smi: unexpected arguments %r\n" % (sys.argv[1:],))
sys.exit(2)
