# Compiler settings shared by the kernel and its tests: warnings are errors, floating point exactly as written,
# optional sanitizers, and the flags that AVX2 and AVX-512 translation units are compiled with.

function(fednl_strict_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla -Werror)
  endif()
endfunction()

# Floating point exactly as written: no contraction of a * b + c into one fused multiply-add unless the source asks
# for it (the AVX2 kernels' _mm256_fmadd_pd). Whether a compiler contracts by default differs (GCC: off for ISO C,
# fast for GNU C; Clang: on), and a contracted expression rounds once instead of twice, so the reference and AVX2
# variants, and builds by different compilers, would stop agreeing bit for bit. Applied to the kernel and its tests,
# in every configuration (the sanitizer build included). MSVC never contracts under /fp:precise (its default) unless
# /fp:contract is given; it is pinned too, so a toolchain default or a user flag cannot switch to /fp:fast.
function(fednl_exact_floating_point target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /fp:precise)
  else()
    target_compile_options(${target} PRIVATE -ffp-contract=off)
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
    # every AVX2 CPU also has POPCNT, and decodes PREFETCHW (a no-op on those before Broadwell)
    check_c_compiler_flag("-mavx2 -mfma -mpopcnt -mprfchw" FEDNL_COMPILER_HAS_AVX2)
    if(FEDNL_COMPILER_HAS_AVX2)
      set(FEDNL_AVX2_FLAGS -mavx2 -mfma -mpopcnt -mprfchw)
      set(FEDNL_HAVE_AVX2_BUILD ON)
    endif()
  endif()
endif()

# True when the compiler can build the AVX-512 kernels (F, DQ, BW, VL on top of AVX2 + FMA; x86-64 only). They are
# compiled only into their own files (native/src/avx512/) and run only when CPUID and XCR0 say the CPU and OS can.
if(FEDNL_HAVE_AVX2_BUILD)
  if(MSVC)
    set(FEDNL_AVX512_FLAGS /arch:AVX512)
    set(FEDNL_HAVE_AVX512_BUILD ON)
  else()
    check_c_compiler_flag("-mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma -mpopcnt -mprfchw" FEDNL_COMPILER_HAS_AVX512)
    if(FEDNL_COMPILER_HAS_AVX512)
      set(FEDNL_AVX512_FLAGS -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma -mpopcnt -mprfchw)
      set(FEDNL_HAVE_AVX512_BUILD ON)
    endif()
  endif()
endif()
