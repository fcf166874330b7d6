// bilin/data/hf_tokenizer.hpp — Hugging Face tokenizer.json files of the WordPiece kind (the
// paper's "ts-4096" tokenizer, tdooms/ts-tokenizer-4096, and BERT-style files).
//
// Contract:
// - HfTokenizer::load(path) / parse(json, source) read the file. Supported pieces:
//     model        WordPiece: vocab, unk_token, continuing_subword_prefix ("##"),
//                  max_input_chars_per_word (100);
//     normalizer   null, Sequence, NFD, StripAccents, Lowercase, BertNormalizer (clean_text,
//                  strip_accents, lowercase; handle_chinese_chars pads U+4E00–U+9FFF etc.);
//     pre_tokenizer null, Sequence, Punctuation (behavior Isolated or Removed), Whitespace
//                  (regex \w+|[^\w\s]+), WhitespaceSplit, Digits (individual_digits or not),
//                  BertPreTokenizer;
//     post_processor null, TemplateProcessing (the "single" template: "[BOS] $A" and the like),
//                  BertProcessing (cls … sep);
//     decoder      null (tokens joined by spaces, then "##" pieces joined to the previous one,
//                  as the official code's generate() does with .replace(" ##", "")) or
//                  WordPiece (prefix stripped, pieces joined, its cleanup rules when set);
//     added_tokens matched literally in the input before normalization (longest first), as
//                  the special tokens of these files are.
//   Unicode coverage is data/unicode_latin.hpp's (NFD and lowercase for Latin, Greek/Cyrillic
//   lowercase; other scripts pass through unchanged).
// - encode(text, add_special = true) → ids: added tokens, normalize, pre-tokenize, WordPiece
//   (greedy longest match from the left; a word with no match, or longer than
//   max_input_chars_per_word characters, becomes the single unk id), then the post-processor.
// - decode(ids, skip_special = true) → text; id_to_token / token_to_id; vocab_size() is one past
//   the largest id.
// - encode_documents(tok, docs) encodes each document on its own (so each gets the template's
//   [BOS], as every row of the official ts-tokenized data starts with it) and concatenates them
//   as one token stream.
// - Errors are bilin::Error("hf_tokenizer", "<file>: ...") naming the key: a model type other
//   than WordPiece (byte-level BPE, Unigram, ... are named and refused: BPE would need its own
//   byte-to-unicode map and merge ranks, which this reader does not implement), a vocab
//   without its unk_token, an unsupported normalizer / pre-tokenizer / post-processor / decoder
//   type, a template naming an unknown special token, ill-typed keys; decode of an id outside
//   the vocabulary.
// - Limits: a token id (model.vocab or added_tokens) must be below kMaxTokenId (2^21; the largest
//   published vocabularies have about 2^18 entries), checked before the id table grows, so a
//   file claiming id 10^15 is an error naming the key and token rather than a huge allocation.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../core/error.hpp"
#include "../io/json_file.hpp"
#include "unicode_latin.hpp"

namespace bilin::data {

class HfTokenizer {
 public:
  static HfTokenizer load(const std::string& path) {
    return from_json(io::read_json_file(path, kOp), path);
  }
  static HfTokenizer parse(std::string_view text, const std::string& source) {
    json::Value j;
    try {
      j = json::parse(text);
    } catch (const json::ParseError& e) {
      throw Error(kOp, msg(source, ": invalid JSON at byte ", e.offset(), ": ", e.reason()));
    }
    return from_json(j, source);
  }

  std::vector<std::int64_t> encode(std::string_view text, bool add_special = true) const {
    std::vector<std::int64_t> seq;
    std::size_t start = 0;
    const auto flush = [&](std::size_t end) {
      if (end > start) encode_plain(text.substr(start, end - start), seq);
    };
    for (std::size_t i = 0; i < text.size();) {
      const AddedToken* hit = nullptr;
      for (const AddedToken& a : added_)  // sorted longest first
        if (!a.content.empty() && text.compare(i, a.content.size(), a.content) == 0) {
          hit = &a;
          break;
        }
      if (!hit) {
        ++i;
        continue;
      }
      flush(i);
      seq.push_back(hit->id);
      i += hit->content.size();
      start = i;
    }
    flush(text.size());
    if (!add_special) return seq;
    std::vector<std::int64_t> out;
    for (const TemplatePiece& p : template_) {
      if (p.sequence) out.insert(out.end(), seq.begin(), seq.end());
      else out.insert(out.end(), p.ids.begin(), p.ids.end());
    }
    return template_.empty() ? seq : out;
  }

  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special = true) const {
    std::vector<std::string> toks;
    for (std::int64_t id : ids) {
      if (skip_special && is_special(id)) continue;
      toks.push_back(id_to_token(id));
    }
    std::string out;
    const bool wordpiece_decoder = decoder_ == Decoder::WordPiece;
    const std::string& pre = wordpiece_decoder ? decoder_prefix_ : prefix_;
    for (std::size_t i = 0; i < toks.size(); ++i) {
      const std::string& t = toks[i];
      const bool cont = !pre.empty() && t.compare(0, pre.size(), pre) == 0;
      if (cont && (i > 0 || wordpiece_decoder)) {
        out += t.substr(pre.size());
      } else {
        if (i > 0) out += ' ';
        out += t;
      }
    }
    if (wordpiece_decoder && cleanup_) out = cleanup(out);
    return out;
  }

  std::string id_to_token(std::int64_t id) const {
    BILIN_CHECK(id >= 0 && static_cast<std::size_t>(id) < tokens_.size() && has_token_[static_cast<std::size_t>(id)],
                kOp, source_, ": id ", id, " is not in the vocabulary (", tokens_.size(), " ids)");
    return tokens_[static_cast<std::size_t>(id)];
  }
  std::optional<std::int64_t> token_to_id(const std::string& token) const {
    const auto it = vocab_.find(token);
    if (it != vocab_.end()) return it->second;
    for (const AddedToken& a : added_)
      if (a.content == token) return a.id;
    return std::nullopt;
  }
  static constexpr std::int64_t kMaxTokenId = std::int64_t{1} << 21;  // see the contract's limits
  std::size_t vocab_size() const { return tokens_.size(); }
  std::int64_t unk_id() const { return unk_id_; }
  bool is_special(std::int64_t id) const {
    for (const AddedToken& a : added_)
      if (a.id == id && a.special) return true;
    return false;
  }
  const std::string& source() const { return source_; }

 private:
  static constexpr const char* kOp = "hf_tokenizer";
  enum class Norm { NFD, StripAccents, Lowercase, BertClean, BertChinese };
  enum class Pre { PunctIsolated, PunctRemoved, Whitespace, WhitespaceSplit, DigitsIndividual, DigitsContiguous, Bert };
  enum class Decoder { None, WordPiece };
  struct AddedToken {
    std::string content;
    std::int64_t id;
    bool special;
  };
  struct TemplatePiece {
    bool sequence = false;
    std::vector<std::int64_t> ids;
  };

  template <class... A>
  [[noreturn]] static void fail(const std::string& source, const A&... pieces) {
    throw Error(kOp, msg(source, ": ", pieces...));
  }
  static const json::Value* key(const json::Value& o, const char* k, io::JsonKind kind, bool required,
                                const std::string& src) {
    return io::json_key(o, k, kind, required, src, kOp);
  }
  static std::string type_of(const json::Value& o, const std::string& where, const std::string& src) {
    BILIN_CHECK(o.is_object(), kOp, src, ": '", where, "' must be an object, got ", o.type_name());
    const json::Value* t = o.find("type");
    BILIN_CHECK(t && t->is_string(), kOp, src, ": '", where, "' has no string key 'type'");
    return t->as_string();
  }

  static HfTokenizer from_json(const json::Value& j, const std::string& src) {
    using io::JsonKind;
    HfTokenizer tk;
    tk.source_ = src;
    BILIN_CHECK(j.is_object(), kOp, src, ": the document must be a JSON object, got ", j.type_name());
    const json::Value* model = key(j, "model", JsonKind::Any, true, src);
    const std::string mtype = type_of(*model, "model", src);
    if (mtype != "WordPiece")
      fail(src, "key 'model.type' = \"", mtype, "\" is not supported (bilin reads WordPiece tokenizer.json files; ",
           mtype == "BPE" ? "byte-level BPE files (GPT-2, Mixtral) are not implemented" : "only WordPiece is implemented",
           ")");
    const json::Value* vocab = key(*model, "vocab", JsonKind::Any, true, src);
    BILIN_CHECK(vocab->is_object(), kOp, src, ": key 'model.vocab' must be an object of token → id");
    for (const auto& [tok, id] : vocab->as_object()) {
      BILIN_CHECK(id.is_int() && id.as_int() >= 0, kOp, src, ": key 'model.vocab' maps '", tok,
                  "' to ", id.dump(), ", not a non-negative integer id");
      BILIN_CHECK(id.as_int() < kMaxTokenId, kOp, src, ": key 'model.vocab' maps '", tok, "' to id ", id.as_int(),
                  ", over the limit of ", kMaxTokenId, " ids");
      tk.vocab_[tok] = id.as_int();
      tk.set_token(id.as_int(), tok);
    }
    const std::string unk = key(*model, "unk_token", JsonKind::String, true, src)->as_string();
    const auto u = tk.vocab_.find(unk);
    if (u == tk.vocab_.end()) fail(src, "key 'model.unk_token' = \"", unk, "\" is not in model.vocab");
    tk.unk_id_ = u->second;
    if (const auto* p = key(*model, "continuing_subword_prefix", JsonKind::StringOrNull, false, src); p && p->is_string())
      tk.prefix_ = p->as_string();
    if (const auto* m = key(*model, "max_input_chars_per_word", JsonKind::Int, false, src)) tk.max_chars_ = m->as_int();

    if (const auto* added = key(j, "added_tokens", JsonKind::Any, false, src); added && !added->is_null()) {
      BILIN_CHECK(added->is_array(), kOp, src, ": key 'added_tokens' must be an array");
      for (const auto& a : added->as_array()) {
        AddedToken t;
        t.content = key(a, "content", JsonKind::String, true, src)->as_string();
        t.id = key(a, "id", JsonKind::Int, true, src)->as_int();
        BILIN_CHECK(t.id >= 0 && t.id < kMaxTokenId, kOp, src, ": key 'added_tokens' gives '", t.content, "' id ", t.id,
                    ", outside 0..", kMaxTokenId - 1);
        const auto* sp = key(a, "special", JsonKind::Bool, false, src);
        t.special = sp && sp->as_bool();
        tk.set_token(t.id, t.content);
        tk.added_.push_back(t);
      }
      std::stable_sort(tk.added_.begin(), tk.added_.end(),
                       [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
    }

    if (const auto* n = key(j, "normalizer", JsonKind::Any, false, src); n && !n->is_null()) tk.add_normalizer(*n, src);
    if (const auto* p = key(j, "pre_tokenizer", JsonKind::Any, false, src); p && !p->is_null())
      tk.add_pre_tokenizer(*p, src);
    if (const auto* p = key(j, "post_processor", JsonKind::Any, false, src); p && !p->is_null())
      tk.set_post_processor(*p, src);
    if (const auto* d = key(j, "decoder", JsonKind::Any, false, src); d && !d->is_null()) {
      const std::string t = type_of(*d, "decoder", src);
      if (t != "WordPiece") fail(src, "key 'decoder.type' = \"", t, "\" is not supported (null or WordPiece)");
      tk.decoder_ = Decoder::WordPiece;
      tk.decoder_prefix_ = "##";
      if (const auto* p = key(*d, "prefix", JsonKind::String, false, src)) tk.decoder_prefix_ = p->as_string();
      if (const auto* c = key(*d, "cleanup", JsonKind::Bool, false, src)) tk.cleanup_ = c->as_bool();
    }
    return tk;
  }

  void set_token(std::int64_t id, const std::string& tok) {
    if (static_cast<std::size_t>(id) >= tokens_.size()) {
      tokens_.resize(static_cast<std::size_t>(id) + 1);
      has_token_.resize(tokens_.size(), false);
    }
    tokens_[static_cast<std::size_t>(id)] = tok;
    has_token_[static_cast<std::size_t>(id)] = true;
  }

  void add_normalizer(const json::Value& n, const std::string& src) {
    using io::JsonKind;
    const std::string t = type_of(n, "normalizer", src);
    if (t == "Sequence") {
      const auto* list = key(n, "normalizers", JsonKind::Any, true, src);
      BILIN_CHECK(list->is_array(), kOp, src, ": key 'normalizer.normalizers' must be an array");
      for (const auto& x : list->as_array()) add_normalizer(x, src);
    } else if (t == "NFD") {
      norms_.push_back(Norm::NFD);
    } else if (t == "StripAccents") {
      norms_.push_back(Norm::StripAccents);
    } else if (t == "Lowercase") {
      norms_.push_back(Norm::Lowercase);
    } else if (t == "BertNormalizer") {
      const auto flag = [&](const char* k, bool def) {
        const auto* v = key(n, k, JsonKind::Any, false, src);
        return v && v->is_bool() ? v->as_bool() : def;
      };
      const bool lower = flag("lowercase", true);
      if (flag("clean_text", true)) norms_.push_back(Norm::BertClean);
      if (flag("handle_chinese_chars", true)) norms_.push_back(Norm::BertChinese);
      if (flag("strip_accents", lower)) {  // null: follows lowercase, as in BERT
        norms_.push_back(Norm::NFD);
        norms_.push_back(Norm::StripAccents);
      }
      if (lower) norms_.push_back(Norm::Lowercase);
    } else {
      fail(src, "key 'normalizer.type' = \"", t,
           "\" is not supported (Sequence, NFD, StripAccents, Lowercase, BertNormalizer)");
    }
  }

  void add_pre_tokenizer(const json::Value& p, const std::string& src) {
    using io::JsonKind;
    const std::string t = type_of(p, "pre_tokenizer", src);
    if (t == "Sequence") {
      const auto* list = key(p, "pretokenizers", JsonKind::Any, true, src);
      BILIN_CHECK(list->is_array(), kOp, src, ": key 'pre_tokenizer.pretokenizers' must be an array");
      for (const auto& x : list->as_array()) add_pre_tokenizer(x, src);
    } else if (t == "Punctuation") {
      std::string b = "Isolated";
      if (const auto* v = key(p, "behavior", JsonKind::String, false, src)) b = v->as_string();
      if (b == "Isolated") pres_.push_back(Pre::PunctIsolated);
      else if (b == "Removed") pres_.push_back(Pre::PunctRemoved);
      else fail(src, "key 'pre_tokenizer.behavior' = \"", b, "\" is not supported (Isolated, Removed)");
    } else if (t == "Whitespace") {
      pres_.push_back(Pre::Whitespace);
    } else if (t == "WhitespaceSplit") {
      pres_.push_back(Pre::WhitespaceSplit);
    } else if (t == "Digits") {
      const auto* v = key(p, "individual_digits", JsonKind::Bool, false, src);
      pres_.push_back(v && v->as_bool() ? Pre::DigitsIndividual : Pre::DigitsContiguous);
    } else if (t == "BertPreTokenizer") {
      pres_.push_back(Pre::Bert);
    } else {
      fail(src, "key 'pre_tokenizer.type' = \"", t,
           "\" is not supported (Sequence, Punctuation, Whitespace, WhitespaceSplit, Digits, BertPreTokenizer)");
    }
  }

  std::vector<std::int64_t> special_ids(const json::Value& specials, const std::string& name, const std::string& src) {
    if (specials.is_object())
      if (const auto* s = specials.find(name)) {
        const auto* ids = key(*s, "ids", io::JsonKind::Any, true, src);
        std::vector<std::int64_t> out;
        for (const auto& i : ids->as_array()) out.push_back(i.as_int());
        return out;
      }
    if (const auto id = token_to_id(name)) return {*id};
    fail(src, "key 'post_processor' names the special token '", name, "', which is neither in its special_tokens nor in the vocabulary");
  }

  void set_post_processor(const json::Value& p, const std::string& src) {
    using io::JsonKind;
    const std::string t = type_of(p, "post_processor", src);
    if (t == "TemplateProcessing") {
      const auto* single = key(p, "single", JsonKind::Any, true, src);
      BILIN_CHECK(single->is_array(), kOp, src, ": key 'post_processor.single' must be an array");
      const json::Value empty = json::Value::object();
      const auto* specials = key(p, "special_tokens", JsonKind::Any, false, src);
      for (const auto& piece : single->as_array()) {
        TemplatePiece tp;
        if (const auto* s = piece.is_object() ? piece.find("SpecialToken") : nullptr) {
          tp.ids = special_ids(specials ? *specials : empty, key(*s, "id", JsonKind::String, true, src)->as_string(), src);
        } else if (const auto* q = piece.is_object() ? piece.find("Sequence") : nullptr) {
          const std::string id = key(*q, "id", JsonKind::String, true, src)->as_string();
          BILIN_CHECK(id == "A", kOp, src, ": key 'post_processor.single' uses sequence '", id,
                      "'; a single-sequence template can only hold $A");
          tp.sequence = true;
        } else {
          fail(src, "key 'post_processor.single' holds ", piece.dump(), ", neither SpecialToken nor Sequence");
        }
        template_.push_back(tp);
      }
    } else if (t == "BertProcessing") {
      const auto id_of = [&](const char* k) {
        const auto* v = key(p, k, JsonKind::Any, true, src);
        BILIN_CHECK(v->is_array() && v->size() == 2 && v->at(1).is_int(), kOp, src, ": key 'post_processor.", k,
                    "' must be [token, id]");
        return v->at(1).as_int();
      };
      template_ = {TemplatePiece{false, {id_of("cls")}}, TemplatePiece{true, {}}, TemplatePiece{false, {id_of("sep")}}};
    } else {
      fail(src, "key 'post_processor.type' = \"", t, "\" is not supported (TemplateProcessing, BertProcessing)");
    }
    // Every id the template inserts must name a token, or encode() would return ids that
    // decode() and id_to_token() refuse (found by tests/fuzz).
    for (const TemplatePiece& tp : template_)
      for (std::int64_t id : tp.ids)
        BILIN_CHECK(id >= 0 && static_cast<std::size_t>(id) < tokens_.size() && has_token_[static_cast<std::size_t>(id)],
                    kOp, src, ": key 'post_processor' inserts id ", id, ", which is not in the vocabulary");
  }

  static bool is_cjk(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
  }

  std::u32string normalize(std::u32string s) const {
    namespace U = unicode;
    for (Norm n : norms_) {
      std::u32string o;
      switch (n) {
        case Norm::NFD: o = U::nfd(s); break;
        case Norm::StripAccents: o = U::strip_marks(s); break;
        case Norm::Lowercase:
          o = s;
          for (auto& c : o) c = U::to_lower(c);
          break;
        case Norm::BertClean:
          for (char32_t c : s) {
            if (c == 0 || c == 0xFFFD || (U::is_control(c) && c != '\t' && c != '\n' && c != '\r')) continue;
            o += U::is_space(c) ? U' ' : c;
          }
          break;
        case Norm::BertChinese:
          for (char32_t c : s) {
            if (is_cjk(c)) (o += U' ', o += c, o += U' ');
            else o += c;
          }
          break;
      }
      s = std::move(o);
    }
    return s;
  }

  // One pre-tokenizer step on one piece.
  static void split(Pre p, const std::u32string& w, std::vector<std::u32string>& out) {
    namespace U = unicode;
    std::u32string cur;
    const auto push = [&] {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    };
    switch (p) {
      case Pre::PunctIsolated:
      case Pre::PunctRemoved:
        for (char32_t c : w) {
          if (!U::is_punctuation(c)) {
            cur += c;
            continue;
          }
          push();
          if (p == Pre::PunctIsolated) out.push_back(std::u32string(1, c));
        }
        break;
      case Pre::DigitsIndividual:
      case Pre::DigitsContiguous:
        for (char32_t c : w) {
          const bool d = U::is_numeric(c);
          if (!cur.empty() && (d != U::is_numeric(cur.back()) || (d && p == Pre::DigitsIndividual))) push();
          cur += c;
        }
        break;
      case Pre::WhitespaceSplit:
        for (char32_t c : w) {
          if (U::is_space(c)) push();
          else cur += c;
        }
        break;
      case Pre::Whitespace:  // \w+|[^\w\s]+, whitespace dropped
        for (char32_t c : w) {
          if (U::is_space(c)) {
            push();
            continue;
          }
          if (!cur.empty() && U::is_word_char(c) != U::is_word_char(cur.back())) push();
          cur += c;
        }
        break;
      case Pre::Bert:  // whitespace split, then every punctuation character alone
        for (char32_t c : w) {
          if (U::is_space(c)) {
            push();
          } else if (U::is_punctuation(c)) {
            push();
            out.push_back(std::u32string(1, c));
          } else {
            cur += c;
          }
        }
        break;
    }
    push();
  }

  void wordpiece(const std::u32string& w, std::vector<std::int64_t>& out) const {
    if (static_cast<std::int64_t>(w.size()) > max_chars_) {
      out.push_back(unk_id_);
      return;
    }
    std::vector<std::int64_t> pieces;
    for (std::size_t start = 0; start < w.size();) {
      std::size_t end = w.size();
      std::int64_t found = -1;
      for (; end > start; --end) {
        std::string sub = start > 0 ? prefix_ : std::string();
        sub += unicode::utf8_encode(std::u32string_view(w).substr(start, end - start));
        const auto it = vocab_.find(sub);
        if (it != vocab_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        out.push_back(unk_id_);
        return;
      }
      pieces.push_back(found);
      start = end;
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
  }

  void encode_plain(std::string_view text, std::vector<std::int64_t>& out) const {
    const std::vector<char32_t> cps = unicode::utf8_decode(text);
    std::vector<std::u32string> words{normalize(std::u32string(cps.begin(), cps.end()))};
    if (pres_.empty()) {  // without a pre-tokenizer the whole (normalized) text is one word
      if (words[0].empty()) return;
    }
    for (Pre p : pres_) {
      std::vector<std::u32string> next;
      for (const auto& w : words) split(p, w, next);
      words.swap(next);
    }
    for (const auto& w : words) wordpiece(w, out);
  }

  static std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
  }
  // The tokenizers library's decoders::wordpiece::cleanup.
  static std::string cleanup(std::string s) {
    const char* rules[][2] = {{" .", "."},   {" ?", "?"},   {" !", "!"},   {" ,", ","},           {" ' ", "'"},
                              {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"},
                              {" 're", "'re"}};
    for (const auto& r : rules) s = replace_all(std::move(s), r[0], r[1]);
    return s;
  }

  std::string source_;
  std::unordered_map<std::string, std::int64_t> vocab_;
  std::vector<std::string> tokens_;
  std::vector<bool> has_token_;
  std::vector<AddedToken> added_;
  std::int64_t unk_id_ = 0, max_chars_ = 100;
  std::string prefix_ = "##";
  std::vector<Norm> norms_;
  std::vector<Pre> pres_;
  std::vector<TemplatePiece> template_;
  Decoder decoder_ = Decoder::None;
  std::string decoder_prefix_;
  bool cleanup_ = true;
};

inline std::vector<std::uint32_t> encode_documents(const HfTokenizer& tok, const std::vector<std::string>& docs) {
  std::vector<std::uint32_t> out;
  for (const auto& d : docs)
    for (std::int64_t id : tok.encode(d)) out.push_back(static_cast<std::uint32_t>(id));
  return out;
}

}  // namespace bilin::data
