# Cross build for 64-bit ARM (arm64) with Debian's cross compilers (crossbuild-essential-arm64)
# against an arm64 sysroot of Debian 12 packages (scripts/cross/sysroot.sh makes one).
#
#   scripts/cross/sysroot.sh build-arm64/sysroot
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# The sysroot is LOYALTY_ARM64_SYSROOT (cache or environment), by default `sysroot` inside the
# build directory. Programs built for the target (tests, and the test discovery at build time)
# run through qemu-user with the sysroot as their root for libraries (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(LOYALTY_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${LOYALTY_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${LOYALTY_CROSS_TRIPLE}-g++)

if(NOT LOYALTY_ARM64_SYSROOT)
  if(DEFINED ENV{LOYALTY_ARM64_SYSROOT})
    set(LOYALTY_ARM64_SYSROOT "$ENV{LOYALTY_ARM64_SYSROOT}")
  else()
    set(LOYALTY_ARM64_SYSROOT "${CMAKE_BINARY_DIR}/sysroot")
  endif()
endif()
get_filename_component(LOYALTY_ARM64_SYSROOT "${LOYALTY_ARM64_SYSROOT}" ABSOLUTE)
set(LOYALTY_ARM64_SYSROOT "${LOYALTY_ARM64_SYSROOT}" CACHE PATH "the arm64 sysroot (scripts/cross/sysroot.sh)")
# Try-compile projects see the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LOYALTY_ARM64_SYSROOT)
if(NOT EXISTS "${LOYALTY_ARM64_SYSROOT}/usr/include/${LOYALTY_CROSS_TRIPLE}")
  message(FATAL_ERROR "no arm64 sysroot at ${LOYALTY_ARM64_SYSROOT}: run scripts/cross/sysroot.sh ${LOYALTY_ARM64_SYSROOT}")
endif()

set(CMAKE_SYSROOT "${LOYALTY_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${LOYALTY_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools come from the build machine
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${LOYALTY_CROSS_TRIPLE})

# pkg-config reads the target's .pc files and prefixes their paths with the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${LOYALTY_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${LOYALTY_ARM64_SYSROOT}/usr/lib/${LOYALTY_CROSS_TRIPLE}/pkgconfig:${LOYALTY_ARM64_SYSROOT}/usr/share/pkgconfig:${LOYALTY_ARM64_SYSROOT}/usr/lib/pkgconfig")
unset(ENV{PKG_CONFIG_PATH})

# Shared libraries' own dependencies (libcurl's, SDL2's) resolve inside the sysroot at link time.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${LOYALTY_ARM64_SYSROOT}/usr/lib/${LOYALTY_CROSS_TRIPLE}:${LOYALTY_ARM64_SYSROOT}/lib/${LOYALTY_CROSS_TRIPLE}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")

find_program(LOYALTY_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(LOYALTY_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${LOYALTY_QEMU_AARCH64};-L;${LOYALTY_ARM64_SYSROOT}")
endif()
