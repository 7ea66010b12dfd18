# Debian packages (CPack DEB): `make package` -> build/packages/loyalty-terminal_*.deb and
# loyalty-hq_*.deb. One install component per package: `terminal` and `hq`; a part that ships a
# file in a package installs it with COMPONENT terminal or COMPONENT hq (docs/install.md).
# Maintainer scripts and conffiles live in packaging/deb/, units in packaging/systemd/.

set(LOYALTY_DEB_DIR ${PROJECT_SOURCE_DIR}/packaging/deb)
set(LOYALTY_UNIT_DIR /lib/systemd/system)  # Debian 12's place for packaged units
if(CMAKE_CROSSCOMPILING)
  include(${PROJECT_SOURCE_DIR}/cmake/toolchains/cross_packaging.cmake)  # arm64: qemu-run programs, shlibdeps
endif()

# [SECTION] Files besides the programs

install(FILES ${LOYALTY_DEB_DIR}/terminal.toml DESTINATION /etc/loyalty COMPONENT terminal)
install(FILES ${LOYALTY_DEB_DIR}/hq.toml DESTINATION /etc/loyalty COMPONENT hq
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-terminal-backup.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-terminal-backup.timer
        DESTINATION ${LOYALTY_UNIT_DIR} COMPONENT terminal)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-hq.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-hq-housekeeping.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-hq-housekeeping.timer
              ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-hq-backup.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/loyalty-hq-backup.timer
        DESTINATION ${LOYALTY_UNIT_DIR} COMPONENT hq)
# Fleet updates (docs/fleet-updates.md): the root-run updater, started when a package is staged.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/update/loyalty-terminal-update.service
              ${PROJECT_SOURCE_DIR}/packaging/update/loyalty-terminal-update.path
              ${PROJECT_SOURCE_DIR}/packaging/update/loyalty-terminal-update.timer
        DESTINATION ${LOYALTY_UNIT_DIR} COMPONENT terminal)
# The counter device's kiosk (docs/kiosk.md): shipped, not enabled; a device image enables it.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/kiosk/loyalty-kiosk.service
        DESTINATION ${LOYALTY_UNIT_DIR} COMPONENT terminal)
install(PROGRAMS ${LOYALTY_DEB_DIR}/terminal-run DESTINATION lib/loyalty COMPONENT terminal)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/config/terminal.example.toml
        DESTINATION share/doc/loyalty-terminal/examples COMPONENT terminal)

# Debian's changelog and copyright for each package; man pages from the programs' --help.
set(LOYALTY_DEB_VERSION ${PROJECT_VERSION})
# A chain that builds its own packages names itself: -DLOYALTY_DEB_MAINTAINER="Name <mail>".
set(LOYALTY_DEB_MAINTAINER "Loyalty maintainers <loyalty@example.com>" CACHE STRING "Maintainer of the Debian packages")
string(TIMESTAMP LOYALTY_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
configure_file(${LOYALTY_DEB_DIR}/changelog.in ${CMAKE_BINARY_DIR}/deb/changelog @ONLY)
set(LOYALTY_DEB_GENERATED ${CMAKE_BINARY_DIR}/deb/changelog.gz)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/deb/changelog.gz
                   COMMAND gzip -9n -c ${CMAKE_BINARY_DIR}/deb/changelog > ${CMAKE_BINARY_DIR}/deb/changelog.gz
                   DEPENDS ${CMAKE_BINARY_DIR}/deb/changelog VERBATIM)

find_program(LOYALTY_HELP2MAN help2man)
foreach(program loyalty-terminal loyalty-hq)
  if(program STREQUAL "loyalty-terminal")
    set(component terminal)
  else()
    set(component hq)
  endif()
  install(FILES ${LOYALTY_DEB_DIR}/copyright ${CMAKE_BINARY_DIR}/deb/changelog.gz
          DESTINATION share/doc/${program} COMPONENT ${component})
  if(LOYALTY_HELP2MAN)
    set(page ${CMAKE_BINARY_DIR}/deb/${program}.1.gz)
    set(run_dir $<TARGET_FILE_DIR:${program}>)
    if(LOYALTY_PROGRAM_RUN_DIR)
      set(run_dir ${LOYALTY_PROGRAM_RUN_DIR})  # cross build: the programs run by qemu-user
    endif()
    add_custom_command(OUTPUT ${page}
                       COMMAND bash ${LOYALTY_DEB_DIR}/make-man.sh ${run_dir} ${program} ${PROJECT_VERSION}
                               ${LOYALTY_DEB_DIR}/${program}.h2m ${page}
                       DEPENDS ${program} ${LOYALTY_DEB_DIR}/make-man.sh ${LOYALTY_DEB_DIR}/${program}.h2m VERBATIM)
    list(APPEND LOYALTY_DEB_GENERATED ${page})
    install(FILES ${page} DESTINATION share/man/man1 COMPONENT ${component})
  else()
    message(STATUS "help2man not found: packages without man pages (packaging/install-deps.sh installs it)")
  endif()
endforeach()
add_custom_target(loyalty_package_files ALL DEPENDS ${LOYALTY_DEB_GENERATED})

# [SECTION] CPack

# `make package` builds only what the packages hold; installing must not build the test suite.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_OUTPUT_FILE_PREFIX packages)  # build/packages
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL terminal hq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "loyalty")
set(CPACK_PACKAGE_CONTACT "${LOYALTY_DEB_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
endif()  # otherwise CPack asks dpkg for the build machine's architecture

set(CPACK_DEBIAN_TERMINAL_PACKAGE_NAME loyalty-terminal)
set(CPACK_DEBIAN_TERMINAL_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~), tzdata, fonts-noto-cjk")
set(CPACK_DEBIAN_TERMINAL_PACKAGE_RECOMMENDS "libgl1-mesa-dri, cage, xwayland")
set(CPACK_COMPONENT_TERMINAL_DESCRIPTION "store loyalty counter
The counter program of the loyalty system: a touchscreen app that looks
members up, records sales and redemptions and greets customers; a JSON-lines
automation interface (loyalty-terminal exec); member import, staff accounts
and registration with head office. Members' personal data are sealed with a
key made at install. Works offline and syncs with head office (loyalty-hq).")
set(CPACK_DEBIAN_TERMINAL_PACKAGE_CONTROL_EXTRA
    ${LOYALTY_DEB_DIR}/terminal/conffiles ${LOYALTY_DEB_DIR}/terminal/postinst
    ${LOYALTY_DEB_DIR}/terminal/prerm ${LOYALTY_DEB_DIR}/terminal/postrm)

set(CPACK_DEBIAN_HQ_PACKAGE_NAME loyalty-hq)
set(CPACK_DEBIAN_HQ_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~), tzdata")
set(CPACK_DEBIAN_HQ_PACKAGE_SUGGESTS "postgresql")
set(CPACK_COMPONENT_HQ_DESCRIPTION "loyalty head office server
The head office of the loyalty system: an HTTPS API (its own private CA)
that terminals sync with, admin and analyst APIs, a dashboard and the
administration commands. Storage on SQLite or PostgreSQL. Runs as a hardened
systemd service with daily housekeeping and backup timers.")
set(CPACK_DEBIAN_HQ_PACKAGE_CONTROL_EXTRA
    ${LOYALTY_DEB_DIR}/hq/conffiles ${LOYALTY_DEB_DIR}/hq/postinst
    ${LOYALTY_DEB_DIR}/hq/prerm ${LOYALTY_DEB_DIR}/hq/postrm)

include(CPack)
