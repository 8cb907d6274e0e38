#!/usr/bin/env python3
"""Which module imports which, by reading `crate::…` and `super::…` paths in src/.

Prints the arrows between the app's rooms and any cycle among them, and fails (exit 1) when an
arrow points from a lower layer to a higher one. The layers, lowest first, are in LAYERS: a room
may use its own layer and those below it, never one above. `make test` runs it.
"""
import os, re, sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Lowest first. Rooms in one tuple share a layer and may use each other, but no cycle is allowed.
LAYERS = [
    ("domain", "error", "routes", "permissions"),
    ("server::config", "server::telemetry", "server::crypto", "server::metrics"),
    ("server::auth",),
    ("server::db",),
    ("server::jobs", "server::dkim", "server::dns", "server::limits", "server::meter"),
    ("server::providers",),
    ("server::state",),
    ("server::services",),
    ("server::fn_context", "server::fn_errors", "server::http", "server::seed"),
    ("api",),
    ("components", "pages"),
    ("app",),
    ("server::startup",),
]


def room_of_file(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return rel


def room(parts):
    """The room a module path belongs to: server::x, or the top-level name."""
    if not parts:
        return None
    if parts[0] == "server":
        return "server::" + parts[1] if len(parts) > 1 else None
    return parts[0]


def expand(prefix, body):
    """`a::{b, c::d}` → [[a,b],[a,c,d]] (one level of braces is enough here)."""
    out = []
    depth, cur = 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    paths = []
    for item in out:
        if not item:
            continue
        m = re.match(r"([A-Za-z_:]+?)(?:::)?\{(.*)\}$", item, re.S)
        if m:
            paths += expand(prefix + [p for p in m.group(1).split("::") if p], m.group(2))
        else:
            paths.append(prefix + [p for p in re.split(r"::| as ", item)[:3] if p])
    return paths


def targets(text, here):
    text = re.sub(r"//[^\n]*", "", text)
    found = []
    for m in re.finditer(r"\b(crate|super)((?:::(?:super|[A-Za-z_][A-Za-z0-9_]*))*)(::\{)?", text):
        base = [] if m.group(1) == "crate" else here[:-1]
        parts = [p for p in m.group(2).split("::") if p]
        while parts and parts[0] == "super":
            base = base[:-1]
            parts = parts[1:]
        if m.group(3):
            depth, i = 1, m.end()
            while depth and i < len(text):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            for p in expand(base + parts, text[m.end():i - 1]):
                found.append(p)
        else:
            found.append(base + parts)
    return found


def test_only_files():
    """Files that are whole test modules (`#[cfg(test)] mod tests;` in their parent, e.g.
    server/dns/tests.rs): like a file's own tests after `#[cfg(test)]`, they may reach anywhere."""
    skip = set()
    for d, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            text = open(path, encoding="utf-8").read()
            # A module's children live in its own folder (mod.rs, lib.rs) or in one named after it.
            folder = d if f in ("mod.rs", "lib.rs") else os.path.join(d, f[:-3])
            for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text):
                for cand in (os.path.join(folder, m.group(1) + ".rs"),
                             os.path.join(folder, m.group(1), "mod.rs")):
                    skip.add(os.path.normpath(cand))
    return skip


def main():
    arrows = defaultdict(set)  # (from, to) -> files
    skip = test_only_files()
    for d, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            if os.path.normpath(path) in skip:
                continue
            here = room_of_file(path)
            src = room(here)
            text = open(path, encoding="utf-8").read()
            # A file's own tests may reach anywhere.
            text = text.split("#[cfg(test)]")[0]
            for t in targets(text, here if f != "mod.rs" else here + ["mod"]):
                dst = room(t)
                if dst and src and dst != src:
                    arrows[(src, dst)].add(os.path.relpath(path, ROOT))
    level = {r: i for i, rooms in enumerate(LAYERS) for r in rooms}
    graph = defaultdict(set)
    for a, b in arrows:
        graph[a].add(b)
    # Cycles among rooms (Tarjan's strongly connected components).
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))
    for v in list(graph):
        if v not in index:
            strong(v)
    bad = []
    for (a, b), files in sorted(arrows.items()):
        la, lb = level.get(a), level.get(b)
        mark = ""
        if la is None or lb is None:
            mark = "  (room not in LAYERS)"
            bad.append((a, b, files))
        elif lb > la:
            mark = "  UPWARD"
            bad.append((a, b, files))
        if "-v" in sys.argv or mark:
            print(f"{a} -> {b}{mark}: {', '.join(sorted(files))}")
    for c in sccs:
        print("cycle: " + " <-> ".join(c))
    print(f"{len(arrows)} arrows, {len(bad)} upward or unplaced, {len(sccs)} cycles")
    sys.exit(1 if bad or sccs else 0)


if __name__ == "__main__":
    main()
