#!/usr/bin/env python3
"""Print the capture maps of a running `palisade run` (found by name with bpftool) as the
"MAP KEY_HEX VALUE_HEX" lines w1.c writes into an object of the same ABI: the daemon's
SYSCALL_CONF, OPEN_FILTER, INTEREST_BITS and SCOPE, non-zero entries only."""
import json
import subprocess
import sys

for name in ["SYSCALL_CONF", "OPEN_FILTER", "INTEREST_BITS", "SCOPE"]:
    out = subprocess.run(["bpftool", "-j", "map", "dump", "name", name], check=True, capture_output=True, text=True)
    for entry in json.loads(out.stdout):
        key = bytes(int(x, 16) for x in entry["key"])
        value = bytes(int(x, 16) for x in entry["value"])
        if any(value):
            print(name, key.hex(), value.hex())
sys.stdout.flush()
