// tests/fuzz/fuzz_text.cpp — the text side on arbitrary bytes (invalid UTF-8, NUL, specials):
// data/bpe.hpp pretokenize + BpeTokenizer::encode/decode (a tokenizer trained on the sample
// text), data/char_tokenizer.hpp, data/unicode_latin.hpp utf8_decode, data/text.hpp
// split_stories / join_documents, data/hf_tokenizer.hpp encode/decode (fixed tokenizer.json).
// Contract: pretokenize's chunks concatenate to the input; decode(encode(s)) == s for BPE (with
// and without specials) and for a char tokenizer fitted on s; utf8_decode gives valid code
// points and utf8_encode(utf8_decode(s)) == s exactly when s is valid UTF-8; split_stories gives
// trimmed non-empty stories; WordPiece ids all name tokens; io/base64.hpp base64_decode gives a
// bilin::Error or bytes whose encoding decodes to the same bytes. No bilin::Error is acceptable here
// except where noted (encode of arbitrary text never fails).
#include "bilin/data/bpe.hpp"
#include "bilin/data/char_tokenizer.hpp"
#include "bilin/data/hf_tokenizer.hpp"
#include "bilin/data/text.hpp"
#include "bilin/data/unicode_latin.hpp"
#include "bilin/io/base64.hpp"

#include "fuzz_common.hpp"
#include "fuzz_seeds.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

namespace {

const data::BpeTokenizer& fixed_bpe() {
  static const data::BpeTokenizer tok = [] {
    const std::string text = bilin_fuzz::sample_text();
    data::BpeTrainOptions o;
    o.vocab_size = 330;
    o.min_pair_count = 1;
    o.special_tokens = {"<|endoftext|>", "<pad>"};
    return data::BpeTokenizer::train(text, o);
  }();
  return tok;
}

const data::HfTokenizer& fixed_hf(bool bert) {
  static const data::HfTokenizer a = data::HfTokenizer::parse(bilin_fuzz::sample_hf_json(false), "ts-like");
  static const data::HfTokenizer b = data::HfTokenizer::parse(bilin_fuzz::sample_hf_json(true), "bert-like");
  return bert ? b : a;
}

bool valid_utf8(std::string_view s) {
  // independent check: re-encode each decoded scalar and compare the bytes consumed
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    const unsigned b = p[i];
    std::size_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (!len || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    if (b == 0xE0 && p[i + 1] < 0xA0) return false;   // overlong
    if (b == 0xED && p[i + 1] >= 0xA0) return false;  // surrogates
    if (b == 0xF0 && p[i + 1] < 0x90) return false;   // overlong
    if (b == 0xF4 && p[i + 1] >= 0x90) return false;  // > U+10FFFF
    i += len;
  }
  return true;
}

}  // namespace

BILIN_FUZZ_TARGET(text) {
  // pre-tokenizer
  std::string joined;
  for (std::string_view c : data::pretokenize(input)) {
    FUZZ_EXPECT(!c.empty());
    joined += c;
  }
  FUZZ_EXPECT(joined == input);
  // BPE encoder
  const data::BpeTokenizer& bpe = fixed_bpe();
  std::vector<data::token_t> ids;
  FUZZ_EXPECT(accepts([&] { ids = bpe.encode(input); }));
  for (data::token_t id : ids) FUZZ_EXPECT(id < bpe.vocab_size());
  FUZZ_EXPECT(bpe.decode(ids) == input);
  FUZZ_EXPECT(accepts([&] { ids = bpe.encode_ordinary(input); }));
  FUZZ_EXPECT(bpe.decode(ids) == input);
  for (data::token_t id : ids) FUZZ_EXPECT(!bpe.is_special(id));
  // char tokenizer fitted on the input
  if (!input.empty()) {
    const data::CharTokenizer ct = data::CharTokenizer::fit(input);
    FUZZ_EXPECT(ct.decode(ct.encode(input)) == input);
  }
  // UTF-8
  const auto cps = data::unicode::utf8_decode(input);
  for (char32_t c : cps) FUZZ_EXPECT(c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF));
  const std::string re = data::unicode::utf8_encode(std::u32string(cps.begin(), cps.end()));
  FUZZ_EXPECT((re == input) == valid_utf8(input));
  // story splitting
  const auto stories = data::split_stories(input);
  for (const auto& s : stories) {
    FUZZ_EXPECT(!s.empty());
    FUZZ_EXPECT(s.find("\n<|endoftext|>\n") == std::string::npos);
  }
  // base64 (the explorer page's embedded data)
  std::vector<std::uint8_t> raw;
  if (accepts([&] { raw = io::base64_decode(input); })) {
    const std::string enc = io::base64_encode(raw);
    FUZZ_EXPECT(enc.size() == input.size());
    FUZZ_EXPECT(io::base64_decode(enc) == raw);
  }
  // WordPiece tokenizers on arbitrary text
  for (bool bert : {false, true}) {
    const data::HfTokenizer& hf = fixed_hf(bert);
    std::vector<std::int64_t> w;
    FUZZ_EXPECT(accepts([&] { w = hf.encode(input); }));
    for (std::int64_t id : w) FUZZ_EXPECT(accepts([&] { (void)hf.id_to_token(id); }));
    FUZZ_EXPECT(accepts([&] { (void)hf.decode(w); }));
  }
}
