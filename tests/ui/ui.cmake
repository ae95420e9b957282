# The kernel in real Jupyter front-ends, from Node: Notebook 6 and JupyterLab 3.6 (`conclab lab`)
# in headless Chromium driven by Playwright, and JupyterLab's own messaging code
# (@jupyterlab/services) against the two servers Debian ships. install.sh installs what they need
# (Debian's chromium, nodejs, python3-jupyter-server; `npm ci` here and in lab/).
#
# ui_notebook fails when something is missing: it is the oldest, and a skipped UI test would look
# like a passing one. The others skip (exit 77, saying what is missing) only when Node, npm's
# modules, Chromium or the server's Debian package is missing; a JupyterLab front-end that was not
# built (lab/dist) is a failure. RUN_SERIAL: each runs lab 12.2, whose check cells time threads.
find_program(CONCLAB_NODE NAMES node nodejs)
set(CONCLAB_UI_ARTIFACTS ${CMAKE_BINARY_DIR}/tests/ui)
file(MAKE_DIRECTORY ${CONCLAB_UI_ARTIFACTS})

# conclab_node_test(NAME SCRIPT TIMEOUT [ARGS...]): `node SCRIPT ARGS` as ctest test NAME.
function(conclab_node_test name script timeout)
  if(CONCLAB_NODE)
    add_test(NAME ${name}
      COMMAND ${CONCLAB_NODE} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script} ${ARGN}
      WORKING_DIRECTORY ${CONCLAB_UI_ARTIFACTS})
  elseif(name STREQUAL "ui_notebook")
    add_test(NAME ${name}
      COMMAND sh -c "echo '${name}: node not found (Debian package nodejs): run ./install.sh, then reconfigure' >&2; exit 1")
  else()
    add_test(NAME ${name}
      COMMAND sh -c "echo '${name}: SKIP: node not found (Debian package nodejs): run ./install.sh, then reconfigure'; exit 77")
  endif()
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "CONCLAB_BIN=$<TARGET_FILE:conclab>;CONCLAB_UI_ARTIFACTS=${CONCLAB_UI_ARTIFACTS}"
    SKIP_RETURN_CODE 77
    RUN_SERIAL TRUE
    TIMEOUT ${timeout})
endfunction()

conclab_node_test(ui_notebook test_notebook_ui.mjs 360)
conclab_node_test(ui_jupyterlab test_lab_ui.mjs 240)
conclab_node_test(ui_jupyterlab_notebook6 test_lab_notebook6.mjs 120)
conclab_node_test(ui_services_jupyter_server test_lab_services.mjs 120 --server jupyter_server)
conclab_node_test(ui_services_notebook test_lab_services.mjs 120 --server notebook)
