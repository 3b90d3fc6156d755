# bench_heap compares with Boost.Interprocess (header-only; Debian's libboost-dev): its one C++
# file, bench_heap_boost.cc. C++ is enabled here, for this target only; without Boost headers
# the Boost rows say "not measured".
find_package(Boost QUIET)
if(Boost_FOUND)
  enable_language(CXX)
  # The project's C-only warning flags would make g++ complain about every file it compiles.
  get_target_property(bench_opts bench_heap COMPILE_OPTIONS)
  list(TRANSFORM bench_opts REPLACE "^(-Wstrict-prototypes|-Wmissing-prototypes)$"
    "$<$<COMPILE_LANGUAGE:C>:\\1>")
  set_target_properties(bench_heap PROPERTIES COMPILE_OPTIONS "${bench_opts}")
  target_sources(bench_heap PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/bench_heap_boost.cc)
  target_include_directories(bench_heap SYSTEM PRIVATE ${Boost_INCLUDE_DIRS})
  target_compile_definitions(bench_heap PRIVATE SHMKIT_BENCH_BOOST=1)
  set_target_properties(bench_heap PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON
    LINKER_LANGUAGE CXX)
endif()
