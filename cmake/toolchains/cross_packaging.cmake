# Debian packages from a cross build (included by cmake/Packaging.cmake when cross-compiling with
# cmake/toolchains/aarch64-linux-gnu.cmake):
# * LOYALTY_PROGRAM_RUN_DIR: scripts named like the programs that run the target's programs by
#   qemu-user (argv[0] the bare name, as when run from PATH), so the man pages are written from
#   the arm64 programs' own --help, and tests start the arm64 loyalty-terminal;
# * dpkg-shlibdeps, which looks libraries up among the build machine's installed packages, is
#   replaced at cpack time by scripts/cross/shlibdeps.sh reading the sysroot's shlibs files.
if(NOT LOYALTY_ARM64_SYSROOT OR NOT CMAKE_CROSSCOMPILING_EMULATOR)
  message(FATAL_ERROR "cross packaging needs the arm64 toolchain file with qemu-user (docs/cross-arm64.md)")
endif()

set(LOYALTY_PROGRAM_RUN_DIR ${CMAKE_BINARY_DIR}/qemu-bin)
list(JOIN CMAKE_CROSSCOMPILING_EMULATOR "\" \"" _loyalty_emulator)
foreach(_program loyalty-terminal loyalty-hq)
  file(GENERATE OUTPUT ${LOYALTY_PROGRAM_RUN_DIR}/${_program}
       CONTENT "#!/bin/sh\nexec \"${_loyalty_emulator}\" -0 ${_program} \"$<TARGET_FILE:${_program}>\" \"$@\"\n"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(LOYALTY_CROSS_SHLIBDEPS ${CMAKE_BINARY_DIR}/cross-shlibdeps)
file(WRITE ${LOYALTY_CROSS_SHLIBDEPS}
     "#!/bin/sh\nexec bash \"${PROJECT_SOURCE_DIR}/scripts/cross/shlibdeps.sh\" \"--sysroot=${LOYALTY_ARM64_SYSROOT}\" \"$@\"\n")
file(CHMOD ${LOYALTY_CROSS_SHLIBDEPS} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/cross-cpack.cmake)
file(WRITE ${CPACK_PROJECT_CONFIG_FILE} "set(SHLIBDEPS_EXECUTABLE \"${LOYALTY_CROSS_SHLIBDEPS}\")\n")
