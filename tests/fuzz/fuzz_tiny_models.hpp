// tests/fuzz/fuzz_tiny_models.hpp — the tiny classifier run that the checkpoint harness resumes
// into and the corpus generator saves from: one definition, so the committed checkpoint seeds
// always fit the harness's model.
#pragma once
#include "bilin/train/classifier_trainer.hpp"

namespace bilin_fuzz {

// 4x4 "images", 3 classes, a one-layer bilinear classifier of width 6, AdamW.
inline bilin::train::TrainConfig tiny_train_config() {
  bilin::train::TrainConfig c;
  c.model.d_input = 16;
  c.model.d_hidden = 6;
  c.model.d_output = 3;
  c.model.n_layer = 1;
  c.epochs = 2;
  c.batch = 4;
  c.eval_batch = 8;
  return c;
}

inline bilin::data::ImageDataset tiny_image_dataset(bilin::index_t n) {
  auto images = bilin::Tensor<std::uint8_t>::empty({n, 16});
  auto labels = bilin::Tensor<std::int64_t>::empty({n});
  for (bilin::index_t i = 0; i < n * 16; ++i) images.data()[i] = static_cast<std::uint8_t>((i * 37) & 0xFF);
  for (bilin::index_t i = 0; i < n; ++i) labels.data()[i] = i % 3;
  return bilin::data::ImageDataset::from_tensors(images, labels, 4, 4);
}

inline std::unique_ptr<bilin::train::ClassifierTrainer> tiny_trainer() {
  return std::make_unique<bilin::train::ClassifierTrainer>(tiny_train_config(), tiny_image_dataset(12),
                                                           tiny_image_dataset(4));
}

}  // namespace bilin_fuzz
