# shmkit bench (bench/ipc): script tests through the CLI. Each runs in a private mount and IPC
# namespace (lib.sh). They share one RESOURCE_LOCK: iceoryx's RouDi has machine-wide names,
# and a second one would be skipped.
if(TARGET shmkit_bench_harness)
  set(BENCH_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
  foreach(t usage json corrupt interrupt chan)
    add_test(NAME bench_${t} COMMAND ${BENCH_TEST_DIR}/${t}.sh $<TARGET_FILE:shmkit_cli>)
    set_tests_properties(bench_${t} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
      RESOURCE_LOCK shmkit_bench LABELS bench FIXTURES_REQUIRED shm_clean)
    if(SHMKIT_SANITIZE MATCHES "thread")
      set_tests_properties(bench_${t} PROPERTIES ENVIRONMENT
        "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${BENCH_TEST_DIR}/tsan.supp")
    endif()
  endforeach()
endif()
