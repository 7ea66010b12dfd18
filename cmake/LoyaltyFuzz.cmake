# The fuzzing build (docs/fuzzing.md): every library instrumented for libFuzzer's coverage and
# checked by AddressSanitizer and UBSan; the harnesses of fuzz/ link libFuzzer's main. Included
# before the libraries are defined, so the flags reach all of them.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "LOYALTY_FUZZ needs clang (configure with CC=clang CXX=clang++)")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
