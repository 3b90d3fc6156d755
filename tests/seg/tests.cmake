# The demo is also a test: the example must run and leave nothing in /dev/shm.
if(TARGET seg_pingpong)
  add_test(NAME seg_demo COMMAND ${CMAKE_SOURCE_DIR}/scripts/demo.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(seg_demo PROPERTIES TIMEOUT 60 FIXTURES_REQUIRED shm_clean LABELS seg)
endif()
