// Tests for bilin/io/safetensors.hpp: exact round trips for every dtype, the byte layout, dtype
// conversions, and clear errors for every kind of damaged file.
#include <unistd.h>

#include <bilin/core/random.hpp>
#include <bilin/io/safetensors.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"

using bilin::Shape;
using bilin::Tensor;
using Catch::Matchers::Contains;
namespace io = bilin::io;

namespace {

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// A safetensors image from a header text and raw data bytes.
std::string file_image(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

using bilin_test::error_of;

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) return false;
  const auto va = a.to_vector(), vb = b.to_vector();
  return va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE("safetensors round trip: every dtype, 0-d and empty tensors, metadata", "[io][safetensors]") {
  bilin_test::TempDir td("safetensors");
  const std::string p = td.path + "/all.safetensors";
  const auto f32 = Tensor<float>::from({{1.5f, -0.0f, std::numeric_limits<float>::denorm_min()},
                                        {std::numeric_limits<float>::infinity(), std::nanf(""), 3e38f}});
  const auto f64 = Tensor<double>::from({0.1, -1e-300, 12345.678901234567});
  const auto i64 = Tensor<std::int64_t>::from({std::numeric_limits<std::int64_t>::min(), -1, 0, 1LL << 62});
  const auto i32 = Tensor<std::int32_t>::from({-7, 2147483647});
  const auto u16 = Tensor<std::uint16_t>::from({0, 65535, 1234});
  auto u8 = Tensor<std::uint8_t>::empty({2, 2, 2});
  for (int i = 0; i < 8; ++i) u8.data()[i] = static_cast<std::uint8_t>(250 + i % 6);
  const auto scalar = Tensor<double>::scalar(-2.5);  // 0-d
  const auto empty = Tensor<float>::empty({0, 4});   // no elements
  const auto empty1 = Tensor<std::int64_t>::empty({0});
  io::save_safetensors(p,
                       {{"f32", f32}, {"f64", f64}, {"i64", i64}, {"i32", i32}, {"u16", u16}, {"u8", u8},
                        {"scalar", scalar}, {"empty", empty}, {"empty1", empty1}},
                       {{"format", "pt"}, {"note", "quote \" and newline \n"}});
  const io::TensorMap m = io::load_safetensors(p);
  REQUIRE(m.size() == 9);
  std::vector<std::string> names;
  for (const auto& [n, t] : m) names.push_back(n);
  CHECK(names == std::vector<std::string>{"f32", "f64", "i64", "i32", "u16", "u8", "scalar", "empty", "empty1"});
  CHECK(m.at("f32").dtype() == std::string("F32"));
  CHECK(m.at("u16").dtype() == std::string("U16"));
  CHECK(same_bits(m.get<float>("f32"), f32));  // NaN, -0, denormal, inf bit-exact
  CHECK(same_bits(m.get<double>("f64"), f64));
  CHECK(same_bits(m.get<std::int64_t>("i64"), i64));
  CHECK(same_bits(m.get<std::int32_t>("i32"), i32));
  CHECK(same_bits(m.get<std::uint16_t>("u16"), u16));
  CHECK(same_bits(m.get<std::uint8_t>("u8"), u8));
  CHECK(m.get<double>("scalar").shape() == Shape{});
  CHECK(m.get<double>("scalar").item() == -2.5);
  CHECK(m.get<float>("empty").shape() == Shape{0, 4});
  CHECK(m.at("empty1").shape() == Shape{0});
  CHECK(m.metadata.at("format") == "pt");
  CHECK(m.metadata.at("note") == "quote \" and newline \n");
}

TEST_CASE("safetensors byte layout: length prefix, padded header, packed little-endian data", "[io][safetensors]") {
  bilin_test::TempDir td("safetensors");
  const std::string p = td.path + "/layout.safetensors";
  io::save_safetensors(p, {{"w", Tensor<float>::from({1.0f, 2.0f})}, {"b", Tensor<std::int64_t>::from({-2})}});
  const std::string bytes = io::read_file(p);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  CHECK((8 + n) % 8 == 0);
  CHECK(bytes.size() == 8 + n + 8 + 8);
  const std::string header = bytes.substr(8, n);
  CHECK(header.rfind(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],)"
                     R"("data_offsets":[8,16]}})",
                     0) == 0);
  CHECK(header.find_first_not_of(' ', header.find_last_of('}') + 1) == std::string::npos);  // space padding
  // 1.0f little-endian is 00 00 80 3f; -2 as int64 is fe ff ff ff ff ff ff ff.
  CHECK(bytes.substr(8 + n, 4) == std::string("\x00\x00\x80\x3f", 4));
  CHECK(bytes.substr(8 + n + 8, 8) == std::string("\xfe\xff\xff\xff\xff\xff\xff\xff", 8));
  // Loading and saving again reproduces the file byte for byte.
  io::save_safetensors(td.path + "/again.safetensors", io::load_safetensors(p));
  CHECK(io::read_file(td.path + "/again.safetensors") == bytes);
}

TEST_CASE("safetensors writes non-contiguous tensors in row-major order", "[io][safetensors]") {
  bilin_test::TempDir td("safetensors");
  const auto base = Tensor<float>::from({{0, 1, 2}, {3, 4, 5}});
  auto impl = std::make_shared<bilin::TensorImpl<float>>();  // the transpose, as a strided view
  impl->storage = base.storage();
  impl->shape = {3, 2};
  impl->strides = {1, 3};
  const Tensor<float> t(impl);
  REQUIRE_FALSE(t.is_contiguous());
  io::save_safetensors(td.path + "/t.safetensors", {{"t", t}});
  const auto back = io::load_safetensors(td.path + "/t.safetensors").get<float>("t");
  CHECK(back.shape() == Shape{3, 2});
  CHECK(back.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("AnyTensor::get converts safely or refuses clearly", "[io][safetensors]") {
  io::TensorMap m;
  m.insert("i64", Tensor<std::int64_t>::from({1, -5, 1LL << 40}));
  m.insert("u8", Tensor<std::uint8_t>::from({0, 255}));
  m.insert("f64", Tensor<double>::from({0.1, 2.5}));
  m.insert("small", Tensor<std::int64_t>::from({-3, 70000}));
  CHECK(m.get<float>("i64").to_vector() == std::vector<float>{1.0f, -5.0f, 1099511627776.0f});
  CHECK(m.get<double>("u8").to_vector() == std::vector<double>{0.0, 255.0});
  CHECK(m.get<float>("f64").to_vector() == std::vector<float>{0.1f, 2.5f});
  CHECK(m.get<std::int32_t>("small").to_vector() == std::vector<std::int32_t>{-3, 70000});
  CHECK_THAT(error_of([&] { m.get<std::int32_t>("i64"); }),
             Contains("tensor 'i64'") && Contains("element 2 = 1099511627776 does not fit in int32"));
  CHECK_THAT(error_of([&] { m.get<std::uint16_t>("small"); }), Contains("element 0 = -3 does not fit in uint16"));
  CHECK_THAT(error_of([&] { m.get<std::int64_t>("f64"); }),
             Contains("tensor 'f64' holds F64; refusing to convert it to int64"));
  CHECK_THAT(error_of([&] { m.get<float>("nope"); }), Contains("no tensor named 'nope'") && Contains("i64, u8"));
  CHECK(m.at("i64").holds<std::int64_t>());
  // Same type: the same storage, no copy.
  CHECK(m.get<double>("f64").shares_storage_with(m.at("f64").get<double>()));
  CHECK_THROWS_WITH(m.insert("u8", Tensor<std::uint8_t>::from({1})), Contains("duplicate tensor name 'u8'"));
}

TEST_CASE("save_safetensors rejects bad names and undefined tensors", "[io][safetensors]") {
  bilin_test::TempDir td("safetensors");
  const std::string p = td.path + "/bad.safetensors";
  const auto t = Tensor<float>::from({1.0f});
  CHECK_THAT(error_of([&] { io::save_safetensors(p, {{"a", t}, {"a", t}}); }), Contains("duplicate tensor name 'a'"));
  CHECK_THAT(error_of([&] { io::save_safetensors(p, {{"", t}}); }), Contains("non-empty"));
  CHECK_THAT(error_of([&] { io::save_safetensors(p, {{"__metadata__", t}}); }), Contains("reserved"));
  CHECK_THAT(error_of([&] { io::save_safetensors(p, {{"u", Tensor<float>()}}); }), Contains("'u' is undefined"));
  CHECK(::access(p.c_str(), F_OK) != 0);  // nothing written
}

TEST_CASE("corrupted safetensors files give errors naming the file and the problem", "[io][safetensors]") {
  bilin_test::TempDir td("safetensors");
  const std::string p = td.path + "/c.safetensors";
  const auto load_error = [&](const std::string& image) {
    io::write_file_atomic(p, image);
    return error_of([&] { io::load_safetensors(p); });
  };
  const std::string f32x4(16, '\0');
  const std::string good_header = R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  REQUIRE(load_error(file_image(good_header, f32x4)) == "(no error)");

  CHECK_THAT(load_error("abc"), Contains("load_safetensors: " + p) && Contains("file is 3 bytes, too short"));
  CHECK_THAT(load_error(le64(1000) + "{}"), Contains("header length 1000 (bytes 0-7) runs past the end of the file"));
  CHECK_THAT(load_error(file_image("[1,2]", "")), Contains("header at byte 8 does not start with '{'"));
  // Bad JSON: the missing value is at header byte 24, i.e. file byte 32.
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F32","x":,}})", "")),
             Contains("invalid JSON header at file byte 32") && Contains("expected a value"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", "x")),
             Contains("unknown or unsupported dtype 'F8'"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "xxxx")),
             Contains("must hold non-negative integers"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F64","shape":[1099511627776,1099511627776],)"
                                   R"("data_offsets":[0,0]}})", "")),
             Contains("is too large"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F32","shape":[1]}})", "xxxx")),
             Contains("tensor 'a' needs dtype, shape and data_offsets"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,160]}})", f32x4)),
             Contains("data_offsets [0, 160] run past the data section (16 bytes starting at file byte"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", f32x4.substr(4))),
             Contains("shape [2,2] of F32 (4 bytes each) needs 16 bytes but data_offsets [0, 12] span 12"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                   R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                                   "xxxxxx")),
             Contains("gap in the data section: bytes [2, 4)") && Contains("before tensor 'b'"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                                   "xxxx")),
             Contains("tensor 'b' (data_offsets [2, 4]) overlaps tensor 'a'"));
  CHECK_THAT(load_error(file_image(good_header, f32x4 + "junk")),
             Contains("the tensors cover 16 bytes but the data section has 20") && Contains("4 unexplained bytes"));
  CHECK_THAT(load_error(file_image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                   R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                   "xx")),
             Contains("duplicate key 'a'"));
  CHECK_THAT(load_error(file_image(R"({"__metadata__":{"epoch":3}})", "")),
             Contains("__metadata__ value for 'epoch' must be a string"));
  CHECK_THAT(load_error(file_image(R"({"a":[1]})", "")), Contains("entry for tensor 'a' must be an object"));

  // A real file cut short by a few bytes (e.g. a full disk during a non-atomic copy).
  io::save_safetensors(p, {{"w", Tensor<double>::from({1, 2, 3})}});
  const std::string whole = io::read_file(p);
  CHECK_THAT(load_error(whole.substr(0, whole.size() - 5)), Contains("data_offsets [0, 24] run past the data section"));
  CHECK_THAT(load_error(whole.substr(0, 20)), Contains("runs past the end of the file"));
  CHECK_THAT(error_of([&] { io::load_safetensors(td.path + "/missing.safetensors"); }),
             Contains("load_safetensors: cannot open") && Contains("No such file"));
}

TEST_CASE("safetensors loads unpadded headers in any key order, and other PyTorch dtypes", "[io][safetensors]") {
  bilin_test::TempDir td("safetensors");
  const std::string p = td.path + "/ext.safetensors";
  std::string data;
  const auto add16 = [&](std::uint16_t v) { data += static_cast<char>(v & 0xFF), data += static_cast<char>(v >> 8); };
  // F16: 1.0, -2.0, 65504 (max), smallest subnormal, +inf
  for (std::uint16_t h : {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00}) add16(h);  // bytes [0, 10)
  // BF16: 1.0, -0.5
  for (std::uint16_t h : {0x3F80, 0xBF00}) add16(h);  // [10, 14)
  data += std::string("\x01\x00", 2);                // BOOL [14, 16)
  data += std::string("\xff\x7f", 2);                // I8: -1, 127 [16, 18)
  add16(0x8000);                                     // I16: -32768 [18, 20)
  data += std::string("\x00\x28\x6b\xee", 4);        // U32: 4000000000 [20, 24)
  data += le64(9000000000000000000ull);              // U64 [24, 32)
  // Keys deliberately not in offset order, no padding, extra whitespace.
  const std::string header = R"({ "u64": {"dtype": "U64", "shape": [1], "data_offsets": [24, 32]},
    "h": {"dtype": "F16", "shape": [5], "data_offsets": [0, 10]},
    "bf": {"dtype": "BF16", "shape": [2], "data_offsets": [10, 14]},
    "flag": {"dtype": "BOOL", "shape": [2], "data_offsets": [14, 16]},
    "i8": {"dtype": "I8", "shape": [2], "data_offsets": [16, 18]},
    "i16": {"dtype": "I16", "shape": [], "data_offsets": [18, 20]},
    "u32": {"dtype": "U32", "shape": [1, 1], "data_offsets": [20, 24]} })";
  io::write_file_atomic(p, file_image(header, data));
  const auto m = io::load_safetensors(p);
  std::vector<std::string> order;
  for (const auto& [n, t] : m) order.push_back(n);
  CHECK(order == std::vector<std::string>{"h", "bf", "flag", "i8", "i16", "u32", "u64"});  // data order
  const auto h = m.get<float>("h").to_vector();
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == -2.0f);
  CHECK(h[2] == 65504.0f);
  CHECK(h[3] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(h[4]));
  CHECK(m.at("h").file_dtype() == "F16");
  CHECK(m.at("h").dtype() == std::string("F32"));
  CHECK(m.get<float>("bf").to_vector() == std::vector<float>{1.0f, -0.5f});
  CHECK(m.get<std::uint8_t>("flag").to_vector() == std::vector<std::uint8_t>{1, 0});
  CHECK(m.get<std::int32_t>("i8").to_vector() == std::vector<std::int32_t>{-1, 127});
  CHECK(m.get<std::int32_t>("i16").item() == -32768);
  CHECK(m.get<std::int64_t>("u32").to_vector() == std::vector<std::int64_t>{4000000000LL});
  CHECK(m.get<std::int64_t>("u64").item() == 9000000000000000000LL);

  io::write_file_atomic(p, file_image(R"({"big":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}})",
                                      le64(18000000000000000000ull)));
  CHECK_THAT(error_of([&] { io::load_safetensors(p); }), Contains("element 0 = 18000000000000000000 does not fit in int64"));
  // An empty header object is a valid file with no tensors.
  io::write_file_atomic(p, file_image("{}      ", ""));
  CHECK(io::load_safetensors(p).empty());
}

TEST_CASE("randomly damaged safetensors files either load or throw bilin::Error", "[io][safetensors][fuzz]") {
  io::TensorMap m;
  m.insert("a", Tensor<float>::from({{1, 2, 3}, {4, 5, 6}}));
  m.insert("b", Tensor<std::int64_t>::from({7, 8}));
  m.insert("c", Tensor<std::uint8_t>::empty({0}));
  m.metadata["k"] = "v";
  bilin_test::TempDir td("safetensors");
  const std::string p = td.path + "/f.safetensors";
  io::save_safetensors(p, m);
  const std::string good = io::read_file(p);
  bilin::Generator gen(11);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bad = good;
    const int kind = static_cast<int>(gen.randint(3));
    if (kind == 0) {
      bad.resize(static_cast<std::size_t>(gen.randint(good.size())));
    } else {
      const int flips = 1 + static_cast<int>(gen.randint(4));
      for (int f = 0; f < flips; ++f) {
        // Mostly the header (where the structure is), sometimes the length prefix or data.
        const std::size_t at = static_cast<std::size_t>(gen.randint(good.size()));
        bad[at] = kind == 1 ? static_cast<char>(gen.randint(256)) : "{}[],:\"0123456789 -e."[gen.randint(21)];
      }
    }
    try {
      io::decode_safetensors(bad, "fuzz");
      ++loaded;
    } catch (const bilin::Error& e) {
      ++rejected;
      CHECK(std::string(e.what()).rfind("load_safetensors: fuzz: ", 0) == 0);
    }
  }
  CHECK(rejected > 1000);
  CHECK(loaded + rejected == 3000);
}
