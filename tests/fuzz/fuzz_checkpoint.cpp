// tests/fuzz/fuzz_checkpoint.cpp — what the trainers' resume paths read from a checkpoint file:
// train/checkpoint.hpp load_checkpoint (model tensors + optimizer state + hyper-state metadata)
// through ClassifierTrainer::load (train_mnist --resume: also the loader position and running
// sums in the metadata), the training config JSON in the metadata (TrainConfig::from_json), the
// LM's model_config (TransformerConfig::from_json, read by read_lm_config for train_tinylm /
// train_sae), and the SAE file reader (train/sae_file.hpp load_sae).
// Contract: bilin::Error, or state that saves and loads back to byte-identical checkpoint files,
// and configs whose JSON round-trips.
#include "bilin/train/checkpoint.hpp"
#include "bilin/train/classifier_trainer.hpp"
#include "bilin/train/lm_checkpoint.hpp"
#include "bilin/train/sae_file.hpp"

#include "fuzz_common.hpp"
#include "fuzz_tiny_models.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

using bilin_fuzz::tiny_trainer;

BILIN_FUZZ_TARGET(checkpoint) {
  static bilin_fuzz::MemFile file;
  static auto trainer = tiny_trainer();
  static auto second = tiny_trainer();
  const std::string& path = file.set(input);
  const std::string dir = bilin_fuzz::scratch_dir();

  std::map<std::string, std::string> meta;
  if (!accepts([&] { meta = io::read_checkpoint_metadata(path); })) return;
  if (const auto it = meta.find("train.config"); it != meta.end()) {
    train::TrainConfig c;
    if (accepts([&] { c = train::TrainConfig::from_json(it->second); })) {
      const std::string j = c.to_json();
      train::TrainConfig back;
      FUZZ_EXPECT(accepts([&] { back = train::TrainConfig::from_json(j); }));
      FUZZ_EXPECT(back.to_json() == j);
    }
  }
  if (const auto it = meta.find("model_config"); it != meta.end()) {
    nn::TransformerConfig c;
    if (accepts([&] { c = train::read_lm_config(path); })) {
      const std::string j = c.to_json();
      nn::TransformerConfig back;
      FUZZ_EXPECT(accepts([&] { back = nn::TransformerConfig::from_json(j); }));
      FUZZ_EXPECT(back.to_json() == j);
    }
  }
  // train_mnist --resume: model + optimizer + position + running sums
  if (accepts([&] { trainer->load(path); })) {
    const std::string a = dir + "/a.safetensors", b = dir + "/b.safetensors";
    FUZZ_EXPECT(accepts([&] { trainer->save(a); }));
    FUZZ_EXPECT(accepts([&] { second->load(a); }));
    FUZZ_EXPECT(accepts([&] { second->save(b); }));
    FUZZ_EXPECT(bilin_fuzz::slurp(a) == bilin_fuzz::slurp(b));
  }
  // an SAE file (bilin's own layout: tensors + config in the metadata)
  train::LoadedSae sae;
  if (accepts([&] { sae = train::load_sae(path); })) {
    const std::string s = dir + "/sae.safetensors";
    FUZZ_EXPECT(accepts([&] { train::save_sae(s, *sae.sae, sae.info); }));
    train::LoadedSae back;
    FUZZ_EXPECT(accepts([&] { back = train::load_sae(s); }));
    const std::string s2 = dir + "/sae2.safetensors";
    FUZZ_EXPECT(accepts([&] { train::save_sae(s2, *back.sae, back.info); }));
    FUZZ_EXPECT(bilin_fuzz::slurp(s) == bilin_fuzz::slurp(s2));
  }
}
