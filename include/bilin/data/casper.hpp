// bilin/data/casper.hpp — the labelling function of Casper's MNIST challenge as the paper poses
// it (§4.3): an image is True when it is similar to a target "1" or to that 1's complement.
//
// Contract:
// - Similarity is the centred dot product s(x) = Σ_p (t_p − ½)(x_p − ½) with pixels x, t in
//   [0, 1] (pixel/255): the complement 1 − t of the target has centred image −(t − ½), so
//   "similar to t or to 1 − t" is |s(x)| > θ. The label is a quadratic function of the pixels,
//   (c·x + b)² > θ² with c = t − ½ and b = −½Σc — one positive rank-one term and a negative
//   constant, which is what a bilinear model with biases can represent exactly (App. L).
// - make_casper_task(train, digit) takes the target as the first training image of class
//   `digit` (default 1) and θ as the median |s| over the training images (balanced labels).
//   CasperTask::weights() / constant() give c and b.
// - casper_relabel(dataset, task) returns the same images with labels 1 (True) / 0 (False).
// - Errors: no image of the requested digit, or images of another size than the task's.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "loader.hpp"

namespace bilin::data {

struct CasperTask {
  index_t target_index = -1;    // in the training set
  std::vector<float> centred;   // t − ½, [D]
  double threshold = 0;         // θ

  index_t size() const { return static_cast<index_t>(centred.size()); }
  const std::vector<float>& weights() const { return centred; }
  double constant() const {
    double s = 0;
    for (float c : centred) s += c;
    return -0.5 * s;
  }
  // s(x) for one uint8 image of size() pixels.
  double similarity(const std::uint8_t* img) const {
    double s = 0;
    for (index_t p = 0; p < size(); ++p) s += static_cast<double>(centred[p]) * (img[p] / 255.0 - 0.5);
    return s;
  }
  std::int64_t label(const std::uint8_t* img) const { return std::fabs(similarity(img)) > threshold ? 1 : 0; }
};

inline CasperTask make_casper_task(const ImageDataset& train, std::int64_t digit = 1) {
  train.check();
  CasperTask t;
  for (index_t i = 0; i < train.size(); ++i)
    if (train.labels.data()[i] == digit) {
      t.target_index = i;
      break;
    }
  BILIN_CHECK(t.target_index >= 0, "casper", "no training image of class ", digit, " to use as the target");
  const index_t D = train.features();
  const std::uint8_t* img = train.images.data() + t.target_index * D;
  t.centred.resize(static_cast<std::size_t>(D));
  for (index_t p = 0; p < D; ++p) t.centred[p] = static_cast<float>(img[p] / 255.0 - 0.5);
  std::vector<double> a(static_cast<std::size_t>(train.size()));
  for (index_t i = 0; i < train.size(); ++i) a[i] = std::fabs(t.similarity(train.images.data() + i * D));
  const std::size_t mid = a.size() / 2;
  std::nth_element(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(mid), a.end());
  t.threshold = a[mid];
  return t;
}

inline ImageDataset casper_relabel(const ImageDataset& ds, const CasperTask& task) {
  ds.check();
  BILIN_CHECK(ds.features() == task.size(), "casper", "images have ", ds.features(), " pixels, the task ", task.size());
  Tensor<std::int64_t> labels = Tensor<std::int64_t>::empty({ds.size()});
  const index_t D = ds.features();
  for (index_t i = 0; i < ds.size(); ++i) labels.data()[i] = task.label(ds.images.data() + i * D);
  return ImageDataset::from_tensors(ds.images, labels, ds.height, ds.width);
}

}  // namespace bilin::data
