# libphonenumber (Debian: libphonenumber-dev) ships neither a CMake package nor a pkg-config
# file: find its header and library. Defines LibPhoneNumber::LibPhoneNumber.
find_path(LibPhoneNumber_INCLUDE_DIR phonenumbers/phonenumberutil.h)
find_library(LibPhoneNumber_LIBRARY phonenumber)
# Its PhoneNumber type is a protobuf message: code that builds one links protobuf itself
# (clang's linker refuses to take it indirectly).
find_library(LibPhoneNumber_PROTOBUF_LIBRARY protobuf)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibPhoneNumber REQUIRED_VARS LibPhoneNumber_LIBRARY LibPhoneNumber_PROTOBUF_LIBRARY LibPhoneNumber_INCLUDE_DIR)
if(LibPhoneNumber_FOUND AND NOT TARGET LibPhoneNumber::LibPhoneNumber)
  add_library(LibPhoneNumber::LibPhoneNumber UNKNOWN IMPORTED)
  set_target_properties(LibPhoneNumber::LibPhoneNumber PROPERTIES
    IMPORTED_LOCATION "${LibPhoneNumber_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibPhoneNumber_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${LibPhoneNumber_PROTOBUF_LIBRARY}")
endif()
mark_as_advanced(LibPhoneNumber_INCLUDE_DIR LibPhoneNumber_LIBRARY LibPhoneNumber_PROTOBUF_LIBRARY)
