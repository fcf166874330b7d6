// Language models and SAEs in the official layout (train/official_lm.hpp, train/load_lm.hpp,
// train/sae_file.hpp) against tests/official_lm_torch.py, a PyTorch reimplementation of the
// official code: a random 2-layer model (d 64, vocab 512) in F32 and BF16, with "scale_attn"
// true, false and absent, gives bilin PyTorch's logits and hook activations (resid_mid, mlp_in,
// mlp_out) and the official SAE's codes to 1e-5 relative; a bilin-trained model exported in the
// official layout loads in the PyTorch code with the same logits. Skipped with a message when
// /usr/bin/python3 has no torch. The bad-input cases need no torch: each error names the file
// and the key or tensor.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <bilin/bilin.hpp>
#include <bilin/io/json_file.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/optim/adamw.hpp>
#include <bilin/train/load_lm.hpp>
#include <bilin/train/sae_file.hpp>

#include "test_support.hpp"

using namespace bilin;

namespace {

bool official_have_torch() { return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0; }

double official_rel(const TensorF& a, const TensorF& b) {
  REQUIRE(a.shape() == b.shape());
  const TensorF ac = a.contiguous(), bc = b.contiguous();
  double diff = 0, scale = 0;
  for (index_t i = 0; i < ac.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(ac.data()[i]) - bc.data()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(bc.data()[i])));
  }
  return diff / scale;
}

IndexTensor official_random_ids(index_t vocab, index_t B, index_t T, Generator& gen) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(B * T));
  for (auto& x : v) x = static_cast<std::int64_t>(gen.randint(static_cast<std::uint64_t>(vocab)));
  return IndexTensor::from_vector(v, {B, T});
}

int official_python(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " BILIN_TEST_SOURCE_DIR "/official_lm_torch.py " + args;
  return std::system(cmd.c_str());
}

// Every hook activation of every layer, keyed "point.layer".
std::map<std::string, TensorF> official_hooks(nn::Transformer<float>& m, const IndexTensor& ids) {
  std::map<std::string, TensorF> out;
  NoGradGuard ng;
  m.run_hooked(ids, static_cast<index_t>(m.n_layer()) - 1, [&](index_t l, nn::HookPoint p, const TensorF& a) {
    out[std::string(nn::hook_point_name(p)) + "." + std::to_string(l)] = a.contiguous();
    return a;
  });
  return out;
}

// A small bilin model saved in the official layout, for the bad-input cases.
std::string official_small_folder(const std::string& dir) {
  nn::TransformerConfig c;
  c.vocab = 32;
  c.n_layer = 2;
  c.d_model = 16;
  c.n_head = 2;
  c.d_hidden = 32;
  c.n_ctx = 16;
  Generator gen(3);
  nn::Transformer<float> m(c, gen);
  const std::string folder = dir + "/small";
  train::save_official_lm(folder, m);
  return folder;
}

// Rewrites config.json with `edit` applied.
void official_edit_config(const std::string& folder, const std::function<void(json::Value&)>& edit) {
  json::Value j = io::read_json_file(folder + "/config.json", "test");
  edit(j);
  bilin_test::spit(folder + "/config.json", j.dump(2));
}

// Rewrites model.safetensors with `edit` applied to its tensors.
void official_edit_tensors(const std::string& folder, const std::function<void(io::TensorMap&, io::TensorMap&)>& edit) {
  const io::TensorMap in = io::load_safetensors(folder + "/model.safetensors");
  io::TensorMap out;
  edit(const_cast<io::TensorMap&>(in), out);
  io::save_safetensors(folder + "/model.safetensors", out);
}

}  // namespace

TEST_CASE("official-layout models give bilin PyTorch's logits, hook activations and SAE codes", "[official][torch]") {
  if (!official_have_torch()) {
    WARN("SKIPPED: /usr/bin/python3 with torch is not available");
    return;
  }
  for (const char* scale : {"1", "0", "absent"})
    for (const char* dtype : {"F32", "BF16"}) {
      INFO("scale_attn " << scale << ", weights " << dtype);
      bilin_test::TempDir dir("official_lm");
      REQUIRE(official_python(std::string("make ") + dir.path + " " + scale + " " + dtype) == 0);
      const train::LoadedLm lm = train::load_lm(dir.path + "/model");
      REQUIRE(lm.official);
      CHECK(lm.model->config().attn_scale == (std::string(scale) != "0"));
      CHECK(lm.model->config().vocab == 512);
      const io::TensorMap ref = io::load_safetensors(dir.path + "/ref.safetensors");
      const IndexTensor ids = ref.get<std::int64_t>("ids");
      NoGradGuard ng;
      const TensorF logits = lm.model->forward(ids);
      CHECK(official_rel(logits, ref.get<float>("logits")) <= 1e-5);
      auto hooks = official_hooks(*lm.model, ids);
      for (const char* point : {"resid_mid", "mlp_in", "mlp_out"})
        for (int l = 0; l < 2; ++l) {
          const std::string key = std::string(point) + "." + std::to_string(l);
          INFO(key);
          CHECK(official_rel(hooks.at(key), ref.get<float>(key)) <= 1e-5);
        }
      // The official SAE folder (path given as the folder, its config.json and its weights).
      for (const std::string leaf : {"", "/config.json", "/model.safetensors"}) {
        const train::LoadedSae s = train::load_sae(dir.path + "/sae/1-mlp-out-x4-k8" + leaf);
        CHECK(s.sae->k() == 8);
        CHECK(s.sae->n_latents() == 256);
        CHECK(s.info.hook == "mlp_out");
        CHECK(s.info.layer == 1);
        train::check_sae_fits(s.info, *s.sae, lm.model->config(), dir.path);
        const TensorF x = hooks.at("mlp_out.1").reshape({-1, 64});
        CHECK(official_rel(s.sae->dense_codes(x), ref.get<float>("sae_codes.mlp_out.1")) <= 1e-5);
      }
    }
}

TEST_CASE("a bilin-trained LM exported in the official layout gives PyTorch the same logits", "[official][torch]") {
  bilin_test::TempDir dir("official_export");
  nn::TransformerConfig c;
  c.vocab = 512;
  c.n_layer = 2;
  c.d_model = 64;
  c.n_head = 4;
  c.d_hidden = 256;
  c.n_ctx = 64;
  c.attn_scale = false;
  Generator gen(7);
  nn::Transformer<float> m(c, gen);
  // a few training steps so the weights are not the initial ones
  optim::AdamW<float> opt(m.parameters(), optim::AdamWOptions{.lr = 3e-3});
  for (int step = 0; step < 3; ++step) {
    const auto ids = official_random_ids(c.vocab, 4, 33, gen);
    auto loss = m.loss(ids.narrow(1, 0, 32).contiguous(), ids.narrow(1, 1, 32).contiguous());
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  m.eval();
  train::save_official_lm(dir.path + "/export", m, {{"tokenizer", json::Value("ts-4096")}});
  const IndexTensor ids = official_random_ids(c.vocab, 3, 40, gen);
  NoGradGuard ng;
  const TensorF logits = m.forward(ids);
  io::save_safetensors(dir.path + "/bilin_ref.safetensors", {{"ids", ids}, {"logits", logits}});
  // bilin reads its export back exactly
  const train::LoadedLm back = train::load_lm(dir.path + "/export/config.json");
  CHECK(back.model->config().attn_scale == false);
  CHECK(official_rel(back.model->forward(ids), logits) == 0.0);
  if (!official_have_torch()) {
    WARN("SKIPPED (PyTorch half): /usr/bin/python3 with torch is not available");
    return;
  }
  CHECK(official_python("check " + dir.path) == 0);
}

TEST_CASE("bad official-layout folders fail naming the file and the key or tensor", "[official]") {
  using Catch::Matchers::Contains;
  bilin_test::TempDir dir("official_bad");
  const auto err = [&](const std::string& folder) { return bilin_test::error_of([&] { train::load_lm(folder); }); };
  SECTION("a valid folder loads") { CHECK(err(official_small_folder(dir.path)) == "(no error)"); }
  SECTION("missing key") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) {
      json::Value k = json::Value::object();
      for (const auto& [key, v] : j.as_object())
        if (key != "d_model") k[key] = v;
      j = k;
    });
    CHECK_THAT(err(f), Contains("config.json") && Contains("key 'd_model' is missing"));
  }
  SECTION("ill-typed key") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) { j["scale_attn"] = "no"; });
    CHECK_THAT(err(f), Contains("config.json") && Contains("key 'scale_attn' must be true or false"));
  }
  SECTION("n_layer contradicts the blocks") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) { j["n_layer"] = 3; });
    CHECK_THAT(err(f), Contains("config.json") && Contains("key 'n_layer' = 3") && Contains("2 blocks"));
  }
  SECTION("n_vocab contradicts the embedding") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) { j["n_vocab"] = 40; });
    CHECK_THAT(err(f), Contains("config.json") && Contains("key 'n_vocab' = 40") && Contains("32 rows"));
  }
  SECTION("d_model and n_head contradict each other") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) { j["n_head"] = 3; });
    CHECK_THAT(err(f), Contains("config.json") && Contains("'n_head' = 3"));
  }
  SECTION("unknown gate") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) { j["gate"] = "tanh"; });
    CHECK_THAT(err(f), Contains("config.json") && Contains("key 'gate'"));
  }
  SECTION("d_hidden contradicts a tensor shape") {
    const auto f = official_small_folder(dir.path);
    official_edit_config(f, [](json::Value& j) { j["d_hidden"] = 48; });
    CHECK_THAT(err(f), Contains("model.safetensors") && Contains("transformer.h.0.mlp.w.weight") &&
                           Contains("has shape [64,16]"));
  }
  SECTION("a tensor of the wrong dtype") {
    const auto f = official_small_folder(dir.path);
    official_edit_tensors(f, [](io::TensorMap& in, io::TensorMap& out) {
      for (const auto& [n, t] : in)
        out.insert(n, n == "lm_head.weight" ? io::AnyTensor(IndexTensor::zeros(t.shape())) : t);
    });
    CHECK_THAT(err(f), Contains("model.safetensors") && Contains("'lm_head.weight' has dtype I64"));
  }
  SECTION("a missing tensor") {
    const auto f = official_small_folder(dir.path);
    official_edit_tensors(f, [](io::TensorMap& in, io::TensorMap& out) {
      for (const auto& [n, t] : in)
        if (n != "transformer.h.1.attn.o.weight") out.insert(n, t);
    });
    CHECK_THAT(err(f), Contains("model.safetensors") && Contains("missing tensor 'transformer.h.1.attn.o.weight'"));
  }
  SECTION("an unexpected tensor") {
    const auto f = official_small_folder(dir.path);
    official_edit_tensors(f, [](io::TensorMap& in, io::TensorMap& out) {
      for (const auto& [n, t] : in) out.insert(n, t);
      out.insert("transformer.h.0.attn.extra", TensorF::zeros({2}));
    });
    CHECK_THAT(err(f), Contains("model.safetensors") && Contains("unexpected tensor 'transformer.h.0.attn.extra'"));
  }
  SECTION("a bias tensor while 'bias' is false") {
    const auto f = official_small_folder(dir.path);
    official_edit_tensors(f, [](io::TensorMap& in, io::TensorMap& out) {
      for (const auto& [n, t] : in) out.insert(n, t);
      out.insert("transformer.h.0.mlp.p.bias", TensorF::zeros({16}));
    });
    CHECK_THAT(err(f), Contains("'transformer.h.0.mlp.p.bias' contradicts key 'bias' = false"));
  }
  SECTION("a folder without config.json") {
    std::filesystem::create_directories(dir.path + "/empty");
    CHECK_THAT(err(dir.path + "/empty"), Contains("empty") && Contains("no config.json"));
  }
  SECTION("bad SAE config") {
    const std::string s = dir.path + "/sae";
    std::filesystem::create_directories(s);
    Generator gen(1);
    nn::TopKSAE<float> sae(nn::SaeConfig{16, 64, 4}, gen);
    std::vector<std::pair<std::string, io::AnyTensor>> t;
    for (const auto& [n, v] : sae.state_dict()) t.emplace_back(n, v.contiguous());
    io::save_safetensors(s + "/model.safetensors", t);
    bilin_test::spit(s + "/config.json", R"({"d_model": 16, "expansion": 4, "point": ["mlp_out", 1]})");
    CHECK_THAT(bilin_test::error_of([&] { train::load_sae(s); }), Contains("config.json") && Contains("key 'k' is missing"));
    bilin_test::spit(s + "/config.json", R"({"d_model": 16, "expansion": 2, "k": 4})");
    CHECK_THAT(bilin_test::error_of([&] { train::load_sae(s); }), Contains("config.json") && Contains("key 'expansion' = 2"));
    bilin_test::spit(s + "/config.json", R"({"d_model": 16, "expansion": 4, "k": 4, "encoder_bias": true})");
    CHECK_THAT(bilin_test::error_of([&] { train::load_sae(s); }), Contains("key 'encoder_bias' = true"));
    bilin_test::spit(s + "/config.json", R"({"d_model": 16, "expansion": 4, "k": 4, "point": ["mlp_out", 1]})");
    CHECK(train::load_sae(s).info.layer == 1);
  }
}

TEST_CASE("load_lm opens bilin checkpoints as well as official folders", "[official]") {
  bilin_test::TempDir dir("official_load_lm");
  nn::TransformerConfig c;
  c.vocab = 40;
  c.n_layer = 1;
  c.d_model = 16;
  c.n_head = 2;
  c.d_hidden = 32;
  c.n_ctx = 8;
  Generator gen(11);
  nn::Transformer<float> m(c, gen);
  train::save_lm_checkpoint<float>(dir.path + "/ckpt.safetensors", m, nullptr, {{"note", "x"}});
  const train::LoadedLm a = train::load_lm(dir.path + "/ckpt.safetensors");
  CHECK(!a.official);
  CHECK(a.metadata.at("note") == "x");
  const IndexTensor ids = official_random_ids(c.vocab, 2, 8, gen);
  NoGradGuard ng;
  CHECK(official_rel(a.model->forward(ids), m.forward(ids)) == 0.0);
  CHECK_THAT(bilin_test::error_of([&] { train::load_lm(dir.path + "/nothing"); }),
             Catch::Matchers::Contains("nothing: no such file or folder"));
}
