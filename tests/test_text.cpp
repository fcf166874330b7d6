// Text data: story splitting (synthetic cases and the README's story counts), joining, seeded
// train/validation splits, and the window sampler (determinism, shift-by-one, range, resume).
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "bilin/data/bpe.hpp"
#include "bilin/data/text.hpp"

using namespace bilin::data;
using Catch::Matchers::Contains;
using V = std::vector<std::string>;

TEST_CASE("split_stories cuts at lines that are exactly the marker", "[text]") {
  CHECK(split_stories("\nOnce upon a time.\nThe end.\n<|endoftext|>\nTom ran.\n<|endoftext|>\n") ==
        V{"Once upon a time.\nThe end.", "Tom ran."});
  CHECK(split_stories("A.\n<|endoftext|>") == V{"A."});                       // no final newline
  CHECK(split_stories("A.\n<|endoftext|>\nunfinished story") == V{"A.", "unfinished story"});
  CHECK(split_stories("A <|endoftext|> B\n<|endoftext|>x\nC\n") == V{"A <|endoftext|> B\n<|endoftext|>x\nC"});
  CHECK(split_stories("<|endoftext|>\n<|endoftext|>\n\n  \n<|endoftext|>\nZ\n<|endoftext|>\n") == V{"Z"});
  CHECK(split_stories("Running text.\n\nNo markers here.\n") == V{"Running text.\n\nNo markers here."});
  CHECK(split_stories("").empty());
  CHECK(split_stories("a\n##\nb\n", "##") == V{"a", "b"});
}

TEST_CASE("join_documents ends every document with the separator; BPE sees one id per story end", "[text]") {
  CHECK(join_documents({"a", "b c"}) == "a<|endoftext|>b c<|endoftext|>");
  CHECK(join_documents({}).empty());
  BpeTrainOptions opt;
  opt.vocab_size = 300;
  const auto tok = BpeTokenizer::train("the dog ran to the dog", opt);
  const auto ids = tok.encode(join_documents({"the dog", "ran", "to the dog"}));
  CHECK(std::count(ids.begin(), ids.end(), tok.special_id(kEndOfText)) == 3);
  CHECK(ids.back() == tok.special_id(kEndOfText));
}

TEST_CASE("TinyStories files: story counts match the data README; split by file", "[text][data]") {
  const std::string dir = BILIN_DATA_DIR "/tinystories";
  if (!std::filesystem::exists(dir + "/TinyStories-train-head.txt")) {
    WARN("skipping: TinyStories files not found under " << dir);
    return;
  }
  // README: 1,727 / 2,315 / 2,996 whole stories.
  CHECK(split_stories(bilin::io::read_file(dir + "/TinyStories-train-head.txt")).size() == 1727);
  CHECK(split_stories(bilin::io::read_file(dir + "/TinyStories-train-part01.txt")).size() == 2315);
  CHECK(split_stories(bilin::io::read_file(dir + "/TinyStories-train-part02.txt")).size() == 2996);
  const auto c = load_tinystories(dir);
  CHECK(c.train.size() == 1727 + 2315 + 2996);
  REQUIRE(c.val.size() == 1);
  CHECK(c.val[0].rfind("Spot. Spot saw the shiny car", 0) == 0);
  CHECK(c.train[1727].rfind("One day, a little girl named Lily found a needle in her room", 0) == 0);
  CHECK(c.train[1727 + 2315].rfind("Lily was a princess who loved to jump", 0) == 0);
  for (const auto& s : c.train) {
    REQUIRE(s.find("<|endoftext|>") == std::string::npos);
    REQUIRE(!s.empty());
    REQUIRE(s.front() != '\n');
    REQUIRE(s.back() != '\n');
  }
  CHECK_THROWS_WITH(load_tinystories(dir + "/nope"), Contains("nope/TinyStories-train-head.txt"));
}

TEST_CASE("split_documents is a seeded, order-keeping partition", "[text]") {
  V docs;
  for (int i = 0; i < 1000; ++i) docs.push_back("doc" + std::to_string(i));
  const auto a = split_documents(docs, 0.1, 42);
  const auto b = split_documents(docs, 0.1, 42);
  const auto c = split_documents(docs, 0.1, 43);
  CHECK(a.train == b.train);
  CHECK(a.val == b.val);
  CHECK(a.val != c.val);
  CHECK(a.val.size() == 100);
  CHECK(a.train.size() == 900);
  std::set<std::string> all(a.train.begin(), a.train.end());
  for (const auto& v : a.val) CHECK(all.insert(v).second);  // disjoint
  CHECK(all.size() == 1000);                                  // complete
  auto index = [](const std::string& d) { return std::stoi(d.substr(3)); };
  for (std::size_t i = 1; i < a.val.size(); ++i) CHECK(index(a.val[i - 1]) < index(a.val[i]));
  for (std::size_t i = 1; i < a.train.size(); ++i) REQUIRE(index(a.train[i - 1]) < index(a.train[i]));

  CHECK(split_documents({"x", "y"}, 0.01, 1).val.size() == 1);  // at least one...
  CHECK(split_documents({"x", "y"}, 0.9, 1).train.size() == 1);  // ...and never all
  CHECK(split_documents({"x", "y"}, 0.0, 1).val.empty());
  CHECK_THROWS_WITH(split_documents({"x"}, 1.0, 1), Contains("val_fraction"));

  const auto [tr, va] = split_text("0123456789", 0.9);
  CHECK(tr == "012345678");
  CHECK(va == "9");
}

TEST_CASE("WindowSampler: seeded, targets are inputs shifted by one, starts cover the range", "[text]") {
  std::vector<token_t> tokens(1000);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<token_t>((i * 7919) % 4096);
  const bilin::index_t ctx = 16, B = 8;

  WindowSampler s1(tokens, ctx, 123), s2(tokens, ctx, 123), s3(tokens, ctx, 124);
  bool differs = false;
  for (int step = 0; step < 50; ++step) {
    const TokenBatch a = s1.next(B), b = s2.next(B), c = s3.next(B);
    REQUIRE(a.inputs.shape() == bilin::Shape{B, ctx});
    REQUIRE(a.targets.shape() == bilin::Shape{B, ctx});
    REQUIRE(a.inputs.to_vector() == b.inputs.to_vector());
    REQUIRE(a.targets.to_vector() == b.targets.to_vector());
    differs = differs || a.inputs.to_vector() != c.inputs.to_vector();
    for (bilin::index_t r = 0; r < B; ++r) {
      // Locate the window in the token array (tokens are distinct within any 4096 span).
      const auto first = std::find(tokens.begin(), tokens.end(), static_cast<token_t>(a.inputs.at({r, 0})));
      REQUIRE(first != tokens.end());
      const auto start = static_cast<bilin::index_t>(first - tokens.begin());
      REQUIRE(start + ctx < static_cast<bilin::index_t>(tokens.size()));
      for (bilin::index_t t = 0; t < ctx; ++t) {
        REQUIRE(a.inputs.at({r, t}) == tokens[start + t]);
        REQUIRE(a.targets.at({r, t}) == tokens[start + t + 1]);
      }
    }
  }
  CHECK(differs);

  // Every legal start (0 .. n-ctx-1) is reachable, none beyond: on a tiny array all get hit.
  std::vector<token_t> small(20);
  for (std::size_t i = 0; i < small.size(); ++i) small[i] = static_cast<token_t>(i);
  WindowSampler s(small, 5, 9);
  std::set<std::int64_t> starts;
  for (int i = 0; i < 200; ++i) {
    const TokenBatch b = s.next(4);
    for (bilin::index_t r = 0; r < 4; ++r) starts.insert(b.inputs.at({r, 0}));
  }
  CHECK(starts.size() == 15);
  CHECK(*starts.begin() == 0);
  CHECK(*starts.rbegin() == 14);

  // Resume: restoring the state reproduces the following batches exactly.
  WindowSampler r1(tokens, ctx, 5);
  r1.next(3);
  const auto st = r1.state();
  const auto want = r1.next(B).inputs.to_vector();
  WindowSampler r2(tokens, ctx, 999);
  r2.set_state(st);
  CHECK(r2.next(B).inputs.to_vector() == want);

  // fill() into int32 buffers gives the same numbers as next() into int64 tensors.
  WindowSampler f1(tokens, ctx, 77), f2(tokens, ctx, 77);
  std::vector<std::int32_t> in(B * ctx), tg(B * ctx);
  f1.fill(B, in.data(), tg.data());
  const TokenBatch fb = f2.next(B);
  CHECK(std::vector<std::int64_t>(in.begin(), in.end()) == fb.inputs.to_vector());
  CHECK(std::vector<std::int64_t>(tg.begin(), tg.end()) == fb.targets.to_vector());

  CHECK_THROWS_WITH(WindowSampler(small, 20, 1), Contains("ctx+1 = 21") && Contains("has 20"));
  CHECK_NOTHROW(WindowSampler(small, 19, 1));
}

TEST_CASE("evaluation windows are fixed, non-overlapping and in range", "[text]") {
  const auto s = eval_window_starts(100, 10, 1000);
  CHECK(s == std::vector<std::uint64_t>{0, 10, 20, 30, 40, 50, 60, 70, 80});  // 90 + 10 would need token 100
  CHECK(eval_window_starts(100, 10, 3) == std::vector<std::uint64_t>{0, 10, 20});
  std::vector<token_t> tokens(100);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<token_t>(i);
  const TokenBatch b = batch_at(tokens, 10, s);
  CHECK(b.inputs.shape() == bilin::Shape{9, 10});
  CHECK(b.inputs.at({8, 9}) == 89);
  CHECK(b.targets.at({8, 9}) == 90);
  CHECK_THROWS_WITH(batch_at(tokens, 10, std::vector<std::uint64_t>{90}), Contains("needs 11 tokens"));
}
