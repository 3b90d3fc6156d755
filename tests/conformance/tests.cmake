# Differential conformance suite: the kernel's System V shared memory is the reference.
# One source, two programs:
#   conform       kernel | libc | shmkit backends (links the library's objects);
#   conform_libc  plain libc calls only, to be run under the LD_PRELOAD interposer.
set(CONFORM_DIR ${CMAKE_CURRENT_LIST_DIR})

# The library's objects rather than the archive: the shmkit entry points are weak references
# in conform.c (so the driver also builds where the sysv layer is missing), and an archive
# member would never be pulled in by a weak reference.
find_package(Threads REQUIRED)
add_executable(conform ${CONFORM_DIR}/conform.c $<TARGET_OBJECTS:shmkit_obj>)
target_compile_definitions(conform PRIVATE CONFORM_SHMKIT)
target_include_directories(conform PRIVATE ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(conform PRIVATE Threads::Threads)

add_executable(conform_libc ${CONFORM_DIR}/conform.c)

set(CONFORM_TIMEOUT 240 CACHE STRING "Timeout of each conformance test (seconds)")
# Sequences per run; sanitizer builds are several times slower.
if(SHMKIT_SANITIZE)
  set(CONFORM_COUNT 1000)
  set(CONFORM_DET_COUNT 200)
else()
  set(CONFORM_COUNT 3000)
  set(CONFORM_DET_COUNT 400)
endif()

# fork/setuid/exec-heavy: not a ThreadSanitizer subject.
if(NOT SHMKIT_SANITIZE MATCHES "thread")
  add_test(NAME conformance_kernel_deterministic
    COMMAND ${CONFORM_DIR}/determinism.sh $<TARGET_FILE:conform> --seed 1 --count ${CONFORM_DET_COUNT})
  set_tests_properties(conformance_kernel_deterministic PROPERTIES
    TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean LABELS conformance)

  add_test(NAME conformance_kernel_deterministic_rmid_forced
    COMMAND ${CONFORM_DIR}/determinism.sh $<TARGET_FILE:conform> --rmid-forced
      --seed 100000 --count ${CONFORM_DET_COUNT})
  set_tests_properties(conformance_kernel_deterministic_rmid_forced PROPERTIES
    TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean LABELS conformance
    SKIP_RETURN_CODE 77)

  # The comparison scripts must catch (and report) a corrupted trace line.
  add_test(NAME conformance_harness_selftest
    COMMAND ${CONFORM_DIR}/selftest.sh $<TARGET_FILE:conform>)
  set_tests_properties(conformance_harness_selftest PROPERTIES
    TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean LABELS conformance)

  # Fixed seeds: reproducible, must pass.
  add_test(NAME conformance_shmkit_vs_kernel
    COMMAND ${CONFORM_DIR}/diff.sh $<TARGET_FILE:conform> --seed 1 --count ${CONFORM_COUNT})
  set_tests_properties(conformance_shmkit_vs_kernel PROPERTIES
    TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean SKIP_RETURN_CODE 77
    LABELS conformance)

  # Random seeds, printed at the start, so that every run explores new sequences.
  add_test(NAME conformance_shmkit_vs_kernel_random
    COMMAND ${CONFORM_DIR}/diff.sh $<TARGET_FILE:conform> --count 0 --random 3x300)
  set_tests_properties(conformance_shmkit_vs_kernel_random PROPERTIES
    TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean SKIP_RETURN_CODE 77
    LABELS conformance)

  # The same with kernel.shm_rmid_forced=1 semantics (every unattached segment dies).
  add_test(NAME conformance_shmkit_vs_kernel_rmid_forced
    COMMAND ${CONFORM_DIR}/diff.sh $<TARGET_FILE:conform> --rmid-forced
      --seed 1 --count 1000 --random 1x300)
  set_tests_properties(conformance_shmkit_vs_kernel_rmid_forced PROPERTIES
    TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean SKIP_RETURN_CODE 77
    LABELS conformance)

  # The interposer: conform_libc under LD_PRELOAD must print the kernel's traces. A sanitized
  # program cannot take a non-sanitized preload first in line, hence sanitizer builds skip it.
  if(TARGET shmkit_sysv_preload AND NOT SHMKIT_SANITIZE)
    add_test(NAME conformance_preload_vs_kernel
      COMMAND ${CONFORM_DIR}/diff.sh $<TARGET_FILE:conform>
        --preload $<TARGET_FILE:shmkit_sysv_preload> --seed 1 --count 1500)
    set_tests_properties(conformance_preload_vs_kernel PROPERTIES
      TIMEOUT ${CONFORM_TIMEOUT} FIXTURES_REQUIRED shm_clean SKIP_RETURN_CODE 77
      LABELS conformance)
    add_dependencies(conform_libc shmkit_sysv_preload)
  endif()
endif()
