#!/usr/bin/env python3
"""check-layers: every #include "..." of the project's C and C++ sources
points down the layers or within its own folder, and no header includes
itself back through others (an include cycle). One line per violation,
naming the file, the include and the rule; exit 1 if any.

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


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else '.'
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
    for line in bad:
        print('check-layers: ' + line)
    if bad:
        return 1
    print(f'check-layers: {len(graph)} files follow the layers')
    return 0


if __name__ == '__main__':
    sys.exit(main())
