// bilin/data/bpe.hpp — byte-level BPE tokenizer: train, encode, decode, save, load.
//
// Contract:
// - Ids: 0..255 are the 256 single bytes; id 256+k is the token made by merge k (merges are
//   applied in this order, "rank" k); the special tokens follow, id 256+M+i for special i
//   (M = number of merges). vocab_size() = 256 + M + number of specials.
// - encode(text) then decode() gives back `text` byte for byte for ANY byte string: invalid
//   UTF-8, NUL bytes, empty input. Occurrences of a special token's text inside `text` become
//   that special's single id (decode gives the same bytes back, so the round trip still holds);
//   encode_ordinary() treats them as plain bytes instead. When specials overlap, the leftmost
//   occurrence wins, then the longest.
// - Pre-tokenization (pretokenize(), rule "bilin-v1", documented at for_each_pretoken) splits
//   text into chunks; merges never cross a chunk boundary or a special token. Training counts
//   the distinct chunks and learns merges inside them; encoding a chunk applies the merges by
//   rank (lowest rank first, leftmost first), which gives exactly what applying every merge in
//   order to the chunk's bytes would give (reference_encode_chunk() in tests/test_bpe.cpp).
// - train() is deterministic: the pair with the highest (frequency-weighted) count is merged
//   next; among equal counts the lexicographically smallest pair of ids (a, b) wins. It stops
//   early, with fewer merges than asked, when no pair occurs at least min_pair_count times.
// - save() writes a small text file atomically (format at BpeTokenizer::serialize); load()
//   validates it and throws bilin::Error("load_bpe", "<file>:<line>: <what is wrong>") for a
//   bad magic/version, a merge that references an id not yet defined, a duplicate merge or
//   special, wrong counts, a truncated file (missing "end" line) or trailing content.
// - load() limits, checked before the memory is allocated: the header's merge and special
//   counts must fit in the file (a merge line takes at least 4 bytes, a special line 10), and a
//   merged token may be at most kMaxTokenBytes (64 KiB) long and all tokens together at most
//   kMaxVocabBytes (256 MiB) — merges can double a token's length each time, so a small file
//   could otherwise describe an exponentially large vocabulary.
// - The object is immutable after construction; encode/decode are const and thread-safe (the
//   chunk cache lives inside one encode call).
#pragma once
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bilin/core/error.hpp"
#include "bilin/io/atomic_file.hpp"

namespace bilin::data {

// Token ids of every bilin tokenizer (also declared, identically, in char_tokenizer.hpp,
// token_cache.hpp and text.hpp so each header stands alone).
using token_t = std::uint32_t;

// ------------------------------------------------------------------ pre-tokenization
namespace pretok {
// Byte classes. Bytes >= 0x80 count as letters so a UTF-8 character (curly quote, accented
// letter) stays inside its word; the rule never needs to decode UTF-8, so any byte string works.
enum Class : std::uint8_t { kLetter, kDigit, kSpace, kOtherSpace, kPunct };
constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) t[c] = kLetter;
    else if (c >= '0' && c <= '9') t[c] = kDigit;
    else if (c == ' ') t[c] = kSpace;
    else if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') t[c] = kOtherSpace;
    else t[c] = kPunct;  // punctuation, symbols, NUL and other control bytes
  }
  return t;
}
inline constexpr std::array<std::uint8_t, 256> kTable = make_table();
inline std::uint8_t cls(char c) { return kTable[static_cast<unsigned char>(c)]; }
inline bool is_ws(std::uint8_t k) { return k == kSpace || k == kOtherSpace; }

// End (exclusive) of the chunk that starts at s[i], i < s.size().
inline std::size_t chunk_end(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  if (s[i] == '\'' && i + 1 < n) {  // English contractions, as GPT-2: 's 't 'm 'd 're 've 'll
    const char c = s[i + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return i + 2;
    if (i + 2 < n) {
      const char d = s[i + 2];
      if ((c == 'r' && d == 'e') || (c == 'v' && d == 'e') || (c == 'l' && d == 'l')) return i + 3;
    }
  }
  std::uint8_t k = cls(s[i]);
  std::size_t j = i;
  if (k == kSpace && i + 1 < n && !is_ws(cls(s[i + 1]))) {  // one leading space joins the run
    ++j;
    k = cls(s[j]);
  }
  if (!is_ws(k)) {
    while (j < n && cls(s[j]) == k) ++j;
    return j;
  }
  while (j < n && is_ws(cls(s[j]))) ++j;
  // A whitespace run followed by a word leaves its last space to that word (" the").
  if (j < n && j - i >= 2 && s[j - 1] == ' ') --j;
  return j;
}
}  // namespace pretok

// Pre-tokenization rule "bilin-v1" (GPT-2-like, no regex): at each position the chunk is
//   1. an apostrophe contraction 's 't 'm 'd 're 've 'll (ASCII, lowercase), else
//   2. an optional single space followed by a maximal run of one class: letters (A-Z, a-z and
//      every byte >= 0x80), digits, or "punctuation" (every other non-whitespace byte,
//      including NUL and control bytes), else
//   3. a maximal run of whitespace (space \t \n \r \v \f); when the run is followed by a
//      non-space byte and ends in a space, that last space is left to start the next chunk.
// Chunks partition the text exactly (concatenating them gives the text back).
template <class F>
void for_each_pretoken(std::string_view s, F&& f) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t j = pretok::chunk_end(s, i);
    f(s.substr(i, j - i));
    i = j;
  }
}
inline std::vector<std::string_view> pretokenize(std::string_view s) {
  std::vector<std::string_view> out;
  for_each_pretoken(s, [&](std::string_view c) { out.push_back(c); });
  return out;
}

// ------------------------------------------------------------------ special-token splitting
namespace detail {
// Calls on_text(piece) for text between specials and on_special(i) for special i, in order.
// Leftmost occurrence first; among specials starting at the same byte, the longest.
template <class T, class S>
void split_specials(std::string_view text, const std::vector<std::string>& specials, T&& on_text, S&& on_special) {
  if (specials.empty()) {
    if (!text.empty()) on_text(text);
    return;
  }
  std::vector<std::size_t> next(specials.size());
  for (std::size_t k = 0; k < specials.size(); ++k) next[k] = text.find(specials[k]);
  std::size_t pos = 0;
  while (true) {
    std::size_t best = std::string_view::npos, which = 0;
    for (std::size_t k = 0; k < specials.size(); ++k) {
      if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(specials[k], pos);
      if (next[k] < best || (next[k] == best && next[k] != std::string_view::npos &&
                             specials[k].size() > specials[which].size())) {
        best = next[k];
        which = k;
      }
    }
    if (best == std::string_view::npos) break;
    if (best > pos) on_text(text.substr(pos, best - pos));
    on_special(which);
    pos = best + specials[which].size();
  }
  if (pos < text.size()) on_text(text.substr(pos));
}

inline std::uint64_t pair_key(token_t a, token_t b) { return std::uint64_t{a} << 32 | b; }

// Special-token text in the file: bytes 0x21..0x7E except '%' as themselves, others as %XX.
inline std::string escape_bytes(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c > 0x20 && c < 0x7F && c != '%') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// Returns false when the escape is malformed.
inline bool unescape_bytes(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int h = hex_digit(s[i + 1]), l = hex_digit(s[i + 2]);
    if (h < 0 || l < 0) return false;
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return true;
}

}  // namespace detail

// ------------------------------------------------------------------ the tokenizer
struct BpeTrainOptions {
  std::size_t vocab_size = 4096;  // total: 256 bytes + merges + specials
  std::vector<std::string> special_tokens{"<|endoftext|>"};
  std::uint64_t min_pair_count = 2;  // a pair seen fewer times is not worth a token
};

class BpeTokenizer {
 public:
  static constexpr const char* kMagic = "bilin-bpe";
  static constexpr int kVersion = 1;
  static constexpr const char* kPretokenizer = "bilin-v1";
  static constexpr std::uint64_t kMaxTokenBytes = 1 << 16;   // load() limits (see the contract)
  static constexpr std::uint64_t kMaxVocabBytes = 1 << 28;

  using Merge = std::pair<token_t, token_t>;

  // Bytes only: 256 tokens, no merges, no specials.
  BpeTokenizer() { build(); }
  // From an explicit merge list (merge k may only use ids < 256+k) and special tokens
  // (non-empty, distinct). Throws bilin::Error("bpe", ...) otherwise.
  BpeTokenizer(std::vector<Merge> merges, std::vector<std::string> specials)
      : merges_(std::move(merges)), specials_(std::move(specials)) {
    for (std::size_t k = 0; k < merges_.size(); ++k)
      BILIN_CHECK(merges_[k].first < 256 + k && merges_[k].second < 256 + k, "bpe", "merge ", k, " (",
                  merges_[k].first, ", ", merges_[k].second, ") uses an id not defined before it (ids < ", 256 + k,
                  ")");
    build();
  }

  // ---- training
  static BpeTokenizer train(std::span<const std::string_view> texts, const BpeTrainOptions& opt = {});
  static BpeTokenizer train(std::string_view text, const BpeTrainOptions& opt = {}) {
    return train(std::span<const std::string_view>(&text, 1), opt);
  }

  // ---- vocabulary
  std::size_t vocab_size() const { return 256 + merges_.size() + specials_.size(); }
  std::size_t num_merges() const { return merges_.size(); }
  const std::vector<Merge>& merges() const { return merges_; }
  const std::vector<std::string>& special_tokens() const { return specials_; }
  bool is_special(token_t id) const { return id >= 256 + merges_.size() && id < vocab_size(); }
  // Id of a special token given its text; throws if there is none.
  token_t special_id(std::string_view text) const {
    for (std::size_t i = 0; i < specials_.size(); ++i)
      if (specials_[i] == text) return static_cast<token_t>(256 + merges_.size() + i);
    throw Error("bpe", msg("no special token '", text, "' (this tokenizer has ", specials_.size(), ")"));
  }
  // The bytes a token stands for (a special's text for a special).
  const std::string& token_bytes(token_t id) const {
    BILIN_CHECK(id < vocab_size(), "bpe", "token id ", id, " >= vocab size ", vocab_size());
    return id < bytes_.size() ? bytes_[id] : specials_[id - bytes_.size()];
  }

  // ---- encoding / decoding
  std::vector<token_t> encode(std::string_view text) const {
    std::vector<token_t> out;
    encode_append(text, out, true);
    return out;
  }
  std::vector<token_t> encode_ordinary(std::string_view text) const {
    std::vector<token_t> out;
    encode_append(text, out, false);
    return out;
  }
  // Appends to `out` (reserve once and call repeatedly to build a corpus).
  void encode_append(std::string_view text, std::vector<token_t>& out, bool allow_special = true) const;

  std::string decode(std::span<const token_t> ids) const {
    std::string out;
    decode_append(ids, out);
    return out;
  }
  void decode_append(std::span<const token_t> ids, std::string& out) const {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      BILIN_CHECK(ids[i] < vocab_size(), "bpe_decode", "token id ", ids[i], " at position ", i, " >= vocab size ",
                  vocab_size());
      out += ids[i] < bytes_.size() ? bytes_[ids[i]] : specials_[ids[i] - bytes_.size()];
    }
  }

  // Encodes one pre-token chunk (no special handling, no cache) — exposed for tests.
  void encode_chunk(std::string_view chunk, std::vector<token_t>& out) const;

  // ---- files
  // Format (text, LF line endings, one item per line):
  //   bilin-bpe 1                       magic and format version
  //   pretokenizer bilin-v1             the pre-tokenization rule the merges were learned with
  //   vocab_size <V>                    = 256 + merges + specials
  //   merges <M>
  //   specials <S>
  //   <a> <b>                           M lines: merge k joins ids a and b into id 256+k
  //   special <escaped text>            S lines: id 256+M+i; bytes outside 0x21..0x7E and '%'
  //                                     are written %XX
  //   end
  // Lines starting with '#' are comments.
  std::string serialize() const;
  static BpeTokenizer parse(std::string_view content, const std::string& source = "<memory>");
  void save(const std::string& path) const { io::write_file_atomic(path, serialize()); }
  static BpeTokenizer load(const std::string& path) {
    return parse(io::read_file(path), path);
  }

 private:
  void build();
  std::uint32_t rank_of(token_t a, token_t b) const {
    auto it = rank_.find(detail::pair_key(a, b));
    return it == rank_.end() ? kNoRank : it->second;
  }
  void encode_chunk_short(std::string_view chunk, std::vector<token_t>& out) const;
  void encode_chunk_long(std::string_view chunk, std::vector<token_t>& out) const;

  static constexpr std::uint32_t kNoRank = 0xFFFFFFFFu;
  // Chunks up to this length use the simple rescan; longer ones the O(n log n) heap.
  static constexpr std::size_t kShortChunk = 48;

  std::vector<Merge> merges_;
  std::vector<std::string> specials_;
  std::vector<std::string> bytes_;                    // bytes of ids 0..256+M-1
  std::unordered_map<std::uint64_t, std::uint32_t> rank_;  // (a, b) -> merge rank
};

// ------------------------------------------------------------------ implementation
inline void BpeTokenizer::build() {
  for (std::size_t i = 0; i < specials_.size(); ++i) {
    BILIN_CHECK(!specials_[i].empty(), "bpe", "special token ", i, " is empty");
    for (std::size_t j = 0; j < i; ++j)
      BILIN_CHECK(specials_[j] != specials_[i], "bpe", "special token '", specials_[i], "' is listed twice");
  }
  bytes_.clear();
  bytes_.reserve(256 + merges_.size());
  for (int b = 0; b < 256; ++b) bytes_.emplace_back(1, static_cast<char>(b));
  rank_.clear();
  rank_.reserve(merges_.size() * 2);
  for (std::size_t k = 0; k < merges_.size(); ++k) {
    const auto [a, b] = merges_[k];
    const bool fresh = rank_.emplace(detail::pair_key(a, b), static_cast<std::uint32_t>(k)).second;
    BILIN_CHECK(fresh, "bpe", "merge ", k, " (", a, ", ", b, ") repeats merge ", rank_[detail::pair_key(a, b)]);
    bytes_.push_back(bytes_[a] + bytes_[b]);
  }
}

inline void BpeTokenizer::encode_chunk_short(std::string_view chunk, std::vector<token_t>& out) const {
  token_t buf[kShortChunk];
  std::size_t m = chunk.size();
  for (std::size_t i = 0; i < m; ++i) buf[i] = static_cast<unsigned char>(chunk[i]);
  while (m >= 2) {
    std::uint32_t best = kNoRank;
    for (std::size_t i = 0; i + 1 < m; ++i) best = std::min(best, rank_of(buf[i], buf[i + 1]));
    if (best == kNoRank) break;
    const auto [a, b] = merges_[best];
    const token_t t = static_cast<token_t>(256 + best);
    // Merging every occurrence left to right is the same as repeatedly merging the leftmost
    // one: pairs created here involve the new id, whose merges all have a higher rank.
    std::size_t j = 0;
    for (std::size_t i = 0; i < m;) {
      if (i + 1 < m && buf[i] == a && buf[i + 1] == b) {
        buf[j++] = t;
        i += 2;
      } else {
        buf[j++] = buf[i++];
      }
    }
    m = j;
  }
  out.insert(out.end(), buf, buf + m);
}

inline void BpeTokenizer::encode_chunk_long(std::string_view chunk, std::vector<token_t>& out) const {
  // Doubly linked list over the bytes + a min-heap of (rank, position) with lazy invalidation:
  // an entry is stale when the pair now starting at that position has another rank.
  const std::size_t n = chunk.size();
  std::vector<token_t> id(n);
  std::vector<std::uint32_t> nxt(n), prv(n);
  std::vector<char> alive(n, 1);
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = static_cast<unsigned char>(chunk[i]);
    nxt[i] = static_cast<std::uint32_t>(i + 1);
    prv[i] = static_cast<std::uint32_t>(i - 1);  // wraps for i = 0; never read there
  }
  std::priority_queue<std::uint64_t, std::vector<std::uint64_t>, std::greater<>> heap;
  auto push = [&](std::uint32_t p) {
    const std::uint32_t r = rank_of(id[p], id[nxt[p]]);
    if (r != kNoRank) heap.push(std::uint64_t{r} << 32 | p);
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<std::uint32_t>(i));
  while (!heap.empty()) {
    const std::uint64_t top = heap.top();
    heap.pop();
    const auto r = static_cast<std::uint32_t>(top >> 32);
    const auto p = static_cast<std::uint32_t>(top);
    if (!alive[p] || nxt[p] >= n || rank_of(id[p], id[nxt[p]]) != r) continue;
    const std::uint32_t q = nxt[p];
    id[p] = static_cast<token_t>(256 + r);
    alive[q] = 0;
    nxt[p] = nxt[q];
    if (nxt[q] < n) prv[nxt[q]] = p;
    if (p > 0) push(prv[p]);
    if (nxt[p] < n) push(p);
  }
  for (std::size_t i = 0; i < n; i = nxt[i]) out.push_back(id[i]);
}

inline void BpeTokenizer::encode_chunk(std::string_view chunk, std::vector<token_t>& out) const {
  if (chunk.size() <= kShortChunk) encode_chunk_short(chunk, out);
  else encode_chunk_long(chunk, out);
}

inline void BpeTokenizer::encode_append(std::string_view text, std::vector<token_t>& out, bool allow_special) const {
  // Chunk cache for this call: natural text repeats a few thousand chunks over and over. Keys
  // point into `text`, which outlives the call. Values are (offset, length) into `store`.
  std::unordered_map<std::string_view, std::pair<std::uint32_t, std::uint32_t>> cache;
  std::vector<token_t> store;
  auto on_text = [&](std::string_view piece) {
    for_each_pretoken(piece, [&](std::string_view c) {
      if (c.size() == 1) {
        out.push_back(static_cast<unsigned char>(c[0]));
        return;
      }
      auto it = cache.find(c);
      if (it != cache.end()) {
        out.insert(out.end(), store.begin() + it->second.first,
                   store.begin() + it->second.first + it->second.second);
        return;
      }
      const std::size_t before = out.size();
      encode_chunk(c, out);
      if (cache.size() >= (1u << 20) || store.size() >= (1u << 26)) {  // bound memory on odd inputs
        cache.clear();
        store.clear();
      }
      cache.emplace(c, std::make_pair(static_cast<std::uint32_t>(store.size()),
                                      static_cast<std::uint32_t>(out.size() - before)));
      store.insert(store.end(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
    });
  };
  if (allow_special) {
    const token_t first_special = static_cast<token_t>(256 + merges_.size());
    detail::split_specials(text, specials_, on_text,
                           [&](std::size_t i) { out.push_back(first_special + static_cast<token_t>(i)); });
  } else if (!text.empty()) {
    on_text(text);
  }
}

// ---- training
inline BpeTokenizer BpeTokenizer::train(std::span<const std::string_view> texts, const BpeTrainOptions& opt) {
  BILIN_CHECK(opt.vocab_size >= 256 + opt.special_tokens.size(), "bpe_train", "vocab_size ", opt.vocab_size,
              " is smaller than 256 bytes + ", opt.special_tokens.size(), " special tokens");
  const std::size_t target_merges = opt.vocab_size - 256 - opt.special_tokens.size();

  // 1. Distinct chunks with their frequencies (specials cut the text and are never counted).
  std::unordered_map<std::string_view, std::uint64_t> freq;
  for (std::string_view t : texts)
    detail::split_specials(
        t, opt.special_tokens, [&](std::string_view piece) { for_each_pretoken(piece, [&](std::string_view c) { ++freq[c]; }); },
        [](std::size_t) {});
  // Sorted so that word indices (and hence everything below) never depend on hash order.
  std::vector<std::pair<std::string_view, std::uint64_t>> uniq(freq.begin(), freq.end());
  freq = {};
  std::sort(uniq.begin(), uniq.end());

  std::vector<std::vector<token_t>> words;
  std::vector<std::int64_t> wfreq;
  for (const auto& [s, f] : uniq) {
    if (s.size() < 2) continue;  // a single byte has no pair
    words.emplace_back(s.begin(), s.end());
    for (auto& x : words.back()) x = static_cast<unsigned char>(x);
    wfreq.push_back(static_cast<std::int64_t>(f));
  }
  uniq = {};

  // 2. Pair counts and, per pair, the words that contain it (may hold stale entries; a word
  //    is re-checked when the pair is merged).
  struct PairInfo {
    std::int64_t count = 0;
    std::vector<std::uint32_t> words;
  };
  std::unordered_map<std::uint64_t, PairInfo> pairs;
  for (std::uint32_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      PairInfo& p = pairs[detail::pair_key(s[i], s[i + 1])];
      p.count += wfreq[w];
      if (p.words.empty() || p.words.back() != w) p.words.push_back(w);
    }
  }

  // 3. Max-heap of (count, pair) with lazy invalidation: counts of existing pairs only go
  //    down, so an entry whose count is out of date is re-pushed with the current one when it
  //    surfaces. Ties: smaller pair key = lexicographically smaller (a, b) comes first.
  struct Entry {
    std::int64_t count;
    std::uint64_t key;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : key > o.key; }
  };
  std::priority_queue<Entry> heap;
  for (const auto& [k, p] : pairs) heap.push({p.count, k});

  std::vector<Merge> merges;
  merges.reserve(target_merges);
  std::vector<std::uint32_t> seen(words.size(), 0xFFFFFFFFu);
  std::vector<std::pair<std::uint64_t, std::int64_t>> delta;
  std::vector<token_t> merged;
  while (merges.size() < target_merges && !heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    auto it = pairs.find(top.key);
    const std::int64_t cur = it == pairs.end() ? 0 : it->second.count;
    if (cur != top.count) {
      if (cur > 0) heap.push({cur, top.key});
      continue;
    }
    if (cur < static_cast<std::int64_t>(std::max<std::uint64_t>(opt.min_pair_count, 1))) break;
    const token_t a = static_cast<token_t>(top.key >> 32), b = static_cast<token_t>(top.key);
    const token_t t = static_cast<token_t>(256 + merges.size());
    const auto stamp = static_cast<std::uint32_t>(merges.size());
    merges.emplace_back(a, b);

    std::vector<std::uint32_t> affected = std::move(it->second.words);
    pairs.erase(it);
    delta.clear();
    for (std::uint32_t w : affected) {
      if (seen[w] == stamp) continue;
      seen[w] = stamp;
      auto& s = words[w];
      merged.clear();
      for (std::size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          merged.push_back(t);
          i += 2;
        } else {
          merged.push_back(s[i++]);
        }
      }
      if (merged.size() == s.size()) continue;  // stale entry: the word no longer has (a, b)
      const std::int64_t f = wfreq[w];
      for (std::size_t i = 0; i + 1 < s.size(); ++i) delta.emplace_back(detail::pair_key(s[i], s[i + 1]), -f);
      for (std::size_t i = 0; i + 1 < merged.size(); ++i) {
        const std::uint64_t k = detail::pair_key(merged[i], merged[i + 1]);
        delta.emplace_back(k, f);
        if (merged[i] == t || merged[i + 1] == t) {
          auto& ws = pairs[k].words;
          if (ws.empty() || ws.back() != w) ws.push_back(w);
        }
      }
      s.swap(merged);
    }
    std::sort(delta.begin(), delta.end());
    for (std::size_t i = 0; i < delta.size();) {
      const std::uint64_t k = delta[i].first;
      std::int64_t d = 0;
      for (; i < delta.size() && delta[i].first == k; ++i) d += delta[i].second;
      if (d == 0 || k == top.key) continue;
      auto pit = pairs.find(k);
      if (pit == pairs.end()) pit = pairs.emplace(k, PairInfo{}).first;
      pit->second.count += d;
      if (pit->second.count <= 0) pairs.erase(pit);
      else if (d > 0) heap.push({pit->second.count, k});  // only pairs with the new id grow
    }
  }
  return BpeTokenizer(std::move(merges), opt.special_tokens);
}

// ---- files
inline std::string BpeTokenizer::serialize() const {
  std::string s;
  s.reserve(32 + merges_.size() * 12);
  s += msg(kMagic, ' ', kVersion, "\npretokenizer ", kPretokenizer, "\nvocab_size ", vocab_size(), "\nmerges ",
           merges_.size(), "\nspecials ", specials_.size(), '\n');
  for (const auto& [a, b] : merges_) {
    s += std::to_string(a);
    s += ' ';
    s += std::to_string(b);
    s += '\n';
  }
  for (const auto& sp : specials_) s += "special " + detail::escape_bytes(sp) + '\n';
  s += "end\n";
  return s;
}

inline BpeTokenizer BpeTokenizer::parse(std::string_view content, const std::string& source) {
  std::size_t pos = 0, line_no = 0;
  bool unterminated = false;  // the current line runs into the end of the file
  auto fail_at = [&](std::size_t line, const std::string& what) -> Error {
    return Error("load_bpe", msg(source, ':', line, ": ", what,
                                 unterminated ? " (the file ends mid-line: truncated?)" : ""));
  };
  auto fail = [&](const std::string& what) -> Error { return fail_at(line_no, what); };
  // Next non-comment line; false at end of input.
  auto next_line = [&](std::string_view& line) {
    while (pos < content.size()) {
      const std::size_t e = content.find('\n', pos);
      const std::size_t end = e == std::string_view::npos ? content.size() : e;
      unterminated = e == std::string_view::npos;
      line = content.substr(pos, end - pos);
      pos = e == std::string_view::npos ? content.size() : e + 1;
      ++line_no;
      if (!line.empty() && line[0] == '#') continue;
      return true;
    }
    ++line_no;
    return false;
  };
  auto parse_u64 = [&](std::string_view txt, const char* what) {
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(txt.data(), txt.data() + txt.size(), v);
    if (txt.empty() || ec != std::errc() || p != txt.data() + txt.size())
      throw fail(msg("expected a non-negative integer for ", what, ", got '", txt, "'"));
    return v;
  };
  std::string_view line;
  auto header = [&](std::string_view key) {
    if (!next_line(line)) throw fail(msg("file ends before the '", key, "' line (truncated?)"));
    if (line.substr(0, key.size() + 1) != msg(key, ' '))
      throw fail(msg("expected '", key, " <value>', got '", line.substr(0, 60), "'"));
    return line.substr(key.size() + 1);
  };

  if (!next_line(line)) throw fail("empty file (expected 'bilin-bpe 1')");
  {
    const std::string magic = msg(kMagic, ' ');
    if (line.substr(0, magic.size()) != magic)
      throw fail(msg("bad magic: expected '", kMagic, ' ', kVersion, "', got '", line.substr(0, 60),
                     "' (not a bilin BPE tokenizer file)"));
    const std::uint64_t ver = parse_u64(line.substr(magic.size()), "the format version");
    if (ver != static_cast<std::uint64_t>(kVersion))
      throw fail(msg("unsupported format version ", ver, " (this build reads version ", kVersion, ")"));
  }
  const std::string_view pre = header("pretokenizer");
  if (pre != kPretokenizer)
    throw fail(msg("unknown pretokenizer '", pre, "' (this build implements '", kPretokenizer, "')"));
  const std::uint64_t vocab = parse_u64(header("vocab_size"), "vocab_size");
  const std::size_t vocab_line = line_no;
  const std::uint64_t n_merges = parse_u64(header("merges"), "merges");
  const std::uint64_t n_specials = parse_u64(header("specials"), "specials");
  if (n_merges > (1u << 26) || n_specials > (1u << 16))
    throw fail(msg("implausible counts: ", n_merges, " merges, ", n_specials, " specials"));
  if (n_merges * 4 + n_specials * 10 > content.size())
    throw fail(msg("the header claims ", n_merges, " merges and ", n_specials, " specials, which need at least ",
                   n_merges * 4 + n_specials * 10, " bytes, but the file has ", content.size(), " (truncated?)"));
  if (vocab != 256 + n_merges + n_specials)
    throw fail_at(vocab_line, msg("vocab_size ", vocab, " != 256 + merges ", n_merges, " + specials ", n_specials));

  std::vector<Merge> merges;
  merges.reserve(n_merges);
  std::vector<std::uint32_t> token_len(256, 1);  // byte length of each id defined so far
  token_len.reserve(256 + n_merges);
  std::uint64_t vocab_bytes = 256;
  std::unordered_map<std::uint64_t, std::size_t> first_line;
  for (std::uint64_t k = 0; k < n_merges; ++k) {
    if (!next_line(line)) throw fail(msg("file ends after ", k, " of ", n_merges, " merges (truncated?)"));
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) throw fail(msg("merge ", k, ": expected two token ids '<a> <b>', got '", line.substr(0, 60), "'"));
    const std::uint64_t a = parse_u64(line.substr(0, sp), "a merge's first id");
    const std::uint64_t b = parse_u64(line.substr(sp + 1), "a merge's second id");
    if (a >= 256 + k || b >= 256 + k)
      throw fail(msg("merge ", k, " (", a, ", ", b, ") references id ", std::max(a, b),
                     ", which is not defined before this merge (ids < ", 256 + k, ")"));
    const auto [fit, fresh] = first_line.emplace(detail::pair_key(static_cast<token_t>(a), static_cast<token_t>(b)), line_no);
    if (!fresh) throw fail(msg("duplicate merge (", a, ", ", b, "), first given on line ", fit->second));
    const std::uint64_t len = std::uint64_t{token_len[a]} + token_len[b];
    if (len > kMaxTokenBytes)
      throw fail(msg("merge ", k, " (", a, ", ", b, ") makes a token of ", len, " bytes, over the ", kMaxTokenBytes,
                     "-byte limit"));
    vocab_bytes += len;
    if (vocab_bytes > kMaxVocabBytes)
      throw fail(msg("merge ", k, " brings the vocabulary to ", vocab_bytes, " bytes, over the ", kMaxVocabBytes,
                     "-byte limit"));
    token_len.push_back(static_cast<std::uint32_t>(len));
    merges.emplace_back(static_cast<token_t>(a), static_cast<token_t>(b));
  }
  std::vector<std::string> specials;
  for (std::uint64_t i = 0; i < n_specials; ++i) {
    if (!next_line(line)) throw fail(msg("file ends after ", i, " of ", n_specials, " special tokens (truncated?)"));
    if (line.substr(0, 8) != "special ") throw fail(msg("expected 'special <text>', got '", line.substr(0, 60), "'"));
    std::string text;
    if (!detail::unescape_bytes(line.substr(8), text)) throw fail("malformed %XX escape in special token");
    if (text.empty()) throw fail("empty special token");
    for (const auto& s : specials)
      if (s == text) throw fail(msg("duplicate special token '", line.substr(8), "'"));
    specials.push_back(std::move(text));
  }
  if (!next_line(line)) throw fail("missing 'end' line (truncated file?)");
  if (line != "end") throw fail(msg("expected 'end', got '", line.substr(0, 60), "' (counts in the header wrong?)"));
  while (pos < content.size()) {
    if (!next_line(line)) break;
    if (!line.empty()) throw fail("unexpected content after 'end'");
  }
  return BpeTokenizer(std::move(merges), std::move(specials));
}

}  // namespace bilin::data
