#!/usr/bin/env python3
"""check-layers: every #include "..." of the project's C and C++ sources
points down the layers or within its own folder, no header includes
itself back through others (an include cycle), and, in every folder,
no two files depend on each other through their headers (a
module cycle: a module is x.c with x.h, and depends on y when x.c or x.h
includes y.h). One line per violation, naming the file, the include and
the rule; exit 1 if any. --cycles prints, for every folder, its files and
its module cycles, and exits 0.

The layers, top to bottom (a folder may include its own files and those of
the folders listed for it):

  fs/fuse     FUSE glue and the daemon's main: everything below
  fs/control  control socket, API, controllers, volumes, snapshots, metrics
  fs/vfs      the POSIX namespace over trees
  fs/store    the storage engine: data objects, block maps, io_uring
  fs/obs      counters: a leaf, includes nothing of the project
  meta        the SQLite store and the Kubernetes rules (no FUSE, no fs/)
  tools       volctl: meta only
  tools/csi   volfs-csi (C++): the control-socket client of tools, meta
"""
import os, re, sys

ALLOWED = {
    'fs/fuse':    ['fs/fuse', 'fs/control', 'fs/vfs', 'fs/store', 'fs/obs', 'meta'],
    'fs/control': ['fs/control', 'fs/vfs', 'fs/store', 'fs/obs', 'meta'],
    'fs/vfs':     ['fs/vfs', 'fs/store', 'fs/obs', 'meta'],
    'fs/store':   ['fs/store', 'fs/obs', 'meta'],
    'fs/obs':     ['fs/obs'],
    'meta':       ['meta'],
    'tools':      ['tools', 'meta'],
    'tools/csi':  ['tools/csi', 'tools', 'meta'],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(path):
    return os.path.dirname(path)


def sources(top):
    for d in ALLOWED:
        root = os.path.join(top, d)
        if not os.path.isdir(root):
            continue
        for name in sorted(os.listdir(root)):
            if re.search(r'\.(c|h|cc|hh)$', name):
                yield os.path.join(d, name)


def module(path):
    return os.path.splitext(path)[0]


def module_cycles(graph, d):
    """The module cycles of folder d (strongly connected components of more
    than one module), each a sorted list of module paths."""
    deps = {}
    for src, incs in graph.items():
        if folder(src) != d:
            continue
        m = module(src)
        deps.setdefault(m, set())
        for inc in incs:
            if folder(inc) == d and module(inc) != m:
                deps[m].add(module(inc))
    index, low, stack, on, out = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(deps[v]):
            if w not in deps:
                continue
            if w not in index:
                strong(w)
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

    for v in sorted(deps):
        if v not in index:
            strong(v)
    return out


def report(graph):
    for d in ALLOWED:
        files = [f for f in graph if folder(f) == d]
        if not files:
            continue
        cycles = module_cycles(graph, d)
        print(f'{d}: {len(files)} files, {len({module(f) for f in files})} modules, '
              f'{len(cycles)} module cycles'
              + ''.join(f'\n  {" ".join(os.path.basename(m) for m in c)}' for c in cycles))


def main():
    args = [a for a in sys.argv[1:] if a != '--cycles']
    top = args[0] if args else '.'
    bad = []
    graph = {}
    for d in ('fs', '.'):
        for name in sorted(os.listdir(os.path.join(top, d))):
            if re.search(r'\.(c|h|cc)$', name):
                bad.append(f'{os.path.normpath(os.path.join(d, name))}: outside every layer folder; '
                           f'move it to one of {", ".join(ALLOWED)}')
    for src in sources(top):
        text = open(os.path.join(top, src), encoding='utf-8', errors='replace').read()
        incs = INCLUDE.findall(text)
        graph[src] = [i for i in incs if i.endswith('.h')]
        mine = folder(src)
        for inc in incs:
            if '/' not in inc:
                continue  # generated or system-relative headers
            target = folder(inc)
            if target not in ALLOWED:
                continue
            if target not in ALLOWED[mine]:
                bad.append(f'{src}: includes {inc}: {mine} may include only {", ".join(ALLOWED[mine])}')
    # include cycles among headers
    seen, stack = {}, []

    def visit(h):
        if seen.get(h) == 1:
            cyc = stack[stack.index(h):] + [h]
            bad.append(f'{h}: include cycle: {" -> ".join(cyc)}')
            return
        if seen.get(h) == 2 or h not in graph:
            return
        seen[h] = 1
        stack.append(h)
        for n in graph[h]:
            visit(n)
        stack.pop()
        seen[h] = 2

    for h in sorted(graph):
        if h.endswith('.h'):
            visit(h)
    if '--cycles' in sys.argv:
        report(graph)
        return 0
    for d in ALLOWED:  # no folder is exempt
        for cyc in module_cycles(graph, d):
            bad.append(f'{cyc[0]}: module cycle in {d}: {" <-> ".join(os.path.basename(m) for m in cyc)}; '
                       f'one of them must stop including the other (move what both need below them)')
    for line in bad:
        print('check-layers: ' + line)
    if bad:
        return 1
    print(f'check-layers: {len(graph)} files follow the layers')
    return 0


if __name__ == '__main__':
    sys.exit(main())
