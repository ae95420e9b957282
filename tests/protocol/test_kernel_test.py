"""test_kernel_test.py — the community conformance suite, jupyter_kernel_test, run against conclab.

KernelTests starts its own kernel (kernel_name below, found through the sandbox conftest.py sets
up) and checks every reply against the message schemas. Each sample below feeds one of its tests.
"""
import os
import re
import unittest

import jupyter_kernel_test

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME_HEADER = os.path.join(REPO, "runtime", "include", "conclab.h")

from kernel_session import runtime_header_text  # noqa: E402


def runtime_function(pattern):
    """The first function conclab.h declares whose name matches pattern, or None.

    Samples that need a runtime call (clearing output) use whatever the runtime offers, so this
    suite does not guess a name the runtime never promised."""
    try:
        header = runtime_header_text()
    except OSError:
        return None
    for m in re.finditer(r"\b(cl_\w+)\s*\(", header):
        if re.search(pattern, m.group(1)):
            return m.group(1)
    return None


CLEAR_OUTPUT_CALL = runtime_function(r"clear_output")  # not cl_event_clear: the output one


class ConclabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "conclab-test"
    language_name = "c"
    file_extension = ".c"

    code_hello_world = '#include <stdio.h>\nprintf("hello, world\\n");'

    code_stderr = '#include <stdio.h>\nfprintf(stderr, "this goes to stderr\\n");'

    # Completion runs without earlier cells: keywords and the runtime API are always known.
    completion_samples = [
        {"text": "whi", "matches": {"while"}},
        {"text": "typed", "matches": {"typedef"}},
        {"text": "unsig", "matches": {"unsigned"}},
        {"text": "cl_thread_st", "matches": {"cl_thread_start", "cl_thread_start_named"}},
        {"text": "int n = cl_thread_j", "matches": {"cl_thread_join", "cl_thread_join_timeout"}},
    ]

    complete_code_samples = [
        'printf("hi\\n");',
        "int x = 1;",
        "int f(void) { return 1; }",
        "#include <stdio.h>",
        "6*7",
        "/* a comment */ int y;",
        "",
    ]
    incomplete_code_samples = [
        "int f(void) {",
        'printf("hi",',
        "/* an open comment",
        "for (int i = 0; i < 3; i++) {\n    if (i) {",
        "int a[] = {1, 2,",
        "#define TWICE(x) \\",
    ]
    invalid_code_samples = [
        "}",
        "int x = 1; }",
        ")",
    ]

    # A compile error: exactly one output (the error), and status error.
    code_generate_error = "int x = ;"

    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "1 + 2", "result": "3"},
        {"code": "10 / 4", "result": "2"},
        {"code": "10 / 4.0", "result": "2.5"},
        {"code": "-5 * 3", "result": "-15"},
    ]

    # Compiler warnings are shown as display_data (never on stderr): a cell with a warning.
    code_display_data = [
        {"code": "int warn_sample(void) { int *p = 5; return p != 0; }", "mime": "text/plain"},
    ]

    # A glob over whole inputs, matching exactly one of code_execute_result's codes.
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "cl_thread_start"

    code_clear_output = ("#include <conclab.h>\n%s(0);" % CLEAR_OUTPUT_CALL) if CLEAR_OUTPUT_CALL else ""

    def test_clear_output_sample_exists(self):
        """Issue 2 asks for a clear_output sample: the runtime must offer a call that clears."""
        if not self.code_clear_output:
            self.fail("conclab.h declares no cl_* function that clears output, so the "
                      "clear_output sample cannot be set (looked in %s)" % RUNTIME_HEADER)


if __name__ == "__main__":
    unittest.main()
