# A class on JupyterHub (tests/hub/test_hub.py): two temporary Unix users log in to a hub set up by
# `conclab hub-config` and run cells as themselves. Skipped (exit 77) without jupyterhub, node,
# hub/node_modules (install.sh's npm ci) or root.
add_test(NAME hub_class
  COMMAND ${CONCLAB_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_hub.py)
set_tests_properties(hub_class PROPERTIES
  ENVIRONMENT "CONCLAB_BIN=$<TARGET_FILE:conclab>;PYTHONDONTWRITEBYTECODE=1"
  SKIP_RETURN_CODE 77
  TIMEOUT 120)
