// bilin/data/text.hpp — text corpora for language models: TinyStories files, train/validation
// splits, and a seeded sampler of random (inputs, targets) windows from a token array.
//
// Contract:
// - split_stories(text, marker): a story ends with a line that is exactly `marker`
//   ("<|endoftext|>" in TinyStories). Each story is the text between marker lines with leading
//   and trailing whitespace removed; blank stories are dropped; non-blank text after the last
//   marker is kept as a final story. A file without markers is one document (running text).
// - join_documents(docs, sep) = docs[0] + sep + docs[1] + sep + ... + docs[n-1] + sep: every
//   document, including the last, is followed by `sep` (a BPE special token such as
//   "<|endoftext|>", which encodes to one id), so a model sees where each story ends.
// - load_tinystories(dir) splits BY FILE: train = the stories of TinyStories-train-head.txt,
//   -train-part01.txt, -train-part02.txt in that order (the README guarantees they are disjoint
//   from the validation head); val = TinyStories-valid-head.txt as ONE document of running text
//   (its story boundaries are not marked). A missing file throws bilin::Error naming its path.
// - split_documents(docs, val_fraction, seed) splits BY STORY instead: a seeded Fisher–Yates
//   shuffle (bilin::Generator, so identical on every platform) picks round(val_fraction * n)
//   documents for validation (at least one when val_fraction > 0 and n >= 2, never all); both
//   halves keep the original document order. split_text(text, train_fraction) cuts running
//   text at a byte position (the usual 90/10 Tiny Shakespeare split).
// - WindowSampler(tokens, ctx, seed) draws windows of ctx+1 consecutive tokens whose start is
//   uniform in [0, n - ctx - 1] (Generator::randint(n - ctx), one draw per row, rows in order);
//   inputs = window[0..ctx), targets = window[1..ctx]. next(B) returns int64 tensors of shape
//   [B, ctx] (row-major, contiguous); fill(B, in, tgt) writes the same numbers into caller
//   buffers of any integer type (int32 / int64). Same seed (or same saved state) → same batches.
//   The sampler keeps a view of `tokens`: the array must outlive it.
// - eval_window_starts(n, ctx, max) gives evenly spaced, non-overlapping window starts that
//   cover the array from the beginning (deterministic validation batches); batch_at() builds a
//   batch from explicit starts.
// - prepare_tinystories_bpe(data_dir, vocab, cache_dir) is the one call a trainer needs: the
//   BPE tokenizer (trained on the train stories, vocab `vocab`, special "<|endoftext|>") and the
//   train/val token arrays (documents joined with that special). Results are cached in
//   cache_dir as tinystories_bpe<V>.{bpe,train.tok,val.tok,manifest}; the manifest records a
//   CRC-32 of the source files, the vocab and the pretokenizer, and is written last, so a cache
//   is reused only when it was completed for exactly these inputs. A stale, partial or corrupt
//   cache is rebuilt (it is derived data); an empty cache_dir disables caching.
// - prepare_char_corpus(path, train_fraction) fits a CharTokenizer on the first
//   train_fraction of the file and encodes both parts (throws if the validation part has a
//   character the training part lacks).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <filesystem>

#include "bilin/core/error.hpp"
#include "bilin/core/random.hpp"
#include "bilin/core/tensor.hpp"
#include "bilin/data/bpe.hpp"
#include "bilin/data/char_tokenizer.hpp"
#include "bilin/data/token_cache.hpp"
#include "bilin/io/atomic_file.hpp"

namespace bilin::data {

using token_t = std::uint32_t;  // same alias as in bpe.hpp / token_cache.hpp

inline constexpr const char* kEndOfText = "<|endoftext|>";

namespace detail {
inline std::string_view trim_ws(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}
}  // namespace detail

inline std::vector<std::string> split_stories(std::string_view text, std::string_view marker = kEndOfText) {
  BILIN_CHECK(!marker.empty(), "split_stories", "empty marker");
  std::vector<std::string> out;
  std::size_t story_begin = 0, line_begin = 0;
  auto emit = [&](std::size_t end) {
    const std::string_view s = detail::trim_ws(text.substr(story_begin, end - story_begin));
    if (!s.empty()) out.emplace_back(s);
  };
  while (line_begin < text.size()) {
    const std::size_t e = text.find('\n', line_begin);
    const std::size_t line_end = e == std::string_view::npos ? text.size() : e;
    if (text.substr(line_begin, line_end - line_begin) == marker) {
      emit(line_begin);
      story_begin = e == std::string_view::npos ? text.size() : e + 1;
    }
    line_begin = e == std::string_view::npos ? text.size() : e + 1;
  }
  emit(text.size());
  return out;
}

inline std::string join_documents(const std::vector<std::string>& docs, std::string_view sep = kEndOfText) {
  std::size_t total = 0;
  for (const auto& d : docs) total += d.size() + sep.size();
  std::string out;
  out.reserve(total);
  for (const auto& d : docs) {
    out += d;
    out += sep;
  }
  return out;
}

struct TextCorpus {
  std::vector<std::string> train;  // documents (stories)
  std::vector<std::string> val;
};

inline const std::vector<std::string>& tinystories_train_files() {
  static const std::vector<std::string> f{"TinyStories-train-head.txt", "TinyStories-train-part01.txt",
                                          "TinyStories-train-part02.txt"};
  return f;
}
inline const char* tinystories_val_file() { return "TinyStories-valid-head.txt"; }

// `dir` is the folder holding the TinyStories files (BILIN_DATA_DIR "/tinystories").
inline TextCorpus load_tinystories(const std::string& dir) {
  TextCorpus c;
  for (const auto& f : tinystories_train_files()) {
    auto stories = split_stories(io::read_file(dir + "/" + f));
    BILIN_CHECK(!stories.empty(), "load_tinystories", "'", dir, "/", f, "' holds no story");
    for (auto& s : stories) c.train.push_back(std::move(s));
  }
  const std::string val = io::read_file(dir + "/" + tinystories_val_file());
  const std::string_view v = detail::trim_ws(val);
  BILIN_CHECK(!v.empty(), "load_tinystories", "'", dir, "/", tinystories_val_file(), "' is empty");
  c.val.emplace_back(v);
  return c;
}

inline TextCorpus split_documents(std::vector<std::string> docs, double val_fraction, std::uint64_t seed) {
  BILIN_CHECK(val_fraction >= 0 && val_fraction < 1, "split_documents", "val_fraction ", val_fraction,
              " is not in [0, 1)");
  const std::size_t n = docs.size();
  std::size_t n_val = static_cast<std::size_t>(std::llround(val_fraction * static_cast<double>(n)));
  if (val_fraction > 0 && n >= 2) n_val = std::clamp<std::size_t>(n_val, 1, n - 1);
  std::vector<std::size_t> perm(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = i;
  Generator gen(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[gen.randint(i)]);
  std::vector<char> is_val(n, 0);
  for (std::size_t i = 0; i < n_val; ++i) is_val[perm[i]] = 1;
  TextCorpus c;
  for (std::size_t i = 0; i < n; ++i) (is_val[i] ? c.val : c.train).push_back(std::move(docs[i]));
  return c;
}

inline std::pair<std::string_view, std::string_view> split_text(std::string_view text, double train_fraction) {
  BILIN_CHECK(train_fraction >= 0 && train_fraction <= 1, "split_text", "train_fraction ", train_fraction,
              " is not in [0, 1]");
  const auto cut = static_cast<std::size_t>(std::floor(train_fraction * static_cast<double>(text.size())));
  return {text.substr(0, cut), text.substr(cut)};
}

// ------------------------------------------------------------------ windows
struct TokenBatch {
  Tensor<std::int64_t> inputs;   // [B, ctx]
  Tensor<std::int64_t> targets;  // [B, ctx]: targets[b][t] = inputs[b][t + 1] within the window
};

// Copies windows starting at `starts` (each needs ctx+1 tokens) into row-major buffers.
template <class I>
void fill_windows(std::span<const token_t> tokens, index_t ctx, std::span<const std::uint64_t> starts, I* inputs,
                  I* targets) {
  for (std::size_t b = 0; b < starts.size(); ++b) {
    BILIN_CHECK(starts[b] + static_cast<std::uint64_t>(ctx) < tokens.size(), "fill_windows", "window ", b,
                " starting at ", starts[b], " needs ", ctx + 1, " tokens but the array has ", tokens.size());
    const token_t* w = tokens.data() + starts[b];
    I* in = inputs + static_cast<std::size_t>(b) * static_cast<std::size_t>(ctx);
    I* tg = targets + static_cast<std::size_t>(b) * static_cast<std::size_t>(ctx);
    for (index_t t = 0; t < ctx; ++t) {
      in[t] = static_cast<I>(w[t]);
      tg[t] = static_cast<I>(w[t + 1]);
    }
  }
}

inline TokenBatch batch_at(std::span<const token_t> tokens, index_t ctx, std::span<const std::uint64_t> starts) {
  BILIN_CHECK(ctx >= 1, "batch_at", "ctx must be >= 1, got ", ctx);
  const auto B = static_cast<index_t>(starts.size());
  TokenBatch b{Tensor<std::int64_t>::empty({B, ctx}), Tensor<std::int64_t>::empty({B, ctx})};
  fill_windows(tokens, ctx, starts, b.inputs.data(), b.targets.data());
  return b;
}

// Starts 0, ctx, 2ctx, ... (non-overlapping inputs; each window's last target is the next
// window's first input), at most max_windows of them, all fitting in n tokens.
inline std::vector<std::uint64_t> eval_window_starts(std::size_t n_tokens, index_t ctx, std::size_t max_windows) {
  BILIN_CHECK(ctx >= 1, "eval_window_starts", "ctx must be >= 1, got ", ctx);
  std::vector<std::uint64_t> s;
  for (std::uint64_t p = 0; p + static_cast<std::uint64_t>(ctx) < n_tokens && s.size() < max_windows;
       p += static_cast<std::uint64_t>(ctx))
    s.push_back(p);
  return s;
}

class WindowSampler {
 public:
  WindowSampler(std::span<const token_t> tokens, index_t ctx, std::uint64_t seed)
      : tokens_(tokens), ctx_(ctx), gen_(seed) {
    BILIN_CHECK(ctx >= 1, "WindowSampler", "ctx must be >= 1, got ", ctx);
    BILIN_CHECK(tokens.size() > static_cast<std::size_t>(ctx), "WindowSampler", "a window needs ctx+1 = ", ctx + 1,
                " tokens but the array has ", tokens.size());
  }

  index_t ctx() const { return ctx_; }
  std::size_t num_tokens() const { return tokens_.size(); }
  // (seed, counter) is the sampler's whole state: save it to resume a run exactly.
  std::pair<std::uint64_t, std::uint64_t> state() const { return {gen_.seed(), gen_.counter()}; }
  // Restores a state from state(). (Generator buffers up to 3 draws; state() is exact only at
  // a batch boundary where the buffer is empty, which next()/fill() guarantee.)
  void set_state(std::pair<std::uint64_t, std::uint64_t> s) { gen_.set_state(s.first, s.second); }

  std::vector<std::uint64_t> next_starts(index_t batch) {
    BILIN_CHECK(batch >= 1, "WindowSampler", "batch must be >= 1, got ", batch);
    std::vector<std::uint64_t> s(static_cast<std::size_t>(batch));
    const std::uint64_t range = tokens_.size() - static_cast<std::size_t>(ctx_);
    for (auto& x : s) x = gen_.randint(range);
    // Drop any buffered words so state() at this boundary reproduces the next batch exactly.
    gen_.set_state(gen_.seed(), gen_.counter());
    return s;
  }
  TokenBatch next(index_t batch) {
    const auto s = next_starts(batch);
    return batch_at(tokens_, ctx_, s);
  }
  template <class I>
  void fill(index_t batch, I* inputs, I* targets) {
    const auto s = next_starts(batch);
    fill_windows<I>(tokens_, ctx_, s, inputs, targets);
  }

 private:
  std::span<const token_t> tokens_;
  index_t ctx_;
  Generator gen_;
};

// ------------------------------------------------------------------ ready-to-train corpora
struct BpeCorpus {
  BpeTokenizer tokenizer;
  std::vector<token_t> train, val;
  std::string tokenizer_path;  // the saved tokenizer ("" when caching is off)
  bool reused_cache = false;
};

inline BpeCorpus prepare_tinystories_bpe(const std::string& data_dir, std::size_t vocab,
                                         const std::string& cache_dir) {
  std::vector<std::string> names = tinystories_train_files();
  names.push_back(tinystories_val_file());
  std::vector<std::string> raw;
  std::uint32_t crc = token_cache_format::crc32(nullptr, 0);
  std::uint64_t total = 0;
  for (const auto& n : names) {
    raw.push_back(io::read_file(data_dir + "/" + n));
    crc = token_cache_format::crc32(raw.back().data(), raw.back().size(), crc);
    total += raw.back().size();
  }
  const std::string manifest = msg("bilin-text-cache 1\nsource tinystories ", names.size(), " files ", total,
                                   " bytes crc32 ", crc, "\nvocab ", vocab, "\npretokenizer ",
                                   BpeTokenizer::kPretokenizer, "\n");
  const std::string stem = cache_dir + "/tinystories_bpe" + std::to_string(vocab);
  BpeCorpus c;
  if (!cache_dir.empty()) {
    c.tokenizer_path = stem + ".bpe";
    try {
      if (std::filesystem::exists(stem + ".manifest") && io::read_file(stem + ".manifest") == manifest) {
        c.tokenizer = BpeTokenizer::load(c.tokenizer_path);
        std::uint64_t vt = 0, vv = 0;
        c.train = read_token_cache(stem + ".train.tok", &vt);
        c.val = read_token_cache(stem + ".val.tok", &vv);
        if (vt == c.tokenizer.vocab_size() && vv == vt) {
          c.reused_cache = true;
          return c;
        }
      }
    } catch (const Error&) {
      // fall through: rebuild the derived files
    }
    std::filesystem::create_directories(cache_dir);
    std::filesystem::remove(stem + ".manifest");
  }
  TextCorpus docs;
  for (std::size_t i = 0; i + 1 < raw.size(); ++i)
    for (auto& s : split_stories(raw[i])) docs.train.push_back(std::move(s));
  docs.val.emplace_back(detail::trim_ws(raw.back()));
  const std::string train_text = join_documents(docs.train), val_text = join_documents(docs.val);
  BpeTrainOptions opt;
  opt.vocab_size = vocab;
  c.tokenizer = BpeTokenizer::train(train_text, opt);
  c.train = c.tokenizer.encode(train_text);
  c.val = c.tokenizer.encode(val_text);
  c.reused_cache = false;
  if (!cache_dir.empty()) {
    c.tokenizer.save(c.tokenizer_path);
    write_token_cache(stem + ".train.tok", c.train, c.tokenizer.vocab_size());
    write_token_cache(stem + ".val.tok", c.val, c.tokenizer.vocab_size());
    io::write_file_atomic(stem + ".manifest", manifest);
  }
  return c;
}

struct CharCorpus {
  CharTokenizer tokenizer;
  std::vector<token_t> train, val;
};

inline CharCorpus prepare_char_corpus(const std::string& path, double train_fraction = 0.9) {
  const std::string text = io::read_file(path);
  const auto [tr, va] = split_text(text, train_fraction);
  CharCorpus c{CharTokenizer::fit(tr), {}, {}};
  c.train = c.tokenizer.encode(tr);
  c.val = c.tokenizer.encode(va);
  return c;
}

}  // namespace bilin::data
