# Warnings as errors on our own code only (never on third-party headers, which come in as SYSTEM).
function(loyalty_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
  # GCC 12 reports std::string concatenation as overlapping memcpy at -O2 (GCC bug 105651).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(LOYALTY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
