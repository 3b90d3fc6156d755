# heap: the example is a test too: the map must be read back through another mapping, and
# nothing may be left in /dev/shm.
if(TARGET heap_dict)
  add_test(NAME heap_example
    COMMAND $<TARGET_FILE:heap_dict> shmkit-test-heap-example)
  set_tests_properties(heap_example PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean
    LABELS heap)
endif()
