// bilin/io/json.hpp — a small JSON value type, parser and writer.
//
// Contract:
// - json::Value holds null, bool, integer (int64), number (double), string, array or object.
//   Objects keep insertion order (a vector of key/value pairs), so written files are stable and
//   readable; lookups are linear, which is fine for headers, configs and metric lines.
// - parse(text) accepts exactly RFC 8259 JSON (one value, surrounding whitespace allowed) and
//   throws json::ParseError (a bilin::Error) carrying the byte offset of the problem and a
//   reason ("expected ':' after object key"). Nesting deeper than 512 levels is refused instead
//   of overflowing the stack. Integers without fraction/exponent that fit int64 stay exact;
//   other numbers become double. Duplicate keys are kept (find() returns the first).
// - Size limits, checked before the memory is committed so a hostile or corrupt file gives an
//   error instead of std::bad_alloc: a document longer than kMaxDocumentBytes (256 MiB) is
//   refused at offset 0, and a string value or key longer than kMaxStringBytes (16 MiB, far
//   beyond any config, tokenizer or checkpoint header entry) at the offset of its opening quote.
//   io/json_file.hpp checks the file size against the same document limit before reading.
// - dump() writes compact JSON (indent < 0) or pretty JSON (indent spaces per level). Doubles
//   use the shortest text that reads back to the same value (std::to_chars), so no precision is
//   lost. JSON cannot represent NaN or infinity: they are written as null. Strings are escaped
//   (quote, backslash, control characters as \n, \t or \u00XX); other bytes, including UTF-8,
//   pass through unchanged.
// - Accessors of the wrong type (as_string() on a number, at("k") on a missing key) throw
//   bilin::Error("json", ...) naming what was expected and what was found.
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core/error.hpp"

namespace bilin::json {

inline constexpr std::size_t kMaxDocumentBytes = std::size_t{256} << 20;
inline constexpr std::size_t kMaxStringBytes = std::size_t{16} << 20;

class ParseError : public Error {
 public:
  ParseError(std::size_t offset, std::string reason)
      : Error("json", msg("invalid JSON at byte ", offset, ": ", reason)), offset_(offset), reason_(std::move(reason)) {}
  std::size_t offset() const noexcept { return offset_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::size_t offset_;
  std::string reason_;
};

class Value {
 public:
  enum class Type { null, boolean, integer, number, string, array, object };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      if (i > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        v_ = static_cast<double>(i);
        return;
      }
    }
    v_ = static_cast<std::int64_t>(i);
  }
  Value(double d) : v_(d) {}
  Value(float f) : v_(static_cast<double>(f)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}

  static Value array(std::initializer_list<Value> items = {}) { return Value(Array(items)); }
  static Value object() { return Value(Object{}); }
  template <class T>
  static Value array_of(const std::vector<T>& items) {
    Array a;
    a.reserve(items.size());
    for (const auto& x : items) a.emplace_back(x);
    return Value(std::move(a));
  }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_int() const { return type() == Type::integer; }
  bool is_number() const { return type() == Type::integer || type() == Type::number; }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }

  bool as_bool() const { return get<bool>("a boolean"); }
  std::int64_t as_int() const {
    if (is_int()) return std::get<std::int64_t>(v_);
    if (type() == Type::number) {
      const double d = std::get<double>(v_);
      BILIN_CHECK(std::floor(d) == d && std::abs(d) < 9.2e18, "json", "expected an integer, got ", dump());
      return static_cast<std::int64_t>(d);
    }
    throw Error("json", msg("expected an integer, got ", type_name()));
  }
  double as_double() const {
    if (is_int()) return static_cast<double>(std::get<std::int64_t>(v_));
    return get<double>("a number");
  }
  const std::string& as_string() const { return get<std::string>("a string"); }
  const Array& as_array() const { return get<Array>("an array"); }
  Array& as_array() { return get_mut<Array>("an array"); }
  const Object& as_object() const { return get<Object>("an object"); }
  Object& as_object() { return get_mut<Object>("an object"); }

  // Object member access; inserts a null member when missing (a null Value becomes an object).
  Value& operator[](std::string_view key) {
    if (is_null()) v_ = Object{};
    auto& o = as_object();
    for (auto& kv : o)
      if (kv.first == key) return kv.second;
    o.emplace_back(std::string(key), Value());
    return o.back().second;
  }
  const Value* find(std::string_view key) const {
    for (const auto& kv : as_object())
      if (kv.first == key) return &kv.second;
    return nullptr;
  }
  bool contains(std::string_view key) const { return is_object() && find(key) != nullptr; }
  const Value& at(std::string_view key) const {
    const Value* v = find(key);
    BILIN_CHECK(v, "json", "no member '", key, "' in object");
    return *v;
  }
  const Value& at(std::size_t i) const {
    const auto& a = as_array();
    BILIN_CHECK(i < a.size(), "json", "index ", i, " out of range for an array of ", a.size());
    return a[i];
  }
  void push_back(Value v) {
    if (is_null()) v_ = Array{};
    as_array().push_back(std::move(v));
  }
  std::size_t size() const {
    if (is_array()) return as_array().size();
    if (is_object()) return as_object().size();
    throw Error("json", msg("size() needs an array or object, got ", type_name()));
  }

  const char* type_name() const {
    static const char* names[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
    return names[v_.index()];
  }

  std::string dump(int indent = -1) const {
    std::string out;
    dump_to(out, indent, 0);
    return out;
  }
  void dump_to(std::string& out, int indent, int level) const;

  friend bool operator==(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number() && a.type() != b.type()) return a.as_double() == b.as_double();
    return a.v_ == b.v_;
  }

 private:
  template <class T>
  const T& get(const char* what) const {
    if (const T* p = std::get_if<T>(&v_)) return *p;
    throw Error("json", msg("expected ", what, ", got ", type_name()));
  }
  template <class T>
  T& get_mut(const char* what) {
    if (T* p = std::get_if<T>(&v_)) return *p;
    throw Error("json", msg("expected ", what, ", got ", type_name()));
  }

  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> v_;
};

// ---------------------------------------------------------------------- writing
inline void append_escaped(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}
inline std::string quote(std::string_view s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

// Shortest decimal text that parses back to exactly d; "null" for NaN/infinity.
inline std::string format_number(double d) {
  if (!std::isfinite(d)) return "null";
  // "-0" would read back as the integer 0 and lose the sign (found by tests/fuzz).
  if (d == 0 && std::signbit(d)) return "-0.0";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

inline void Value::dump_to(std::string& out, int indent, int level) const {
  const auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * lvl), ' ');
  };
  switch (type()) {
    case Type::null: out += "null"; break;
    case Type::boolean: out += std::get<bool>(v_) ? "true" : "false"; break;
    case Type::integer: out += std::to_string(std::get<std::int64_t>(v_)); break;
    case Type::number: out += format_number(std::get<double>(v_)); break;
    case Type::string: append_escaped(out, std::get<std::string>(v_)); break;
    case Type::array: {
      const auto& a = std::get<Array>(v_);
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        a[i].dump_to(out, indent, level + 1);
      }
      if (!a.empty()) newline(level);
      out += ']';
      break;
    }
    case Type::object: {
      const auto& o = std::get<Object>(v_);
      out += '{';
      for (std::size_t i = 0; i < o.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        append_escaped(out, o[i].first);
        out += indent < 0 ? ":" : ": ";
        o[i].second.dump_to(out, indent, level + 1);
      }
      if (!o.empty()) newline(level);
      out += '}';
      break;
    }
  }
}

// ---------------------------------------------------------------------- parsing
// UTF-8 bytes of code point cp (< 0x110000), appended to out.
inline void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace detail {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Value parse_document() {
    if (s_.size() > kMaxDocumentBytes)
      fail("document of " + std::to_string(s_.size()) + " bytes exceeds the " + std::to_string(kMaxDocumentBytes >> 20) +
           " MiB limit");
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected " + describe() + " after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 512;

  [[noreturn]] void fail(const std::string& reason) const { throw ParseError(pos_, reason); }
  std::string describe() const {
    if (pos_ >= s_.size()) return "end of input";
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c >= 0x20 && c < 0x7f) return std::string("character '") + static_cast<char>(c) + "'";
    static const char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume_literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }

  Value parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 512 levels");
    if (pos_ >= s_.size()) fail("expected a value, got end of input");
    const char c = s_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Value(parse_string());
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (consume_literal("true")) return Value(true);
    if (consume_literal("false")) return Value(false);
    if (consume_literal("null")) return Value();
    fail("expected a value, got " + describe());
  }

  Value parse_object(int depth) {
    ++pos_;  // '{'
    Value::Object obj;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Value(std::move(obj));
    }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key, got " + describe());
      std::string key = parse_string();
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') fail("expected ':' after object key, got " + describe());
      ++pos_;
      skip_ws();
      obj.emplace_back(std::move(key), parse_value(depth + 1));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return Value(std::move(obj));
      }
      fail("expected ',' or '}' in object, got " + describe());
    }
  }

  Value parse_array(int depth) {
    ++pos_;  // '['
    Value::Array arr;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Value(std::move(arr));
    }
    while (true) {
      skip_ws();
      arr.push_back(parse_value(depth + 1));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return Value(std::move(arr));
      }
      fail("expected ',' or ']' in array, got " + describe());
    }
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("bad hex digit in \\u escape: " + describe());
      ++pos_;
    }
    return v;
  }
  std::string parse_string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      if (out.size() > kMaxStringBytes) {
        pos_ = start;
        fail("string longer than the " + std::to_string(kMaxStringBytes >> 20) + " MiB limit");
      }
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("raw control " + describe() + " inside a string (must be escaped)");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) fail("unterminated escape sequence");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!consume_literal("\\u")) fail("high surrogate without a following \\u low surrogate");
            const unsigned lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          fail("invalid escape \\" + describe());
      }
    }
  }

  Value parse_number() {
    const std::size_t start = pos_;
    bool integral = true;
    if (s_[pos_] == '-') ++pos_;
    const auto digits = [&] {
      const std::size_t d0 = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d0;
    };
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("expected a digit, got " + describe());
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (digits() == 0) fail("expected a digit after '.', got " + describe());
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected a digit in the exponent, got " + describe());
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    if (integral) {
      std::int64_t i = 0;
      const auto r = std::from_chars(b, e, i);
      if (r.ec == std::errc() && r.ptr == e) return Value(i);
    }
    double d = 0;
    const auto r = std::from_chars(b, e, d);
    if (r.ec == std::errc::result_out_of_range) {
      // Underflow (1e-400) rounds to zero like every JSON reader; overflow has no double.
      const double v = std::strtod(std::string(b, e).c_str(), nullptr);
      if (std::isinf(v)) {
        pos_ = start;
        fail("number out of the range of a double");
      }
      return Value(v);
    }
    return Value(d);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace detail

inline Value parse(std::string_view text) { return detail::Parser(text).parse_document(); }

}  // namespace bilin::json
