# `conclab run`: executes notebooks headless and checks the process and the notebook it writes.
conclab_pytest(cli_run tests/engine/test_run.py TIMEOUT 300)
