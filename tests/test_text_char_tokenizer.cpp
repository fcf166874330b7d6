// Character-level tokenizer: Tiny Shakespeare round trip, unknown characters, file errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bilin/data/char_tokenizer.hpp"
#include "bilin/data/text.hpp"

using namespace bilin::data;
using Catch::Matchers::Contains;

namespace {
std::string char_temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("bilin_test_char_" + name)).string();
}
}  // namespace

TEST_CASE("char tokenizer on Tiny Shakespeare: 65 ids, exact round trip, 90/10 split", "[text][char]") {
  const std::string path = BILIN_DATA_DIR "/tinyshakespeare/input.txt";
  if (!std::filesystem::exists(path)) {
    WARN("skipping: " << path << " not found");
    return;
  }
  const std::string text = bilin::io::read_file(path);
  REQUIRE(text.size() == 1115394);
  const auto tok = CharTokenizer::fit(text);
  CHECK(tok.vocab_size() == 65);  // the data README's count
  CHECK(tok.alphabet().front() == '\n');
  CHECK(tok.alphabet().back() == 'z');
  const auto ids = tok.encode(text);
  REQUIRE(ids.size() == text.size());
  for (auto id : ids) REQUIRE(id < 65);
  CHECK(tok.decode(ids) == text);

  // Fitting on the training 90% also covers the validation 10% here.
  const auto [train, val] = split_text(text, 0.9);
  const auto tok_train = CharTokenizer::fit(train);
  CHECK(tok_train.decode(tok_train.encode(val)) == val);

  const std::string file = char_temp_path("shakespeare.chars");
  tok.save(file);
  const auto back = CharTokenizer::load(file);
  CHECK(back.alphabet() == tok.alphabet());
  CHECK(back.encode(text) == ids);
  std::remove(file.c_str());
}

TEST_CASE("char tokenizer: ids follow the alphabet order; unknown bytes and ids are errors", "[text][char]") {
  const auto tok = CharTokenizer::fit("hello, world\n");
  CHECK(tok.alphabet() == std::string("\n ,dehlorw"));
  CHECK(tok.encode("held") == std::vector<token_t>{5, 4, 6, 3});
  CHECK(tok.decode(std::vector<token_t>{6, 4, 4}) == "lee");
  CHECK_THROWS_WITH(tok.encode("hello there"), Contains("char_encode") && Contains("0x74 ('t')") &&
                                                   Contains("byte offset 6"));
  CHECK_THROWS_WITH(tok.encode(std::string("he\xFF", 3)), Contains("0xff") && Contains("byte offset 2"));
  CHECK_THROWS_WITH(tok.decode(std::vector<token_t>{1, 10}), Contains("char_decode") && Contains("token id 10") &&
                                                                 Contains("position 1"));
  // All 256 byte values, including NUL and invalid UTF-8.
  std::string all;
  for (int b = 255; b >= 0; --b) all += static_cast<char>(b);
  const auto full = CharTokenizer::fit(all);
  CHECK(full.vocab_size() == 256);
  CHECK(full.decode(full.encode(all)) == all);
  CHECK(full.encode(std::string(1, '\0')) == std::vector<token_t>{0});
  const auto custom = CharTokenizer(std::string("ba"));
  CHECK(custom.encode("ab") == std::vector<token_t>{1, 0});
  CHECK_THROWS_WITH(CharTokenizer(std::string("abca")), Contains("twice"));
  CHECK_THROWS_WITH(CharTokenizer::fit(""), Contains("empty"));
  CHECK(CharTokenizer::parse(full.serialize()).alphabet() == full.alphabet());
}

TEST_CASE("corrupt char tokenizer files name the file, line and problem", "[text][char]") {
  const std::string good = CharTokenizer::fit("abc\n").serialize();
  CHECK(good == "bilin-char 1\nvocab 4\nalphabet 0a616263\nend\n");
  auto expect = [](const std::string& content, const std::vector<std::string>& pieces) {
    const std::string path = char_temp_path("corrupt.chars");
    std::ofstream(path, std::ios::binary) << content;
    try {
      CharTokenizer::load(path);
      FAIL("no error for:\n" << content);
    } catch (const bilin::Error& e) {
      INFO(e.what());
      CHECK(e.op() == "load_char_tokenizer");
      CHECK_THAT(e.what(), Contains(path));
      for (const auto& p : pieces) CHECK_THAT(e.what(), Contains(p));
    }
    std::remove(path.c_str());
  };
  expect("", {":1:", "truncated"});
  expect("bilin-bpe 1\n", {":1:", "bad magic"});
  expect("bilin-char 7\nvocab 4\nalphabet 0a616263\nend\n", {":1:", "unsupported format version '7'"});
  expect("bilin-char 1\nvocab four\nalphabet 0a616263\nend\n", {":2:", "expected 'vocab <1..256>'"});
  expect("bilin-char 1\nvocab 5\nalphabet 0a616263\nend\n", {":3:", "8 hex digits but vocab 5 needs 10"});
  expect("bilin-char 1\nvocab 4\nalphabet 0a6162zz\nend\n", {":3:", "bad hex digit", "entry 3"});
  expect("bilin-char 1\nvocab 4\nalphabet 0a616161\nend\n", {":3:", "0x61 appears twice", "ids 1 and 2"});
  expect("bilin-char 1\nvocab 4\nalphabet 0a616263\n", {":4:", "truncated"});
  expect("bilin-char 1\nvocab 4\nalphabet 0a6162", {":3:", "6 hex digits"});
  expect("bilin-char 1\nvocab 4\nalphabet 0a616263\nend\nmore\n", {"after 'end'"});
  CHECK_THROWS_WITH(CharTokenizer::load(char_temp_path("missing.chars")), Contains("missing.chars"));
}
