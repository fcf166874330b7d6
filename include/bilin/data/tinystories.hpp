// bilin/data/tinystories.hpp — train_tinylm's TinyStories preparation: a BPE tokenizer and the
// train / validation token arrays, cached on disk.
//
// Contract: prepare_tinystories(dir, vocab, cache_dir, verbose) trains the BPE tokenizer on the
// training stories (each story followed by <|endoftext|>) unless a cached one exists; the train
// and validation texts (validation with blank lines collapsed, see collapse_blank_lines) are
// encoded once and stored as token caches (data/token_cache.hpp, validated on load; a cache that
// fails validation is re-encoded with a warning on stderr). A missing source file throws
// bilin::Error naming it. verbose: one progress line per step on stderr.
// Cache files live in `cache_dir` and carry a key made of the vocabulary size and the sizes of
// the source files, so a changed corpus or vocabulary never reuses a stale cache:
//   tinystories-bpe<V>-<key>.txt, tinystories-bpe<V>-<key>-{train,val}.tok
// data/text.hpp's prepare_tinystories_bpe is a different preparation (the validation head as one
// document, the tokenizer trained on the joined text); checkpoints made with this one need this
// one's tokenizer and token ids, so the two stay apart.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "bpe.hpp"
#include "text.hpp"
#include "token_cache.hpp"

namespace bilin::data {

// The validation head separates paragraphs (and stories) by blank lines where the training files
// use one newline; collapsing blank lines gives the validation text the layout the model is
// trained on, so the validation loss is not inflated by a "\n\n" it never saw.
inline std::string collapse_blank_lines(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '\n')
      while (i + 1 < s.size() && s[i + 1] == '\n') ++i;
  }
  return out;
}

struct LmData {
  BpeTokenizer tokenizer;
  std::string tokenizer_path;
  std::vector<token_t> train, val;
};

inline LmData prepare_tinystories(const std::string& dir, std::size_t vocab, const std::string& cache_dir,
                                  bool verbose = true) {
  namespace fs = std::filesystem;
  std::uint64_t key = 1469598103934665603ull;  // FNV-1a over (file name, size)
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) key = (key ^ c) * 1099511628211ull;
  };
  std::vector<std::string> files = tinystories_train_files();
  files.push_back(tinystories_val_file());
  mix("val:collapse-blank-lines");
  for (const auto& f : files) {
    const std::string p = dir + "/" + f;
    BILIN_CHECK(fs::exists(p), "train_tinylm", "missing data file '", p,
                "' (pass --data DIR holding the TinyStories files, see ../shared/data/README.md)");
    mix(f + ":" + std::to_string(fs::file_size(p)));
  }
  char keyhex[17];
  std::snprintf(keyhex, sizeof keyhex, "%016llx", static_cast<unsigned long long>(key));
  fs::create_directories(cache_dir);
  const std::string stem = cache_dir + "/tinystories-bpe" + std::to_string(vocab) + "-" + keyhex;
  LmData out;
  out.tokenizer_path = stem + ".txt";
  const std::string train_path = stem + "-train.tok", val_path = stem + "-val.tok";
  const auto t0 = std::chrono::steady_clock::now();
  const auto since_t0 = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  TextCorpus corpus;
  bool have_corpus = false;
  auto corpus_ref = [&]() -> TextCorpus& {
    if (!have_corpus) corpus = load_tinystories(dir), have_corpus = true;
    return corpus;
  };
  if (fs::exists(out.tokenizer_path)) {
    out.tokenizer = BpeTokenizer::load(out.tokenizer_path);
    if (verbose) std::fprintf(stderr, "tokenizer: loaded %s (vocab %zu)\n", out.tokenizer_path.c_str(), out.tokenizer.vocab_size());
  } else {
    std::vector<std::string_view> views;
    std::vector<std::string> with_eot;
    for (const auto& s : corpus_ref().train) with_eot.push_back(s + kEndOfText);
    for (const auto& s : with_eot) views.push_back(s);
    BpeTrainOptions o;
    o.vocab_size = vocab;
    out.tokenizer = BpeTokenizer::train(views, o);
    out.tokenizer.save(out.tokenizer_path);
    if (verbose)
      std::fprintf(stderr, "tokenizer: trained vocab %zu on %zu stories in %.1f s -> %s\n", out.tokenizer.vocab_size(),
                   corpus_ref().train.size(), since_t0(), out.tokenizer_path.c_str());
  }
  auto load_or_encode = [&](const std::string& path, bool is_train) {
    if (fs::exists(path)) {
      try {
        TokenCache c = TokenCache::open(path);
        BILIN_CHECK(c.vocab_size() == out.tokenizer.vocab_size(), "train_tinylm", "token cache '", path,
                    "' was made for vocab ", c.vocab_size(), ", the tokenizer has ", out.tokenizer.vocab_size());
        return c.to_vector();
      } catch (const Error& e) {
        std::fprintf(stderr, "warning: ignoring token cache: %s; re-encoding\n", e.what());
      }
    }
    std::vector<std::string> docs = is_train ? corpus_ref().train : corpus_ref().val;
    if (!is_train)
      for (auto& doc : docs) doc = collapse_blank_lines(doc);
    std::vector<token_t> ids = out.tokenizer.encode(join_documents(docs, kEndOfText));
    write_token_cache(path, ids, out.tokenizer.vocab_size());
    return ids;
  };
  out.train = load_or_encode(train_path, true);
  out.val = load_or_encode(val_path, false);
  if (verbose)
    std::fprintf(stderr, "data: %zu train tokens, %zu val tokens (%.1f s)\n", out.train.size(), out.val.size(),
                 since_t0());
  return out;
}

}  // namespace bilin::data
