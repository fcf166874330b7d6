// tests/fuzz/fuzz_tokenizer_files.cpp — the tokenizer file formats on any bytes:
//   bpe_file       data/bpe.hpp BpeTokenizer::parse / load (bilin's BPE text format)
//   char_file      data/char_tokenizer.hpp CharTokenizer::parse / load
//   hf_tokenizer   data/hf_tokenizer.hpp HfTokenizer::parse / load (tokenizer.json)
// Contract: bilin::Error, or a tokenizer whose serialization parses back to the same
// serialization and that keeps its own promises on sample texts (BPE and char: decode(encode(s))
// == s; WordPiece: every id it produces names a token and decodes).
#include "bilin/data/bpe.hpp"
#include "bilin/data/char_tokenizer.hpp"
#include "bilin/data/hf_tokenizer.hpp"

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

namespace {

constexpr char kBadUtf8[] = "\xff\xfe invalid \xc3\x28 utf-8 \xe2\x82 \xf0\x9f\x98\x80 caf\xc3\xa9 \0 nul";
const std::string_view kSamples[] = {
    "Once upon a time, there was a little girl named Lily.<|endoftext|>She liked to play.",
    "  spaces\t\ttabs\n\nnewlines 123 4567 don't you'll",
    std::string_view(kBadUtf8, sizeof kBadUtf8 - 1),
    "",
};

}  // namespace

BILIN_FUZZ_TARGET(bpe_file) {
  static bilin_fuzz::MemFile file;
  data::BpeTokenizer tok;
  const bool ok = accepts([&] { tok = data::BpeTokenizer::parse(input, "<fuzz>"); });
  const bool ok_file = accepts([&] { tok = data::BpeTokenizer::load(file.set(input)); });
  FUZZ_EXPECT(ok == ok_file);
  if (!ok) return;
  const std::string s = tok.serialize();
  data::BpeTokenizer back;
  FUZZ_EXPECT(accepts([&] { back = data::BpeTokenizer::parse(s, "<serialized>"); }));
  FUZZ_EXPECT(back.serialize() == s);
  for (std::string_view text : kSamples) {
    std::vector<data::token_t> ids;
    FUZZ_EXPECT(accepts([&] { ids = tok.encode(text); }));
    FUZZ_EXPECT(tok.decode(ids) == text);
    FUZZ_EXPECT(tok.decode(tok.encode_ordinary(text)) == text);
  }
  for (const std::string& sp : tok.special_tokens()) FUZZ_EXPECT(tok.decode(tok.encode(sp)) == sp);
}

BILIN_FUZZ_TARGET(char_file) {
  static bilin_fuzz::MemFile file;
  std::optional<data::CharTokenizer> opt;
  const bool ok = accepts([&] { opt.emplace(data::CharTokenizer::parse(input, "<fuzz>")); });
  const bool ok_file = accepts([&] { opt.emplace(data::CharTokenizer::load(file.set(input))); });
  FUZZ_EXPECT(ok == ok_file);
  if (!ok) return;
  const data::CharTokenizer& tok = *opt;
  const std::string s = tok.serialize();
  std::optional<data::CharTokenizer> back;
  FUZZ_EXPECT(accepts([&] { back.emplace(data::CharTokenizer::parse(s, "<serialized>")); }));
  FUZZ_EXPECT(back->serialize() == s && back->alphabet() == tok.alphabet());
  const std::string& a = tok.alphabet();
  FUZZ_EXPECT(tok.decode(tok.encode(a)) == a);
  for (std::string_view text : kSamples) {
    std::vector<data::token_t> ids;
    if (accepts([&] { ids = tok.encode(text); })) FUZZ_EXPECT(tok.decode(ids) == text);
  }
}

BILIN_FUZZ_TARGET(hf_tokenizer) {
  static bilin_fuzz::MemFile file;
  std::optional<data::HfTokenizer> tok;
  const bool ok = accepts([&] { tok.emplace(data::HfTokenizer::parse(input, "<fuzz>")); });
  const bool ok_file = accepts([&] { tok.emplace(data::HfTokenizer::load(file.set(input))); });
  FUZZ_EXPECT(ok == ok_file);
  if (!ok) return;
  for (std::string_view text : kSamples) {
    for (bool special : {true, false}) {
      std::vector<std::int64_t> ids;
      FUZZ_EXPECT(accepts([&] { ids = tok->encode(std::string(text), special); }));
      for (std::int64_t id : ids) FUZZ_EXPECT(accepts([&] { (void)tok->id_to_token(id); }));
      FUZZ_EXPECT(accepts([&] { (void)tok->decode(ids, true); }));
      FUZZ_EXPECT(accepts([&] { (void)tok->decode(ids, false); }));
    }
  }
}
