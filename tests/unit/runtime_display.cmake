# Rich display from C (issue 13, item 2): the runtime's side of conclab/display.h; gcc and tcc runs.
conclab_runtime_suite(test_runtime_display)
# Check cells (conclab/check.h) outside a notebook; gcc and tcc runs.
conclab_runtime_suite(test_runtime_check)
