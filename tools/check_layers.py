#!/usr/bin/env python3
"""Fails when a module of src/ imports from a layer above its own, or when files form an import
cycle other than the impl blocks of one type within a folder.

Layers, lowest first (docs/architecture.md): error, numerics, params, spec, pk, engine, sim,
bindings. A file's layer is its top-level folder under src/ (or its name, for src/error.rs).
Edges are read from `use crate::...`, `crate::a::b` paths in code, and `use super::...`.

    python tools/check_layers.py [SRC]    # prints the edges that point up; exit 1 if any
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LAYERS = ["error", "numerics", "params", "spec", "pk", "engine", "sim", "bindings"]
ROOT_FILES = {"lib.rs"}
SRC = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "src"

CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?")
SUPER_PATH = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")


def code_lines(text: str) -> list[str]:
    """Lines outside `#[cfg(test)]` modules and comments."""
    out = []
    for line in text.split("\n"):
        if line.strip().startswith("#[cfg(test)]"):
            break
        stripped = line.split("//", 1)[0]
        out.append(stripped)
    return out


def layer_of(rel: Path) -> str | None:
    if len(rel.parts) == 1:
        return None if rel.name in ROOT_FILES else rel.stem
    return rel.parts[0]


def module_of(rel: Path) -> str:
    """`spec/library.rs` -> `spec::library`; `engine/mod.rs` -> `engine`."""
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return "::".join(parts)


def edges() -> list[tuple[str, str, str]]:
    """(from module, to module, line) for every crate-internal reference."""
    found = []
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC)
        if rel.name in ROOT_FILES:
            continue
        me = module_of(rel)
        parent = "::".join(me.split("::")[:-1])
        for line in code_lines(path.read_text(encoding="utf-8")):
            for a, b in CRATE_PATH.findall(line):
                target = f"{a}::{b}" if b and (SRC / a / f"{b}.rs").is_file() else a
                found.append((me, target, line.strip()))
            for m in SUPER_PATH.findall(line):
                if parent and (SRC / Path(*parent.split("::")) / f"{m}.rs").is_file():
                    found.append((me, f"{parent}::{m}", line.strip()))
    return found


def rank(module: str) -> int:
    top = module.split("::")[0]
    if top not in LAYERS:
        raise SystemExit(f"check_layers: {top!r} is not a known layer; add it to LAYERS and docs/architecture.md")
    return LAYERS.index(top)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# Files that are impl blocks of one type and may import each other (one cycle each).
IMPL_GROUPS = [{"engine::model", "engine::rhs", "engine::segment"}]


def main() -> int:
    bad = []
    graph: dict[str, set[str]] = {}
    for src, dst, line in edges():
        if rank(dst) > rank(src):
            bad.append(f"{src} -> {dst}: {line}")
        if dst != src and not src.startswith(dst + "::"):
            graph.setdefault(src, set()).add(dst)
    for comp in cycles(graph):
        if not any(set(comp) <= g for g in IMPL_GROUPS):
            bad.append(f"import cycle: {' -> '.join(comp)}")
    for b in bad:
        print(b)
    n = sum(1 for _ in SRC.rglob("*.rs"))
    print(f"check_layers: {n} files, {len(bad)} violation(s) ({' -> '.join(LAYERS)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
