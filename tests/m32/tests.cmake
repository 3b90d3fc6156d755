# 32-bit and 64-bit processes together (tests/m32/README.md). A second configure of this tree
# with -m32 in <build>/m32, built with this build, holds the 32-bit libraries (libshmkit.so,
# libshmkit-sysv.so, libshmkit-audit.so) and the programs of tests/m32/programs.cmake in
# <build>/m32/bin, which the tests below drive from 64-bit processes. Where that cannot be
# built (no 32-bit toolchain: scripts/deps.sh installs gcc-multilib and libc6-dev-i386; another
# architecture; a sanitizer build) or run (a kernel without IA-32 emulation), they skip and say
# why.
set(M32_DIR ${CMAKE_CURRENT_LIST_DIR})
set(M32_BUILD ${CMAKE_BINARY_DIR}/m32)
set(M32_BIN ${M32_BUILD}/bin)
set(M32_WHY "")
if(SHMKIT_SANITIZE)
  set(M32_WHY "a sanitizer build has no 32-bit side (the plain build runs these tests)")
elseif(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" OR
       NOT CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(M32_WHY "the 32-bit side is built for x86_64 hosts only (-m32)")
else()
  # Checked at every configure, so that installing the toolchain later is noticed.
  include(CheckCSourceCompiles)
  unset(SHMKIT_HAVE_M32 CACHE)
  set(CMAKE_REQUIRED_FLAGS -m32)
  set(CMAKE_REQUIRED_LINK_OPTIONS -m32)
  set(CMAKE_REQUIRED_QUIET ON)
  check_c_source_compiles("
    #include <pthread.h>
    #include <sys/shm.h>
    int main(void) { return shmget(0, 0, 0) > 0 && pthread_self() != 0; }" SHMKIT_HAVE_M32)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  unset(CMAKE_REQUIRED_QUIET)
  if(NOT SHMKIT_HAVE_M32)
    set(M32_WHY "${CMAKE_C_COMPILER} cannot build 32-bit programs (Debian: apt-get install gcc-multilib libc6-dev-i386, or scripts/deps.sh check)")
  endif()
endif()

if(NOT M32_WHY)
  include(ExternalProject)
  ExternalProject_Add(shmkit_m32
    SOURCE_DIR ${CMAKE_SOURCE_DIR}
    BINARY_DIR ${M32_BUILD}
    CMAKE_ARGS -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_C_FLAGS=-m32
      -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE} -DSHMKIT_WERROR=${SHMKIT_WERROR}
      -DSHMKIT_TESTS=OFF -DSHMKIT_BENCH=OFF -DSHMKIT_M32_PROGRAMS=ON
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON)
else()
  message(STATUS "tests/m32: no 32-bit build: ${M32_WHY}")
endif()

# What every test of this directory is told: where the 32-bit side is, or why there is none.
set(M32_ENV "M32_BIN=${M32_BIN}" "M32_WHY=${M32_WHY}")
set(M32_TESTS "")
foreach(t m32_test_sysv32 m32_test_sync32 m32_test_chan32 m32_test_heap32)
  if(TARGET ${t})
    list(APPEND M32_TESTS ${t})
  endif()
endforeach()

# Each test says "m32 tests skipped: WHY" when the machine cannot run them: ctest then counts
# it as skipped, not passed.
foreach(t ${M32_TESTS})
  set_tests_properties(${t} PROPERTIES ENVIRONMENT "${M32_ENV}"
    SKIP_REGULAR_EXPRESSION "m32 tests skipped:" TIMEOUT 120 LABELS m32)
endforeach()

# 32-bit programs under shmkit run: the interposer of each class, across exec; the seeds'
# server/client pair with one side 32-bit (run.sh). Not in sanitizer builds (no 32-bit side).
if(TARGET shmkit_sysv_preload AND TARGET sysv_server AND NOT SHMKIT_SANITIZE)
  add_executable(m32_plain_chain ${M32_DIR}/plain_chain.c)
  add_test(NAME m32_run
    COMMAND ${M32_DIR}/run.sh $<TARGET_FILE:shmkit_cli> $<TARGET_FILE:shmkit_sysv_preload>
      $<TARGET_FILE:helper_preload> $<TARGET_FILE_DIR:sysv_server>
      $<TARGET_FILE:m32_plain_chain> ${M32_BIN} "${M32_WHY}")
  set_tests_properties(m32_run PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED shm_clean LABELS m32
    SKIP_RETURN_CODE 77)

  # tests/preload's scripts with 32-bit programs, under shmkit run with both interposers: an
  # RTLD_DEEPBIND library (the 32-bit auditor) and a process that closes all its descriptors.
  set(M32_PRELOADS "$<TARGET_FILE:shmkit_sysv_preload>:${M32_BUILD}/preload/libshmkit-sysv.so")
  set(M32_ARGS $<TARGET_FILE:shmkit_cli> ${M32_PRELOADS} $<TARGET_FILE:helper_preload>)
  add_test(NAME m32_deepbind COMMAND ${M32_DIR}/need32.sh "--why=${M32_WHY}"
    ${M32_BIN}/plain_deepbind ${CMAKE_SOURCE_DIR}/tests/preload/deepbind.sh ${M32_ARGS}
    ${M32_BIN}/plain_deepbind ${M32_BIN}/libdeeplib.so)
  add_test(NAME m32_close_all_fds COMMAND ${M32_DIR}/need32.sh "--why=${M32_WHY}"
    ${M32_BIN}/plain_closeall ${CMAKE_SOURCE_DIR}/tests/preload/diffrun.sh ${M32_ARGS}
    ${M32_BIN}/plain_closeall)
  set_tests_properties(m32_deepbind m32_close_all_fds PROPERTIES TIMEOUT 60
    FIXTURES_REQUIRED shm_clean LABELS m32 SKIP_RETURN_CODE 77)
endif()

# The conformance suite in 32-bit mode (tests/conformance): the kernel's 32-bit (compat) calls
# are the reference for the 32-bit library itself, for the 32-bit interposer under a time64
# conform_libc (glibc's __shmctl64), and under one with a 32-bit time_t (glibc's shmctl).
set(M32_DIFF ${M32_DIR}/need32.sh "--why=${M32_WHY}" ${M32_BIN}/conform
  ${CMAKE_SOURCE_DIR}/tests/conformance/diff.sh ${M32_BIN}/conform)
set(M32_PRELOAD ${M32_BUILD}/preload/libshmkit-sysv.so)
add_test(NAME conformance_m32_shmkit_vs_kernel COMMAND ${M32_DIFF} --seed 1 --count 600)
add_test(NAME conformance_m32_preload_vs_kernel
  COMMAND ${M32_DIFF} --preload ${M32_PRELOAD} --seed 1 --count 600 --random 1x200)
add_test(NAME conformance_m32_preload_t32_vs_kernel
  COMMAND ${M32_DIFF} --preload ${M32_PRELOAD} --libc ${M32_BIN}/conform_libc_t32
    --seed 1 --count 400)
set_tests_properties(conformance_m32_shmkit_vs_kernel conformance_m32_preload_vs_kernel
  conformance_m32_preload_t32_vs_kernel PROPERTIES TIMEOUT 240 FIXTURES_REQUIRED shm_clean
  SKIP_RETURN_CODE 77 LABELS "conformance;m32")
