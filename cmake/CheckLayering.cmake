# The include rules of docs/architecture.md, checked on the sources (ctest `layering`):
#   cmake -DSOURCE_DIR=<top of the repository> -P cmake/CheckLayering.cmake
# Each folder is a library and may include only the libraries below it; no library and no
# benchmark includes an app, the UI (except ui/ itself) or a file of tests/ by path. Prints
# every violation as FILE: LINE: WHY and fails if there is one.
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "give -DSOURCE_DIR=<top of the repository>")
endif()

set(problems "")

# check(FOLDER REGEX WHY): no #include line of FOLDER's sources may match REGEX.
function(check folder regex why)
  file(GLOB_RECURSE files LIST_DIRECTORIES false
       "${SOURCE_DIR}/${folder}/*.cpp" "${SOURCE_DIR}/${folder}/*.hpp" "${SOURCE_DIR}/${folder}/*.h")
  set(found "")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
    foreach(line IN LISTS lines)
      if(line MATCHES "${regex}")
        file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
        string(STRIP "${line}" line)
        string(APPEND found "${rel}: ${line}: ${why}\n")
      endif()
    endforeach()
  endforeach()
  set(problems "${problems}${found}" PARENT_SCOPE)
endfunction()

set(libraries terminal/core zones logging db sync/protocol sync/client terminal hq ui)
foreach(folder IN LISTS libraries ITEMS bench fuzz)
  check(${folder} "[\"<](\\.\\./|([^\">]*/)?(apps|tests)/)" "includes an app, a test or a file outside its folder by path")
endforeach()
foreach(folder terminal/core zones logging db sync/protocol sync/client terminal hq bench fuzz)
  check(${folder} "[\"<]loyalty/ui/" "includes the UI (only apps/loyalty-terminal wires it)")
endforeach()
check(terminal/core "[\"<]loyalty/(zones|logging|db|sync|terminal|hq)/" "core is pure: it includes no other library of ours")
check(zones "[\"<]loyalty/(logging|db|sync|terminal|hq)/" "the zone loader builds core's values and uses nothing else of ours")
check(logging "[\"<]loyalty/(core|zones|db|sync|terminal|hq)/" "logging is a leaf: it includes no library of ours")
check(db "[\"<]loyalty/(sync|terminal|hq)/" "db sits below sync, terminal and hq")
check(sync/protocol "[\"<]loyalty/(db|sync/client|terminal|hq)/" "the protocol types depend on core only")
check(sync/client "[\"<]loyalty/(db|terminal|hq)/" "the sync client is given the terminal's storage as interfaces")
check(terminal "[\"<]loyalty/hq/" "the terminal does not use head office's code")
check(hq "[\"<]loyalty/(terminal|sync/client)/" "head office uses core, the protocol and db only")
check(ui "[\"<]loyalty/(db|hq)/" "the UI asks the terminal's service: no database, no head office")

if(problems)
  message(FATAL_ERROR "layering violations (docs/architecture.md):\n${problems}")
endif()
message(STATUS "layering: every include follows docs/architecture.md")
