# Compiler settings shared by the kernel and its tests: warnings are errors, optional sanitizers,
# and a helper that compiles AVX2 translation units with the right flags.

function(fednl_strict_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla -Werror)
  endif()
endfunction()

# FEDNL_SANITIZE=ON builds everything with AddressSanitizer and UndefinedBehaviorSanitizer.
option(FEDNL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
function(fednl_sanitize target)
  if(FEDNL_SANITIZE AND NOT MSVC)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# True when the compiler can build the AVX2 + FMA kernels (x86-64 only).
include(CheckCCompilerFlag)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  if(MSVC)
    set(FEDNL_AVX2_FLAGS /arch:AVX2)
    set(FEDNL_HAVE_AVX2_BUILD ON)
  else()
    # every AVX2 CPU also has POPCNT
    check_c_compiler_flag("-mavx2 -mfma -mpopcnt" FEDNL_COMPILER_HAS_AVX2)
    if(FEDNL_COMPILER_HAS_AVX2)
      set(FEDNL_AVX2_FLAGS -mavx2 -mfma -mpopcnt)
      set(FEDNL_HAVE_AVX2_BUILD ON)
    endif()
  endif()
endif()
