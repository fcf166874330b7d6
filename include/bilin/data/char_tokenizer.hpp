// bilin/data/char_tokenizer.hpp — character-level (byte-level) tokenizer for Tiny Shakespeare
// style runs.
//
// Contract:
// - The vocabulary is an ordered list of distinct bytes (the "alphabet"); id i is alphabet[i].
//   fit(corpus) uses the corpus's distinct bytes in increasing byte order, so the same corpus
//   always gives the same ids. "Character" means byte: a multi-byte UTF-8 character becomes
//   several ids (Tiny Shakespeare is pure ASCII: 65 ids).
// - encode() throws bilin::Error("char_encode", ...) naming the first byte not in the alphabet
//   and its byte offset; decode() throws bilin::Error("char_decode", ...) for an id >= vocab
//   size, with its position. decode(encode(s)) == s for every s over the alphabet.
// - save() writes a small text file atomically:
//       bilin-char 1
//       vocab <N>
//       alphabet <2N lowercase or uppercase hex digits: the bytes of ids 0..N-1>
//       end
//   load() validates it and throws bilin::Error("load_char_tokenizer", "<file>:<line>: ...")
//   for a bad magic/version, bad hex, a count mismatch, a duplicate byte or a truncated file.
#pragma once
#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bilin/core/error.hpp"
#include "bilin/io/atomic_file.hpp"

namespace bilin::data {

using token_t = std::uint32_t;  // same alias as in bpe.hpp / token_cache.hpp

class CharTokenizer {
 public:
  static constexpr const char* kMagic = "bilin-char";
  static constexpr int kVersion = 1;

  // Ids in the order the bytes appear in `alphabet`; the bytes must be distinct and non-empty.
  explicit CharTokenizer(std::string alphabet) : alphabet_(std::move(alphabet)) {
    BILIN_CHECK(!alphabet_.empty(), "char_tokenizer", "empty alphabet");
    id_.fill(kNone);
    for (std::size_t i = 0; i < alphabet_.size(); ++i) {
      const auto c = static_cast<unsigned char>(alphabet_[i]);
      BILIN_CHECK(id_[c] == kNone, "char_tokenizer", "byte 0x", hex2(c), " appears twice in the alphabet (ids ",
                  id_[c], " and ", i, ")");
      id_[c] = static_cast<token_t>(i);
    }
  }
  // Alphabet = the distinct bytes of `corpus`, in increasing byte order.
  static CharTokenizer fit(std::string_view corpus) {
    std::array<bool, 256> present{};
    for (unsigned char c : corpus) present[c] = true;
    std::string a;
    for (int c = 0; c < 256; ++c)
      if (present[c]) a += static_cast<char>(c);
    BILIN_CHECK(!a.empty(), "char_tokenizer", "cannot fit a tokenizer on an empty corpus");
    return CharTokenizer(std::move(a));
  }

  std::size_t vocab_size() const { return alphabet_.size(); }
  const std::string& alphabet() const { return alphabet_; }
  bool contains(char c) const { return id_[static_cast<unsigned char>(c)] != kNone; }

  std::vector<token_t> encode(std::string_view text) const {
    std::vector<token_t> out(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (id_[c] == kNone)
        throw Error("char_encode", msg("byte 0x", hex2(c), printable(c), " at byte offset ", i,
                                       " is not in the tokenizer's alphabet of ", alphabet_.size(), " characters"));
      out[i] = id_[c];
    }
    return out;
  }
  std::string decode(std::span<const token_t> ids) const {
    std::string out(ids.size(), '\0');
    for (std::size_t i = 0; i < ids.size(); ++i) {
      BILIN_CHECK(ids[i] < alphabet_.size(), "char_decode", "token id ", ids[i], " at position ", i,
                  " >= vocab size ", alphabet_.size());
      out[i] = alphabet_[ids[i]];
    }
    return out;
  }

  std::string serialize() const {
    std::string s = msg(kMagic, ' ', kVersion, "\nvocab ", alphabet_.size(), "\nalphabet ");
    for (unsigned char c : alphabet_) s += hex2(c);
    return s + "\nend\n";
  }
  void save(const std::string& path) const { io::write_file_atomic(path, serialize()); }
  static CharTokenizer load(const std::string& path) { return parse(io::read_file(path), path); }

  static CharTokenizer parse(std::string_view content, const std::string& source = "<memory>") {
    std::size_t pos = 0, line_no = 0;
    auto fail = [&](const std::string& what) {
      return Error("load_char_tokenizer", msg(source, ':', line_no, ": ", what));
    };
    auto next_line = [&](std::string_view key) {
      ++line_no;
      if (pos >= content.size()) throw fail(msg("file ends before the '", key, "' line (truncated?)"));
      const std::size_t e = content.find('\n', pos);
      const std::size_t end = e == std::string_view::npos ? content.size() : e;
      std::string_view line = content.substr(pos, end - pos);
      pos = e == std::string_view::npos ? content.size() : e + 1;
      return line;
    };
    std::string_view line = next_line("bilin-char");
    const std::string magic = msg(kMagic, ' ');
    if (line.substr(0, magic.size()) != magic)
      throw fail(msg("bad magic: expected '", kMagic, ' ', kVersion, "', got '", line.substr(0, 60),
                     "' (not a bilin char tokenizer file)"));
    if (line.substr(magic.size()) != std::to_string(kVersion))
      throw fail(msg("unsupported format version '", line.substr(magic.size()), "' (this build reads ", kVersion, ")"));
    line = next_line("vocab");
    std::size_t n = 0;
    {
      const std::string_view v = line.substr(0, 6) == "vocab " ? line.substr(6) : std::string_view{};
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n == 0 || n > 256)
        throw fail(msg("expected 'vocab <1..256>', got '", line.substr(0, 60), "'"));
    }
    line = next_line("alphabet");
    if (line.substr(0, 9) != "alphabet ") throw fail(msg("expected 'alphabet <hex>', got '", line.substr(0, 60), "'"));
    const std::string_view hex = line.substr(9);
    if (hex.size() != 2 * n)
      throw fail(msg("alphabet has ", hex.size(), " hex digits but vocab ", n, " needs ", 2 * n));
    std::string a(n, '\0');
    std::array<int, 256> first{};
    first.fill(-1);
    for (std::size_t i = 0; i < n; ++i) {
      const int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
      if (h < 0 || l < 0) throw fail(msg("bad hex digit in alphabet entry ", i, ": '", hex.substr(2 * i, 2), "'"));
      const int c = h * 16 + l;
      if (first[c] >= 0) throw fail(msg("byte 0x", hex2(static_cast<unsigned char>(c)), " appears twice (ids ", first[c], " and ", i, ")"));
      first[c] = static_cast<int>(i);
      a[i] = static_cast<char>(c);
    }
    line = next_line("end");
    if (line != "end") throw fail(msg("expected 'end', got '", line.substr(0, 60), "'"));
    if (content.find_first_not_of('\n', pos) != std::string_view::npos)
      throw fail("unexpected content after 'end'");
    return CharTokenizer(std::move(a));
  }

 private:
  static constexpr token_t kNone = 0xFFFFFFFFu;
  static std::string hex2(unsigned char c) {
    static constexpr char h[] = "0123456789abcdef";
    return {h[c >> 4], h[c & 15]};
  }
  static std::string printable(unsigned char c) {
    return c >= 0x20 && c < 0x7F ? msg(" ('", static_cast<char>(c), "')") : std::string{};
  }
  static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  std::string alphabet_;
  std::array<token_t, 256> id_{};
};

}  // namespace bilin::data
