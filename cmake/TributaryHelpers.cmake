# Helpers that give every Tributary target the same flags. One CMake library per module
# (STYLE.md); tests and benchmarks link the module libraries they exercise.

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

set(TRIB_WARNINGS -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
  -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(TRIB_WERROR)
  list(APPEND TRIB_WARNINGS -Werror)
endif()

if(TRIB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
# Fuzz builds: coverage feedback and sanitizers in every library a fuzz target links, not only in
# the target's own file (otherwise the fuzzer is blind inside the code under test).
if(TRIB_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Module boundaries the build enforces (issue 24): each library's include directory is a root
# generated in the build tree that holds only its own module (a symlink to src/<module>), so a
# library sees the headers of what it links and nothing else: an include that climbs a layer does
# not compile. Includes stay written as "core/error.h". OFF: every library sees all of src/ (as
# before; no compile-time check, scripts/check_layers.py still runs in ctest).
option(TRIB_STRICT_INCLUDES "Each library sees only the headers of the libraries it links" ON)

# trib_include_root(<out-var> <library> <module>): the include directory library `library`
# exports for the folder src/<module>.
function(trib_include_root out lib module)
  if(NOT TRIB_STRICT_INCLUDES)
    set(${out} ${PROJECT_SOURCE_DIR}/src PARENT_SCOPE)
    return()
  endif()
  set(root ${PROJECT_BINARY_DIR}/include_roots/${lib})
  get_filename_component(parent ${root}/${module} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(IS_SYMLINK ${root}/${module})
    file(REMOVE ${root}/${module})
  endif()
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${module} ${root}/${module} SYMBOLIC)
  set(${out} ${root} PARENT_SCOPE)
endfunction()

# trib_library(NAME <name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...] [MODULE <dir>])
# Creates library trib_<name>; includes resolve as "module/header.h" for its own module (the
# folder of the CMakeLists.txt, or MODULE relative to src/) and for the libraries it links.
# Adding a source file stays one line in SOURCES; headers need no line.
function(trib_library)
  cmake_parse_arguments(T "" "NAME;MODULE" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT T_MODULE)
    file(RELATIVE_PATH T_MODULE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  trib_include_root(root trib_${T_NAME} ${T_MODULE})
  if(T_SOURCES)
    add_library(trib_${T_NAME} STATIC ${T_SOURCES})
    target_include_directories(trib_${T_NAME} PUBLIC ${root})
    target_compile_options(trib_${T_NAME} PRIVATE ${TRIB_WARNINGS})
    target_link_libraries(trib_${T_NAME} PUBLIC ${T_PUBLIC_DEPS} PRIVATE ${T_PRIVATE_DEPS})
  else()
    add_library(trib_${T_NAME} INTERFACE)
    target_include_directories(trib_${T_NAME} INTERFACE ${root})
    target_link_libraries(trib_${T_NAME} INTERFACE ${T_PUBLIC_DEPS})
  endif()
  add_library(trib::${T_NAME} ALIAS trib_${T_NAME})
endfunction()

# trib_test(NAME <name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s])
# A GoogleTest executable registered with ctest (one ctest entry per executable, so that
# integration tests that start peers do it once).
function(trib_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_compile_options(${T_NAME} PRIVATE ${TRIB_WARNINGS})
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} trib_test_main GTest::gtest)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  # A binary whose tests were skipped shows as skipped in ctest's summary, not as passed; with
  # CI=true its main() fails it instead (tests/harness/test_main.cpp).
  set_tests_properties(${T_NAME} PROPERTIES SKIP_REGULAR_EXPRESSION "tributary-tests-skipped:")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "TRIB_SOURCE_DIR=${PROJECT_SOURCE_DIR};TRIB_BINARY_DIR=${PROJECT_BINARY_DIR}")
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# trib_bench(NAME <name> SOURCES ... DEPS ...): a benchmark program under bench/.
function(trib_bench)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_compile_options(${T_NAME} PRIVATE ${TRIB_WARNINGS})
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/bench)
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} trib_bench_util)
endfunction()

# trib_fuzzer(NAME <name> SOURCES ... DEPS ...): a libFuzzer target (TRIB_FUZZ=ON, clang).
function(trib_fuzzer)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_compile_options(${T_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${T_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS})
  # All fuzzers in build/<preset>/fuzz/, where scripts/test.sh looks for them (fuzz_*), whichever
  # fuzz/<module>/ folder defines them.
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  add_dependencies(fuzz_all ${T_NAME})
endfunction()

# trib_embed(TARGET <target> NAME <symbol> FILE <file>): the text of <file> (relative to the
# current source folder) as `extern const std::string_view trib::embedded::<symbol>`, declared in
# the generated header "embedded/<symbol>.h" that only <target> sees. Used for the data a
# connector keeps beside its code (spec.toml). The file is read when CMake configures; editing it
# re-runs CMake (CMAKE_CONFIGURE_DEPENDS) and recompiles only the generated .cpp.
function(trib_embed)
  cmake_parse_arguments(T "" "TARGET;NAME;FILE" "" ${ARGN})
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${T_FILE})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(READ ${src} text)
  set(delim "trib_embed")
  string(FIND "${text}" ")${delim}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${src} contains the raw-string delimiter )${delim}\"")
  endif()
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${src})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/embedded_${T_TARGET})
  file(CONFIGURE OUTPUT ${dir}/embedded/${T_NAME}.h CONTENT
"#pragma once
// Generated by trib_embed from ${rel}; do not edit.
#include <string_view>
namespace trib::embedded {
extern const std::string_view ${T_NAME};
inline constexpr std::string_view ${T_NAME}_file = \"${rel}\";
}  // namespace trib::embedded
" @ONLY)
  file(CONFIGURE OUTPUT ${dir}/${T_NAME}.cpp CONTENT
"// Generated by trib_embed from ${rel}; do not edit.
#include \"embedded/${T_NAME}.h\"
namespace trib::embedded {
const std::string_view ${T_NAME} = R\"${delim}(@text@)${delim}\";
}  // namespace trib::embedded
" @ONLY)
  target_sources(${T_TARGET} PRIVATE ${dir}/${T_NAME}.cpp)
  target_include_directories(${T_TARGET} PRIVATE ${dir})
endfunction()
