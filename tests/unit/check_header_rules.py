"""check_header_rules.py — the promise <conclab.h> makes to its three audiences (conclab.h's
header comment), checked against the built library:

  - every function libconclab exports is declared in a public header, on one line, right after a
    one-line summary comment: the kernel's completion and inspection read exactly those pairs
    (kernel/engine/api_docs.c), so a function that breaks the rule is invisible in notebooks;
  - nothing internal leaks: the library exports only cl_ names (internal helpers are cl__ and
    hidden), so cells cannot call, or collide with, the runtime's internals.

Usage: check_header_rules.py LIBCONCLAB.so INCLUDE_DIR
"""
import glob
import os
import re
import subprocess
import sys

DECLARATION = re.compile(r"^[A-Za-z_][^;{}]*?\b(cl_\w+)\s*\(.*\)\s*;\s*$")


def exported_functions(library):
    out = subprocess.run(["nm", "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    return sorted(line.split()[2] for line in out.splitlines()
                  if len(line.split()) == 3 and line.split()[1] == "T")


def documented_declarations(include_dir):
    """{name: header} of one-line declarations under a one-line comment; and the ones without."""
    documented, bare = {}, []
    headers = glob.glob(os.path.join(include_dir, "conclab", "*.h")) + [
        os.path.join(include_dir, "conclab_host.h")]
    for header in sorted(headers):
        lines = open(header).read().split("\n")
        for i, line in enumerate(lines):
            m = DECLARATION.match(line)
            if not m or line.startswith("typedef"):
                continue
            above = lines[i - 1].strip() if i else ""
            if above.startswith("/*") and above.endswith("*/"):
                documented[m.group(1)] = os.path.basename(header)
            else:
                bare.append("%s: %s has no one-line summary right above it"
                            % (os.path.basename(header), m.group(1)))
    return documented, bare


def main():
    library, include_dir = sys.argv[1], sys.argv[2]
    documented, problems = documented_declarations(include_dir)
    exports = exported_functions(library)
    for name in exports:
        if not name.startswith("cl_") or name.startswith("cl__"):
            problems.append("%s is exported but is not a public cl_ name (mark it CL_INTERNAL)" % name)
        elif name not in documented:
            problems.append("%s is exported but not declared on one line under a summary in a "
                            "public header" % name)
    for problem in problems:
        print(problem)
    print("%d exported functions, %d documented declarations, %d problems"
          % (len(exports), len(documented), len(problems)))
    return 1 if problems or not exports else 0


if __name__ == "__main__":
    sys.exit(main())
