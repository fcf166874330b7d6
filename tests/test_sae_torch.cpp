// SAE files against PyTorch, both directions (tests/sae_torch_check.py runs the official SAE):
// a file in the official layout written by torch gives bilin the same codes and reconstructions
// as torch; a file bilin writes loads into the official module (strict state dict, k from the
// metadata) and gives torch the same codes and reconstructions as bilin. 1e-5 relative.
// Skipped with a message when /usr/bin/python3 has no torch.
#include <catch2/catch.hpp>

#include <cstdlib>

#include <bilin/bilin.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/train/sae_file.hpp>

#include "test_support.hpp"

using namespace bilin;

namespace {

bool sae_have_torch() { return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0; }

double sae_torch_rel(const TensorF& a, const TensorF& b) {
  REQUIRE(a.shape() == b.shape());
  double diff = 0, scale = 0;
  for (index_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data()[i])));
  }
  return diff / scale;
}

int sae_run_python(const std::string& mode, const std::string& dir) {
  const std::string cmd = "/usr/bin/python3 " BILIN_TEST_SOURCE_DIR "/sae_torch_check.py " + mode + " " + dir;
  return std::system(cmd.c_str());
}

}  // namespace

TEST_CASE("an SAE in the official layout gives bilin PyTorch's codes and reconstructions", "[sae][torch]") {
  if (!sae_have_torch()) {
    WARN("SKIPPED: /usr/bin/python3 with torch is not available");
    return;
  }
  bilin_test::TempDir dir("sae_torch");
  REQUIRE(sae_run_python("make", dir.path) == 0);
  // the official file has no metadata: k must be given
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae(dir.path + "/official.safetensors"); }),
             Catch::Matchers::Contains("no 'sae_config' metadata and no k given"));
  train::LoadedSae ls = train::load_sae(dir.path + "/official.safetensors", 8);
  REQUIRE(ls.sae->d() == 32);
  REQUIRE(ls.sae->n_latents() == 128);
  const io::TensorMap ref = io::load_safetensors(dir.path + "/torch_ref.safetensors");
  const TensorF x = ref.get<float>("x");
  NoGradGuard ng;
  CHECK(sae_torch_rel(ls.sae->dense_codes(x), ref.get<float>("h")) <= 1e-5);
  CHECK(sae_torch_rel(ls.sae->forward(x), ref.get<float>("x_hat")) <= 1e-5);
}

TEST_CASE("an SAE bilin saves loads in the official PyTorch module and agrees with it", "[sae][torch]") {
  if (!sae_have_torch()) {
    WARN("SKIPPED: /usr/bin/python3 with torch is not available");
    return;
  }
  bilin_test::TempDir dir("sae_torch_back");
  Generator gen(21);
  nn::TopKSAE<float> sae(nn::SaeConfig{32, 128, 8}, gen);
  NoGradGuard ng;
  for (index_t i = 0; i < sae.encoder().numel(); ++i) sae.w_enc->weight.data()[i] += static_cast<float>(0.1 * gen.normal());
  for (index_t i = 0; i < 32; ++i) sae.b_dec.data()[i] = static_cast<float>(0.2 * gen.normal());
  train::SaeInfo info;
  info.hook = "mlp_in";
  info.layer = 1;
  train::save_sae(dir.path + "/bilin.safetensors", sae, info);
  const TensorF x = TensorF::randn({64, 32}, gen, 0.3, 1.5);
  io::save_safetensors(dir.path + "/bilin_ref.safetensors",
                       {{"x", x}, {"h", sae.dense_codes(x)}, {"x_hat", sae.forward(x)}});
  CHECK(sae_run_python("check", dir.path) == 0);
  // and bilin reads its own file back with the config
  train::LoadedSae back = train::load_sae(dir.path + "/bilin.safetensors");
  CHECK(back.sae->k() == 8);
  CHECK(back.info.hook == "mlp_in");
  CHECK(back.info.layer == 1);
  CHECK(sae_torch_rel(back.sae->forward(x), sae.forward(x)) == 0.0);
}
