// bilin/io/base64.hpp — RFC 4648 base64 (standard alphabet, '=' padding), for data: URIs.
//
// Contract: base64_encode(bytes) never fails and emits no line breaks. base64_decode(text)
// accepts exactly what base64_encode produces (padding required, no whitespace) and throws
// bilin::Error("base64_decode", ...) with the offset of the first bad character otherwise.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"

namespace bilin::io {

inline std::string base64_encode(const void* data, std::size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8) | p[i + 2];
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += tbl[v & 63];
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t(p[i]) << 16;
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += "==";
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8);
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += '=';
  }
  return out;
}
inline std::string base64_encode(std::string_view s) { return base64_encode(s.data(), s.size()); }
inline std::string base64_encode(const std::vector<std::uint8_t>& v) { return base64_encode(v.data(), v.size()); }

inline std::vector<std::uint8_t> base64_decode(std::string_view s) {
  BILIN_CHECK(s.size() % 4 == 0, "base64_decode", "length ", s.size(), " is not a multiple of 4");
  const auto val = [&](std::size_t i) -> std::uint32_t {
    const char c = s[i];
    if (c >= 'A' && c <= 'Z') return static_cast<std::uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<std::uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<std::uint32_t>(c - '0' + 52);
    if (c == '+') return 62;
    if (c == '/') return 63;
    throw Error("base64_decode", msg("invalid character at offset ", i));
  };
  std::vector<std::uint8_t> out;
  out.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const bool last = i + 4 == s.size();
    const int pad = last ? (s[i + 3] == '=') + (s[i + 2] == '=') : 0;
    if (pad == 1 && s[i + 2] == '=') throw Error("base64_decode", msg("invalid padding at offset ", i + 2));
    std::uint32_t v = (val(i) << 18) | (val(i + 1) << 12);
    if (pad < 2) v |= val(i + 2) << 6;
    if (pad < 1) v |= val(i + 3);
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(v & 0xFF));
  }
  return out;
}

}  // namespace bilin::io
