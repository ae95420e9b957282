# Issue 5 seen from a notebook: processes, queues and process pools started by cells — live and
# single output, child exit codes instead of cell crashes, pools across cells, nothing left behind.
conclab_pytest(protocol_processes tests/protocol/test_processes.py TIMEOUT 300)
