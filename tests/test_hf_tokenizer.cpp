// data/hf_tokenizer.hpp: a tokenizer.json with the pipeline of the paper's ts-4096 tokenizer
// (NFD → StripAccents → Lowercase; Punctuation → Whitespace → Digits(individual); WordPiece
// with "##"; TemplateProcessing "[BOS] $A"). The expected ids are worked out by hand from the
// tokenizers library's specification of each step (comments give the reasoning), not produced
// by the code under test. Also data/unicode_latin.hpp's tables against known values, and the
// errors for unsupported files.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <bilin/data/hf_tokenizer.hpp>

#include "test_support.hpp"

using namespace bilin;

namespace {

std::string hf_test_json(int max_chars, const std::string& model_type = "WordPiece", const std::string& unk = "[UNK]",
                         const std::string& normalizer = "Lowercase") {
  const char* words[] = {"[UNK]", "[BOS]", "[EOS]", "!", ",", ".", "$", "1", "2", "5", "0", "3", "hello", "world",
                         "the", "el", "##eve", "paid", "for", "na", "##ive", "cake", "##s", "un", "##believ", "##able",
                         "x", "##y", "yes", "super", "##califragilistic"};
  std::string vocab;
  for (std::size_t i = 0; i < std::size(words); ++i) {
    std::string w = words[i];
    if (w == "[UNK]") w = unk;
    vocab += (i ? ", \"" : "\"") + w + "\": " + std::to_string(i);
  }
  return R"({"version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": ")" + unk + R"(", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[BOS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[EOS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": ")" +
         normalizer + R"("}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Isolated"},
    {"type": "Whitespace"}, {"type": "Digits", "individual_digits": true}]},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"[BOS]": {"id": "[BOS]", "ids": [1], "tokens": ["[BOS]"]}}},
  "decoder": null,
  "model": {"type": ")" + model_type + R"(", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": )" + std::to_string(max_chars) + R"(, "vocab": {)" + vocab + "}}}";
}

}  // namespace

TEST_CASE("WordPiece tokenizer.json: ids from the specification and round trip", "[hf_tokenizer]") {
  const data::HfTokenizer tk = data::HfTokenizer::parse(hf_test_json(12), "test.json");
  // "Héllo," → NFD/strip/lower "hello" + "," (Punctuation isolates it)
  // "World!" → "world" "!"
  // "The ÉLÈVE" → "the"; "ÉLÈVE" → "eleve": longest match "el", then "##eve"
  // "$12.50" → "$" isolated, "." isolated, Digits(individual): "1" "2" "5" "0"
  // "naïve" → "naive" → "na" "##ive"; "cakes...—yes" → "cake" "##s" "." "." "." "—" "yes"
  //   ("—" is punctuation (Pd) and not in the vocab: [UNK])
  // "xyzzy" → "x" "##y", then no "##zzy", "##zz", "##z": the whole word is [UNK]
  // "unbelievable" → "un" "##believ" "##able"
  // "Straße" → "straße" (ß has no decomposition): no piece matches "s…ß" → [UNK]
  // "supercalifragilistic" has 20 characters > max_input_chars_per_word 12 → [UNK]
  // "[EOS]" is an added token matched before normalization → 2; the template prepends [BOS] = 1
  const std::string text =
      "Héllo, World! The ÉLÈVE paid $12.50 for 3 naïve cakes...—yes xyzzy unbelievable Straße "
      "supercalifragilistic[EOS]";
  const std::vector<std::int64_t> want = {1,  12, 4,  13, 3,  14, 15, 16, 17, 6,  7,  8,  5,  9, 10, 18, 11,
                                          19, 20, 21, 22, 5,  5,  5,  0,  28, 0,  23, 24, 25, 0, 0,  2};
  CHECK(tk.encode(text) == want);
  std::vector<std::int64_t> no_special(want.begin() + 1, want.end());
  CHECK(tk.encode(text, false) == no_special);
  // with a larger max_input_chars_per_word the long word splits into its two pieces
  const data::HfTokenizer wide = data::HfTokenizer::parse(hf_test_json(100), "test.json");
  CHECK(wide.encode("supercalifragilistic", false) == std::vector<std::int64_t>{29, 30});
  // decode: specials ([BOS], [UNK], [EOS]) skipped, tokens joined by spaces, "##" pieces joined
  CHECK(tk.decode(want) == "hello , world ! the eleve paid $ 1 2 . 5 0 for 3 naive cakes . . . yes unbelievable");
  CHECK(tk.decode({1, 12, 2}, false) == "[BOS] hello [EOS]");
  // round trip on text without unknown words
  const auto ids = tk.encode("Hello, world! The eleve paid $3 for naive cakes.");
  CHECK(tk.encode(tk.decode(ids)) == ids);
  CHECK(tk.vocab_size() == 31);
  CHECK(tk.token_to_id("##believ") == 24);
  CHECK(tk.id_to_token(16) == "##eve");
  CHECK(tk.encode("") == std::vector<std::int64_t>{1});
}

TEST_CASE("unicode_latin tables: decomposition, lowercase and classes", "[hf_tokenizer]") {
  namespace U = data::unicode;
  CHECK(U::nfd(U"\u00E9") == U"e\u0301");                // é
  CHECK(U::nfd(U"\u01D6") == U"u\u0308\u0304");          // ǖ: two marks
  CHECK(U::nfd(U"\u1EC7") == U"e\u0323\u0302");          // ệ
  CHECK(U::nfd(U"\u00DF\u00F8") == U"\u00DF\u00F8");     // ß, ø: no canonical decomposition
  CHECK(U::strip_marks(U::nfd(U"\u00C5ngstr\u00F6m")) == U"Angstrom");
  CHECK(U::to_lower(U'\u00C9') == U'\u00E9');
  CHECK(U::to_lower(U'\u0178') == U'\u00FF');            // Ÿ → ÿ
  CHECK(U::to_lower(U'\u0130') == U'\u0130');            // İ lowers to two characters: left alone
  CHECK(U::to_lower(U'\u0394') == U'\u03B4');            // Δ → δ
  CHECK(U::to_lower(U'\u0416') == U'\u0436');            // Ж → ж
  CHECK(U::to_lower(U'\u1E9E') == U'\u00DF');            // ẞ → ß
  CHECK(U::is_punctuation(U'\u2014'));                   // em dash
  CHECK(U::is_punctuation(U'$'));                        // ASCII punctuation includes symbols
  CHECK(!U::is_punctuation(U'\u20AC'));                  // € is a symbol
  CHECK(U::is_symbol(U'\u20AC'));
  CHECK(U::is_space(U'\u00A0'));
  CHECK(U::is_word_char(U'\u00E9'));
  CHECK(!U::is_word_char(U'\u00A9'));                    // ©
  CHECK(U::utf8_encode(U::nfd(U"caf\u00E9")) == "cafe\xCC\x81");
  const auto bad = U::utf8_decode("a\xC3");              // truncated sequence
  CHECK(bad == std::vector<char32_t>{U'a', 0xFFFD});
}

TEST_CASE("unsupported tokenizer.json files fail naming the file and the key", "[hf_tokenizer]") {
  using Catch::Matchers::Contains;
  const auto err = [](const std::string& json) {
    return bilin_test::error_of([&] { data::HfTokenizer::parse(json, "tok.json"); });
  };
  CHECK_THAT(err(hf_test_json(100, "BPE")), Contains("tok.json") && Contains("'model.type' = \"BPE\"") &&
                                                Contains("byte-level BPE"));
  CHECK_THAT(err(hf_test_json(100, "Unigram")), Contains("tok.json") && Contains("\"Unigram\" is not supported"));
  CHECK_THAT(err(hf_test_json(100, "WordPiece", "<unk>")),
             Contains("tok.json") && Contains("'model.unk_token' = \"[UNK]\" is not in model.vocab"));
  CHECK_THAT(err(hf_test_json(100, "WordPiece", "[UNK]", "NFKC")),
             Contains("tok.json") && Contains("'normalizer.type' = \"NFKC\""));
  CHECK_THAT(err("{\"model\": 3}"), Contains("tok.json") && Contains("'model' must be an object"));
  CHECK_THAT(err("{\"model\": "), Contains("tok.json") && Contains("invalid JSON at byte"));
  const data::HfTokenizer tk = data::HfTokenizer::parse(hf_test_json(100), "tok.json");
  CHECK_THAT(bilin_test::error_of([&] { tk.decode({99}); }), Contains("tok.json") && Contains("id 99"));
}
