# fuzz.cmake: every tests/<module>/<file>_fuzz.cpp (LLVMFuzzerTestOneInput, STYLE.md §6) as a
# libFuzzer binary (clang, -DMODELGATE_FUZZ=ON) or, in every other build, as a replay executable
# registered with CTest as "fuzz-replay: <file>_fuzz" that feeds it each file of <file>_corpus/.
#
# A harness may say, in its first lines, which dictionary and input size the fuzzer should use:
#   // fuzz-dict: json.dict        (a file in tests/fuzz/)
#   // fuzz-max-len: 65536
# scripts/fuzz_smoke.sh reads them from ${CMAKE_BINARY_DIR}/fuzz_targets.tsv, written below.

option(MODELGATE_FUZZ "Build the *_fuzz.cpp harnesses as libFuzzer binaries (clang only)" OFF)

if(MODELGATE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MODELGATE_FUZZ=ON needs clang (libFuzzer); configure with CMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(MODELGATE_SANITIZE)
    message(FATAL_ERROR "MODELGATE_FUZZ=ON brings its own sanitizers; leave MODELGATE_SANITIZE empty")
  endif()
  # Everything that links modelgate_base (every library, so every line the fuzzers reach) gets
  # coverage instrumentation and ASan+UBSan; only the fuzzer binaries link libFuzzer's main.
  set(MODELGATE_FUZZ_SANITIZERS -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                                -fno-omit-frame-pointer)
  target_compile_options(modelgate_base INTERFACE ${MODELGATE_FUZZ_SANITIZERS})
  target_link_options(modelgate_base INTERFACE -fsanitize=address,undefined)
else()
  # The replay driver: a main() that runs LLVMFuzzerTestOneInput over files and directories.
  add_library(modelgate_fuzz_replay STATIC ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay_main.cpp)
  target_compile_options(modelgate_fuzz_replay PRIVATE ${MODELGATE_TEST_CODE_FLAGS})
endif()

file(GLOB MODELGATE_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*/*_fuzz.cpp)
list(SORT MODELGATE_FUZZ_SOURCES)
find_program(MODELGATE_PYTHON3 python3 REQUIRED)
set(MODELGATE_FUZZ_SEEDS ${CMAKE_BINARY_DIR}/fuzz-seeds)
if(NOT MODELGATE_FUZZ)
  add_test(NAME "fuzz-replay: make seed corpora from ../shared/vectors"
           COMMAND ${CMAKE_COMMAND} -E env ${MODELGATE_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seed_corpora.py
                   --out ${MODELGATE_FUZZ_SEEDS} --shared ${MODELGATE_SHARED_DIR})
  set_tests_properties("fuzz-replay: make seed corpora from ../shared/vectors" PROPERTIES FIXTURES_SETUP fuzz_seeds)
endif()
set(MODELGATE_FUZZ_TSV "# target\tbinary\tcorpus\tdict\tmax_len\n")
set(MODELGATE_FUZZ_TARGETS "")

foreach(src ${MODELGATE_FUZZ_SOURCES})
  get_filename_component(stem ${src} NAME_WE)          # bundle_fuzz
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(module ${dir} NAME)           # crypto
  string(REGEX REPLACE "_fuzz$" "" file ${stem})       # bundle
  set(target ${stem})
  if(TARGET ${target})
    message(FATAL_ERROR "two fuzz harnesses named ${stem}.cpp: rename one")
  endif()
  if(module STREQUAL "crypto")
    set(libs modelgate_crypto)
  elseif(module STREQUAL "policy")
    set(libs modelgate_policy modelgate_crypto)
  elseif(module STREQUAL "kube")
    set(libs modelgate_kube)
  elseif(module STREQUAL "admission")
    set(libs modelgate_admission modelgate_policy modelgate_crypto)
  else()
    set(libs modelgate_base)
  endif()
  set(corpus ${dir}/${file}_corpus)

  file(STRINGS ${src} dict_line LIMIT_COUNT 1 REGEX "^// fuzz-dict: ")
  file(STRINGS ${src} len_line LIMIT_COUNT 1 REGEX "^// fuzz-max-len: ")
  set(dict "-")
  if(dict_line)
    string(REGEX REPLACE "^// fuzz-dict: *" "" dict_name "${dict_line}")
    set(dict ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${dict_name})
  endif()
  set(max_len 65536)
  if(len_line)
    string(REGEX REPLACE "^// fuzz-max-len: *" "" max_len "${len_line}")
  endif()

  add_executable(${target} ${src})
  target_link_libraries(${target} PRIVATE ${libs})
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  if(MODELGATE_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    target_link_libraries(${target} PRIVATE modelgate_fuzz_replay)
    target_compile_options(${target} PRIVATE ${MODELGATE_TEST_CODE_FLAGS})  # test code (CMakeLists.txt)
    # Seeds made from ../shared/vectors at test time (never committed, see seed_corpora.py) plus
    # our committed regression inputs; the replay driver fails on an empty run.
    file(RELATIVE_PATH rel_corpus ${CMAKE_CURRENT_SOURCE_DIR} ${corpus})
    set(replay_inputs ${MODELGATE_FUZZ_SEEDS}/${rel_corpus})
    if(EXISTS ${corpus})
      list(APPEND replay_inputs ${corpus})
    endif()
    add_test(NAME "fuzz-replay: ${target}" COMMAND ${target} ${replay_inputs})
    set_tests_properties("fuzz-replay: ${target}" PROPERTIES FIXTURES_REQUIRED fuzz_seeds)
  endif()
  list(APPEND MODELGATE_FUZZ_TARGETS ${target})
  string(APPEND MODELGATE_FUZZ_TSV "${target}\t$<TARGET_FILE:${target}>\t${corpus}\t${dict}\t${max_len}\n")
endforeach()

file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/fuzz_targets.tsv CONTENT "${MODELGATE_FUZZ_TSV}")
if(MODELGATE_FUZZ_TARGETS)
  add_custom_target(fuzzers DEPENDS ${MODELGATE_FUZZ_TARGETS})
endif()
