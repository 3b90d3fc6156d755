# sync: model-check the mutex, condvar and semaphore protocols with spin (tests/sync/model/*.pml).
file(GLOB SHMKIT_SYNC_MODELS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/model/*.pml)
add_test(NAME sync_model_spin
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/model/check.sh ${SHMKIT_SYNC_MODELS})
set_tests_properties(sync_model_spin PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS sync)

# The shared-memory layouts (sync objects, heap, channel) are the same for 32- and 64-bit
# processes: their asserts compiled with -m32 and -m64 (layout32/check.c).
add_test(NAME sync_layout32
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/layout32/check.sh ${CMAKE_C_COMPILER} ${CMAKE_SOURCE_DIR})
set_tests_properties(sync_layout32 PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS sync)
