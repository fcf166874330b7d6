// bilin/io/png.hpp — PNG writing and PNG/JPEG/BMP/GIF/PNM reading through stb.
//
// Contract:
// - encode_png(pixels, w, h, channels) returns PNG bytes (channels 1 gray, 2 gray+alpha, 3 RGB,
//   4 RGBA; rows top to bottom). write_png(path, ...) writes them atomically (write_file_atomic),
//   so a half-written picture never appears under the final name.
// - read_image(path, channels = 0) decodes PNG, JPEG, BMP, GIF (first frame) or PNM; channels 0
//   keeps the file's own count, 1..4 converts. read_image_gray(path) returns one channel with
//   any alpha composited over white (a transparent background reads as paper, not as ink).
//   A missing file, an unknown format or a damaged image throws bilin::Error("read_image",
//   "<path>: ...") including stb_image's failure reason.
// - Size limits, checked on the header (stbi_info) before any pixel memory is allocated: each
//   side at most kMaxImageSide (32768) and width × height at most kMaxImagePixels (2^26, 64
//   megapixels; decode_image takes a smaller max_pixels for callers that want one). A small
//   file claiming 65535 × 65535 pixels is an error naming the dimensions, never an allocation
//   of what it claims. Every PNG chunk must fit in the file (stb_image would otherwise grow a
//   buffer to a chunk's claimed length first).
// - stb_image and stb_image_write are compiled into every translation unit that includes this
//   header as `static` functions (STB_IMAGE_STATIC, STB_IMAGE_WRITE_STATIC), so a header-only
//   bilin never produces duplicate symbols. Consequence: in a translation unit that includes
//   this header, do not also include <stb_image.h> / <stb_image_write.h> yourself.
// - Image, colormaps, grids and resampling live in image.hpp (included here).
#pragma once
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "atomic_file.hpp"
#include "image.hpp"

#if defined(STBI_INCLUDE_STB_IMAGE_H) || defined(INCLUDE_STB_IMAGE_WRITE_H)
#error "bilin/io/png.hpp compiles its own static copy of stb_image/stb_image_write; do not include the stb headers in the same translation unit"
#endif

#define STB_IMAGE_STATIC
// Zeroed allocations: stb_image 2.27 leaves the rest of a truncated PNM's pixel buffer unwritten,
// and decoding the same bytes twice gave different pixels (found by tests/fuzz).
#define STBI_MALLOC(sz) std::calloc(1, sz)
#define STBI_REALLOC(p, newsz) std::realloc(p, newsz)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuseless-cast"
#endif
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-qual"
// stb_image 2.27 keeps filling a JPEG's bit buffer after its entropy-coded data has run into a
// marker, with a bit count gone negative: it then shifts a 0 byte left by 32 or more (found by
// tests/fuzz). The byte is always 0 there (nothing is read past a marker), so every target
// computes the same, but the shift is undefined behaviour in C++, which the fuzz build's UBSan
// stops on. Only that check, and only in stb's functions, is off (clang, which builds the
// fuzzers); every other check, and AddressSanitizer, still covers stb.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift-exponent"))), apply_to = function)
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC diagnostic pop
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_IMPLEMENTATION

namespace bilin::io {

inline constexpr int kMaxImageSide = 1 << 15;
inline constexpr std::uint64_t kMaxImagePixels = std::uint64_t{1} << 26;

inline std::vector<std::uint8_t> encode_png(const std::uint8_t* pixels, int w, int h, int channels) {
  BILIN_CHECK(w > 0 && h > 0, "write_png", "image must be at least 1x1, got ", w, "x", h);
  BILIN_CHECK(channels >= 1 && channels <= 4, "write_png", "channels must be 1..4, got ", channels);
  BILIN_CHECK(static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(channels) < (1ull << 31) && h < (1 << 24),
              "write_png", "image ", w, "x", h, " is too large");
  std::vector<std::uint8_t> out;
  const auto sink = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
    const auto* p = static_cast<const std::uint8_t*>(data);
    v->insert(v->end(), p, p + size);
  };
  const int ok = stbi_write_png_to_func(sink, &out, w, h, channels, pixels, w * channels);
  BILIN_CHECK(ok != 0, "write_png", "stb_image_write failed to encode a ", w, "x", h, "x", channels, " image");
  return out;
}
inline std::vector<std::uint8_t> encode_png(const Image& img) {
  BILIN_CHECK(img.pixels.size() == static_cast<std::size_t>(img.width) * img.height * img.channels, "write_png",
              "Image has ", img.pixels.size(), " bytes, expected ", img.width, "x", img.height, "x", img.channels);
  return encode_png(img.pixels.data(), img.width, img.height, img.channels);
}

inline void write_png(const std::string& path, const std::uint8_t* pixels, int w, int h, int channels) {
  write_file_atomic(path, encode_png(pixels, w, h, channels));
}
inline void write_png(const std::string& path, const Image& img) { write_file_atomic(path, encode_png(img)); }

namespace detail {

// stb_image 2.27 reads a palette BMP's colours from a palette array on its stack that it fills
// only with the entries the file has: when the pixel offset leaves room for none (it then
// counts a negative number) or a pixel's index is past them, the picture comes from
// uninitialized memory and changes from run to run (found by tests/fuzz). This reads the
// header, the palette size and every index as stb does (bytes past the end read as 0) and
// refuses such a file. Other BMPs (16/24/32 bits, or ones stb refuses itself) pass through.
inline void check_bmp_palette(const unsigned char* p, std::size_t n, const std::string& source) {
  const auto le = [&](std::size_t o, int bytes) {
    std::uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint32_t{o + i < n ? p[o + i] : 0u} << (8 * i);
    return v;
  };
  const auto offset = static_cast<std::int64_t>(static_cast<std::int32_t>(le(10, 4)));
  const std::uint32_t hsz = le(14, 4);
  if (offset < 0 || (hsz != 12 && hsz != 40 && hsz != 56 && hsz != 108 && hsz != 124)) return;
  const bool core = hsz == 12;  // OS/2 1.x header: 16-bit sizes, 3-byte palette entries
  const std::int64_t w = core ? le(18, 2) : le(18, 4);
  const std::int64_t h = core ? le(20, 2) : std::abs(std::int64_t{static_cast<std::int32_t>(le(22, 4))});
  const auto bpp = static_cast<int>(le(core ? 24 : 28, 2));
  // stb refuses compression 1 to 3 here and 4 and up, but reads a negative value as none
  if ((bpp != 1 && bpp != 4 && bpp != 8) || (!core && static_cast<std::int32_t>(le(30, 4)) > 0)) return;
  // stb's own arithmetic, the 14-byte file header included: C division truncates, >> floors
  const std::int64_t entries = core ? (offset - 14 - 24) / 3 : (offset - 14 - std::int64_t{hsz}) >> 2;
  if (entries < 1 || entries > 256)
    throw Error("read_image", msg(source, ": BMP pixel data at byte ", offset, " leaves room for ", entries,
                                  " palette entries after the ", hsz, "-byte header; a ", bpp,
                                  "-bit BMP needs 1 to 256"));
  if (entries >= (std::int64_t{1} << bpp) || w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide) return;
  const std::int64_t stride = ((w * bpp + 7) / 8 + 3) / 4 * 4;
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const auto at = static_cast<std::uint64_t>(offset + y * stride + x * bpp / 8);
      if (at >= n) return;  // the rest reads as index 0
      const int index = (p[at] >> (8 - bpp - x * bpp % 8)) & ((1 << bpp) - 1);
      if (index >= entries)
        throw Error("read_image", msg(source, ": BMP pixel ", x, " of stored row ", y, " (byte ", at,
                                      ") is palette index ", index, " but the palette has ", entries, " entries"));
    }
}

// A copy of the PNG `bytes` whose PLTE chunks at `plte` (chunk starts) are padded to `entries`
// colours of `fill` in every component (see decode_image).
inline std::string png_pad_palettes(std::string_view bytes, const std::vector<std::size_t>& plte, std::size_t entries,
                                    unsigned char fill) {
  const auto be32 = [](std::string& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
  };
  std::string out;
  std::size_t from = 0;
  for (const std::size_t pos : plte) {
    const auto* q = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const std::size_t len = std::size_t{q[0]} << 24 | std::size_t{q[1]} << 16 | std::size_t{q[2]} << 8 | q[3];
    out.append(bytes.substr(from, pos - from));
    std::string chunk = "PLTE";
    chunk.append(bytes.substr(pos + 8, len));
    chunk.append(entries * 3 - len, static_cast<char>(fill));
    std::uint32_t crc = 0xFFFFFFFFu;  // PNG's CRC-32 over type and data
    for (const char c : chunk) {
      crc ^= static_cast<unsigned char>(c);
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    be32(out, static_cast<std::uint32_t>(entries * 3));
    out += chunk;
    be32(out, ~crc);
    from = pos + 12 + len;
  }
  out.append(bytes.substr(from));
  return out;
}

}  // namespace detail

// Decode an in-memory image; `source` names it in errors.
inline Image decode_image(std::string_view bytes, int channels = 0, const std::string& source = "<memory>",
                          std::uint64_t max_pixels = kMaxImagePixels) {
  BILIN_CHECK(channels >= 0 && channels <= 4, "read_image", "channels must be 0..4, got ", channels);
  BILIN_CHECK(!bytes.empty(), "read_image", source, ": file is empty");
  BILIN_CHECK(bytes.size() < (1ull << 31), "read_image", source, ": file is too large (", bytes.size(), " bytes)");
  const auto check_size = [&](std::uint64_t w, std::uint64_t h) {
    const auto side = static_cast<std::uint64_t>(kMaxImageSide);
    if (w > side || h > side || w * h > max_pixels)
      throw Error("read_image", msg(source, ": the header claims a ", w, "x", h, " image; the limit is ", kMaxImageSide,
                                    " pixels a side and ", max_pixels, " pixels in all"));
  };
  const auto* p = reinterpret_cast<const stbi_uc*>(bytes.data());
  // A PNG's size is read here too: stb_image's probe refuses very large PNGs with only
  // "unknown image type", which would not tell the user what was wrong.
  // stb_image 2.27 takes a palette PNG's colours from a 256-entry array on its stack that holds
  // only the PLTE chunk's entries, so a pixel index past them reads uninitialized memory. Such
  // PNGs are decoded from two copies whose palettes are padded to every index with black and
  // with white: a pixel that differs between the two has an index past the palette.
  std::vector<std::size_t> plte;
  std::size_t palette_entries = 0, plte_entries = 0;
  if (bytes.size() >= 24 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8) &&
      bytes.substr(12, 4) == "IHDR") {
    const auto be32 = [&](std::size_t o) {
      return std::uint64_t{p[o]} << 24 | std::uint64_t{p[o + 1]} << 16 | std::uint64_t{p[o + 2]} << 8 | p[o + 3];
    };
    check_size(be32(16), be32(20));
    const bool indexed =
        bytes.size() >= 26 && p[25] == 3 && (p[24] == 1 || p[24] == 2 || p[24] == 4 || p[24] == 8);
    // stb_image grows its buffer to a chunk's claimed length before reading it, so a 60-byte
    // file claiming a 700 MB IDAT chunk would allocate that (found by tests/fuzz): every chunk
    // must fit in the file.
    for (std::size_t pos = 8; pos + 8 <= bytes.size();) {
      const std::uint64_t len = be32(pos);
      if (len + 12 > bytes.size() - pos)
        throw Error("read_image", msg(source, ": PNG chunk '", bytes.substr(pos + 4, 4), "' at byte ", pos, " claims ", len,
                                      " bytes but the file has ", bytes.size() - pos, " bytes from there (truncated?)"));
      if (bytes.substr(pos + 4, 4) == "IEND") break;
      // stb refuses a PLTE of over 256 entries or not whole entries itself
      if (indexed && bytes.substr(pos + 4, 4) == "PLTE" && len % 3 == 0 && len <= 768 && len / 3 < (1u << p[24])) {
        plte.push_back(pos);
        palette_entries = std::size_t{1} << p[24];
        plte_entries = static_cast<std::size_t>(len / 3);
      }
      pos += 12 + static_cast<std::size_t>(len);
    }
  }
  // stb_image 2.27 indexes past its 257-entry Huffman size table when a JPEG DHT table declares
  // more than 256 codes, reading bytes past the end of the file as zeros (both found by
  // tests/fuzz): check the tables' code counts the same way before decoding. stb takes any run
  // of 0xFF fill bytes before a marker, so "FF FF D8" starts a JPEG too (found by tests/fuzz).
  std::size_t soi = 0;
  while (soi < bytes.size() && p[soi] == 0xFF) ++soi;
  if (soi >= 1 && soi + 1 < bytes.size() && p[soi] == 0xD8) {
    // every DHT marker (FF C4) in the file: inside entropy-coded data a 0xFF byte is always
    // followed by 0x00 or a marker, so this finds the tables of later scans too
    for (std::size_t pos = soi + 1; pos + 4 <= bytes.size(); ++pos) {
      if (p[pos] != 0xFF || p[pos + 1] != 0xC4) continue;
      const std::size_t len = std::size_t{p[pos + 2]} << 8 | p[pos + 3];
      const std::size_t end = std::min(bytes.size(), pos + 2 + len);
      for (std::size_t t = pos + 4; t < end;) {
        std::size_t codes = 0;
        for (std::size_t k = 1; k <= 16 && t + k < bytes.size(); ++k) codes += p[t + k];
        if (codes > 256)
          throw Error("read_image", msg(source, ": JPEG Huffman table at byte ", t, " declares ", codes,
                                        " codes (at most 256)"));
        t += 17 + codes;
      }
    }
  }
  // stb_image 2.27 overflows an int reading a PNM header number of ten or more digits (found by
  // tests/fuzz): check width, height and maxval first.
  if (bytes.size() >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6')) {
    std::size_t pos = 2;
    for (int field = 0; field < 3 && pos < bytes.size(); ++field) {
      while (pos < bytes.size() && (std::isspace(p[pos]) || p[pos] == '#')) {
        if (p[pos] == '#')
          while (pos < bytes.size() && p[pos] != '\n' && p[pos] != '\r') ++pos;
        else
          ++pos;
      }
      std::size_t digits = 0;
      while (pos < bytes.size() && std::isdigit(p[pos])) ++pos, ++digits;
      if (digits > 9) throw Error("read_image", msg(source, ": PNM header number before byte ", pos, " is too large"));
      if (digits == 0) break;
    }
  }
  int w = 0, h = 0, file_channels = 0;
  const int n = static_cast<int>(bytes.size());
  if (!stbi_info_from_memory(p, n, &w, &h, &file_channels))
    throw Error("read_image", msg(source, ": not a readable PNG, JPEG, BMP, GIF or PNM image (stb_image: ",
                                  stbi_failure_reason(), ")"));
  // stb's BMP probe gives a top-down BMP's height as stored, negative; its decoder flips it
  const bool bmp = bytes.size() >= 2 && p[0] == 'B' && p[1] == 'M';
  if (bmp && h < 0 && h > -kMaxImageSide - 1) h = -h;
  // stb's PNM probe reads a garbled size as 0 and "decodes" an empty image (found by tests/fuzz)
  if (w <= 0 || h <= 0 || file_channels < 1 || file_channels > 4)
    throw Error("read_image", msg(source, ": the header gives a ", w, "x", h, " image with ", file_channels,
                                  " channels; not a readable image"));
  check_size(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h));
  if (bmp) detail::check_bmp_palette(p, bytes.size(), source);
  // stb_image 2.27 converts the channel count of a 16-bit PNM as if it were 8-bit and then
  // reads past the buffer (found by tests/fuzz): decode such files with their own channel
  // count and convert the 8-bit result afterwards.
  const bool pnm16 = bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6') &&
                     stbi_is_16_bit_from_memory(p, n);
  std::string padded[2];
  if (!plte.empty())
    for (int v = 0; v < 2; ++v) padded[v] = detail::png_pad_palettes(bytes, plte, palette_entries, v ? 0xFF : 0x00);
  const auto decode = [&](const std::string& copy) {
    return copy.empty() ? stbi_load_from_memory(p, n, &w, &h, &file_channels, pnm16 ? 0 : channels)
                        : stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(copy.data()),
                                                static_cast<int>(copy.size()), &w, &h, &file_channels, channels);
  };
  stbi_uc* data = decode(padded[0]);
  if (data && !plte.empty()) {
    stbi_uc* white = decode(padded[1]);
    const std::size_t per = static_cast<std::size_t>(channels ? channels : file_channels);
    const std::size_t total = static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * per;
    const bool decoded = white != nullptr;
    const std::size_t at = decoded ? static_cast<std::size_t>(std::mismatch(data, data + total, white).first - data) : 0;
    stbi_image_free(white);
    if (at < total) {
      stbi_image_free(data);
      const std::size_t pixel = at / per;
      if (!decoded)
        throw Error("read_image", msg(source, ": cannot decode the ", w, "x", h, " palette image (stb_image: ",
                                      stbi_failure_reason(), ")"));
      throw Error("read_image", msg(source, ": PNG pixel (", pixel % static_cast<std::size_t>(w), ", ",
                                    pixel / static_cast<std::size_t>(w), ") has a palette index past the ",
                                    plte_entries, " entries of its PLTE chunk"));
    }
  }
  if (data && pnm16 && channels && channels != file_channels)
    data = stbi__convert_format(data, file_channels, channels, static_cast<unsigned>(w), static_cast<unsigned>(h));
  if (!data)
    throw Error("read_image", msg(source, ": cannot decode the ", w, "x", h, " image (stb_image: ",
                                  stbi_failure_reason(), ")"));
  Image img;
  img.width = w, img.height = h, img.channels = channels ? channels : file_channels;
  img.pixels.assign(data, data + static_cast<std::size_t>(w) * h * img.channels);
  stbi_image_free(data);
  return img;
}

inline Image read_image(const std::string& path, int channels = 0) {
  const std::string bytes = read_file(path, "read_image");
  return decode_image(bytes, channels, path);
}

inline Image read_image_gray(const std::string& path) {
  Image src = read_image(path, 0);
  if (src.channels == 1) return src;
  const auto g = to_gray(src);
  Image out(src.width, src.height, 1);
  for (std::size_t i = 0; i < g.size(); ++i) out.pixels[i] = static_cast<std::uint8_t>(std::lround(g[i] * 255.0f));
  return out;
}

}  // namespace bilin::io
