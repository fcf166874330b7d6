// tests/fuzz/fuzz_official.cpp — an official model folder's config.json (train/official_lm.hpp
// load_official_lm, what train_sae / analyze_lm / generate read for the paper's published
// models) on any bytes, beside a fixed, valid model.safetensors of a tiny model.
// Contract: bilin::Error, or a model whose weights are exactly the file's (the tensors do not
// depend on config.json; a config that loads must describe them).
#include "bilin/train/official_lm.hpp"

#include <fstream>

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

namespace {

struct OfficialFolder {
  std::string dir = bilin_fuzz::scratch_dir() + "/official";
  nn::NamedTensors<float> weights;
  OfficialFolder() {
    nn::TransformerConfig c;
    c.vocab = 24, c.n_layer = 1, c.d_model = 8, c.n_head = 2, c.d_hidden = 16, c.n_ctx = 16;
    Generator gen(3);
    nn::Transformer<float> model(c, gen);
    train::save_official_lm(dir, model);
    weights = model.state_dict();
  }
};

}  // namespace

BILIN_FUZZ_TARGET(official_config) {
  static OfficialFolder folder;
  std::ofstream(folder.dir + "/config.json", std::ios::binary | std::ios::trunc)
      .write(input.data(), static_cast<std::streamsize>(input.size()));
  std::shared_ptr<nn::Transformer<float>> m;
  if (!accepts([&] { m = train::load_official_lm(folder.dir); })) return;
  const auto sd = m->state_dict();
  FUZZ_EXPECT(sd.size() == folder.weights.size());
  for (std::size_t i = 0; i < sd.size(); ++i) {
    FUZZ_EXPECT(sd[i].first == folder.weights[i].first && sd[i].second.shape() == folder.weights[i].second.shape());
    FUZZ_EXPECT(sd[i].second.to_vector() == folder.weights[i].second.to_vector());
  }
}
