#!/usr/bin/env python3
"""Prints the public API of one module, one declaration a line, sorted,
from the symbol graph `swift package dump-symbol-graph` writes.

    Scripts/api-list.py .build/x86_64-unknown-linux-gnu/symbolgraph Switchboard

Scripts/check-api.sh compares it with Docs/API/ so every change of what
users can call shows in review.
"""
import json
import os
import sys


def declarations(graph_dir, module):
    lines = set()
    for name in os.listdir(graph_dir):
        # Switchboard.symbols.json, and Switchboard@Other.symbols.json for
        # extensions of other modules' types.
        if not (name == f"{module}.symbols.json" or name.startswith(f"{module}@")):
            continue
        with open(os.path.join(graph_dir, name)) as file:
            graph = json.load(file)
        for symbol in graph["symbols"]:
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            # Members a protocol gives for free (`!=`, `localizedDescription`).
            if "::SYNTHESIZED::" in symbol["identifier"]["precise"]:
                continue
            path = ".".join(symbol["pathComponents"])
            declaration = "".join(fragment["spelling"] for fragment in symbol.get("declarationFragments", []))
            declaration = " ".join(declaration.split())
            lines.add(f"{path}: {declaration}")
    return sorted(lines)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    for line in declarations(sys.argv[1], sys.argv[2]):
        print(line)
