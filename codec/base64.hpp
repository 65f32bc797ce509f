// Base64 (RFC 4648), the one implementation: OpenSSL's EVP block coder, in the standard
// alphabet with padding (MIME, HTTP Basic, signatures) and the URL alphabet without padding
// (JWT, unsubscribe tokens).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

std::string base64(std::string_view bytes);
// nullopt unless `text` is padded standard base64 (no line breaks, no spaces).
std::optional<std::string> base64_decode(std::string_view text);

std::string base64url(std::string_view bytes);
// nullopt unless `text` is unpadded base64url in its one canonical spelling (unused trailing
// bits zero), so a signed token has exactly one form.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace dispatcher
