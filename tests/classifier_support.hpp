// tests/classifier_support.hpp — the small learnable image task the classifier-trainer tests
// share (test_train_resume.cpp, test_mixed_precision.cpp).
//
// - bilin_test::quadrant_images(n, seed): n synthetic 8x8 images with labels 0..3: noise
//   everywhere, brighter in the quadrant the label names (a few dozen steps learn it).
// - bilin_test::quadrant_config(schedule, optimizer): a small bilinear classifier for it (hidden
//   16, batch 32, 4 epochs, AdamW lr 5e-3, input noise and ±1-pixel shifts).
// - bilin_test::run_classifier_steps(t, k): k optimizer steps of a ClassifierTrainer, starting
//   the next epoch whenever one runs out of batches.
#pragma once
#include <catch2/catch.hpp>

#include <bilin/train/classifier_trainer.hpp>
#include <cstdint>
#include <string>

namespace bilin_test {

inline bilin::data::ImageDataset quadrant_images(bilin::index_t n, std::uint64_t seed) {
  bilin::Generator g(seed);
  auto img = bilin::Tensor<std::uint8_t>::empty({n, 64});
  auto lab = bilin::Tensor<std::int64_t>::empty({n});
  for (bilin::index_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::int64_t>(g.randint(4));
    lab.data()[i] = label;
    for (bilin::index_t j = 0; j < 64; ++j) {
      const bool inside = (j / 8 >= 4) * 2 + (j % 8 >= 4) == label;
      img.data()[i * 64 + j] = static_cast<std::uint8_t>(g.randint(120) + (inside ? 80 : 0));
    }
  }
  return bilin::data::ImageDataset::from_tensors(img, lab, 8, 8);
}

inline bilin::train::TrainConfig quadrant_config(const std::string& schedule = "cosine",
                                                 const std::string& optimizer = "adamw") {
  bilin::train::TrainConfig c;
  c.model.d_input = 64;
  c.model.d_hidden = 16;
  c.model.d_output = 4;
  c.batch = 32;
  c.epochs = 4;
  c.lr = 5e-3;
  c.weight_decay = 0.1;
  c.noise = 0.4;
  c.noise_p = 0.5;
  c.shift = 1;
  c.schedule = schedule;
  c.optimizer = optimizer;
  c.eval_batch = 64;
  return c;
}

inline void run_classifier_steps(bilin::train::ClassifierTrainer& t, int k) {
  for (int i = 0; i < k;) {
    if (t.epoch_done()) {
      t.begin_epoch(t.epoch() + 1);
    } else {
      REQUIRE(t.step());
      ++i;
    }
  }
}

}  // namespace bilin_test
