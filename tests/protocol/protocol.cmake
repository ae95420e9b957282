# The kernel proved from the outside, through real Jupyter clients (jupyter_client, raw ZeroMQ).
# Each suite starts its own kernels from CONCLAB_BIN in a private Jupyter home (conftest.py).
conclab_pytest(protocol_kernel_test tests/protocol/test_kernel_test.py TIMEOUT 300)
conclab_pytest(protocol_requests tests/protocol/test_requests.py TIMEOUT 300)
conclab_pytest(protocol_execute tests/protocol/test_execute.py TIMEOUT 600)
conclab_pytest(protocol_output tests/protocol/test_output.py TIMEOUT 300)
conclab_pytest(protocol_lifecycle tests/protocol/test_lifecycle.py TIMEOUT 300)
conclab_pytest(protocol_wire tests/protocol/test_wire_live.py TIMEOUT 300)
conclab_pytest(protocol_cross_cell tests/protocol/test_cross_cell.py TIMEOUT 300)
conclab_pytest(protocol_errors tests/protocol/test_errors.py TIMEOUT 300)
conclab_pytest(protocol_gil_blocking tests/protocol/test_gil_blocking.py TIMEOUT 300)
conclab_pytest(protocol_http tests/protocol/test_http.py TIMEOUT 300)
conclab_pytest(protocol_cleanup tests/protocol/test_cleanup.py TIMEOUT 300)
conclab_pytest(protocol_time_magic tests/protocol/test_time_magic.py TIMEOUT 300)
