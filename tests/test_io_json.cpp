// Tests for bilin/io/json.hpp: parsing, writing, exact numbers, and errors with byte offsets.
#include <bilin/core/random.hpp>
#include <bilin/io/json.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

using bilin::json::Value;
using Catch::Matchers::Contains;

TEST_CASE("json parses every value type and keeps object order", "[io][json]") {
  const Value v = bilin::json::parse(
      R"( {"z": 1, "a": [true, false, null, -0.5, 1e3, "s"], "n": {"k": -9223372036854775808}} )");
  REQUIRE(v.is_object());
  CHECK(v.as_object()[0].first == "z");
  CHECK(v.as_object()[1].first == "a");
  CHECK(v.at("z").is_int());
  CHECK(v.at("z").as_int() == 1);
  const auto& a = v.at("a").as_array();
  REQUIRE(a.size() == 6);
  CHECK(a[0].as_bool());
  CHECK_FALSE(a[1].as_bool());
  CHECK(a[2].is_null());
  CHECK(a[3].as_double() == -0.5);
  CHECK(a[4].as_double() == 1000.0);
  CHECK_FALSE(a[4].is_int());  // has an exponent
  CHECK(a[5].as_string() == "s");
  CHECK(v.at("n").at("k").as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK(bilin::json::parse("18446744073709551616").as_double() == 18446744073709551616.0);  // > int64
}

TEST_CASE("json strings: escapes in both directions and UTF-8", "[io][json]") {
  const Value v = bilin::json::parse(R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u0001")");
  CHECK(v.as_string() == "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xf0\x9f\x98\x80 \x01");
  // Writing escapes quotes, backslashes and control characters; UTF-8 passes through.
  CHECK(Value(std::string("a\"b\\c\nd\x01\x7f\xc3\xa9")).dump() == "\"a\\\"b\\\\c\\nd\\u0001\\u007f\xc3\xa9\"");
  const std::string tricky = "tab\there \"quoted\" </script> \\ end\n";
  CHECK(bilin::json::parse(Value(tricky).dump()).as_string() == tricky);
}

TEST_CASE("json numbers round-trip exactly", "[io][json]") {
  bilin::Generator gen(7);
  for (int i = 0; i < 2000; ++i) {
    double d = gen.normal() * std::pow(10.0, static_cast<int>(gen.randint(40)) - 20);
    if (i % 3 == 0) d = static_cast<float>(d);  // float values printed as doubles
    const std::string s = Value(d).dump();
    const double back = bilin::json::parse(s).as_double();
    REQUIRE(std::memcmp(&back, &d, sizeof d) == 0);
  }
  CHECK(Value(0.1).dump() == "0.1");
  CHECK(Value(std::numeric_limits<std::int64_t>::max()).dump() == "9223372036854775807");
  CHECK(Value(std::nan("")).dump() == "null");
  CHECK(Value(-std::numeric_limits<double>::infinity()).dump() == "null");
  CHECK(bilin::json::parse("1e-400").as_double() == 0.0);
}

TEST_CASE("json writer: compact and pretty output parse back to the same value", "[io][json]") {
  Value v = Value::object();
  v["dataset"] = "mnist";
  v["test_acc"] = 0.9751;
  v["epochs"] = 20;
  v["truncation_acc"]["1"] = 0.61;
  v["truncation_acc"]["all"] = 0.975;
  v["list"] = Value::array({1, "two", nullptr, true});
  v["empty_obj"] = Value::object();
  v["empty_arr"] = Value::array();
  const std::string compact = v.dump();
  CHECK(compact ==
        R"({"dataset":"mnist","test_acc":0.9751,"epochs":20,"truncation_acc":{"1":0.61,"all":0.975},)"
        R"("list":[1,"two",null,true],"empty_obj":{},"empty_arr":[]})");
  CHECK(compact.find('\n') == std::string::npos);  // one line: fit for .jsonl
  const std::string pretty = v.dump(2);
  CHECK(pretty.find("\n  \"dataset\": \"mnist\",") != std::string::npos);
  CHECK(bilin::json::parse(pretty) == v);
  CHECK(bilin::json::parse(compact) == v);
}

TEST_CASE("json parse errors give the byte offset and the reason", "[io][json]") {
  const auto offset_of = [](const std::string& text) -> long {
    try {
      bilin::json::parse(text);
    } catch (const bilin::json::ParseError& e) {
      return static_cast<long>(e.offset());
    }
    return -1;
  };
  CHECK(offset_of(R"({"a" 1})") == 5);
  CHECK(offset_of(R"([1, 2)") == 5);
  CHECK(offset_of(R"({"a": tru})") == 6);
  CHECK(offset_of("\"abc") == 4);
  CHECK(offset_of("\"a\nb\"") == 2);
  CHECK(offset_of("01") == 1);
  CHECK(offset_of("1.") == 2);
  CHECK(offset_of("{} x") == 3);
  CHECK(offset_of("") == 0);
  CHECK(offset_of(R"("\x")") == 2);
  CHECK(offset_of(R"("\ud800")") >= 7);
  REQUIRE_THROWS_WITH(bilin::json::parse(R"({"a": [1, 2,]})"),
                      Contains("invalid JSON at byte 12") && Contains("expected a value"));
  // Deep nesting is refused, not a stack overflow.
  REQUIRE_THROWS_WITH(bilin::json::parse(std::string(100000, '[')), Contains("nesting deeper than 512"));
}

TEST_CASE("json accessors of the wrong type throw clear errors", "[io][json]") {
  const Value v = bilin::json::parse(R"({"s": "x", "n": 1.5})");
  REQUIRE_THROWS_WITH(v.at("s").as_double(), Contains("expected a number, got string"));
  REQUIRE_THROWS_WITH(v.at("n").as_int(), Contains("expected an integer"));
  REQUIRE_THROWS_WITH(v.at("missing"), Contains("no member 'missing'"));
  REQUIRE_THROWS_WITH(v.at("s").size(), Contains("size() needs an array or object"));
}

TEST_CASE("randomly damaged JSON either parses or throws ParseError with an in-range offset", "[io][json][fuzz]") {
  const std::string good =
      R"({"a": [1, -2.5e-3, true, null, "x\u00e9\n"], "b": {"c": [], "d": {}}, "e": "\ud83d\ude00"})";
  static const char alphabet[] = "{}[],:\"\\u0123456789 -+eE.tfnx\x01\xff";
  bilin::Generator gen(5);
  for (int iter = 0; iter < 5000; ++iter) {
    std::string bad = good;
    const int flips = 1 + static_cast<int>(gen.randint(3));
    for (int f = 0; f < flips; ++f)
      bad[static_cast<std::size_t>(gen.randint(bad.size()))] = alphabet[gen.randint(sizeof alphabet - 1)];
    if (gen.randint(4) == 0) bad.resize(static_cast<std::size_t>(gen.randint(bad.size())));
    try {
      const Value v = bilin::json::parse(bad);
      CHECK(bilin::json::parse(v.dump()) == v);  // whatever parsed must round-trip
    } catch (const bilin::json::ParseError& e) {
      CHECK(e.offset() <= bad.size());
    }
  }
}
