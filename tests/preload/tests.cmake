# The LD_PRELOAD interposer (preload/) and `shmkit run`: classic System V programs, the
# conformance suite and a real program run on shmkit unmodified.
set(PRELOAD_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

if(TARGET shmkit_sysv_preload AND NOT SHMKIT_SANITIZE)
  # The classic example programs (plain libc), if examples/ does not build them already.
  if(NOT TARGET sysv_server)
    add_subdirectory(${CMAKE_SOURCE_DIR}/examples/sysv ${CMAKE_BINARY_DIR}/examples/sysv)
  endif()

  set(PRELOAD_ARGS $<TARGET_FILE:shmkit_cli> $<TARGET_FILE:shmkit_sysv_preload>
    $<TARGET_FILE:helper_preload>)

  # Plain libc programs for the tests, and a static one that the interposer cannot reach.
  find_package(Threads REQUIRED)
  add_executable(preload_plain_threads ${PRELOAD_TEST_DIR}/plain_threads.c)
  target_link_libraries(preload_plain_threads PRIVATE Threads::Threads)
  add_executable(preload_plain_peer ${PRELOAD_TEST_DIR}/plain_peer.c)
  add_executable(preload_plain_closeall ${PRELOAD_TEST_DIR}/plain_closeall.c)
  add_executable(preload_static ${PRELOAD_TEST_DIR}/plain_static.c)
  target_link_options(preload_static PRIVATE -static)

  add_test(NAME preload_classic
    COMMAND ${PRELOAD_TEST_DIR}/classic.sh ${PRELOAD_ARGS} $<TARGET_FILE_DIR:sysv_server>)
  set_tests_properties(preload_classic PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  add_test(NAME preload_tools
    COMMAND ${PRELOAD_TEST_DIR}/tools.sh ${PRELOAD_ARGS} $<TARGET_FILE_DIR:sysv_server>
      $<TARGET_FILE:preload_plain_peer> $<TARGET_FILE:preload_plain_threads>
      $<TARGET_FILE:preload_static>)
  set_tests_properties(preload_tools PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  # PostgreSQL 15 (Debian package postgresql-15); skips when it is not installed.
  add_test(NAME preload_postgres
    COMMAND ${PRELOAD_TEST_DIR}/postgres.sh ${PRELOAD_ARGS})
  set_tests_properties(preload_postgres PROPERTIES TIMEOUT 180 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  # The showcase must keep working (and leave nothing behind).
  add_test(NAME preload_demo
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/demo-sysv.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(preload_demo PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS preload)

  # shmctl's copies fail with EFAULT as the kernel's do, never with SIGSEGV.
  add_executable(preload_plain_efault ${PRELOAD_TEST_DIR}/plain_efault.c)
  add_test(NAME preload_efault
    COMMAND ${PRELOAD_TEST_DIR}/diffrun.sh ${PRELOAD_ARGS} $<TARGET_FILE:preload_plain_efault>)
  set_tests_properties(preload_efault PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  # Libraries loaded with RTLD_DEEPBIND (libshmkit-audit.so), and PHP's shmop/sysvshm.
  add_library(preload_deeplib SHARED ${PRELOAD_TEST_DIR}/deeplib.c)
  add_executable(preload_plain_deepbind ${PRELOAD_TEST_DIR}/plain_deepbind.c)
  target_link_libraries(preload_plain_deepbind PRIVATE ${CMAKE_DL_LIBS})
  add_test(NAME preload_deepbind
    COMMAND ${PRELOAD_TEST_DIR}/deepbind.sh ${PRELOAD_ARGS}
      $<TARGET_FILE:preload_plain_deepbind> $<TARGET_FILE:preload_deeplib>)
  set_tests_properties(preload_deepbind PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)
  add_test(NAME preload_php COMMAND ${PRELOAD_TEST_DIR}/php.sh ${PRELOAD_ARGS})
  set_tests_properties(preload_php PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)
  add_test(NAME preload_python COMMAND ${PRELOAD_TEST_DIR}/python.sh ${PRELOAD_ARGS})
  set_tests_properties(preload_python PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  # /proc/sys/kernel/shm* and /proc/sysvipc/shm act on the namespace.
  add_test(NAME preload_sysctl COMMAND ${PRELOAD_TEST_DIR}/sysctl.sh ${PRELOAD_ARGS})
  set_tests_properties(preload_sysctl PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  # X11 MIT-SHM: Xvfb and a client (Debian xvfb, libx11-dev, libxext-dev).
  pkg_check_modules(XSHM QUIET IMPORTED_TARGET x11 xext)
  if(XSHM_FOUND)
    add_executable(preload_plain_xshm ${PRELOAD_TEST_DIR}/plain_xshm.c)
    target_link_libraries(preload_plain_xshm PRIVATE PkgConfig::XSHM)
    set(XSHM_CLIENT $<TARGET_FILE:preload_plain_xshm>)
  else()
    set(XSHM_CLIENT "")
  endif()
  add_test(NAME preload_xshm COMMAND ${PRELOAD_TEST_DIR}/xshm.sh ${PRELOAD_ARGS} "${XSHM_CLIENT}")
  set_tests_properties(preload_xshm PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS preload SKIP_RETURN_CODE 77)

  # The differential suite under the interposer (conform_libc, plain libc, must print the
  # kernel's traces) is tests/conformance's conformance_preload_vs_kernel.

  # Daemons close every descriptor they did not open; the model's liveness lock lives on one.
  add_test(NAME preload_close_all_fds
    COMMAND ${PRELOAD_TEST_DIR}/diffrun.sh ${PRELOAD_ARGS} $<TARGET_FILE:preload_plain_closeall>)
  set_tests_properties(preload_close_all_fds PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS "preload" SKIP_RETURN_CODE 77)
endif()
