# chan: the examples are tests too (tests/chan/examples.sh): the producer/consumer's output is
# its input line by line, also across consumers killed with kill -9; every work-queue result
# arrives once and right; every ticker subscriber sees each tick in order or reports exactly
# what it lost. Nothing may be left in /dev/shm.
foreach(example lines workqueue ticker)
  if(TARGET chan_${example})
    add_test(NAME chan_example_${example}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/examples.sh ${example} ${CMAKE_BINARY_DIR}
              ${CMAKE_SOURCE_DIR})
    set_tests_properties(chan_example_${example} PROPERTIES TIMEOUT 180
      FIXTURES_REQUIRED shm_clean LABELS chan)
  endif()
endforeach()

# chan: model-check the MPMC and broadcast protocols (BARRIER_C2, C3, C5) with spin, as the
# sync and heap models are; each model's broken variants must be caught.
file(GLOB SHMKIT_CHAN_MODELS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/model/*.pml)
add_test(NAME chan_model_spin
  COMMAND ${CMAKE_SOURCE_DIR}/tests/sync/model/check.sh ${SHMKIT_CHAN_MODELS})
set_tests_properties(chan_model_spin PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS chan)
