// tests/fuzz/fuzz_seeds.hpp — small inputs shared by the corpus generator (fuzz_corpus.cpp) and
// the harnesses that need a fixed tokenizer (fuzz_text.cpp): one definition, so the committed
// seeds and the harnesses' fixtures cannot drift apart.
#pragma once
#include <string>

namespace bilin_fuzz {

// Text with everything the pre-tokenizer distinguishes: letters, digits, punctuation, runs of
// spaces and newlines, contractions, the end-of-text special, UTF-8 and invalid UTF-8.
inline std::string sample_text() {
  std::string s =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.\n"
      "<|endoftext|>\nOne day, Tom's dog found 12 big red balls... \"Wow!\" he said.  It's 3:45pm.\n\n"
      "   The end\t\t\r\n<|endoftext|>\ncaf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xf0\x9f\x98\x80 ";
  s += std::string("\xff\xfe\xc3\x28\x00\x80 end", 10);
  return s;
}

// A WordPiece tokenizer.json of the ts-4096 kind (the pipeline data/hf_tokenizer.hpp reads).
inline std::string sample_hf_json(bool bert = false) {
  const char* words[] = {"[UNK]", "[BOS]", "[EOS]", "!", ",", ".", "$", "1", "2", "5", "0", "3", "hello", "world",
                         "the", "el", "##eve", "once", "upon", "a", "time", "##s", "un", "##believ", "##able", "x",
                         "##y", "lily", "she", "play", "tom", "'", "dog"};
  std::string vocab;
  for (std::size_t i = 0; i < sizeof words / sizeof *words; ++i)
    vocab += (i ? ", \"" : "\"") + std::string(words[i]) + "\": " + std::to_string(i);
  const std::string added =
      R"("added_tokens": [
    {"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[BOS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[EOS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],)";
  const std::string model = R"("model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": {)" + vocab + "}}}";
  if (bert)
    return R"({"version": "1.0", "truncation": null, "padding": null, )" + added + R"(
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[EOS]", 2], "cls": ["[BOS]", 1]},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  )" + model;
  return R"({"version": "1.0", "truncation": null, "padding": null, )" + added + R"(
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Isolated"},
    {"type": "Whitespace"}, {"type": "Digits", "individual_digits": true}]},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"[BOS]": {"id": "[BOS]", "ids": [1], "tokens": ["[BOS]"]}}},
  "decoder": null,
  )" + model;
}

}  // namespace bilin_fuzz
