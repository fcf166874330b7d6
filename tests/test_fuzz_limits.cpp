// Resource limits before allocation (issue 20): every reader refuses a header that claims more
// than the file can hold, or more than its documented limit, with a bilin::Error naming the file
// and the field, before it allocates what the header claims. Each case is built by hand from
// the format's specification (not by the code under test). The fuzz harnesses in tests/fuzz/
// check the same contracts on random inputs; these run in the ordinary (and sanitized) suite.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <string>

#include <bilin/data/bpe.hpp>
#include <bilin/data/hf_tokenizer.hpp>
#include <bilin/data/idx.hpp>
#include <bilin/data/token_cache.hpp>
#include <bilin/io/json_file.hpp>
#include <bilin/io/png.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/train/official_lm.hpp>

#include "test_support.hpp"

using namespace bilin;
using bilin_test::error_of;
using bilin_test::spit;
using Catch::Matchers::Contains;

namespace {

std::string limits_le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string limits_be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF), static_cast<char>((v >> 8) & 0xFF),
          static_cast<char>(v & 0xFF)};
}
// A file of `size` bytes that starts with `head` and is a hole after it (no disk, no memory).
void limits_sparse(const std::string& path, const std::string& head, std::uint64_t size) {
  spit(path, head);
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
}

}  // namespace

TEST_CASE("limits: a safetensors header claiming a 1 TB tensor is refused from the offsets", "[limits]") {
  bilin_test::TempDir dir("limits_st");
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[262144,1048576],"data_offsets":[0,1099511627776]}})";
  const std::string file = limits_le64(header.size()) + header + std::string(8, '\0');
  const std::string path = dir.path + "/huge.safetensors";
  spit(path, file);
  CHECK_THAT(error_of([&] { io::decode_safetensors(file, "huge.safetensors"); }),
             Contains("huge.safetensors") && Contains("tensor 'w'") && Contains("run past the data section"));
  CHECK_THAT(error_of([&] { io::SafetensorsReader r(path); }), Contains(path) && Contains("run past the data section"));
  // a shape whose extents overflow int64 even though another extent is zero
  const std::string h2 = R"({"z":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})";
  CHECK_THAT(error_of([&] { io::decode_safetensors(limits_le64(h2.size()) + h2, "z.safetensors"); }),
             Contains("tensor 'z'") && Contains("too large"));
}

TEST_CASE("limits: a safetensors header length above 100 MB is refused before it is read", "[limits]") {
  bilin_test::TempDir dir("limits_st_header");
  const std::string path = dir.path + "/big-header.safetensors";
  const std::uint64_t n = 150'000'000;
  limits_sparse(path, limits_le64(n) + "{", 8 + n);  // the header length fits in the file
  CHECK_THAT(error_of([&] { io::SafetensorsReader r(path); }),
             Contains(path) && Contains("header length 150000000") && Contains("100000000-byte limit"));
  CHECK_THAT(error_of([&] { io::read_checkpoint_metadata(path); }), Contains("100000000-byte limit"));
  const std::string small = limits_le64(std::uint64_t{1} << 40) + "{}";
  CHECK_THAT(error_of([&] { io::decode_safetensors(small, "s"); }), Contains("runs past the end of the file"));
}

TEST_CASE("limits: IDX headers claiming 2^31 rows", "[limits]") {
  bilin_test::TempDir dir("limits_idx");
  const std::string raw = dir.path + "/rows", gz = dir.path + "/rows.gz";
  // 2^31 x 28 x 28 bytes is over the 16 GiB limit
  spit(raw, std::string("\0\0\x08\x03", 4) + limits_be32(1u << 31) + limits_be32(28) + limits_be32(28));
  CHECK_THAT(error_of([&] { data::read_idx(raw); }), Contains(raw) && Contains("implausible dimensions 2147483648 x 28 x 28"));
  // 2^31 one-byte rows (2 GiB): a plain file must be exactly that long
  const std::string labels = std::string("\0\0\x08\x01", 4) + limits_be32(1u << 31) + "abcd";
  spit(raw, labels);
  CHECK_THAT(error_of([&] { data::read_idx(raw); }), Contains("truncated at byte 12 of 2147483656"));
  // ... and a gzip file cannot hold more than 1032x its size
  spit(gz, data::gzip_bytes(labels));
  CHECK_THAT(error_of([&] { data::read_idx(gz); }),
             Contains(gz) && Contains("claims 2147483656 decompressed bytes") && Contains("can hold at most"));
  // a zero extent does not excuse extents whose product overflows (found by the fuzzer)
  spit(raw, std::string("\0\0\x08\x03\0\0\0\0\xd0\xff\xff\xe3\xda\0\0\x1c", 16));
  CHECK_THAT(error_of([&] { data::read_idx(raw); }), Contains("implausible dimensions 0 x 3506438115 x 3657433116"));
}

TEST_CASE("limits: a 65535 x 65535 PNG is refused from its header", "[limits]") {
  std::string ihdr = "IHDR" + limits_be32(65535) + limits_be32(65535) + std::string("\x08\x02\0\0\0", 5);
  const auto crc = static_cast<std::uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), static_cast<uInt>(ihdr.size())));
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + limits_be32(13) + ihdr + limits_be32(crc) +
                          limits_be32(0) + "IEND" + limits_be32(0xAE426082u);
  CHECK_THAT(error_of([&] { io::decode_image(png, 0, "big.png"); }),
             Contains("big.png") && Contains("65535x65535") && Contains("limit"));
  // the per-call limit
  io::Image small(40, 30, 1);
  const auto bytes = io::encode_png(small);
  const std::string_view sv(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  CHECK(io::decode_image(sv, 0, "s.png").width == 40);
  CHECK_THAT(error_of([&] { io::decode_image(sv, 0, "s.png", 1000); }), Contains("40x30") && Contains("1000 pixels"));
}

TEST_CASE("limits: a 100 MB JSON string and a 300 MB JSON file", "[limits]") {
  std::string doc = "{\"k\": \"";
  doc.append(100u << 20, 'a');
  doc += "\"}";
  try {
    json::parse(doc);
    FAIL("no error");
  } catch (const json::ParseError& e) {
    CHECK(e.offset() == 6);  // the opening quote of the value
    CHECK_THAT(std::string(e.what()), Contains("16 MiB limit"));
  }
  bilin_test::TempDir dir("limits_json");
  const std::string path = dir.path + "/big.json";
  limits_sparse(path, "{", 300u << 20);
  CHECK_THAT(error_of([&] { io::read_json_file(path, "config"); }),
             Contains(path) && Contains("314572800 bytes") && Contains("256 MiB limit"));
}

TEST_CASE("limits: token cache and BPE vocabulary counts beyond the file", "[limits]") {
  bilin_test::TempDir dir("limits_tok");
  // a token cache header (valid checksum) claiming 2^60 tokens in an empty payload
  unsigned char h[64] = {};
  std::memcpy(h, "BILINTOK", 8);
  data::token_cache_format::put_le(h + 8, 1, 4);
  data::token_cache_format::put_le(h + 12, 2, 4);
  data::token_cache_format::put_le(h + 16, 100, 8);
  data::token_cache_format::put_le(h + 24, std::uint64_t{1} << 60, 8);
  data::token_cache_format::put_le(h + 32, data::token_cache_format::crc32(nullptr, 0), 4);
  data::token_cache_format::put_le(h + 36, data::token_cache_format::crc32(h, 36), 4);
  const std::string tc = dir.path + "/huge.tok";
  spit(tc, std::string(reinterpret_cast<const char*>(h), 64));
  CHECK_THAT(error_of([&] { data::TokenCache::open(tc); }), Contains(tc) && Contains("truncated"));
  // a BPE file claiming 60 million merges in 100 bytes
  const std::string many = "bilin-bpe 1\npretokenizer bilin-v1\nvocab_size 60000256\nmerges 60000000\nspecials 0\n0 0\nend\n";
  CHECK_THAT(error_of([&] { data::BpeTokenizer::parse(many, "many.bpe"); }),
             Contains("many.bpe:5") && Contains("60000000 merges") && Contains("the file has"));
  // merges that double a token's length each time: 2^17 bytes at merge 16
  std::string chain = "bilin-bpe 1\npretokenizer bilin-v1\nvocab_size 296\nmerges 40\nspecials 0\n97 97\n";
  for (int k = 1; k < 40; ++k) chain += std::to_string(255 + k) + " " + std::to_string(255 + k) + "\n";
  chain += "end\n";
  CHECK_THAT(error_of([&] { data::BpeTokenizer::parse(chain, "chain.bpe"); }),
             Contains("chain.bpe:22") && Contains("merge 16") && Contains("131072 bytes") && Contains("65536-byte limit"));
}

TEST_CASE("limits: a tokenizer.json id of 10^15 is refused before the id table grows", "[limits]") {
  const std::string j =
      R"({"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "x": 1000000000000000}}})";
  CHECK_THAT(error_of([&] { data::HfTokenizer::parse(j, "tok.json"); }),
             Contains("tok.json") && Contains("'x'") && Contains("1000000000000000") && Contains("2097152"));
  const std::string a =
      R"({"added_tokens": [{"id": 4000000, "content": "[X]"}], "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}})";
  CHECK_THAT(error_of([&] { data::HfTokenizer::parse(a, "tok.json"); }), Contains("added_tokens") && Contains("4000000"));
}

TEST_CASE("fuzz findings: a post-processor id outside the vocabulary is refused at load", "[limits]") {
  // BertProcessing's cls names id 1, which neither model.vocab nor added_tokens defines: encode()
  // would emit an id that decode() refuses.
  const std::string j =
      R"({"post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
          "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[SEP]": 2, "a": 3}}})";
  CHECK_THAT(error_of([&] { data::HfTokenizer::parse(j, "tok.json"); }),
             Contains("tok.json") && Contains("post_processor") && Contains("id 1"));
}

TEST_CASE("fuzz findings: a PNG chunk longer than the file, and -0 in JSON", "[limits]") {
  // 3x3 RGBA PNG whose IDAT chunk claims 0x2E000031 bytes in a 63-byte file (stb_image would
  // grow its buffer to that first)
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x03\0\0\0\x03\x08\x06\0\0\0V(\xb5\xbf.\0\0" "1IDATx^c&\x11_\xa3y!\xbb\0\0\0\0IEND\xae" "B`\x82", 63);
  CHECK_THAT(error_of([&] { io::decode_image(png, 0, "chunk.png"); }),
             Contains("chunk.png") && Contains("chunk 'IDAT' at byte 33") && Contains("claims 771751985 bytes"));
  // -1e-400 underflows to -0.0, which must keep its sign through dump → parse
  const json::Value z = json::parse("-1e-400");
  CHECK(z.dump() == "-0.0");
  CHECK(std::signbit(json::parse(z.dump()).as_double()));
}

TEST_CASE("fuzz findings: a JPEG Huffman table of 257 codes, after fill bytes or none", "[limits]") {
  // JPEG (ITU T.81 B.2.4.2): DHT marker FF C4, length, class/id byte, 16 code counts (here 200
  // codes of length 8 and 57 of length 9: 257 in all), then the values. stb_image writes past its
  // 257-entry size table on such a table; T.81 allows any number of FF fill bytes before a marker.
  std::string table(1, '\0');
  for (int len = 1; len <= 16; ++len) table += static_cast<char>(len == 8 ? 200 : len == 9 ? 57 : 0);
  for (int v = 0; v < 257; ++v) table += static_cast<char>(v & 0xFF);
  const std::size_t seg = 2 + table.size();
  const std::string dht = std::string("\xFF\xC4", 2) + static_cast<char>(seg >> 8) + static_cast<char>(seg & 0xFF) + table;
  for (const std::string& soi : {std::string("\xFF\xD8", 2), std::string("\xFF\xFF\xD8", 3),
                                std::string("\xFF\xFF\xFF\xD8", 4)}) {
    const std::string jpeg = soi + dht + std::string("\xFF\xD9", 2);
    CHECK_THAT(error_of([&] { io::decode_image(jpeg, 0, "dht.jpg"); }),
               Contains("dht.jpg") && Contains("Huffman table at byte " + std::to_string(soi.size() + 4)) &&
                   Contains("declares 257 codes"));
  }
}

TEST_CASE("fuzz findings: a PNG cut inside its IHDR chunk, in a buffer of exactly its size", "[limits]") {
  // 8-byte signature, IHDR length and type, width and height: 24 or 25 bytes, so the bit depth
  // and colour type bytes are past the end (a read of them shows under AddressSanitizer)
  for (std::size_t n : {24u, 25u}) {
    std::string full("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x04\0\0\0\x02\x08\x03", 26);
    const std::vector<char> exact(full.begin(), full.begin() + static_cast<long>(n));
    CHECK_THAT(error_of([&] { io::decode_image(std::string_view(exact.data(), exact.size()), 0, "cut.png"); }),
               Contains("cut.png") && Contains("chunk 'IHDR' at byte 8 claims 13 bytes"));
  }
}

TEST_CASE("limits: an official config.json claiming sizes its model.safetensors cannot hold", "[limits]") {
  bilin_test::TempDir dir("limits_official");
  nn::TransformerConfig c;
  c.vocab = 24, c.n_layer = 1, c.d_model = 8, c.n_head = 2, c.d_hidden = 16, c.n_ctx = 16;
  Generator gen(3);
  train::save_official_lm(dir.path, nn::Transformer<float>(c, gen));
  REQUIRE(train::load_official_lm(dir.path)->config().d_hidden == 16);
  const auto with = [&](const std::string& key, const std::string& value) {
    std::string j = R"({"n_vocab": 24, "d_model": 8, "d_hidden": 16, "n_layer": 1, "n_head": 2, "n_ctx": 16})";
    const auto k = j.find("\"" + key + "\"");
    const auto colon = j.find(':', k), end = j.find_first_of(",}", colon);
    j.replace(colon + 2, end - colon - 2, value);
    spit(dir.path + "/config.json", j);
    return error_of([&] { train::load_official_lm(dir.path); });
  };
  CHECK_THAT(with("d_hidden", "1000000000"), Contains("config.json") && Contains("'d_hidden' = 1000000000") &&
                                                  Contains("bytes of MLP weights"));
  CHECK_THAT(with("d_model", "4096"), Contains("'d_model' = 4096") && Contains("transformer.wte.weight is [24,8]"));
  CHECK_THAT(with("n_ctx", "1000000000000"), Contains("'n_ctx' = 1000000000000") && Contains("1048576 positions"));
}
