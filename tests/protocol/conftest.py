"""conftest.py — the sandbox every protocol test runs in.

A private Jupyter home (kernelspecs, runtime files, config) in a temporary directory holds one
kernelspec, `conclab-test`, that starts the binary under test (CONCLAB_BIN, set by ctest). The
environment variables are set when this file is imported — before any test module imports
jupyter_client — so nothing reads the user's own Jupyter directories.
"""
import json
import os
import shutil
import signal
import sys
import tempfile

import pytest

KERNEL_NAME = "conclab-test"

_HOME = tempfile.mkdtemp(prefix="conclab-protocol-")
os.environ["JUPYTER_PATH"] = os.path.join(_HOME, "share")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(_HOME, "data")
os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(_HOME, "runtime")
os.environ["JUPYTER_CONFIG_DIR"] = os.path.join(_HOME, "config")
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ.pop("JUPYTER_CONFIG_PATH", None)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_session import KernelSession  # noqa: E402  (needs the environment above)
from wire_client import descendants_of, pid_running  # noqa: E402


def _find_binary():
    path = os.environ.get("CONCLAB_BIN", "")
    if not path:
        pytest.fail("CONCLAB_BIN is not set: run through ctest, or export CONCLAB_BIN=/path/to/conclab")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail("CONCLAB_BIN=%r is not an executable file" % path)
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def conclab_bin():
    return _find_binary()


@pytest.fixture(scope="session", autouse=True)
def jupyter_home():
    """Writes the conclab-test kernelspec; removes the whole sandbox at the end of the run."""
    spec_dir = os.path.join(os.environ["JUPYTER_PATH"], "kernels", KERNEL_NAME)
    os.makedirs(spec_dir, exist_ok=True)
    for var in ("JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR"):
        os.makedirs(os.environ[var], exist_ok=True)
    spec = {
        "argv": [_find_binary(), "kernel", "-f", "{connection_file}"],
        "display_name": "C (conclab, under test)",
        "language": "c",
        "interrupt_mode": "message",
    }
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=1)
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


def start_session(startup_timeout=30):
    """Starts a conclab-test kernel and a connected client. The caller must call stop_session."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=KERNEL_NAME)
    km.shutdown_wait_time = 3.0
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=startup_timeout)
    except BaseException:
        stop_session(KernelSession(km, kc))
        raise
    return KernelSession(km, kc)


def _kernel_pid(km):
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


def stop_session(session):
    """Shuts the kernel down; anything it leaves running below it is ended by pid."""
    pid = _kernel_pid(session.km)
    below = descendants_of(pid) if pid else []
    try:
        session.kc.stop_channels()
    finally:
        if session.km.has_kernel:
            try:
                session.km.shutdown_kernel(now=False)
            except Exception:
                session.km.shutdown_kernel(now=True)
        for child in below:
            if pid_running(child):
                try:
                    os.kill(child, signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture(scope="module")
def kernel(jupyter_home):
    """One kernel per test module: state accumulates across the module's tests."""
    session = start_session()
    try:
        yield session
    finally:
        stop_session(session)


@pytest.fixture
def fresh_kernel(jupyter_home):
    """A kernel of its own for a test that restarts, floods or otherwise spends its kernel."""
    session = start_session()
    try:
        yield session
    finally:
        stop_session(session)
