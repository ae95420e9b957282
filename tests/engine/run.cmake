# `conclab run`: executes notebooks headless and checks the process and the notebook it writes.
conclab_pytest(cli_run tests/engine/test_run.py TIMEOUT 300)
# `conclab install`: every destination (the system ones in a private mount namespace), the
# kernel.json it writes, idempotence, usage errors.
conclab_pytest(cli_install tests/engine/test_install.py TIMEOUT 120)
