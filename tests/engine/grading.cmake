# `conclab assign` and `conclab grade` (issue 18): student versions and grading one submission,
# on real notebooks through the conclab binary (tests/grading/).
conclab_pytest(cli_grading tests/grading TIMEOUT 300)
