# The kernel in the real Jupyter Notebook 6 web page, driven by Playwright in headless Chromium.
# install.sh installs what it needs (Debian's chromium and nodejs, `npm ci` here); when one is
# missing the test fails and says so, because a skipped UI test would look like a passing one.
find_program(CONCLAB_NODE NAMES node nodejs)
set(CONCLAB_UI_ARTIFACTS ${CMAKE_BINARY_DIR}/tests/ui)
file(MAKE_DIRECTORY ${CONCLAB_UI_ARTIFACTS})

if(CONCLAB_NODE)
  add_test(NAME ui_notebook
    COMMAND ${CONCLAB_NODE} ${CMAKE_CURRENT_LIST_DIR}/test_notebook_ui.mjs
    WORKING_DIRECTORY ${CONCLAB_UI_ARTIFACTS})
else()
  add_test(NAME ui_notebook
    COMMAND sh -c "echo 'ui_notebook: node not found (Debian package nodejs): run ./install.sh, then reconfigure' >&2; exit 1")
endif()
set_tests_properties(ui_notebook PROPERTIES
  ENVIRONMENT "CONCLAB_BIN=$<TARGET_FILE:conclab>;CONCLAB_UI_ARTIFACTS=${CONCLAB_UI_ARTIFACTS}"
  TIMEOUT 240)
