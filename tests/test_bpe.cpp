// Byte-level BPE: pre-tokenization, the fast trainer and encoder against naive references,
// exact round trips on arbitrary bytes, special tokens, and tokenizer-file errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bilin/core/random.hpp"
#include "bilin/data/bpe.hpp"

using namespace bilin::data;
using Catch::Matchers::Contains;

namespace {

std::string random_bytes(bilin::Generator& g, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g.next_u32() & 0xFF);
  return s;
}

// Text-like random strings: words, spaces, newlines, digits, punctuation, UTF-8 and bad bytes.
std::string random_text(bilin::Generator& g, std::size_t n) {
  static const std::vector<std::string> atoms{
      "a",  "b",   "ab",  "aa", "the", "The", " ", "  ", "\n", "\n\n", "\t", "'s", "'ll", "'", "1", "23",
      ".",  "!?",  ",",   "\xE2\x80\x9C", "\xE2\x80\x9D", "\xC3", "\xFF", std::string(1, '\0'), "<|", "|>", "<|endoftext|>"};
  std::string s;
  while (s.size() < n) s += atoms[g.randint(atoms.size())];
  return s;
}

// ---- independent references (slow, obviously correct)

// Applies every merge in order to the whole byte sequence: the definition of BPE encoding.
std::vector<token_t> reference_encode_chunk(std::string_view chunk, const std::vector<BpeTokenizer::Merge>& merges) {
  std::vector<token_t> s(chunk.begin(), chunk.end());
  for (auto& x : s) x = static_cast<unsigned char>(x);
  for (std::size_t k = 0; k < merges.size(); ++k) {
    std::vector<token_t> o;
    for (std::size_t i = 0; i < s.size();) {
      if (i + 1 < s.size() && s[i] == merges[k].first && s[i + 1] == merges[k].second) {
        o.push_back(static_cast<token_t>(256 + k));
        i += 2;
      } else {
        o.push_back(s[i++]);
      }
    }
    s.swap(o);
  }
  return s;
}

// Recounts every pair from scratch before each merge (std::map ordered by pair = the tie rule).
std::vector<BpeTokenizer::Merge> reference_train(const std::vector<std::string>& texts, std::size_t n_merges,
                                                 const std::string& special, std::int64_t min_count) {
  std::map<std::string, std::int64_t> freq;
  for (const auto& t : texts) {
    std::size_t pos = 0;
    while (pos <= t.size()) {
      std::size_t e = special.empty() ? std::string::npos : t.find(special, pos);
      if (e == std::string::npos) e = t.size();
      for (auto c : pretokenize(std::string_view(t).substr(pos, e - pos))) ++freq[std::string(c)];
      pos = e + (special.empty() ? 1 : special.size());
    }
  }
  std::vector<std::vector<token_t>> words;
  std::vector<std::int64_t> f;
  for (const auto& [w, c] : freq) {
    words.emplace_back();
    for (unsigned char ch : w) words.back().push_back(ch);
    f.push_back(c);
  }
  std::vector<BpeTokenizer::Merge> merges;
  while (merges.size() < n_merges) {
    std::map<std::pair<token_t, token_t>, std::int64_t> counts;
    for (std::size_t w = 0; w < words.size(); ++w)
      for (std::size_t i = 0; i + 1 < words[w].size(); ++i) counts[{words[w][i], words[w][i + 1]}] += f[w];
    std::pair<token_t, token_t> best{};
    std::int64_t best_count = 0;
    for (const auto& [p, c] : counts)
      if (c > best_count) best_count = c, best = p;
    if (best_count < min_count || best_count == 0) break;
    const auto t = static_cast<token_t>(256 + merges.size());
    merges.push_back(best);
    for (auto& s : words) {
      std::vector<token_t> o;
      for (std::size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == best.first && s[i + 1] == best.second) {
          o.push_back(t);
          i += 2;
        } else {
          o.push_back(s[i++]);
        }
      }
      s.swap(o);
    }
  }
  return merges;
}

std::string sample_corpus() {
  // Prefer real text; fall back to a synthetic corpus so the test never depends on the data.
  std::ifstream f(BILIN_DATA_DIR "/tinystories/TinyStories-train-head.txt", std::ios::binary);
  if (f) {
    std::string s(60000, '\0');
    f.read(s.data(), static_cast<std::streamsize>(s.size()));
    s.resize(static_cast<std::size_t>(f.gcount()));
    if (s.size() > 10000) return s;
  }
  bilin::Generator g(7);
  return random_text(g, 60000);
}

std::string bpe_temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("bilin_test_bpe_" + name)).string();
}
void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("pretokenize splits before spaces and class changes and partitions the text", "[bpe]") {
  auto chunks = [](std::string_view s) {
    std::vector<std::string> v;
    for (auto c : pretokenize(s)) v.emplace_back(c);
    return v;
  };
  using V = std::vector<std::string>;
  CHECK(chunks("Hello world") == V{"Hello", " world"});
  CHECK(chunks("Once upon a time, Lily's cat ran.") ==
        V{"Once", " upon", " a", " time", ",", " Lily", "'s", " cat", " ran", "."});
  CHECK(chunks("don't we'll they're") == V{"don", "'t", " we", "'ll", " they", "'re"});
  CHECK(chunks("abc123!!x") == V{"abc", "123", "!!", "x"});
  CHECK(chunks("  hi") == V{" ", " hi"});
  CHECK(chunks("a\n\nOnce") == V{"a", "\n\n", "Once"});
  CHECK(chunks("a \n the") == V{"a", " \n", " the"});
  CHECK(chunks("end   ") == V{"end", "   "});
  CHECK(chunks(" \xE2\x80\x9CHi\xE2\x80\x9D said") == V{" \xE2\x80\x9CHi\xE2\x80\x9D", " said"});
  CHECK(chunks(std::string("a\0\0b", 4)) == V{"a", std::string("\0\0", 2), "b"});
  CHECK(chunks("").empty());

  bilin::Generator g(1);
  for (int rep = 0; rep < 200; ++rep) {
    const std::string s = rep % 2 ? random_bytes(g, g.randint(300)) : random_text(g, g.randint(300));
    std::string joined;
    for (auto c : pretokenize(s)) {
      REQUIRE(!c.empty());
      joined += c;
    }
    REQUIRE(joined == s);
  }
}

TEST_CASE("fast trainer learns exactly the merges of a naive recount-everything trainer", "[bpe]") {
  const std::string corpus = sample_corpus();
  // Split into a few texts with the special token in the middle of some of them.
  std::vector<std::string> texts{corpus.substr(0, corpus.size() / 3),
                                 corpus.substr(corpus.size() / 3, corpus.size() / 3) + "<|endoftext|>" +
                                     corpus.substr(2 * corpus.size() / 3)};
  for (std::int64_t min_count : {2, 1}) {
    BpeTrainOptions opt;
    opt.vocab_size = 256 + 400 + 1;
    opt.min_pair_count = static_cast<std::uint64_t>(min_count);
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    const auto fast = BpeTokenizer::train(views, opt);
    const auto ref = reference_train(texts, 400, "<|endoftext|>", min_count);
    INFO("min_pair_count " << min_count);
    REQUIRE(fast.num_merges() == ref.size());
    for (std::size_t k = 0; k < ref.size(); ++k) {
      INFO("merge " << k);
      REQUIRE(fast.merges()[k] == ref[k]);
    }
  }

  // Tiny corpora where ties and overlapping pairs ("aaaa") decide everything.
  for (const std::string& t : {std::string("aaaa aaa aa a"), std::string("abab baba abba"), std::string("zz yy xx ww"),
                               std::string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbb ab ab ab")}) {
    BpeTrainOptions opt;
    opt.vocab_size = 256 + 50;
    opt.special_tokens = {};
    opt.min_pair_count = 1;
    const auto fast = BpeTokenizer::train(t, opt);
    const auto ref = reference_train({t}, 50, "", 1);
    INFO("corpus '" << t << "'");
    REQUIRE(fast.merges() == ref);
  }
}

TEST_CASE("stops early when no pair is frequent enough; vocab_size reports the real size", "[bpe]") {
  BpeTrainOptions opt;
  opt.vocab_size = 1000;
  const auto tok = BpeTokenizer::train("abc abc xyz", opt);  // only (a,b),(b,c),( ,a) occur twice
  CHECK(tok.num_merges() < 10);
  CHECK(tok.vocab_size() == 256 + tok.num_merges() + 1);
  CHECK(tok.special_id("<|endoftext|>") == tok.vocab_size() - 1);
  CHECK_THROWS_WITH(BpeTokenizer::train("abc", BpeTrainOptions{200, {"<|endoftext|>"}, 2}),
                    Contains("bpe_train") && Contains("smaller than 256"));
}

TEST_CASE("encoder (short rescan and long heap paths) equals applying every merge in order", "[bpe]") {
  const std::string corpus = sample_corpus();
  BpeTrainOptions opt;
  opt.vocab_size = 256 + 600 + 1;
  const auto tok = BpeTokenizer::train(corpus, opt);
  // A second tokenizer with merges of runs ("aa", "aaaa", ...) so long chunks overlap a lot.
  opt.vocab_size = 256 + 40 + 1;
  opt.min_pair_count = 1;
  const auto runs = BpeTokenizer::train(
      std::string(300, 'a') + " " + std::string(77, 'b') + " abababab " + std::string(129, 'a') + "b", opt);

  bilin::Generator g(3);
  for (const BpeTokenizer* t : {&tok, &runs}) {
    for (int rep = 0; rep < 400; ++rep) {
      std::string chunk;
      switch (rep % 4) {
        case 0: chunk = random_text(g, 1 + g.randint(200)); break;
        case 1: chunk = random_bytes(g, 1 + g.randint(120)); break;
        case 2: chunk = std::string(1 + g.randint(300), 'a'); break;
        default: chunk = corpus.substr(g.randint(corpus.size() - 400), 1 + g.randint(399)); break;
      }
      std::vector<token_t> got;
      t->encode_chunk(chunk, got);
      REQUIRE(got == reference_encode_chunk(chunk, t->merges()));
    }
  }
  // Whole-text encoding = concatenation of the per-chunk reference encodings.
  const std::string text = corpus.substr(0, 5000);
  std::vector<token_t> ref;
  for (auto c : pretokenize(text)) {
    auto e = reference_encode_chunk(c, tok.merges());
    ref.insert(ref.end(), e.begin(), e.end());
  }
  CHECK(tok.encode_ordinary(text) == ref);
}

TEST_CASE("round trip is exact on random bytes, invalid UTF-8, NULs and edge cases", "[bpe]") {
  BpeTrainOptions opt;
  opt.vocab_size = 256 + 500 + 2;
  opt.special_tokens = {"<|endoftext|>", "<|pad|>"};
  const auto tok = BpeTokenizer::train(sample_corpus(), opt);

  auto round_trip = [&](const std::string& s) {
    const auto ids = tok.encode(s);
    for (auto id : ids) REQUIRE(id < tok.vocab_size());
    REQUIRE(tok.decode(ids) == s);
    REQUIRE(tok.decode(tok.encode_ordinary(s)) == s);
  };
  CHECK(tok.encode("").empty());
  CHECK(tok.decode(std::vector<token_t>{}).empty());
  round_trip("");
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    REQUIRE(tok.encode(one) == std::vector<token_t>{static_cast<token_t>(b)});
    round_trip(one);
  }
  round_trip(std::string("\0\0\0", 3));
  round_trip("\xC3\x28 \xA0\xA1 \xE2\x28\xA1 \xF0\x90\x28\xBC \xFF\xFE\xFD");  // invalid UTF-8
  round_trip("<|endoftext|><|endoftext|>");
  round_trip("<|endoftext|");
  round_trip("<|endoftext|><|pad|>x<|pad");
  round_trip(std::string(100000, 'a'));
  round_trip(std::string(5000, ' ') + "x");

  bilin::Generator g(11);
  std::size_t total = 0;
  for (int rep = 0; rep < 300; ++rep) {
    const std::string s = rep % 3 == 0 ? random_bytes(g, g.randint(3000))
                                       : rep % 3 == 1 ? random_text(g, g.randint(3000))
                                                      : random_bytes(g, g.randint(50)) + "<|endoftext|>" +
                                                            random_text(g, g.randint(200));
    total += s.size();
    round_trip(s);
  }
  CHECK(total > 300000);
}

TEST_CASE("special tokens are one id, never split or learned across", "[bpe]") {
  BpeTrainOptions opt;
  opt.vocab_size = 256 + 200 + 3;
  opt.special_tokens = {"<|endoftext|>", "<|end|>", "<|endoftext|>!"};
  opt.min_pair_count = 1;
  // The corpus repeats the specials next to the same words: a merge across them would be
  // frequent if specials were not cut out before counting.
  std::string corpus;
  for (int i = 0; i < 200; ++i) corpus += "dog<|endoftext|>cat<|end|> the end";
  const auto tok = BpeTokenizer::train(corpus, opt);
  const token_t eot = tok.special_id("<|endoftext|>"), end = tok.special_id("<|end|>"),
                bang = tok.special_id("<|endoftext|>!");
  CHECK(eot == 256 + tok.num_merges());
  CHECK(end == eot + 1);
  CHECK(bang == eot + 2);
  CHECK(tok.is_special(eot));
  CHECK_FALSE(tok.is_special(eot - 1));
  CHECK_THROWS_WITH(tok.special_id("<|nope|>"), Contains("no special token"));
  for (token_t id = 256; id < 256 + tok.num_merges(); ++id) {
    const std::string& b = tok.token_bytes(id);
    INFO("token " << id << " '" << b << "'");
    REQUIRE(b.find('<') == std::string::npos);  // '<' and '|' only occur inside specials
    REQUIRE(b.find('|') == std::string::npos);
  }
  CHECK(tok.encode("<|endoftext|>") == std::vector<token_t>{eot});
  CHECK(tok.encode("<|end|>") == std::vector<token_t>{end});
  CHECK(tok.encode("<|endoftext|>!") == std::vector<token_t>{bang});  // longest at the same start
  CHECK(tok.encode("<|endoftext|><|end|><|endoftext|>") == std::vector<token_t>{eot, end, eot});
  const auto ids = tok.encode("dog<|endoftext|>cat");
  CHECK(std::count(ids.begin(), ids.end(), eot) == 1);
  CHECK(tok.decode(ids) == "dog<|endoftext|>cat");
  // encode_ordinary spells the special out in bytes.
  const auto plain = tok.encode_ordinary("<|endoftext|>");
  CHECK(plain.size() > 1);
  for (auto id : plain) CHECK_FALSE(tok.is_special(id));
  CHECK(tok.decode(plain) == "<|endoftext|>");
}

TEST_CASE("decode rejects ids outside the vocabulary", "[bpe]") {
  const BpeTokenizer tok;  // bytes only
  CHECK(tok.vocab_size() == 256);
  CHECK_THROWS_WITH(tok.decode(std::vector<token_t>{104, 105, 256}),
                    Contains("bpe_decode") && Contains("256") && Contains("position 2"));
  CHECK_THROWS_WITH(BpeTokenizer({{97, 98}, {256, 300}}, {}), Contains("merge 1") && Contains("not defined"));
  CHECK_THROWS_WITH(BpeTokenizer({{97, 98}, {97, 98}}, {}), Contains("repeats merge 0"));
  CHECK_THROWS_WITH(BpeTokenizer({}, {"x", "x"}), Contains("twice"));
  CHECK_THROWS_WITH(BpeTokenizer({}, {""}), Contains("empty"));
}

TEST_CASE("save and load keep merges, specials and encodings; files are stable", "[bpe]") {
  BpeTrainOptions opt;
  opt.vocab_size = 256 + 300 + 2;
  opt.special_tokens = {"<|endoftext|>", "odd %special\n\x01"};
  const std::string corpus = sample_corpus();
  const auto tok = BpeTokenizer::train(corpus, opt);
  const std::string path = bpe_temp_path("roundtrip.bpe");
  tok.save(path);
  const auto back = BpeTokenizer::load(path);
  CHECK(back.merges() == tok.merges());
  CHECK(back.special_tokens() == tok.special_tokens());
  CHECK(back.vocab_size() == tok.vocab_size());
  CHECK(back.encode(corpus) == tok.encode(corpus));
  CHECK(back.serialize() == tok.serialize());
  const std::string text = tok.serialize();
  CHECK(text.rfind("bilin-bpe 1\npretokenizer bilin-v1\nvocab_size 558\nmerges 300\nspecials 2\n", 0) == 0);
  CHECK_THAT(text, Contains("special odd%20%25special%0A%01\n"));
  // Comments are allowed; the parse of a saved file is the identity.
  const auto commented = BpeTokenizer::parse("# a comment\n" + text, "mem");
  CHECK(commented.merges() == tok.merges());
  std::remove(path.c_str());
}

TEST_CASE("corrupt tokenizer files give errors naming the file, the line and the problem", "[bpe]") {
  BpeTrainOptions opt;
  opt.vocab_size = 256 + 20 + 1;
  opt.min_pair_count = 1;
  const std::string good = BpeTokenizer::train("the cat sat on the mat with the hat; a big dog ran far away to find bones", opt).serialize();
  const std::size_t n_merges = BpeTokenizer::parse(good).num_merges();
  REQUIRE(n_merges == 20);
  const std::string merges_header = "merges 20\nspecials 1\n";
  const std::size_t body = good.find(merges_header) + merges_header.size();  // first merge line = line 6

  auto expect = [](const std::string& content, const std::vector<std::string>& pieces) {
    const std::string path = bpe_temp_path("corrupt.bpe");
    write_raw(path, content);
    try {
      BpeTokenizer::load(path);
      FAIL("no error for:\n" << content);
    } catch (const bilin::Error& e) {
      INFO(e.what());
      CHECK(e.op() == "load_bpe");
      CHECK_THAT(e.what(), Contains(path));
      for (const auto& p : pieces) CHECK_THAT(e.what(), Contains(p));
    }
    std::remove(path.c_str());
  };
  auto replace_line = [&](int line, const std::string& with) {  // 1-based
    std::string s = good;
    std::size_t b = 0;
    for (int i = 1; i < line; ++i) b = s.find('\n', b) + 1;
    const std::size_t e = s.find('\n', b);
    return s.replace(b, e - b, with);
  };

  expect("", {"empty file"});
  expect("GPT2 merges\n" + good.substr(good.find('\n') + 1), {":1:", "bad magic"});
  expect(replace_line(1, "bilin-bpe 2"), {":1:", "unsupported format version 2"});
  expect(replace_line(2, "pretokenizer gpt2"), {":2:", "unknown pretokenizer 'gpt2'"});
  expect(replace_line(3, "vocab_size 999"), {":3:", "vocab_size 999 != 256 + merges 20 + specials 1"});
  expect(replace_line(3, "vocab_size abc"), {":3:", "non-negative integer"});
  expect(replace_line(6, "97 5000"), {":6:", "merge 0", "references id 5000", "not defined"});
  expect(replace_line(7, "256 300"), {":7:", "merge 1", "references id 300"});
  expect(replace_line(8, good.substr(body, good.find('\n', body) - body)), {":8:", "duplicate merge", "line 6"});
  expect(replace_line(9, "97"), {":9:", "two token ids"});
  expect(replace_line(9, "97 x"), {":9:", "non-negative integer"});
  expect(good.substr(0, body + 30), {"truncated"});                      // cut inside the merges
  expect(good.substr(0, good.find("special ")), {"truncated"});           // specials missing
  expect(good.substr(0, good.rfind("end")), {"missing 'end'"});          // end line missing
  expect(replace_line(6 + static_cast<int>(n_merges), "specia <|endoftext|>"), {"expected 'special <text>'"});
  expect(replace_line(6 + static_cast<int>(n_merges), "special %G1"), {"malformed %XX"});
  expect(good + "97 98\n", {"after 'end'"});
  {
    BpeTrainOptions two = opt;
    two.vocab_size += 1;
    two.special_tokens = {"<a>", "<b>"};
    std::string s = BpeTokenizer::train("the cat sat on the mat with the hat; a big dog ran far away to find bones", two).serialize();
    s.replace(s.find("special <b>"), 11, "special <a>");
    expect(s, {"duplicate special token '<a>'"});
  }
  CHECK_THROWS_WITH(BpeTokenizer::load(bpe_temp_path("does-not-exist.bpe")), Contains("does-not-exist.bpe"));
}
