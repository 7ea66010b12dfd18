# Run as a script (cmake -DTEMPLATE_DIR=... -DOUT=... -P embed_templates.cmake): writes a C++ file
# holding every TEMPLATE_DIR/*.mustache as a string constant, so the program carries its
# dashboard templates and needs no template directory once installed.
file(GLOB templates "${TEMPLATE_DIR}/*.mustache")
list(SORT templates)
set(body "")
foreach(path IN LISTS templates)
  get_filename_component(name "${path}" NAME_WE)
  file(READ "${path}" text)
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(FIND "${text}" ")mustache\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${path} contains the raw string's end marker )mustache\"")
  endif()
  string(APPEND body "    {\"${name}\", R\"mustache(${text})mustache\"},\n")
endforeach()
set(out "// Generated at build time from hq/templates/*.mustache: edit the templates, not this file.
#include \"loyalty/hq/templates.hpp\"

namespace loyalty::hq {

const std::map<std::string_view, std::string_view>& embeddedTemplates() {
  static const std::map<std::string_view, std::string_view> all = {
${body}  };
  return all;
}

}  // namespace loyalty::hq
")
# Rewritten only when it changes: an unchanged template does not rebuild the library.
file(WRITE "${OUT}.new" "${out}")
file(COPY_FILE "${OUT}.new" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.new")
