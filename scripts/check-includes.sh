#!/usr/bin/env bash
#
# Fails when the product's sources include each other in a cycle (STYLE.md:
# "no include or call cycle between files"). Reads every #include "..." line
# of src/ (src/store/ and src/sim/ too), resolves it as the compiler does (the
# including file's folder first, then src/), and builds the graph of modules:
# x.c and x.h are one node, named by their path under src/ without the
# extension ("sync_run", "sim/sim_http"). A module's private header, a .h
# with no .c of its own named <module>_backend.h or <module>_internal.h (as
# store/store_backend.h, git's refs-internal.h), belongs to that module: the
# module's own .c includes it, and it may include the module's public header.
# Includes that resolve to no file
# under src/ (system and library headers) are left out. Prints every cycle
# found as "a -> b -> a" and exits 1, or exits 0 when there is none.
#
# Usage: scripts/check-includes.sh [SRC_DIR]   (default: the repository's src/)
set -euo pipefail

src=${1:-"$(cd "$(dirname "$0")/.." && pwd)/src"}
[ -d "$src" ] || { echo "check-includes: no such directory '$src'" >&2; exit 2; }

exec python3 - "$src" <<'EOF'
import os
import re
import sys

src = os.path.realpath(sys.argv[1])
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


private = re.compile(r"^(\w+)_(backend|internal)$")


def node(path):
    """The module a file belongs to: its path under src/ without .c/.h, or
    for a private header, the module it is private to."""
    rel = os.path.relpath(path, src)
    base = os.path.splitext(rel)[0]
    m = private.match(os.path.basename(base))
    if path.endswith(".h") and not os.path.isfile(path[:-2] + ".c") and m:
        for owner in (os.path.join(os.path.dirname(base), m.group(1)), m.group(1)):
            if os.path.isfile(os.path.join(src, owner + ".c")):
                return owner
    return base


def resolve(including, name):
    for folder in (os.path.dirname(including), src):
        cand = os.path.realpath(os.path.join(folder, name))
        if os.path.isfile(cand) and cand.startswith(src + os.sep):
            return cand
    return None


edges = {}  # module -> {module: "file:line" of the first include making the edge}
for root, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(root, f)
        a = node(path)
        edges.setdefault(a, {})
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = include.match(line)
                if not m:
                    continue
                target = resolve(path, m.group(1))
                if target is None:
                    continue
                b = node(target)
                if b != a:
                    edges[a].setdefault(b, "%s:%d" % (os.path.relpath(path, src), lineno))
                    edges.setdefault(b, {})

# Tarjan's strongly connected components, iteratively (no recursion limit).
index, low, on_stack, stack, sccs = {}, {}, set(), [], []
counter = 0
for start in sorted(edges):
    if start in index:
        continue
    work = [(start, iter(sorted(edges[start])))]
    index[start] = low[start] = counter
    counter += 1
    stack.append(start)
    on_stack.add(start)
    while work:
        v, it = work[-1]
        advanced = False
        for w in it:
            if w not in index:
                index[w] = low[w] = counter
                counter += 1
                stack.append(w)
                on_stack.add(w)
                work.append((w, iter(sorted(edges[w]))))
                advanced = True
                break
            if w in on_stack:
                low[v] = min(low[v], index[w])
        if advanced:
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[v])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))


def cycle_in(comp):
    """One shortest cycle through the component's first module (BFS)."""
    members = set(comp)
    first = comp[0]
    prev = {first: None}
    queue = [first]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w not in members:
                continue
            if w == first:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                path.reverse()
                return path + [first]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


if not sccs:
    print("check-includes: no include cycle among %d modules of %s" % (len(edges), src))
    sys.exit(0)
for comp in sorted(sccs):
    cyc = cycle_in(comp)
    print("include cycle: %s" % " -> ".join(cyc), file=sys.stderr)
    for a, b in zip(cyc, cyc[1:]):
        print("  %s includes %s" % (edges[a][b], b), file=sys.stderr)
    if len(comp) > len(cyc) - 1:
        print("  (all of these include each other: %s)" % ", ".join(comp), file=sys.stderr)
sys.exit(1)
EOF
