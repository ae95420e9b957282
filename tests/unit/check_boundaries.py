"""check_boundaries.py — the architecture's boundaries (README: Layout), checked on every #include.

Each folder under kernel/ is one room: a layer, or the code of one process. A room may include
headers of its own, the public headers (the include/ folder) of the rooms it is allowed to know,
and system headers; a few system headers belong to one room only. The rules say, in short:

  - the runtime knows nothing of the kernel, and its core (clock, waiting, the hook, the GIL)
    knows nothing of the rest of the runtime;
  - the transport (server/) knows no C: no cells, compiler, engine or executor;
  - the engine, the executor and everything under them know no ZeroMQ;
  - the Jupyter core (jupyter/) reaches the engine only through engine.h;
  - libtcc is the compiler's, ZeroMQ and OpenSSL the transport's, libuv and libcurl the runtime's.

CMake already refuses most forbidden includes (each library exposes only its include/); this
check also catches a header reached through a path, a relative include, or a new include
directory added by hand, and says which rule an include breaks.

Usage: check_boundaries.py SOURCE_DIR [--self-test]
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

# Who may include whose public headers (besides its own room's headers).
ALLOWED = {
    "common": set(),
    "lang": {"common"},
    "protocol": {"common"},
    "server": {"common"},
    "cellhost": {"common", "protocol", "runtime"},
    "compiler": {"common", "lang", "protocol", "cellhost", "runtime"},
    "executor": {"common", "protocol", "cellhost", "compiler", "runtime"},
    # the executor only through the protocol; the runtime only for conclab_host.h's board of
    # waits, which the engine reads when it stops a hung cell
    "engine": {"common", "lang", "protocol", "runtime"},
    "jupyter": {"common", "server", "engine"},
    # graded homework: notebooks in, reports out; the command line runs the cells
    "grading": {"common", "engine"},
    "cli": {"common", "engine", "jupyter", "executor", "grading"},
    # libconclab: its public headers stand alone (they are installed); its core knows only them;
    # the other groups know the core. Inside the library, private headers are shared freely.
    "runtime": set(),
    "runtime/core": {"runtime"},
    "runtime/src": {"runtime", "runtime/core"},
}

# System headers that belong to some rooms only (a prefix ending in "/" covers a folder).
SYSTEM_OWNERS = {
    "zmq.h": {"server"},
    "openssl/": {"server"},
    "libtcc.h": {"compiler"},
    "uv.h": {"runtime"},
    "curl/": {"runtime"},
}


def room_of(path):
    """The room of a file, by its path relative to the source folder."""
    parts = path.split("/")
    if parts[0] == "runtime":
        if parts[1] == "src":
            return "runtime/core" if parts[2] == "core" else "runtime/src"
        return "runtime"  # its public headers: what cells and homework include
    if parts[0] == "kernel":
        return "cli" if len(parts) == 2 else parts[1]  # main.c is the command line's
    return None


def is_public(path):
    """A header other rooms may include: in a room's include/ folder (the runtime's: runtime/include)."""
    parts = path.split("/")
    return "include" in parts[:-1]


def scan(source_dir):
    """[(file, kind, name)] of every include in kernel/ and runtime/; {header path by its include name}."""
    includes, headers = [], {}
    for top in ("kernel", "runtime"):
        for folder, _, files in os.walk(os.path.join(source_dir, top)):
            for name in sorted(files):
                path = os.path.relpath(os.path.join(folder, name), source_dir)
                if not name.endswith((".c", ".h")):
                    continue
                if name.endswith(".h"):
                    parts = path.split("/")
                    # public runtime headers are included as <conclab/x.h> or "conclab/x.h"
                    key = "/".join(parts[-2:]) if parts[-2] == "conclab" else name
                    headers.setdefault(key, []).append(path)
                text = open(os.path.join(source_dir, path), errors="replace").read()
                for kind, header in INCLUDE.findall(text):
                    includes.append((path, kind, header))
    return includes, headers


def system_owner(header):
    for prefix, rooms in SYSTEM_OWNERS.items():
        if header == prefix or (prefix.endswith("/") and header.startswith(prefix)):
            return rooms
    return None


def judge(includes, headers):
    """The broken rules, one sentence each."""
    problems = []
    for path, kind, header in includes:
        room = room_of(path)
        owners = system_owner(header)
        if owners is not None:
            base = "runtime" if room.startswith("runtime") else room
            if base not in owners:
                problems.append("%s includes <%s>, which only %s may use" % (path, header, " and ".join(sorted(owners))))
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(path), header))
        if kind == '"' and os.path.exists(os.path.join(SOURCE_DIR, target)):
            found = [target]  # "x.h" next to the file, or a relative path
        else:
            found = headers.get(header, [])
        if not found:
            continue  # a system header
        if len(found) > 1:
            problems.append("%s includes %s, which names %d headers: %s" % (path, header, len(found), ", ".join(found)))
            continue
        owner_path = found[0]
        owner = room_of(owner_path)
        if owner == room:
            continue
        if owner not in ALLOWED.get(room, set()):
            problems.append("%s (%s) includes %s from %s, which %s may not know"
                            % (path, room, header, owner, room))
        elif not is_public(owner_path) and not (room.startswith("runtime") and owner.startswith("runtime")):
            problems.append("%s (%s) includes %s, a private header of %s (only its include/ is public)"
                            % (path, room, owner_path, owner))
    return problems


def self_test(includes, headers):
    """Every rule must catch the include that breaks it, or this check could never fail."""
    broken = [
        ("kernel/engine/bad.c", "<", "zmq.h"),
        ("kernel/executor/bad.c", '"', "server.h"),
        ("kernel/compiler/bad.c", "<", "zmq.h"),
        ("runtime/src/threads/bad.c", '"', "engine.h"),
        ("runtime/src/core/bad.c", '"', "loop_internal.h"),
        ("runtime/include/conclab/bad.h", '"', "wait.h"),
        ("kernel/engine/bad.c", '"', "wait.h"),
        ("kernel/server/bad.c", '"', "jit.h"),
        ("kernel/server/bad.c", '"', "cell.h"),
        ("kernel/jupyter/bad.c", '"', "cell.h"),
        ("kernel/jupyter/bad.c", '"', "engine_internal.h"),
        ("kernel/engine/bad.c", "<", "libtcc.h"),
        ("kernel/lang/bad.c", '"', "messages.h"),
        ("kernel/engine/bad.c", '"', "executor.h"),
        ("kernel/engine/bad.c", '"', "../compiler/definitions.h"),
    ]
    misses = [b for b in broken if not judge([b], headers)]
    for path, kind, header in misses:
        print("check_boundaries: self-test: %s including %s%s was not caught" % (path, kind, header))
    return not misses


def main():
    global SOURCE_DIR
    SOURCE_DIR = sys.argv[1]
    includes, headers = scan(SOURCE_DIR)
    problems = judge(includes, headers)
    for problem in problems:
        print("check_boundaries: " + problem)
    ok = not problems
    if "--self-test" in sys.argv[2:]:
        ok = self_test(includes, headers) and ok
    rooms = sorted({room_of(p) for p, _, _ in includes})
    print("check_boundaries: %d includes in %d rooms, %d broken rules" % (len(includes), len(rooms), len(problems)))
    return 0 if ok else 1


SOURCE_DIR = "."

if __name__ == "__main__":
    sys.exit(main())
