# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build-fuzz/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build-fuzz/tests/core_test[1]_include.cmake")
include("/work/main/build-fuzz/tests/rules_test[1]_include.cmake")
include("/work/main/build-fuzz/tests/storage_test[1]_include.cmake")
include("/work/main/build-fuzz/tests/destinations_test[1]_include.cmake")
include("/work/main/build-fuzz/tests/bus_test[1]_include.cmake")
add_test([=[e2e.pipeline]=] "/root/.pyenv/shims/python3" "-m" "unittest" "-v" "test_pipeline" "test_rules_cli" "test_transform")
set_tests_properties([=[e2e.pipeline]=] PROPERTIES  ENVIRONMENT "SWITCHYARD_BIN=/work/main/build-fuzz/bus/switchyard" TIMEOUT "300" WORKING_DIRECTORY "/work/main/tests/e2e" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;24;add_test;/work/main/tests/CMakeLists.txt;0;")
