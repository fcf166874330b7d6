// Language-model checkpoints and generation: round trip with the optimizer, corrupt files give
// clear errors (truncation, bad header, flipped data byte, wrong model, missing metadata),
// sampling rules (greedy, top-k, temperature, seed), KV-cache generation against naive
// recomputation, and generation past n_ctx.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <bilin/bilin.hpp>
#include <bilin/nn/generate.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/optim/adamw.hpp>

#include <bilin/train/lm_checkpoint.hpp>

using namespace bilin;
using Catch::Matchers::Contains;

namespace {
nn::TransformerConfig tiny_lm_config() {
  nn::TransformerConfig c;
  c.vocab = 13;
  c.n_layer = 2;
  c.d_model = 8;
  c.n_head = 2;
  c.d_hidden = 12;
  c.n_ctx = 16;
  return c;
}
std::string lm_temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "bilin_test_lm";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}
std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }
}  // namespace

TEST_CASE("LM checkpoint round trip: model, optimizer, metadata") {
  Generator gen(1);
  nn::Transformer<float> m(tiny_lm_config(), gen);
  optim::AdamW<float> opt(m.parameters());
  auto ids = IndexTensor::from_vector({1, 2, 3, 4, 5, 6}, {1, 6}), tgt = IndexTensor::from_vector({2, 3, 4, 5, 6, 7}, {1, 6});
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    m.loss(ids, tgt).backward();
    opt.step();
  }
  const std::string p = lm_temp_path("roundtrip.safetensors");
  train::save_lm_checkpoint(p, m, &opt, {{"step", "3"}});
  CHECK(train::read_lm_config(p).to_json() == tiny_lm_config().to_json());
  Generator g2(2);
  nn::Transformer<float> m2(train::read_lm_config(p), g2);
  optim::AdamW<float> opt2(m2.parameters());
  auto meta = train::load_lm_checkpoint(p, m2, &opt2);
  CHECK(meta.at("step") == "3");
  CHECK(m2.loss(ids, tgt).item() == m.loss(ids, tgt).item());
  // one more identical step on both: the optimizer state came back too
  for (auto* pr : {&m, &m2}) {
    auto& o = pr == &m ? opt : opt2;
    o.zero_grad();
    pr->loss(ids, tgt).backward();
    o.step();
  }
  CHECK(m2.loss(ids, tgt).item() == m.loss(ids, tgt).item());
}

TEST_CASE("corrupt LM checkpoints give clear errors") {
  Generator gen(3);
  nn::Transformer<float> m(tiny_lm_config(), gen);
  const std::string good = lm_temp_path("good.safetensors");
  train::save_lm_checkpoint(good, m, nullptr, {});
  const std::string bytes = read_bytes(good);
  const std::string bad = lm_temp_path("bad.safetensors");
  auto load = [&](const std::string& path) {
    Generator g(4);
    nn::Transformer<float> fresh(tiny_lm_config(), g);
    train::load_lm_checkpoint(path, fresh);
  };
  REQUIRE_NOTHROW(load(good));

  SECTION("truncated data section") {
    write_bytes(bad, bytes.substr(0, bytes.size() - 100));
    CHECK_THROWS_WITH(load(bad), Contains("load_checkpoint") && Contains(bad));
  }
  SECTION("truncated inside the header") {
    write_bytes(bad, bytes.substr(0, 20));
    CHECK_THROWS_WITH(load(bad), Contains("load_checkpoint") && Contains(bad));
    CHECK_THROWS_WITH(train::read_lm_config(bad), Contains(bad));
  }
  SECTION("garbage header length") {
    std::string b = bytes;
    b[7] = '\x7f';
    write_bytes(bad, b);
    CHECK_THROWS_WITH(load(bad), Contains("load_checkpoint") && Contains(bad));
  }
  SECTION("broken header JSON") {
    std::string b = bytes;
    b[8] = '[';  // the header object now starts as an array
    write_bytes(bad, b);
    CHECK_THROWS_WITH(load(bad), Contains("load_checkpoint") && Contains(bad));
  }
  SECTION("a flipped byte in the tensor data is caught by the CRC") {
    std::string b = bytes;
    b[b.size() - 5] ^= 0x10;
    write_bytes(bad, b);
    CHECK_THROWS_WITH(load(bad), Contains("CRC-32") && Contains("corrupted") && Contains(bad));
  }
  SECTION("a checkpoint of another model") {
    auto c = tiny_lm_config();
    c.d_hidden = 16;
    Generator g(5);
    nn::Transformer<float> other(c, g);
    train::save_lm_checkpoint(bad, other, nullptr, {});
    CHECK_THROWS_WITH(load(bad), Contains("load_checkpoint") && Contains("mlp.up.weight") && Contains("shape"));
  }
  SECTION("a plain checkpoint without the LM metadata") {
    train::save_checkpoint(bad, m);
    CHECK_THROWS_WITH(load(bad), Contains("model_crc32"));
    CHECK_THROWS_WITH(train::read_lm_config(bad), Contains("model_config"));
  }
  SECTION("a missing file") {
    CHECK_THROWS_WITH(load(lm_temp_path("does_not_exist.safetensors")), Contains("does_not_exist"));
  }
}

TEST_CASE("sample_token: greedy, top-k, temperature, seed") {
  const std::vector<float> logits{0.5f, 2.0f, -1.0f, 1.5f, 1.9f};
  Generator gen(7);
  nn::SamplingOptions o;
  o.temperature = 0;
  CHECK(nn::sample_token(logits.data(), 5, o, gen) == 1);
  o.temperature = 5;
  o.top_k = 1;
  for (int i = 0; i < 20; ++i) CHECK(nn::sample_token(logits.data(), 5, o, gen) == 1);
  o.top_k = 3;  // ids 1, 4, 3
  o.temperature = 1;
  std::map<std::int64_t, int> count;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++count[nn::sample_token(logits.data(), 5, o, gen)];
  CHECK(count.size() == 3);
  CHECK(count.count(0) == 0);
  CHECK(count.count(2) == 0);
  const double z = std::exp(2.0) + std::exp(1.9) + std::exp(1.5);
  CHECK(count[1] / double(n) == Approx(std::exp(2.0) / z).margin(0.015));
  CHECK(count[3] / double(n) == Approx(std::exp(1.5) / z).margin(0.015));
  // same seed → same draws
  Generator a(11), b(11);
  o.top_k = 0;
  for (int i = 0; i < 50; ++i) CHECK(nn::sample_token(logits.data(), 5, o, a) == nn::sample_token(logits.data(), 5, o, b));
  o.temperature = -1;
  CHECK_THROWS_WITH(nn::sample_token(logits.data(), 5, o, gen), Contains("temperature"));
}

TEST_CASE("generate with the KV cache equals greedy decoding by full recomputation") {
  Generator gen(8);
  nn::Transformer<double> m(tiny_lm_config(), gen);
  const std::vector<std::int64_t> prompt{3, 1, 4};
  nn::SamplingOptions o;
  o.temperature = 0;
  auto fast = nn::generate(m, prompt, 10, o);
  REQUIRE(fast.size() == 10);
  std::vector<std::int64_t> hist = prompt;
  NoGradGuard ng;
  for (int s = 0; s < 10; ++s) {
    auto logits = m.forward(IndexTensor::from_vector(hist, {1, static_cast<index_t>(hist.size())}));
    const index_t last = static_cast<index_t>(hist.size()) - 1;
    std::int64_t best = 0;
    for (index_t v = 1; v < 13; ++v)
      if (logits.at({0, last, v}) > logits.at({0, last, best})) best = v;
    CHECK(fast[s] == best);
    hist.push_back(fast[s]);
  }
  // sampling is reproducible from the seed, and runs past n_ctx (= 16) by re-filling the cache
  o.temperature = 1;
  o.seed = 5;
  auto a = nn::generate(m, prompt, 40, o), b = nn::generate(m, prompt, 40, o);
  CHECK(a == b);
  CHECK(a.size() == 40);
  for (auto id : a) CHECK((id >= 0 && id < 13));
  // stop token and callback
  o.stop_token = a[2];
  CHECK(nn::generate(m, prompt, 40, o).size() <= 3);
  o.stop_token = -1;
  int calls = 0;
  auto c = nn::generate(m, prompt, 40, o, [&](std::int64_t) { return ++calls < 5; });
  CHECK(c.size() == 5);
  CHECK_THROWS_WITH(nn::generate(m, {}, 3, o), Contains("prompt is empty"));
  CHECK_THROWS_WITH(nn::generate(m, {13}, 3, o), Contains("outside the vocabulary"));
}
