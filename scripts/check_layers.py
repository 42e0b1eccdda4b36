#!/usr/bin/env python3
"""Fails when a file under src/ includes a module its layer may not see (issue 24).

The layer table below is the architecture: each module names the modules it may include (its
own headers are always allowed). The build enforces the same thing for libraries (each library's
include root holds only its own module, cmake/TributaryHelpers.cmake); this check also covers
what the build cannot tell apart: sub-modules in one folder (core/net in core), one connector
reaching into another, and a module that is missing from the table.

Usage: check_layers.py [--root SRC_DIR]   (exit 0: clean, 1: violations, 2: usage)
"""
import argparse
import os
import re
import sys

# core <- config/iggy/http <- codecs <- transforms; server on the wire codec;
# connectors on core/config/codecs and the shared helpers; runtime above them; app on top.
LAYERS = {
    "core": [],
    "core/net": ["core"],
    "config": ["core"],
    "iggy/wire": ["core"],
    "iggy": ["core", "core/net", "iggy/wire"],
    "http": ["core"],
    "codecs": ["core", "config"],
    # The schema-registry codec and client: codecs plus the shared HTTP client.
    "codecs/registry": ["core", "core/net", "config", "codecs"],
    "transforms": ["core", "config", "codecs", "codecs/registry"],
    "server/storage": ["core", "iggy/wire"],
    "server": ["core", "iggy/wire", "server/storage"],
    # One folder per connector; none reaches into another (STYLE.md).
    "connectors/*": ["core", "core/net", "config", "codecs", "http"],
    "connectors": ["core", "config", "connectors/*"],
    "runtime": ["core", "core/net", "config", "iggy", "iggy/wire", "http", "codecs",
                "codecs/registry", "transforms", "connectors"],
    "app": ["core", "core/net", "config", "iggy", "iggy/wire", "http", "codecs",
            "codecs/registry", "transforms", "server", "server/storage", "connectors",
            "connectors/*", "runtime"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def module_of(path):
    """The table key of a path relative to src ("connectors/file/sink.cpp" -> "connectors/*"),
    and the concrete module ("connectors/file")."""
    parts = path.split("/")
    if len(parts) >= 2 and "/".join(parts[:2]) in LAYERS:
        return "/".join(parts[:2]), "/".join(parts[:2])
    if parts[0] == "connectors" and len(parts) >= 3:
        return "connectors/*", "/".join(parts[:2])
    return parts[0], parts[0]


def allowed(own_key, own_mod, target_key, target_mod):
    if target_mod == own_mod:
        return True
    return target_key in LAYERS[own_key]


def check(root):
    problems = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith((".h", ".hpp", ".cpp", ".cc")):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if "/" not in rel:
                continue  # files at the top of src/ belong to no module
            own_key, own_mod = module_of(rel)
            if own_key not in LAYERS:
                problems.append(f"{rel}: module {own_mod} is not in the layer table "
                                f"(scripts/check_layers.py): place it in a layer")
                continue
            with open(full, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m or "/" not in m.group(1):
                        continue
                    inc = m.group(1)
                    key, mod = module_of(inc)
                    if key not in LAYERS:
                        continue  # not one of ours (a third-party header in quotes)
                    if not allowed(own_key, own_mod, key, mod):
                        may = ", ".join(LAYERS[own_key]) or "nothing else"
                        problems.append(f"src/{rel}:{lineno}: {own_mod} may not include "
                                        f"\"{inc}\" ({mod} is not below {own_mod}; {own_mod} may "
                                        f"include: {may})")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", "src"))
    args = ap.parse_args()
    if not os.path.isdir(args.root):
        print(f"check_layers: no directory {args.root}", file=sys.stderr)
        return 2
    problems = check(args.root)
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} include(s) climb a layer")
        return 1
    print("check_layers: every include stays within its layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
