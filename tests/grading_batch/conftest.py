"""The class of make_class.py, graded once for the whole session (the suites share it)."""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import make_class  # noqa: E402
from batch_helpers import CELL_TIMEOUT, grade  # noqa: E402


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, pytestconfig):
    """The class graded once, two at a time, as the tests below find it."""
    root = str(tmp_path_factory.mktemp("class"))
    expected = make_class.write_class(root)
    outdir = os.path.join(root, "graded")
    started = time.monotonic()
    run = grade(os.path.join(root, "submissions"), "--source", os.path.join(root, "source.ipynb"),
                "-o", outdir, "--jobs", "2", "--timeout", CELL_TIMEOUT)
    seconds = time.monotonic() - started
    # the figure README quotes: printed in the test's output whether it passes or not
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print("\nbatch of %d submissions, --jobs 2: %.1f s wall, %.2f s per submission"
              % (len(expected), seconds, seconds / len(expected)), flush=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return {"root": root, "outdir": outdir, "expected": expected, "log": run.stderr,
            "source": os.path.join(root, "source.ipynb"), "subs": os.path.join(root, "submissions")}


