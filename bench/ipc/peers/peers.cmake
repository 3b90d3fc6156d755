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

# Concurrency Kit (libck-dev): ck_ring is all inline, no run-time library needed.
find_path(SHMKIT_CK_INCLUDE ck_ring.h)
if(SHMKIT_CK_INCLUDE)
  shmkit_bench_plugin(ck ${CMAKE_CURRENT_LIST_DIR}/ck.c)
  target_include_directories(shmkit_bench_ck PRIVATE ${SHMKIT_CK_INCLUDE})
endif()

# ZeroMQ (libzmq3-dev) and NNG (libnng-dev).
find_path(SHMKIT_ZMQ_INCLUDE zmq.h)
find_library(SHMKIT_ZMQ_LIB zmq)
if(SHMKIT_ZMQ_INCLUDE AND SHMKIT_ZMQ_LIB)
  shmkit_bench_plugin(zmq ${CMAKE_CURRENT_LIST_DIR}/zmq.c)
  target_link_libraries(shmkit_bench_zmq PRIVATE ${SHMKIT_ZMQ_LIB})
endif()
find_path(SHMKIT_NNG_INCLUDE nng/nng.h)
find_library(SHMKIT_NNG_LIB nng)
if(SHMKIT_NNG_INCLUDE AND SHMKIT_NNG_LIB)
  shmkit_bench_plugin(nng ${CMAKE_CURRENT_LIST_DIR}/nng.c)
  target_link_libraries(shmkit_bench_nng PRIVATE ${SHMKIT_NNG_LIB})
endif()

# iceoryx classic through its C binding (libiceoryx-binding-c-dev); RouDi (package iceoryx)
# is needed only at run time and started by the plugin.
find_package(iceoryx_binding_c QUIET)
if(iceoryx_binding_c_FOUND)
  shmkit_bench_plugin(iceoryx ${CMAKE_CURRENT_LIST_DIR}/iceoryx.c)
  target_link_libraries(shmkit_bench_iceoryx PRIVATE iceoryx_binding_c::iceoryx_binding_c)
endif()
