# `conclab grade DIR/` (issue 18, item 5): a generated class of 100 submissions graded two at a
# time, resumed after Ctrl-C, regraded one student at a time, split into shards; the summary and
# the class overview page checked row by row against what each submission deserves.
conclab_pytest(cli_grading_batch ${CMAKE_CURRENT_LIST_DIR} TIMEOUT 300)
