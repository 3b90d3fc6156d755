# Peer plugins: shmkit-bench-NAME.so beside the harness, one per library, built only when
# the library's development files are found (the Debian packages of scripts/deps.sh bench).
find_package(PkgConfig QUIET)

# shmkit_bench_plugin(NAME SOURCE...): a module the harness dlopens.
function(shmkit_bench_plugin name)
  add_library(shmkit_bench_${name} MODULE ${ARGN} ${CMAKE_CURRENT_LIST_DIR}/bt_plugin.c)
  set_target_properties(shmkit_bench_${name} PROPERTIES PREFIX "" OUTPUT_NAME shmkit-bench-${name}
    C_VISIBILITY_PRESET hidden)
  target_include_directories(shmkit_bench_${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..
    ${CMAKE_SOURCE_DIR}/src)
  add_dependencies(shmkit_bench_harness shmkit_bench_${name})
  install(TARGETS shmkit_bench_${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/shmkit)
endfunction()
