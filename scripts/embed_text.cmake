# Writes the file IN as a C++ source OUT defining `std::string_view NAME()` (in the namespace
# NAMESPACE) over its exact bytes. Run at build time (cmake -P) so that the binary always
# serves the file as it is in the tree: a byte array, not a raw string, so no text in the file
# can end the literal.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Lines of 16 bytes, so a compiler error points somewhere readable (CMake's regex has no {16}).
set(byte "0x[0-9a-f][0-9a-f],")
string(REPEAT "${byte}" 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
file(RELATIVE_PATH source_name "${ROOT}" "${IN}")
file(WRITE "${OUT}.tmp"
"// Generated at build time from ${source_name} by scripts/embed_text.cmake; edit that file.
#include <string_view>

namespace ${NAMESPACE} {

namespace {
// unsigned: UTF-8 bytes over 0x7f do not narrow.
constexpr unsigned char text[${size} + 1] = {
    ${bytes}0x00};
}  // namespace

std::string_view ${NAME}() { return {reinterpret_cast<const char*>(text), ${size}}; }

}  // namespace ${NAMESPACE}
")
# Only a changed document rebuilds what links it.
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
