// Ready-to-train corpora: prepare_tinystories_bpe builds, reuses and repairs its cache;
// prepare_char_corpus gives the 90/10 Tiny Shakespeare split.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "bilin/data/text.hpp"

using namespace bilin::data;
namespace fs = std::filesystem;

TEST_CASE("prepare_tinystories_bpe: build, reuse, rebuild a corrupt or stale cache", "[text][data]") {
  const std::string data = BILIN_DATA_DIR "/tinystories";
  if (!fs::exists(data + "/" + tinystories_val_file())) {
    WARN("skipping: TinyStories files not found under " << data);
    return;
  }
  const fs::path dir = fs::temp_directory_path() / "bilin_test_text_prepare";
  fs::remove_all(dir);

  const auto first = prepare_tinystories_bpe(data, 1024, dir.string());
  CHECK_FALSE(first.reused_cache);
  CHECK(first.tokenizer.vocab_size() == 1024);
  for (const char* ext : {".bpe", ".train.tok", ".val.tok", ".manifest"})
    CHECK(fs::exists(dir / (std::string("tinystories_bpe1024") + ext)));
  // The arrays are the stories joined with <|endoftext|>, one id per story end.
  const auto corpus = load_tinystories(data);
  CHECK(first.tokenizer.decode(first.train) == join_documents(corpus.train));
  CHECK(first.tokenizer.decode(first.val) == join_documents(corpus.val));
  const token_t eot = first.tokenizer.special_id(kEndOfText);
  CHECK(static_cast<std::size_t>(std::count(first.train.begin(), first.train.end(), eot)) == corpus.train.size());

  const auto second = prepare_tinystories_bpe(data, 1024, dir.string());
  CHECK(second.reused_cache);
  CHECK(second.tokenizer.merges() == first.tokenizer.merges());
  CHECK(second.train == first.train);
  CHECK(second.val == first.val);

  {  // a flipped byte in a cache: detected by the CRC, rebuilt to the same content
    std::fstream f(dir / "tinystories_bpe1024.train.tok", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x7f');
  }
  const auto third = prepare_tinystories_bpe(data, 1024, dir.string());
  CHECK_FALSE(third.reused_cache);
  CHECK(third.train == first.train);
  CHECK(prepare_tinystories_bpe(data, 1024, dir.string()).reused_cache);

  // A manifest for other inputs (here: edited) is stale.
  std::ofstream(dir / "tinystories_bpe1024.manifest") << "bilin-text-cache 1\nsource something else\n";
  CHECK_FALSE(prepare_tinystories_bpe(data, 1024, dir.string()).reused_cache);

  // Another vocab lives beside it; no cache dir means no files.
  const auto small = prepare_tinystories_bpe(data, 512, "");
  CHECK_FALSE(small.reused_cache);
  CHECK(small.tokenizer.vocab_size() == 512);
  CHECK(small.tokenizer_path.empty());
  fs::remove_all(dir);
}

TEST_CASE("prepare_char_corpus: Tiny Shakespeare 90/10", "[text][char]") {
  const std::string path = BILIN_DATA_DIR "/tinyshakespeare/input.txt";
  if (!fs::exists(path)) {
    WARN("skipping: " << path << " not found");
    return;
  }
  const auto c = prepare_char_corpus(path, 0.9);
  CHECK(c.tokenizer.vocab_size() == 65);
  CHECK(c.train.size() == 1003854);  // floor(0.9 * 1115394)
  CHECK(c.val.size() == 1115394 - 1003854);
  CHECK(c.tokenizer.decode(c.train) + c.tokenizer.decode(c.val) == bilin::io::read_file(path));
}
