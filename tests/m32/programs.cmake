# The 32-bit side of tests/m32: what the -m32 sub-build (<build>/m32, configured by
# tests/m32/tests.cmake with SHMKIT_M32_PROGRAMS=ON and no tests) builds besides the libraries,
# into <build>/m32/bin. No Criterion: the 64-bit tests drive these programs.
set(M32_DIR ${CMAKE_SOURCE_DIR}/tests/m32)
set(M32_CONFORM ${CMAKE_SOURCE_DIR}/tests/conformance/conform.c)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
find_package(Threads REQUIRED)

# A program built as Debian's i386 programs are by default: 32-bit time_t and off_t.
function(m32_time32 target)
  target_compile_options(${target} PRIVATE -U_TIME_BITS -U_FILE_OFFSET_BITS)
endfunction()

add_executable(helper_m32 ${M32_DIR}/helper_m32.c)
target_link_libraries(helper_m32 PRIVATE shmkit_internal)

# The conformance driver, as in tests/conformance/tests.cmake: conform (kernel | shmkit, the
# 32-bit library), conform_libc (time64: glibc's __shmctl64) and conform_libc_t32 (32-bit time_t:
# glibc's shmctl), the last two meant to run under the 32-bit interposer.
add_executable(conform ${M32_CONFORM} $<TARGET_OBJECTS:shmkit_obj>)
target_compile_definitions(conform PRIVATE CONFORM_SHMKIT)
target_include_directories(conform PRIVATE ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(conform PRIVATE Threads::Threads)
add_executable(conform_libc ${M32_CONFORM})
add_executable(conform_libc_t32 ${M32_CONFORM})
m32_time32(conform_libc_t32)

# shmid_ds as a plain libc program sees it, with either time_t.
add_executable(plain_shmstat ${M32_DIR}/plain_shmstat.c)
add_executable(plain_shmstat_t32 ${M32_DIR}/plain_shmstat.c)
m32_time32(plain_shmstat_t32)

# The seeds' classic programs (examples/sysv) as a default i386 build has them.
foreach(t sysv_server sysv_client)
  if(TARGET ${t})
    m32_time32(${t})
    set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  endif()
endforeach()

# A link of a chain of programs of both classes under shmkit run (run.sh).
add_executable(plain_chain ${M32_DIR}/plain_chain.c)
m32_time32(plain_chain)

# The interposer's struct for 32-bit time_t callers is glibc's (a compile-time check).
add_library(m32_layout_t32 OBJECT ${M32_DIR}/layout_t32.c)
target_include_directories(m32_layout_t32 PRIVATE ${CMAKE_SOURCE_DIR}/preload)
m32_time32(m32_layout_t32)

# tests/preload's plain programs, 32-bit: a library loaded with RTLD_DEEPBIND (the 32-bit
# auditor routes it) and the daemon idiom of closing every descriptor.
add_library(deeplib SHARED ${CMAKE_SOURCE_DIR}/tests/preload/deeplib.c)
set_target_properties(deeplib PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
add_executable(plain_deepbind ${CMAKE_SOURCE_DIR}/tests/preload/plain_deepbind.c)
target_link_libraries(plain_deepbind PRIVATE ${CMAKE_DL_LIBS})
add_executable(plain_closeall ${CMAKE_SOURCE_DIR}/tests/preload/plain_closeall.c)
foreach(t deeplib plain_deepbind plain_closeall)
  m32_time32(${t})
endforeach()
