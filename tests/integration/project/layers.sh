#!/bin/bash
# lib/'s layers, as linked: each object file of a layer's static library
# (the arguments, "LAYER=ARCHIVE") calls only into its own layer and the
# layers below it, and no two object files call each other, directly or
# round a longer loop. The build already refuses upward #includes (each
# layer sees only the headers below it); this catches the calls.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: layers.sh LAYER=ARCHIVE..." >&2; exit 2; }
exec python3 - "$@" <<'PY'
import subprocess, sys

# Each layer and the layers it may call (besides itself).
below = {
    'base': [],
    'config': ['base'],
    'resolve': ['config', 'base'],
    'tools': ['config', 'base'],
    'transport': ['config', 'base'],
    'auth': ['transport', 'config', 'base'],
    'vault': ['auth', 'transport', 'config', 'base'],
}
layer_of, defs, uses = {}, {}, {}
for arg in sys.argv[1:]:
    layer, archive = arg.split('=', 1)
    out = subprocess.run(['nm', '-A', archive], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        # "ARCHIVE:DIR/FILE.c.o:VALUE TYPE NAME" (no VALUE for U)
        where, rest = line.split('.c.o:', 1)
        # Named layer/file: two layers may hold files of the same name.
        obj = layer + '/' + where.rsplit('/', 1)[-1]
        layer_of[obj] = layer
        defs.setdefault(obj, set()); uses.setdefault(obj, set())
        f = rest.split()
        if len(f) == 3 and f[1] in 'TDBRV':
            defs[obj].add(f[2])
        elif len(f) == 2 and f[0] == 'U':
            uses[obj].add(f[1])
owner = {s: o for o, ss in defs.items() for s in ss}
edges = {o: sorted({owner[s] for s in uses[o] if s in owner and owner[s] != o}) for o in defs}

fails = 0
for o in sorted(edges):
    for t in edges[o]:
        if layer_of[t] != layer_of[o] and layer_of[t] not in below[layer_of[o]]:
            calls = sorted(s for s in uses[o] if owner.get(s) == t)
            print(f"not ok - {o} calls up into {t}: {' '.join(calls)}")
            fails += 1

# Loops between object files (Tarjan's strongly connected components).
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        if len(c) > 1: sccs.append(sorted(c))
sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index: visit(v)
for c in sccs:
    print(f"not ok - these files call each other round a loop: {' '.join(c)}")
    fails += 1
if fails == 0:
    print(f"ok - {len(edges)} object files in {len(set(layer_of.values()))} layers: calls go down, no loops")
print(f"# layers: {fails} failure(s)")
sys.exit(1 if fails else 0)
PY
