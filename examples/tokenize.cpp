// tokenize — train a tokenizer on a corpus, save it, and write train/val token caches.
//
//   tokenize [--data DIR] [--vocab N] [--out DIR] [--tokenizer FILE]
//            [--train FILE,FILE,...] [--val FILE] [--val-fraction F --seed S] [--char]   (--help)
//
// Default: the TinyStories subset in DIR (BILIN_DATA_DIR/tinystories), split by file (train =
// the three train files' stories, val = the valid head as running text), a byte-level BPE with
// vocab 4096 trained on the train stories. Writes OUT/tokenizer.bpe (or tokenizer.chars),
// OUT/train.tok and OUT/val.tok (token caches: documents joined with <|endoftext|>), prints
// timings and bytes/token, and ends with one JSON line.
//   --train/--val       other text files (stories cut at "<|endoftext|>" lines when present)
//   --val-fraction F    split the train documents by story (seed S) instead of using --val
//   --tokenizer FILE    reuse a saved BPE instead of training one
//   --char              character-level tokenizer (e.g. --train tinyshakespeare/input.txt);
//                       without --val the text is split 90/10 by position
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bilin/data/bpe.hpp"
#include "bilin/data/char_tokenizer.hpp"
#include "bilin/data/text.hpp"
#include "bilin/data/token_cache.hpp"
#include "bilin/io/flags.hpp"

using namespace bilin::data;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

// What the flags ask for.
struct Options {
  std::string data, tokenizer_file, val_file, out;
  std::vector<std::string> train_files;
  std::size_t vocab = 4096;
  double val_fraction = -1;
  std::uint64_t seed = 0;
  bool char_level = false;
};

// Returns false after --help.
bool parse(int argc, char** argv, Options& o) {
  bilin::Flags f("tokenize", "Train a tokenizer on a corpus, save it, and write train/val token caches.");
  f.value("data", BILIN_DATA_DIR "/tinystories", "folder holding the TinyStories files", "DIR")
      .value("vocab", "4096", "BPE vocabulary size", "N")
      .value("out", "", "output folder (default tokenized_bpe<vocab>, or tokenized_char with --char)", "DIR")
      .value("tokenizer", "", "reuse a saved BPE instead of training one", "FILE")
      .value("train", "", "other training text files (stories cut at <|endoftext|> lines)", "F1,F2,...")
      .value("val", "", "validation text file", "FILE")
      .value("val-fraction", "-1", "split the train documents by story instead (fraction to validation)", "F")
      .value("seed", "0", "seed of the --val-fraction split", "S")
      .toggle("char", "character-level tokenizer (without --val the text is split 90/10 by position)");
  if (!f.parse(argc, argv)) return false;
  o.data = f.str("data");
  o.tokenizer_file = f.str("tokenizer");
  o.val_file = f.str("val");
  o.out = f.str("out");
  o.train_files = f.list("train");
  const long long vocab_flag = f.integer("vocab");
  BILIN_CHECK(vocab_flag > 0, "tokenize", "--vocab must be positive, got ", vocab_flag);
  o.vocab = static_cast<std::size_t>(vocab_flag);
  o.val_fraction = f.real("val-fraction");
  o.seed = static_cast<std::uint64_t>(f.integer("seed"));
  o.char_level = f.on("char");
  if (o.out.empty()) o.out = o.char_level ? "tokenized_char" : "tokenized_bpe" + std::to_string(o.vocab);
  return true;
}

// The train / validation documents: TinyStories split by file, or the given files.
TextCorpus load_documents(const Options& o) {
  const auto& train_files = o.train_files;
  const auto& val_file = o.val_file;
  TextCorpus corpus;
  if (train_files.empty() && !o.char_level) {
    corpus = load_tinystories(o.data);
    if (!val_file.empty()) corpus.val = split_stories(bilin::io::read_file(val_file));
  } else {
    if (train_files.empty()) throw bilin::Error("tokenize", "--char needs --train FILE");
    for (const auto& file : train_files)
      for (auto& s : split_stories(bilin::io::read_file(file))) corpus.train.push_back(std::move(s));
    if (!val_file.empty()) corpus.val = split_stories(bilin::io::read_file(val_file));
  }
  if (o.val_fraction >= 0) corpus = split_documents(std::move(corpus.train), o.val_fraction, o.seed);
  return corpus;
}

// The encoded corpus and what the summary reports about it.
struct Encoded {
  std::vector<token_t> train_ids, val_ids;
  std::size_t train_bytes = 0, val_bytes = 0;
  double train_tok_s = 0, encode_s = 0;
  std::string tok_path;
  std::size_t vocab_size = 0;
};

// Encodes both texts with the tokenizer, timing it.
template <class Tokenizer>
void encode_texts(const Tokenizer& tok, const std::string& train_text, const std::string& val_text, Encoded& e) {
  const auto t0 = Clock::now();
  e.train_ids = tok.encode(train_text);
  e.val_ids = tok.encode(val_text);
  e.encode_s = since(t0);
  e.train_bytes = train_text.size();
  e.val_bytes = val_text.size();
  e.vocab_size = tok.vocab_size();
}

// Character level: one document is the whole file; the 90/10 position split is the usual one.
Encoded encode_chars(const TextCorpus& corpus, const Options& o) {
  Encoded e;
  const std::string& out = o.out;
  Clock::time_point t0;
  std::string train_text, val_text;
  for (const auto& d : corpus.train) train_text += d + "\n";
  for (const auto& d : corpus.val) val_text += d + "\n";
  if (val_text.empty()) {
    const auto [a, b] = split_text(train_text, 0.9);
    val_text = std::string(b);
    train_text = std::string(a);
  }
  t0 = Clock::now();
  const auto tok = CharTokenizer::fit(train_text);
  e.train_tok_s = since(t0);
  e.tok_path = out + "/tokenizer.chars";
  tok.save(e.tok_path);
  encode_texts(tok, train_text, val_text, e);
  return e;
}

// Byte-level BPE, trained on the train documents (or loaded); the round trip is checked.
Encoded encode_bpe(const TextCorpus& corpus, const Options& o) {
  Encoded e;
  const std::string& out = o.out;
  Clock::time_point t0;
  const std::string train_text = join_documents(corpus.train), val_text = join_documents(corpus.val);
  BpeTokenizer tok;
  if (!o.tokenizer_file.empty()) {
    tok = BpeTokenizer::load(o.tokenizer_file);
    e.tok_path = o.tokenizer_file;
  } else {
    BpeTrainOptions opt;
    opt.vocab_size = o.vocab;
    t0 = Clock::now();
    tok = BpeTokenizer::train(train_text, opt);
    e.train_tok_s = since(t0);
    e.tok_path = out + "/tokenizer.bpe";
    tok.save(e.tok_path);
  }
  encode_texts(tok, train_text, val_text, e);
  if (tok.decode(e.train_ids) != train_text || tok.decode(e.val_ids) != val_text)
    throw bilin::Error("tokenize", "round trip failed (a bug: please report)");
  return e;
}

}  // namespace

int main(int argc, char** argv) try {
  Options o;
  if (!parse(argc, argv, o)) return 0;
  const std::string& out = o.out;
  std::filesystem::create_directories(out);
  auto t0 = Clock::now();
  const TextCorpus corpus = load_documents(o);
  const double load_s = since(t0);
  const Encoded e = o.char_level ? encode_chars(corpus, o) : encode_bpe(corpus, o);
  const auto& [train_ids, val_ids, train_bytes, val_bytes, train_tok_s, encode_s, tok_path, vocab_size] = e;
  const bool char_level = o.char_level;
  const std::string& tokenizer_file = o.tokenizer_file;
  t0 = Clock::now();
  write_token_cache(out + "/train.tok", train_ids, vocab_size);
  write_token_cache(out + "/val.tok", val_ids, vocab_size);
  const double write_s = since(t0);
  t0 = Clock::now();
  const auto check = TokenCache::open(out + "/train.tok");  // validate what was written
  const double open_s = since(t0);

  const double mb = static_cast<double>(train_bytes + val_bytes) / 1e6;
  std::printf("documents: %zu train, %zu val (loaded in %.3f s)\n", corpus.train.size(), corpus.val.size(), load_s);
  std::printf("tokenizer: %s, vocab %zu, %s in %.3f s -> %s\n", char_level ? "char" : "byte-level BPE", vocab_size,
              tokenizer_file.empty() ? "trained" : "loaded", train_tok_s, tok_path.c_str());
  std::printf("encode: %.2f MB in %.3f s = %.1f MB/s\n", mb, encode_s, mb / encode_s);
  std::printf("train: %zu bytes -> %zu tokens (%.3f bytes/token) -> %s/train.tok\n", train_bytes, train_ids.size(),
              static_cast<double>(train_bytes) / static_cast<double>(train_ids.size()), out.c_str());
  std::printf("val:   %zu bytes -> %zu tokens (%.3f bytes/token) -> %s/val.tok\n", val_bytes, val_ids.size(),
              static_cast<double>(val_bytes) / static_cast<double>(val_ids.size()), out.c_str());
  std::printf("caches written in %.3f s; train.tok re-opened and validated (%zu x %u-byte ids) in %.4f s\n", write_s,
              check.size(), check.id_bytes(), open_s);
  std::printf(
      "{\"tokenizer\": %s, \"vocab_size\": %zu, \"train_tokens\": %zu, \"val_tokens\": %zu, "
      "\"train_bytes_per_token\": %.4f, \"val_bytes_per_token\": %.4f, \"tokenizer_train_seconds\": %.4f, "
      "\"encode_mb_per_s\": %.2f, \"train_cache\": %s, \"val_cache\": %s}\n",
      json_str(tok_path).c_str(), vocab_size, train_ids.size(), val_ids.size(),
      static_cast<double>(train_bytes) / static_cast<double>(train_ids.size()),
      static_cast<double>(val_bytes) / static_cast<double>(val_ids.size()), train_tok_s, mb / encode_s,
      json_str(out + "/train.tok").c_str(), json_str(out + "/val.tok").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tokenize: %s\n", e.what());
  return 1;
}
