# make install into a staging directory, then build against it (C and C++, pkg-config and
# CMake) and check the exported symbols. Not in sanitizer builds: a program built without the
# sanitizer cannot load a library built with it.
if(NOT SHMKIT_SANITIZE)
  add_test(NAME install_and_use COMMAND ${CMAKE_CURRENT_LIST_DIR}/install.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(install_and_use PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED shm_clean
    LABELS install)
endif()
