# bench_preload compares calls through the interposer with direct ones: it needs the interposer
# built and finds it by the path compiled in (SHMKIT_PRELOAD overrides it at run time).
if(TARGET shmkit_sysv_preload)
  add_dependencies(bench_preload shmkit_sysv_preload)
  target_compile_definitions(bench_preload PRIVATE
    SHMKIT_PRELOAD_PATH="$<TARGET_FILE:shmkit_sysv_preload>")
endif()
