// SAE files, activation harvesting and the activation buffer: round trips, and every bad input
// named (truncated or mismatched files, an SAE that does not fit the model, non-finite
// activations with their layer, hook and position); harvested rows against the hooked forward;
// buffer batches reproducible from (fill, offset); metrics against a direct computation.
#include <catch2/catch.hpp>

#include <set>

#include <bilin/bilin.hpp>
#include <bilin/train/activation_buffer.hpp>
#include <bilin/train/sae_file.hpp>
#include <bilin/train/sae_metrics.hpp>

#include "test_support.hpp"

using namespace bilin;
using Catch::Matchers::Contains;

namespace {

nn::TransformerConfig sae_file_lm() {
  nn::TransformerConfig c;
  c.vocab = 17;
  c.n_layer = 2;
  c.d_model = 8;
  c.n_head = 2;
  c.d_hidden = 16;
  c.n_ctx = 12;
  return c;
}

// ids 0..15: id 16 is left for a planted token
std::vector<data::token_t> sae_file_tokens(Generator& g, std::size_t n) {
  std::vector<data::token_t> t(n);
  for (auto& x : t) x = static_cast<data::token_t>(g.randint(16));
  return t;
}

}  // namespace

TEST_CASE("SAE file round trip, and truncated or mismatched files are named", "[sae][io]") {
  bilin_test::TempDir dir("sae_file");
  Generator gen(1);
  nn::TopKSAE<float> sae(nn::SaeConfig{8, 24, 3}, gen);
  train::SaeInfo info{"mlp_out", 1, "lm.safetensors", "crc32:42"};
  const std::string path = dir.path + "/sae.safetensors";
  train::save_sae(path, sae, info, {{"steps", "5"}});
  train::LoadedSae back = train::load_sae(path);
  CHECK(back.sae->k() == 3);
  CHECK(back.info.lm_hash == "crc32:42");
  CHECK(back.metadata.at("steps") == "5");
  for (index_t i = 0; i < sae.decoder().numel(); ++i) CHECK(back.sae->decoder().data()[i] == sae.decoder().data()[i]);

  const std::string bytes = bilin_test::slurp(path);
  bilin_test::spit(dir.path + "/trunc.safetensors", bytes.substr(0, bytes.size() - 10));
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/trunc.safetensors"); }),
             Contains("load_sae") && Contains("trunc.safetensors"));

  // w_dec of the wrong shape
  io::save_safetensors(dir.path + "/mismatch.safetensors",
                       {{"w_enc.weight", TensorF::zeros({24, 8})}, {"w_dec.weight", TensorF::zeros({8, 20})},
                        {"b_dec", TensorF::zeros({8})}});
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/mismatch.safetensors", 3); }),
             Contains("w_dec.weight has shape [8,20] but w_enc.weight [24,8] needs [8, 24]"));
  io::save_safetensors(dir.path + "/nobias.safetensors",
                       {{"w_enc.weight", TensorF::zeros({24, 8})}, {"w_dec.weight", TensorF::zeros({8, 24})}});
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/nobias.safetensors", 3); }),
             Contains("no tensor 'b_dec'"));
  // metadata disagreeing with the tensors, and k >= n
  io::save_safetensors(dir.path + "/badmeta.safetensors",
                       {{"w_enc.weight", TensorF::zeros({24, 8})}, {"w_dec.weight", TensorF::zeros({8, 24})},
                        {"b_dec", TensorF::zeros({8})}},
                       {{"sae_config", "{\"d\": 8, \"n_latents\": 32, \"k\": 3}"}});
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/badmeta.safetensors"); }),
             Contains("says d 8, n 32 but the tensors have d 8, n 24"));
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/nobias.safetensors.missing", 3); }),
             Contains("nobias.safetensors.missing"));
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/mismatch.safetensors", 24); }),
             Contains("load_sae"));
  io::save_safetensors(dir.path + "/kbig.safetensors",
                       {{"w_enc.weight", TensorF::zeros({24, 8})}, {"w_dec.weight", TensorF::zeros({8, 24})},
                        {"b_dec", TensorF::zeros({8})}});
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/kbig.safetensors", 24); }),
             Contains("k = 24 must satisfy 0 < k < n = 24"));

  // an SAE whose d does not match the model's hook point
  nn::TransformerConfig lm = sae_file_lm();
  lm.d_model = 16;
  CHECK_THAT(bilin_test::error_of([&] { train::check_sae_fits(back.info, *back.sae, lm, path); }),
             Contains("the SAE's d = 8 does not match the hook point mlp_out of the language model (d_model = 16)"));
  lm.d_model = 8;
  lm.n_layer = 1;
  CHECK_THAT(bilin_test::error_of([&] { train::check_sae_fits(back.info, *back.sae, lm, path); }),
             Contains("layer 1 does not exist in the language model (1 layers)"));
}

TEST_CASE("harvest returns the hook point's rows without position 0 and names non-finite activations",
          "[sae][harvest]") {
  Generator gen(2);
  nn::Transformer<float> model(sae_file_lm(), gen);
  auto tokens = sae_file_tokens(gen, 500);
  tokens[105] = 16;  // the only occurrence of id 16
  const std::vector<std::uint64_t> starts{3, 100, 250};
  const std::vector<train::HookTarget> targets{{1, nn::HookPoint::MlpIn}, {0, nn::HookPoint::ResidPost}};
  const auto rows = train::harvest(model, tokens, 12, starts, targets);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].shape() == Shape{3 * 11, 8});
  const data::TokenBatch b = data::batch_at(tokens, 12, starts);
  NoGradGuard ng;
  std::map<std::pair<index_t, nn::HookPoint>, TensorF> seen;
  model.run_hooked(b.inputs, 1, [&](index_t l, nn::HookPoint p, const TensorF& a) {
    seen[{l, p}] = a.contiguous();
    return a;
  });
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const TensorF& a = seen[{targets[i].layer, targets[i].hook}];
    for (index_t w = 0; w < 3; ++w)
      for (index_t t = 1; t < 12; ++t)
        for (index_t j = 0; j < 8; ++j)
          CHECK(rows[i].data()[(w * 11 + t - 1) * 8 + j] == a.data()[(w * 12 + t) * 8 + j]);
  }
  // a NaN in the embedding of id 16 (only at token 105, position 5 of the window at 100)
  model.transformer->wte->weight.data()[16 * 8 + 2] = std::nanf("");
  CHECK_THAT(bilin_test::error_of([&] { train::harvest(model, tokens, 12, starts, {{0, nn::HookPoint::ResidPre}}); }),
             Contains("non-finite activation nan at layer 0, hook resid_pre, window at token 100, position 5, dimension 2"));
  CHECK_THAT(bilin_test::error_of([&] { train::harvest(model, tokens, 12, starts, targets); }),
             Contains("non-finite activation") && Contains("window at token 100"));
}

TEST_CASE("activation buffer: batches are a pure function of (fill, offset); refills draw fresh windows",
          "[sae][harvest]") {
  Generator gen(3);
  nn::Transformer<float> model(sae_file_lm(), gen);
  const auto tokens = sae_file_tokens(gen, 2000);
  const std::vector<train::HookTarget> targets{{1, nn::HookPoint::MlpOut}};
  train::ActivationBuffer a(model, tokens, 12, targets, 100, 4, 7), b(model, tokens, 12, targets, 100, 4, 7);
  CHECK(a.rows() == 110);  // rounded up to whole windows of 11 rows
  a.refill();
  b.refill();
  const TensorF x1 = a.batch(0, 90, 40);  // crosses into the second pass
  const TensorF x2 = b.batch(0, 0, 5);
  const TensorF x3 = b.batch(0, 90, 40);
  CHECK(x1.to_vector() == x3.to_vector());
  // every row of one pass appears exactly once
  const TensorF pass = a.batch(0, 0, 110);
  std::multiset<std::vector<float>> from_pass, from_buffer;
  for (index_t r = 0; r < 110; ++r) {
    from_pass.insert(std::vector<float>(pass.data() + r * 8, pass.data() + r * 8 + 8));
    from_buffer.insert(std::vector<float>(a.rows_of(0).data() + r * 8, a.rows_of(0).data() + r * 8 + 8));
  }
  CHECK(from_pass == from_buffer);
  // a buffer restored to a's sampler state refills exactly as a does
  train::ActivationBuffer c(model, tokens, 12, targets, 100, 4, 7);
  c.set_sampler_state(a.sampler_state());
  c.set_fill_count(a.fills());
  a.refill();
  c.refill();
  CHECK(a.rows_of(0).to_vector() == c.rows_of(0).to_vector());
  CHECK(a.rows_of(0).to_vector() != b.rows_of(0).to_vector());
  (void)x2;
}

TEST_CASE("SAE metrics equal a direct computation", "[sae][metrics]") {
  Generator gen(4);
  nn::Transformer<float> model(sae_file_lm(), gen);
  const auto tokens = sae_file_tokens(gen, 400);
  nn::TopKSAE<float> sae(nn::SaeConfig{8, 32, 4}, gen);
  const std::vector<std::uint64_t> starts{0, 50, 130, 200};
  const train::HookTarget t{0, nn::HookPoint::MlpOut};
  const auto m = train::evaluate_saes(model, tokens, 11, starts, {t}, {&sae}, 3)[0];
  NoGradGuard ng;
  const TensorF x = train::harvest(model, tokens, 11, starts, {t})[0];
  const TensorF xh = sae.forward(x);
  double err = 0, sq = 0;
  for (index_t i = 0; i < x.numel(); ++i)
    err += std::pow(x.data()[i] - xh.data()[i], 2), sq += std::pow(static_cast<double>(x.data()[i]), 2);
  CHECK(m.nmse == Approx(err / sq).epsilon(1e-6));
  CHECK(m.l0 == 4.0);
  CHECK(m.positions == 4 * 10);
  const data::TokenBatch b = data::batch_at(tokens, 11, starts);
  const double clean = model.loss(b.inputs, b.targets).item();
  CHECK(m.loss_clean == Approx(clean).epsilon(1e-6));
  // patched by hand: the reconstruction at positions 1.., position 0 kept
  const double patched = model.loss_hooked(b.inputs, b.targets, [&](index_t l, nn::HookPoint p, const TensorF& a) {
    if (l != 0 || p != nn::HookPoint::MlpOut) return a;
    TensorF out = a.contiguous().clone();
    for (index_t w = 0; w < 4; ++w)
      for (index_t s = 1; s < 11; ++s) std::copy_n(xh.data() + (w * 10 + s - 1) * 8, 8, out.data() + (w * 11 + s) * 8);
    return out;
  }).item();
  CHECK(m.loss_patched == Approx(patched).epsilon(1e-6));
  const double zero = model.loss_hooked(b.inputs, b.targets, [&](index_t l, nn::HookPoint p, const TensorF& a) {
    if (l != 0 || p != nn::HookPoint::MlpOut) return a;
    TensorF out = a.contiguous().clone();
    for (index_t w = 0; w < 4; ++w) std::fill_n(out.data() + (w * 11 + 1) * 8, 10 * 8, 0.0f);
    return out;
  }).item();
  CHECK(m.loss_zero == Approx(zero).epsilon(1e-6));
  CHECK(m.loss_added == Approx((patched - clean) / clean).margin(2e-6));
  CHECK(m.loss_recovered == Approx(1 - (m.loss_patched - m.loss_clean) / (m.loss_zero - m.loss_clean)).epsilon(1e-12));
}
