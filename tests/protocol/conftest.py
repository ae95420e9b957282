"""conftest.py — the sandbox every protocol test runs in.

A private Jupyter home (kernelspecs, runtime files, config) in a temporary directory holds one
kernelspec, `conclab-test`, that starts the binary under test (CONCLAB_BIN, set by ctest). The
environment variables are set when this file is imported — before any test module imports
jupyter_client — so nothing reads the user's own Jupyter directories.
"""
import json
import os
import shutil
import sys
import tempfile

import pytest

_HOME = tempfile.mkdtemp(prefix="conclab-protocol-")
os.environ["JUPYTER_PATH"] = os.path.join(_HOME, "share")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(_HOME, "data")
os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(_HOME, "runtime")
os.environ["JUPYTER_CONFIG_DIR"] = os.path.join(_HOME, "config")
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ.pop("JUPYTER_CONFIG_PATH", None)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
pytest.register_assert_rewrite("kernel_session", "wire_client")
from kernel_session import KERNEL_NAME, PRELUDE, start_session, stop_session  # noqa: E402


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


@pytest.fixture(scope="module")
def kernel(jupyter_home):
    """One kernel per test module: state accumulates across the module's tests."""
    session = start_session()
    try:
        yield session
    finally:
        stop_session(session)


@pytest.fixture(scope="module")
def k(kernel):
    """The module's kernel with the headers most cells use already included."""
    kernel.run_ok(PRELUDE)
    return kernel


@pytest.fixture
def fresh_kernel(jupyter_home):
    """A kernel of its own for a test that restarts, floods or otherwise spends its kernel."""
    session = start_session()
    try:
        yield session
    finally:
        stop_session(session)
