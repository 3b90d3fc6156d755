# heap: the example is a test too: the map must be read back through another mapping, and
# nothing may be left in /dev/shm.
if(TARGET heap_dict)
  add_test(NAME heap_example
    COMMAND $<TARGET_FILE:heap_dict> shmkit-test-heap-example)
  set_tests_properties(heap_example PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS heap)
endif()

# heap: model-check the lock-free run protocols (BARRIER_H4, H5) with spin, as the sync models
# are; each model's broken variants must be caught.
file(GLOB SHMKIT_HEAP_MODELS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/model/*.pml)
add_test(NAME heap_model_spin
  COMMAND ${CMAKE_SOURCE_DIR}/tests/sync/model/check.sh ${SHMKIT_HEAP_MODELS})
set_tests_properties(heap_model_spin PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS heap)
