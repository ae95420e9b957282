"""run_sandbox_tests.py — runs test_sandbox.py under pytest, or exits 77 (ctest: skipped) with
the reason when this machine cannot run a bubblewrap sandbox at all (bwrap missing, or no user
namespaces). pytest alone would count a suite of skips as passed."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_sandbox import bwrap_unavailable  # noqa: E402

why = bwrap_unavailable()
if why:
    print("SKIPPED: " + why)
    sys.exit(77)
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", os.path.join(HERE, "test_sandbox.py")] + sys.argv[1:]))
