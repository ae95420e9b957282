#!/usr/bin/env python3
"""`conclab export` from the outside (issue 17, item 1).

  export_check.py differential NOTEBOOK...  each notebook run by `conclab run` and exported, built
                                            by gcc and run: the same stdout, line for line; for
                                            checks:NOTEBOOK (a lab, whose timings vary) the same
                                            check lines (✓/✗ and the claim, numbers aside)
  export_check.py magic NOTEBOOK...         each notebook run with an `%export session.c` cell
                                            added: the file it writes is what `conclab export` writes
  export_check.py build NOTEBOOK...         each notebook exports and builds with gcc, warning-free
                                            under GCC_FLAGS (nothing runs)

Environment (ctest sets it): CONCLAB_BIN, the conclab binary; CONCLAB_INCLUDE, the runtime's
headers; CONCLAB_LIBDIR, the folder of the built libconclab.so; CONCLAB_PC, the conclab.pc it comes with. Exit status 77 (ctest: skipped)
only when gcc is not installed."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# -Wall and -Wextra, less two of -Wextra's warnings the labs' own C draws by design: a thread
# function's `void *unused` parameter, and `{0}`-style partial initializers.
GCC_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
             "-Wno-missing-field-initializers", "-Werror"]
# The build check adds -O2, so the warnings that need the optimizer's view (format truncation,
# maybe-uninitialized) are in too. Programs that run are built as the README says, without -O,
# as tcc compiles cells: a lab's calibration loop with no visible effect (12.8's) is optimized
# away at -O2, and its timings then mean nothing.
BUILD_ONLY_FLAGS = ["-O2"]

# What the kernel adds to a cell's stdout that is not the cell's own output: the value of a last
# expression, a cell main's exit status, notes about threads left running.
KERNEL_LINE = re.compile(r"^(Out\[\d+\]: |\[conclab\] )")


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"export_check: {name} is not set (ctest sets it)")
    return value


def pc_libraries():
    """The libraries conclab.pc's Libs line names (-lconclab -pthread -lm), so the build is the
    documented `gcc lab.c $(pkg-config --cflags --libs conclab)`, with the build tree's paths."""
    for line in open(env("CONCLAB_PC")):
        if line.startswith("Libs:"):
            return [word for word in line.split()[1:] if word.startswith("-l") or word == "-pthread"]
    sys.exit("export_check: conclab.pc has no Libs line")


def build(notebook, workdir, extra_flags=()):
    """Exports the notebook and builds it; returns (binary, stderr of export, gcc's messages)."""
    stem = os.path.basename(notebook).removesuffix(".ipynb")
    source = os.path.join(workdir, stem + ".c")
    binary = os.path.join(workdir, stem)
    export = subprocess.run([env("CONCLAB_BIN"), "export", notebook, "-o", source],
                            capture_output=True, text=True, timeout=60)
    if export.returncode != 0:
        return None, export.stderr, ""
    libdir = env("CONCLAB_LIBDIR")
    gcc = subprocess.run(["gcc", *GCC_FLAGS, *extra_flags, "-I" + env("CONCLAB_INCLUDE"), source, "-o", binary,
                          "-L" + libdir, "-Wl,-rpath," + libdir, *pc_libraries()],
                         capture_output=True, text=True, timeout=300)
    return (binary if gcc.returncode == 0 else None), export.stderr, gcc.stderr


# A check cell's line (conclab/check.h): its mark and claim; measured numbers in it vary.
CHECK_LINE = re.compile(r"^(\u2713|\u2717) ")


def cell_output(text, only_checks):
    lines = [line for line in text.splitlines() if not KERNEL_LINE.match(line)]
    if only_checks:
        lines = [re.sub(r"\d+(\.\d+)?", "#", line) for line in lines if CHECK_LINE.match(line)]
    return lines


def notebook_stdout(path):
    """What the run notebook's cells printed, but for cells that fail on purpose (the
    raises-exception tag): the program leaves their statements out, as the notebook kept nothing
    of them (a %%tsan report, a failing %%chaos run, a deadlock stopped by its time limit)."""
    with open(path) as f:
        cells = json.load(f)["cells"]
    text = ""
    for cell in cells:
        if cell["cell_type"] != "code" or "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text += "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
    return text


def differential(notebook, workdir):
    only_checks = notebook.startswith("checks:")
    notebook = notebook.removeprefix("checks:")
    ran_path = os.path.join(workdir, "ran.ipynb")
    ran = subprocess.run([env("CONCLAB_BIN"), "run", notebook, "-o", ran_path], capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL)
    if ran.returncode != 0:
        print(f"FAIL {notebook}: conclab run exited {ran.returncode}\n{ran.stderr}")
        return False
    binary, notes, messages = build(notebook, workdir)
    if not binary:
        print(f"FAIL {notebook}: the export does not build\n{notes}{messages}")
        return False
    # displays outside a notebook are files (conclab/display.h): keep them in the scratch folder
    program = subprocess.run([binary], capture_output=True, text=True, timeout=300, cwd=workdir,
                             stdin=subprocess.DEVNULL, env={**os.environ, "CONCLAB_DISPLAY_DIR": workdir})
    want, got = cell_output(notebook_stdout(ran_path), only_checks), cell_output(program.stdout, only_checks)
    if only_checks and not want:
        print(f"FAIL {notebook}: no check lines to compare")
        return False
    if program.returncode != 0 or want != got:
        print(f"FAIL {notebook}: the program (exit {program.returncode}) printed other lines than the notebook")
        for i in range(max(len(want), len(got))):
            w = want[i] if i < len(want) else "<none>"
            g = got[i] if i < len(got) else "<none>"
            if w != g:
                print(f"  line {i + 1}: notebook: {w!r}\n           program:  {g!r}")
        return False
    print(f"ok   {notebook}: {len(want)} {'check ' if only_checks else ''}lines the same both ways")
    return True


def magic(notebook, workdir):
    nb = json.load(open(notebook))
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": "%export session.c\n"})
    with_magic = os.path.join(workdir, "with_magic.ipynb")
    json.dump(nb, open(with_magic, "w"))
    ran = subprocess.run([env("CONCLAB_BIN"), "run", "-q", with_magic], capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL, cwd=workdir)
    cli = os.path.join(workdir, "cli")
    os.makedirs(cli, exist_ok=True)
    subprocess.run([env("CONCLAB_BIN"), "export", notebook, "-o", os.path.join(cli, "session.c")],
                   capture_output=True, timeout=60, check=True)
    written = os.path.join(workdir, "session.c")
    if ran.returncode != 0 or not os.path.exists(written):
        print(f"FAIL {notebook}: %export wrote nothing (conclab run exited {ran.returncode})\n{ran.stderr}")
        return False
    if open(written).read() != open(os.path.join(cli, "session.c")).read():
        print(f"FAIL {notebook}: %export and conclab export wrote different programs")
        return False
    print(f"ok   {notebook}: %export wrote what conclab export writes")
    return True


def build_only(notebook, workdir):
    binary, notes, messages = build(notebook, workdir, BUILD_ONLY_FLAGS)
    if not binary or messages.strip():
        print(f"FAIL {notebook}: gcc {' '.join(GCC_FLAGS + BUILD_ONLY_FLAGS)}:\n{notes}{messages}")
        return False
    print(f"ok   {notebook}: builds warning-free" + (f" ({notes.count(chr(10))} export notes)" if notes else ""))
    return True


def main():
    checks = {"differential": differential, "magic": magic, "build": build_only}
    if len(sys.argv) < 3 or sys.argv[1] not in checks:
        sys.exit(__doc__)
    if not shutil.which("gcc"):
        print("SKIP: gcc is not installed; the export is a program for gcc")
        return 77
    check = checks[sys.argv[1]]
    with tempfile.TemporaryDirectory(prefix="conclab-export-") as workdir:
        results = [check(notebook, workdir) for notebook in sys.argv[2:]]
    print(f"{sum(results)} of {len(results)} notebooks passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
