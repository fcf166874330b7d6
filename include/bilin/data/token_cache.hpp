// bilin/data/token_cache.hpp — a tokenized corpus stored as a binary file of token ids.
//
// Contract:
// - File layout (all integers little-endian; 64-byte header so the payload is aligned):
//     offset  size  field
//        0     8    magic "BILINTOK"
//        8     4    u32 format version (1)
//       12     4    u32 bytes per id: 2 (uint16) when vocab_size <= 65536, else 4 (uint32)
//       16     8    u64 vocab_size (every id is < vocab_size)
//       24     8    u64 token count N
//       32     4    u32 CRC-32 (zlib crc32) of the payload bytes
//       36     4    u32 CRC-32 of header bytes 0..35
//       40    24    reserved, zero
//       64  N*w     the ids
// - write_token_cache() checks every id < vocab_size, streams the file to a temporary in the
//   same directory and renames it into place (io::write_file_atomic semantics): a reader never
//   sees a half-written cache.
// - TokenCache::open() memory-maps the file read-only and validates, in this order: size >= 64,
//   magic, version, id width vs vocab_size, reserved bytes, header CRC, file size == 64 + N*w,
//   payload CRC, every id < vocab_size. Any failure throws bilin::Error("load_token_cache",
//   "'<path>': byte offset <k>: <what>") — the offset is where the bad field or id sits (for
//   a CRC mismatch, the start of the checked range).
// - The mapping stays valid for the lifetime of the TokenCache (movable, not copyable). ids are
//   returned widened to token_t (uint32).
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "bilin/core/error.hpp"
#include "bilin/io/atomic_file.hpp"

namespace bilin::data {

using token_t = std::uint32_t;  // same alias as in bpe.hpp / char_tokenizer.hpp

namespace token_cache_format {
inline constexpr char kMagic[8] = {'B', 'I', 'L', 'I', 'N', 'T', 'O', 'K'};
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 64;
inline constexpr std::size_t kHeaderCrcOffset = 36;

inline unsigned id_bytes_for(std::uint64_t vocab_size) { return vocab_size <= 65536 ? 2u : 4u; }

inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0) {
  return static_cast<std::uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(data), n));
}
inline void put_le(unsigned char* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint64_t get_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}
// Little-endian bytes of ids[0..n) at width w into out (n*w bytes).
inline void pack_ids(const token_t* ids, std::size_t n, unsigned w, unsigned char* out) {
  if (w == 2) {
    for (std::size_t i = 0; i < n; ++i) put_le(out + 2 * i, ids[i], 2);
  } else if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, ids, n * 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) put_le(out + 4 * i, ids[i], 4);
  }
}
}  // namespace token_cache_format

inline void write_token_cache(const std::string& path, std::span<const token_t> ids, std::uint64_t vocab_size) {
  namespace f = token_cache_format;
  BILIN_CHECK(vocab_size >= 1 && vocab_size <= (std::uint64_t{1} << 32), "write_token_cache", "'", path,
              "': vocab_size ", vocab_size, " is outside 1..2^32");
  const unsigned w = f::id_bytes_for(vocab_size);
  for (std::size_t i = 0; i < ids.size(); ++i)
    BILIN_CHECK(ids[i] < vocab_size, "write_token_cache", "'", path, "': token ", i, " is ", ids[i],
                " >= vocab_size ", vocab_size);
  // Payload CRC first (one pass over packed chunks), then header, then stream the chunks again:
  // the file is never held whole in memory.
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<unsigned char> buf(kChunk * w);
  std::uint32_t crc = f::crc32(nullptr, 0);
  for (std::size_t i = 0; i < ids.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, ids.size() - i);
    f::pack_ids(ids.data() + i, n, w, buf.data());
    crc = f::crc32(buf.data(), n * w, crc);
  }
  unsigned char h[f::kHeaderBytes] = {};
  std::memcpy(h, f::kMagic, 8);
  f::put_le(h + 8, f::kVersion, 4);
  f::put_le(h + 12, w, 4);
  f::put_le(h + 16, vocab_size, 8);
  f::put_le(h + 24, ids.size(), 8);
  f::put_le(h + 32, crc, 4);
  f::put_le(h + 36, f::crc32(h, f::kHeaderCrcOffset), 4);
  io::AtomicFileWriter out(path);
  out.write(h, sizeof h);
  for (std::size_t i = 0; i < ids.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, ids.size() - i);
    f::pack_ids(ids.data() + i, n, w, buf.data());
    out.write(buf.data(), n * w);
  }
  out.commit();
}

class TokenCache {
 public:
  static TokenCache open(const std::string& path) {
    TokenCache c;
    c.path_ = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      throw Error("load_token_cache", msg("cannot open '", path, "': ", std::error_code(err, std::generic_category()).message()));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error("load_token_cache", msg("'", path, "' is not a regular file"));
    }
    c.bytes_ = static_cast<std::size_t>(st.st_size);
    if (c.bytes_ > 0) {
      void* p = ::mmap(nullptr, c.bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
      const int err = errno;
      ::close(fd);
      if (p == MAP_FAILED)
        throw Error("load_token_cache", msg("'", path, "': mmap failed: ", std::error_code(err, std::generic_category()).message()));
      c.map_ = static_cast<const unsigned char*>(p);
    } else {
      ::close(fd);
    }
    c.validate();
    return c;
  }

  TokenCache(TokenCache&& o) noexcept { *this = std::move(o); }
  TokenCache& operator=(TokenCache&& o) noexcept {
    if (this != &o) {
      unmap();
      path_ = std::move(o.path_);
      map_ = std::exchange(o.map_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      count_ = o.count_;
      vocab_ = o.vocab_;
      width_ = o.width_;
      crc_ = o.crc_;
    }
    return *this;
  }
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;
  ~TokenCache() { unmap(); }

  const std::string& path() const { return path_; }
  std::size_t size() const { return count_; }
  std::uint64_t vocab_size() const { return vocab_; }
  unsigned id_bytes() const { return width_; }
  std::uint32_t payload_crc32() const { return crc_; }

  token_t operator[](std::size_t i) const {
    BILIN_CHECK(i < count_, "token_cache", "index ", i, " out of range for ", count_, " tokens in '", path_, "'");
    return get(i);
  }
  // ids[begin, begin+n) widened into out.
  void copy(std::size_t begin, std::size_t n, token_t* out) const {
    BILIN_CHECK(begin <= count_ && n <= count_ - begin, "token_cache", "range [", begin, ", ", begin + n,
                ") out of range for ", count_, " tokens in '", path_, "'");
    if (width_ == 2) widen<2>(begin, n, out);
    else widen<4>(begin, n, out);
  }
  std::vector<token_t> to_vector() const {
    std::vector<token_t> v(count_);
    copy(0, count_, v.data());
    return v;
  }

 private:
  TokenCache() = default;
  void unmap() {
    if (map_) ::munmap(const_cast<unsigned char*>(map_), bytes_);
    map_ = nullptr;
  }
  const unsigned char* payload() const { return map_ + token_cache_format::kHeaderBytes; }
  token_t get(std::size_t i) const {
    return static_cast<token_t>(token_cache_format::get_le(payload() + i * width_, static_cast<int>(width_)));
  }
  // Width as a template parameter so the loop compiles to plain loads on a little-endian host.
  template <unsigned W>
  void widen(std::size_t begin, std::size_t n, token_t* out) const {
    const unsigned char* p = payload() + begin * W;
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::endian::native == std::endian::little) {
        std::conditional_t<W == 2, std::uint16_t, std::uint32_t> v;
        std::memcpy(&v, p + i * W, W);
        out[i] = v;
      } else {
        out[i] = static_cast<token_t>(token_cache_format::get_le(p + i * W, W));
      }
    }
  }
  [[noreturn]] void fail(std::uint64_t offset, const std::string& what) const {
    throw Error("load_token_cache", msg("'", path_, "': byte offset ", offset, ": ", what));
  }

  void validate() {
    namespace f = token_cache_format;
    if (bytes_ < f::kHeaderBytes)
      fail(bytes_, msg("file has ", bytes_, " bytes, shorter than the ", f::kHeaderBytes, "-byte header (truncated?)"));
    if (std::memcmp(map_, f::kMagic, 8) != 0) fail(0, "bad magic (expected \"BILINTOK\"; not a bilin token cache)");
    const auto version = f::get_le(map_ + 8, 4);
    if (version != f::kVersion) fail(8, msg("unsupported format version ", version, " (this build reads ", f::kVersion, ")"));
    width_ = static_cast<unsigned>(f::get_le(map_ + 12, 4));
    vocab_ = f::get_le(map_ + 16, 8);
    count_ = f::get_le(map_ + 24, 8);
    crc_ = static_cast<std::uint32_t>(f::get_le(map_ + 32, 4));
    if (width_ != 2 && width_ != 4) fail(12, msg("bytes per id is ", width_, ", expected 2 or 4"));
    if (vocab_ == 0 || vocab_ > (std::uint64_t{1} << 32)) fail(16, msg("vocab_size ", vocab_, " is outside 1..2^32"));
    if (width_ != f::id_bytes_for(vocab_))
      fail(12, msg("bytes per id is ", width_, " but vocab_size ", vocab_, " needs ", f::id_bytes_for(vocab_)));
    for (std::size_t k = 40; k < f::kHeaderBytes; ++k)
      if (map_[k] != 0) fail(k, "reserved header byte is not zero");
    const auto hcrc = static_cast<std::uint32_t>(f::get_le(map_ + 36, 4));
    if (hcrc != f::crc32(map_, f::kHeaderCrcOffset))
      fail(0, msg("header checksum mismatch (stored 0x", std::hex, hcrc, ", computed 0x",
                  f::crc32(map_, f::kHeaderCrcOffset), std::dec, "): the header is corrupt"));
    const std::uint64_t payload_bytes = bytes_ - f::kHeaderBytes;
    if (count_ > payload_bytes / width_ || payload_bytes != count_ * width_) {
      if (count_ > payload_bytes / width_)
        fail(bytes_, msg("file is truncated: header says ", count_, " tokens (", f::kHeaderBytes + count_ * width_,
                         " bytes) but the file has ", bytes_, " bytes"));
      fail(f::kHeaderBytes + count_ * width_, msg(payload_bytes - count_ * width_, " trailing bytes after ", count_,
                                                  " tokens"));
    }
    const std::uint32_t got = f::crc32(payload(), payload_bytes);
    if (got != crc_)
      fail(f::kHeaderBytes, msg("payload checksum mismatch over ", payload_bytes, " bytes (stored CRC-32 0x", std::hex,
                                crc_, ", computed 0x", got, std::dec, "): the token data is corrupt"));
    // A CRC match proves the bytes are what the writer wrote, not that the writer was right.
    std::vector<token_t> buf(std::min<std::uint64_t>(count_, 1 << 16));
    for (std::size_t b = 0; b < count_; b += buf.size()) {
      const std::size_t n = std::min<std::size_t>(buf.size(), count_ - b);
      copy(b, n, buf.data());
      for (std::size_t i = 0; i < n; ++i)
        if (buf[i] >= vocab_)
          fail(f::kHeaderBytes + (b + i) * width_, msg("token ", b + i, " is ", buf[i], ", not < vocab_size ", vocab_));
    }
  }

  std::string path_;
  const unsigned char* map_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint64_t count_ = 0, vocab_ = 0;
  unsigned width_ = 2;
  std::uint32_t crc_ = 0;
};

// Open, validate, and copy every id out (the mapping is released before returning).
inline std::vector<token_t> read_token_cache(const std::string& path, std::uint64_t* vocab_size = nullptr) {
  TokenCache c = TokenCache::open(path);
  if (vocab_size) *vocab_size = c.vocab_size();
  return c.to_vector();
}

}  // namespace bilin::data
