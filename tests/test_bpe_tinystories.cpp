// BPE on the TinyStories subset: vocab-4096 training is fast and deterministic, the whole
// subset round-trips byte for byte, and the compression ratio is what a word-level BPE gives.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bilin/data/bpe.hpp"
#include "bilin/data/text.hpp"

using namespace bilin::data;

namespace {
const std::string kDir = BILIN_DATA_DIR "/tinystories";

bool have_data() {
  for (const auto& f : tinystories_train_files())
    if (!std::filesystem::exists(kDir + "/" + f)) return false;
  return std::filesystem::exists(kDir + "/" + tinystories_val_file());
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

TEST_CASE("BPE at vocab 4096 on the TinyStories subset: deterministic, exact, compresses", "[bpe][data]") {
  if (!have_data()) {
    WARN("skipping: TinyStories files not found under " << kDir);
    return;
  }
  std::vector<std::string> train_raw;
  for (const auto& f : tinystories_train_files()) train_raw.push_back(bilin::io::read_file(kDir + "/" + f));
  const std::string val_raw = bilin::io::read_file(kDir + "/" + tinystories_val_file());
  const std::vector<std::string_view> train_views(train_raw.begin(), train_raw.end());

  BpeTrainOptions opt;
  opt.vocab_size = 4096;
  auto t0 = std::chrono::steady_clock::now();
  const auto tok = BpeTokenizer::train(train_views, opt);
  const double train_s = seconds_since(t0);
  REQUIRE(tok.vocab_size() == 4096);
  REQUIRE(tok.num_merges() == 4096 - 256 - 1);
  REQUIRE(tok.special_id("<|endoftext|>") == 4095);

  SECTION("training twice gives identical merges") {
    const auto again = BpeTokenizer::train(train_views, opt);
    CHECK(again.merges() == tok.merges());
    CHECK(again.serialize() == tok.serialize());
  }

  SECTION("every file round-trips byte for byte; save -> load keeps the encodings") {
    std::vector<const std::string*> files{&train_raw[0], &train_raw[1], &train_raw[2], &val_raw};
    const std::string path = (std::filesystem::temp_directory_path() / "bilin_test_tinystories.bpe").string();
    tok.save(path);
    const auto loaded = BpeTokenizer::load(path);
    std::filesystem::remove(path);

    std::size_t bytes = 0, tokens = 0;
    double encode_s = 0;
    for (const std::string* f : files) {
      t0 = std::chrono::steady_clock::now();
      const auto ids = tok.encode(*f);
      encode_s += seconds_since(t0);
      bytes += f->size();
      tokens += ids.size();
      REQUIRE(tok.decode(ids) == *f);
      REQUIRE(loaded.encode(*f) == ids);
    }
    const auto val_ids = tok.encode(val_raw);  // held out from training: a fair ratio
    const double val_ratio = static_cast<double>(val_raw.size()) / static_cast<double>(val_ids.size());
    const double all_ratio = static_cast<double>(bytes) / static_cast<double>(tokens);
    std::printf("[bpe tinystories] train vocab 4096: %.3f s; encode %.1f MB/s over %.2f MB; "
                "%.3f bytes/token overall, %.3f on the held-out valid head\n",
                train_s, static_cast<double>(bytes) / encode_s / 1e6, static_cast<double>(bytes) / 1e6, all_ratio,
                val_ratio);
    CHECK(all_ratio > 3.0);
    CHECK(val_ratio > 3.0);
    CHECK(train_s < 10.0);  // seconds, not minutes (measured ~0.1 s)
  }
}
