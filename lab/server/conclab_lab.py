#!/usr/bin/python3
"""conclab_lab.py: serves the JupyterLab 3.6.8 build of lab/ (`conclab lab`).

Started by `conclab lab [DIR] [options]` (kernel/cli/lab.c), which sets:
  CONCLAB_LAB_DIST   the built front-end: static/ (with build.json), schemas/, themes/
  CONCLAB_BIN        the conclab binary, for a session kernelspec when none is registered
  CONCLAB_KERNELSPEC the kernelspec template folder (logos) of that binary
Every other argument goes to the server as `jupyter lab` would pass it: DIR becomes the root,
--port=N, --no-browser, --ServerApp.token=..., --allow-root, and so on.

Two servers can serve the build, whichever is installed (--server=NAME chooses):
  jupyter_server  Debian's python3-jupyter-server and python3-jupyterlab-server
                  (lab_jupyter_server.py, a LabServerApp); preferred
  notebook        Notebook 6's own server (lab_notebook6.py), where that is all there is;
                  --ServerApp.X options are passed on as --NotebookApp.X
Both pick defaults for a student's machine: 127.0.0.1, a token, a browser only when one can show.

On JupyterHub this module is also a jupyter_server extension (`conclab_lab`): see
_jupyter_server_extension_points below and hub/jupyterhub_config.py.
"""
import json
import os
import shutil
import sys
import tempfile

import lab_common
from lab_common import fail

SERVERS = ("jupyter_server", "notebook")


def _jupyter_server_extension_points():
    # A student's server on JupyterHub enables the extension by this module's name.
    from lab_jupyter_server import ConclabLab
    return [{"module": "lab_jupyter_server", "app": ConclabLab}]


# ---- the kernelspec ------------------------------------------------------------------------

def registered_kernel(conclab):
    """The name of a registered kernelspec that runs conclab (or is called conclab), or None."""
    from jupyter_client.kernelspec import KernelSpecManager

    want = os.path.realpath(conclab) if conclab else None
    for name, folder in KernelSpecManager().find_kernel_specs().items():
        if name == "conclab":
            return name
        try:
            with open(os.path.join(folder, "kernel.json"), encoding="utf-8") as f:
                argv = json.load(f).get("argv", [])
        except (OSError, ValueError):
            continue
        if want and argv and os.path.realpath(argv[0]) == want:
            return name
    return None


def session_kernelspec(conclab, template):
    """Without a registered kernelspec, one for this session only, in a folder added to
    JUPYTER_PATH and removed at exit. Returns the folder."""
    from jupyter_core.paths import jupyter_runtime_dir

    root = tempfile.mkdtemp(prefix="conclab-lab-", dir=ensure_dir(jupyter_runtime_dir()))
    spec = os.path.join(root, "kernels", "conclab")
    os.makedirs(spec)
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        if template and os.path.isfile(os.path.join(template, logo)):
            shutil.copy(os.path.join(template, logo), spec)
    kernel = {"argv": [conclab, "kernel", "-f", "{connection_file}"], "display_name": "C (conclab)",
              "language": "c", "interrupt_mode": "message"}
    with open(os.path.join(spec, "kernel.json"), "w", encoding="utf-8") as f:
        json.dump(kernel, f, indent=1)
    paths = [root] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    return root


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path


def choose_server(argv):
    """--server=NAME (or --server NAME) out of argv; returns (server, the other arguments).
    Without it: jupyter_server where it and jupyterlab_server import, else Notebook 6's."""
    wanted, rest = "auto", []
    args = iter(argv)
    for arg in args:
        if arg == "--server":
            wanted = next(args, "")
        elif arg.startswith("--server="):
            wanted = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    if wanted not in SERVERS + ("auto",):
        fail(f"--server={wanted}: choose jupyter_server or notebook")
    problems = []
    for server in SERVERS if wanted == "auto" else (wanted,):
        try:
            __import__("lab_jupyter_server" if server == "jupyter_server" else "lab_notebook6")
            return server, rest
        except ImportError as err:
            problems.append(f"{server}: {err}")
    fail("no Jupyter server to serve JupyterLab from (" + "; ".join(problems) + ").\n"
         "  Install Debian's python3-jupyter-server and python3-jupyterlab-server (./install.sh does),\n"
         "  or at least jupyter-notebook (Notebook 6), whose server conclab lab can also use.")


def defaults(app):
    """Options given before the user's: on the command line the last one wins, so any of them
    can be overridden (--ip=0.0.0.0, --ServerApp.open_browser=True)."""
    options = [f"--{app}.ip=127.0.0.1"]
    # Without a display, Python's webbrowser would start a text browser in this terminal.
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        options.append(f"--{app}.open_browser=False")
    # Jupyter refuses root unless told; README's first command must work on a machine where
    # one works as root (a fresh VM, a container). The server still listens on 127.0.0.1 only.
    if os.geteuid() == 0:
        options.append(f"--{app}.allow_root=True")
        print("conclab lab: running as root (allowed: it listens on 127.0.0.1 unless --ip says"
              " otherwise; give a class one account each, see README: For a class)", file=sys.stderr)
    return options


def start(server, argv):
    if server == "jupyter_server":
        from lab_jupyter_server import ConclabLab
        ConclabLab.launch_instance(defaults("ServerApp") + argv)
    else:
        import lab_notebook6
        # The same options as for jupyter_server: Notebook 6 calls its class NotebookApp.
        argv = [a.replace("--ServerApp.", "--NotebookApp.", 1) for a in argv]
        lab_notebook6.ConclabNotebookLab.launch_instance(defaults("NotebookApp") + argv)


def main(argv):
    server, argv = choose_server(argv)
    try:
        lab_common.dist_dir()
    except FileNotFoundError as err:
        fail(str(err))
    conclab = os.environ.get("CONCLAB_BIN", "")
    session_spec = None
    if conclab and not registered_kernel(conclab):
        session_spec = session_kernelspec(conclab, os.environ.get("CONCLAB_KERNELSPEC", ""))
        print(f"conclab lab: no conclab kernelspec is registered; \"C (conclab)\" is offered for this"
              f" session only (conclab install registers it for good)", file=sys.stderr)
    try:
        start(server, argv)
    finally:
        if session_spec:
            shutil.rmtree(session_spec, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
