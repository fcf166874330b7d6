// bilin/data/loader.hpp — an image dataset in memory and a seeded, reproducible batch loader.
//
// Contract:
// - ImageDataset holds images as uint8 [N, H·W] (4× smaller than float; converted per batch)
//   and labels as int64 [N]. from_mnist(split) wraps a data/idx.hpp split without copying;
//   subset(begin, count) is a view of consecutive samples.
// - DataLoader(dataset, options) yields batches x float [B, H·W], y int64 [B]:
//     x = (pixel/255 − mean)/std            (Normalization; defaults give pixel/255 exactly,
//                                            torchvision's ToTensor scaling)
//     then, when options.augment is on, per sample: a random shift by up to ±max_shift pixels
//     and rotation by up to ±max_rotation_deg (applied to the pixels before normalization,
//     zero fill), and with probability noise_p Gaussian noise N(0, noise_std²) added to every
//     feature (kornia's RandomGaussianNoise(std, p) as used by the official code: p = 0.5).
//     The App. B ablation augmentations (data/augment.hpp) follow, in this order, after the
//     geometry and before the Gaussian noise, each on a sample with probability noise_p (its
//     own decision, from its own stream): Gaussian blur of std blur_sigma, salt-and-pepper with
//     pixel probability salt_pepper (to the normalized values of pixels 0 and 255), smooth
//     (Perlin-style) noise of amplitude smooth_noise on a lattice every smooth_cell pixels.
// - Order: epoch e visits the samples in a Fisher–Yates permutation drawn from
//   derive_key(seed, 0) at Philox counter e·2³² (identity order when shuffle is off); drop_last
//   drops the final incomplete batch. Every random choice is a pure function of (seed, epoch,
//   batch, row), so a run is bit-identical for any thread count and can be resumed exactly from
//   a Position {epoch, batch} alone (seek()).
// - next(batch) fills the batch at the current position and advances; it returns false (and
//   fills nothing) once the epoch is exhausted; start_epoch(e) / seek(pos) reposition. Batch
//   buffers are reused when nothing else holds them (e.g. an autograd graph that saved x), so
//   steady-state training does not allocate.
// - set_part(part, parts) makes next() fill only rows part_range(B, part, parts) of each batch
//   (core/partition.hpp), with the same samples and random draws those rows get in the whole
//   batch: the data-parallel shard of one rank (train/distributed.hpp).
// - Rows are built in parallel (OpenMP) — conversion, augmentation and noise are fused into one
//   pass over each row.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "../core/partition.hpp"
#include "../core/tensor.hpp"
#include "augment.hpp"
#include "idx.hpp"

namespace bilin::data {

struct ImageDataset {
  Tensor<std::uint8_t> images;  // [N, H·W]
  Tensor<std::int64_t> labels;  // [N]
  index_t height = 28, width = 28;

  index_t size() const { return labels.defined() ? labels.numel() : 0; }
  index_t features() const { return height * width; }

  static ImageDataset from_mnist(const MnistSplit& split) {
    BILIN_CHECK(split.images.dim() == 3, "ImageDataset", "expected images [N, H, W], got ",
                to_string(split.images.shape()));
    ImageDataset d;
    d.height = split.images.size(1);
    d.width = split.images.size(2);
    d.images = split.images.reshape({split.images.size(0), d.height * d.width});
    const index_t n = split.labels.numel();
    d.labels = Tensor<std::int64_t>::empty({n});
    for (index_t i = 0; i < n; ++i) d.labels.data()[i] = split.labels.data()[i];
    d.check();
    return d;
  }
  static ImageDataset from_tensors(Tensor<std::uint8_t> images, Tensor<std::int64_t> labels, index_t height,
                                   index_t width) {
    ImageDataset d{std::move(images), std::move(labels), height, width};
    d.check();
    return d;
  }
  ImageDataset subset(index_t begin, index_t count) const {
    BILIN_CHECK(begin >= 0 && count >= 0 && begin + count <= size(), "ImageDataset", "subset [", begin, ", ",
                begin + count, ") is outside the ", size(), " samples");
    return ImageDataset{images.narrow(0, begin, count), labels.narrow(0, begin, count), height, width};
  }
  void check() const {
    BILIN_CHECK(images.dim() == 2 && labels.dim() == 1 && images.size(0) == labels.size(0) &&
                    images.size(1) == height * width && images.is_contiguous() && labels.is_contiguous(),
                "ImageDataset", "images ", to_string(images.shape()), " and labels ", to_string(labels.shape()),
                " do not form a dataset of ", height, "x", width, " images");
  }
};

struct Normalization {
  double mean = 0.0, std = 1.0;  // applied to pixel/255
};

struct Augmentation {
  double noise_std = 0.0;        // Gaussian input noise (the paper's regularizer)
  double noise_p = 1.0;          // probability that a sample gets noise
  index_t max_shift = 0;         // random translation, pixels
  double max_rotation_deg = 0.0;  // random rotation, degrees
  double blur_sigma = 0.0;        // Gaussian blur std, pixels (App. B ablation)
  double salt_pepper = 0.0;       // salt-and-pepper pixel probability (App. B ablation)
  double smooth_noise = 0.0;      // Perlin-style smooth noise amplitude (App. B ablation)
  index_t smooth_cell = 7;        // its lattice spacing, pixels
  bool extra() const { return blur_sigma > 0 || salt_pepper > 0 || smooth_noise > 0; }
  bool any() const {
    return (noise_std > 0 && noise_p > 0) || max_shift > 0 || max_rotation_deg > 0 || (extra() && noise_p > 0);
  }
};

struct LoaderOptions {
  index_t batch_size = 2048;
  bool shuffle = true, drop_last = true;
  std::uint64_t seed = 42;
  Normalization norm;
  Augmentation augment;
};

struct Batch {
  Tensor<float> x;         // [B, H·W]
  Tensor<std::int64_t> y;  // [B]
  index_t size() const { return y.defined() ? y.numel() : 0; }
};

class DataLoader {
 public:
  struct Position {
    std::int64_t epoch = 0, batch = 0;
    friend bool operator==(const Position&, const Position&) = default;
  };
  // Random streams of one run (derive_key(seed, stream)).
  enum Stream : std::uint64_t { kShuffle = 0, kNoise = 1, kGeometry = 2, kBlur = 3, kSaltPepper = 4, kSmooth = 5 };

  DataLoader(ImageDataset data, LoaderOptions opt) : data_(std::move(data)), opt_(opt) {
    data_.check();
    BILIN_CHECK(opt_.batch_size > 0, "DataLoader", "batch size must be positive, got ", opt_.batch_size);
    BILIN_CHECK(opt_.norm.std > 0, "DataLoader", "normalization std must be positive, got ", opt_.norm.std);
    BILIN_CHECK(opt_.augment.noise_std >= 0 && opt_.augment.noise_p >= 0 && opt_.augment.noise_p <= 1 &&
                    opt_.augment.max_shift >= 0 && opt_.augment.max_rotation_deg >= 0 &&
                    opt_.augment.blur_sigma >= 0 && opt_.augment.salt_pepper >= 0 && opt_.augment.salt_pepper <= 1 &&
                    opt_.augment.smooth_noise >= 0 && opt_.augment.smooth_cell >= 1,
                "DataLoader", "bad augmentation (noise_std ", opt_.augment.noise_std, ", noise_p ", opt_.augment.noise_p,
                ", max_shift ", opt_.augment.max_shift, ", max_rotation_deg ", opt_.augment.max_rotation_deg,
                ", blur_sigma ", opt_.augment.blur_sigma, ", salt_pepper ", opt_.augment.salt_pepper, ", smooth_noise ",
                opt_.augment.smooth_noise, ", smooth_cell ", opt_.augment.smooth_cell, ")");
    BILIN_CHECK(!opt_.drop_last || data_.size() >= opt_.batch_size, "DataLoader", "drop_last with batch size ",
                opt_.batch_size, " leaves no batch of the ", data_.size(), " samples");
    for (int v = 0; v < 256; ++v)
      lut_[v] = static_cast<float>((static_cast<float>(v) / 255.0f - opt_.norm.mean) / opt_.norm.std);
    start_epoch(0);
  }

  const ImageDataset& dataset() const { return data_; }
  const LoaderOptions& options() const { return opt_; }
  index_t batches_per_epoch() const {
    const index_t n = data_.size(), b = opt_.batch_size;
    return opt_.drop_last ? n / b : (n + b - 1) / b;
  }
  Position position() const { return pos_; }
  void set_part(index_t part, index_t parts) {
    part_range(0, part, parts);  // checks the arguments
    part_ = part, parts_ = parts;
  }
  // The sample order of the current epoch.
  const std::vector<index_t>& order() const { return order_; }

  void start_epoch(std::int64_t epoch) {
    BILIN_CHECK(epoch >= 0, "DataLoader", "epoch must be >= 0, got ", epoch);
    pos_ = {epoch, 0};
    order_.resize(static_cast<std::size_t>(data_.size()));
    for (index_t i = 0; i < data_.size(); ++i) order_[static_cast<std::size_t>(i)] = i;
    if (opt_.shuffle) {
      const std::uint64_t key = derive_key(opt_.seed, kShuffle);
      Generator g(key);
      g.set_state(key, static_cast<std::uint64_t>(epoch) << 32);
      for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[g.randint(i)]);
    }
  }
  void seek(Position p) {
    BILIN_CHECK(p.batch >= 0 && p.batch <= batches_per_epoch(), "DataLoader", "batch ", p.batch,
                " is outside the epoch's ", batches_per_epoch(), " batches");
    start_epoch(p.epoch);
    pos_.batch = p.batch;
  }

  bool next(Batch& out) {
    if (pos_.batch >= batches_per_epoch()) return false;
    const index_t begin = pos_.batch * opt_.batch_size;
    const index_t full = std::min(opt_.batch_size, data_.size() - begin);
    const auto [lo, hi] = part_range(full, part_, parts_);
    const index_t rows = hi - lo;
    const index_t D = data_.features();
    reuse_or_alloc(out.x, {rows, D});
    reuse_or_alloc(out.y, {rows});
    // The counter slot of this batch's first row: unique over the whole run.
    const std::uint64_t slot0 = (static_cast<std::uint64_t>(pos_.epoch) * static_cast<std::uint64_t>(batches_per_epoch()) +
                                 static_cast<std::uint64_t>(pos_.batch)) *
                                static_cast<std::uint64_t>(opt_.batch_size);
    fill_rows(order_.data() + begin + lo, rows, slot0 + static_cast<std::uint64_t>(lo), out.x.data(), out.y.data());
    ++pos_.batch;
    return true;
  }

  // Convert (and, when enabled, augment) the given samples into x, y; row r uses counter slot
  // slot0 + r. Exposed for evaluation code and tests.
  void fill_rows(const index_t* idx, index_t rows, std::uint64_t slot0, float* x, std::int64_t* y) const {
    const index_t D = data_.features(), H = data_.height, W = data_.width;
    const std::uint8_t* img = data_.images.data();
    const std::int64_t* lab = data_.labels.data();
    const Augmentation& a = opt_.augment;
    const bool geo = a.max_shift > 0 || a.max_rotation_deg > 0;
    const bool noise = a.noise_std > 0 && a.noise_p > 0;
    const std::uint64_t noise_key = derive_key(opt_.seed, kNoise), geo_key = derive_key(opt_.seed, kGeometry);
    const std::uint64_t per_row = 1 + normal_blocks(D);  // one decision block, then the normals
    const float mean = static_cast<float>(opt_.norm.mean);
    const float inv_std = static_cast<float>(1.0 / opt_.norm.std), noise_std = static_cast<float>(a.noise_std);
    const float* lut = lut_.data();
#pragma omp parallel for schedule(static) if (rows * D >= (1 << 15) && !omp_in_parallel())
    for (index_t r = 0; r < rows; ++r) {
      const index_t s = idx[r];
      const std::uint8_t* src = img + s * D;
      float* dst = x + r * D;
      y[r] = lab[s];
      const std::uint64_t slot = slot0 + static_cast<std::uint64_t>(r);
      if (geo) {
        const Generator::Block blk = Generator::philox(geo_key, slot);
        const index_t span = 2 * a.max_shift + 1;
        const index_t dy = a.max_shift ? static_cast<index_t>(blk.v[0] % span) - a.max_shift : 0;
        const index_t dx = a.max_shift ? static_cast<index_t>(blk.v[1] % span) - a.max_shift : 0;
        if (a.max_rotation_deg > 0) {
          const double ang = a.max_rotation_deg * (2.0 * Generator::u64_to_double(blk.v[2], blk.v[3]) - 1.0);
          resample_affine(src, H, W, dst, static_cast<double>(dy), static_cast<double>(dx), ang);
          for (index_t j = 0; j < D; ++j) dst[j] = (dst[j] / 255.0f - mean) * inv_std;
        } else {  // whole-pixel shift: a copy, zero (background) where the shift uncovers
          for (index_t y = 0; y < H; ++y)
            for (index_t x = 0; x < W; ++x) {
              const index_t sy = y - dy, sx = x - dx;
              dst[y * W + x] = lut[(sy >= 0 && sy < H && sx >= 0 && sx < W) ? src[sy * W + sx] : 0];
            }
        }
      } else {
        for (index_t j = 0; j < D; ++j) dst[j] = lut[src[j]];
      }
      if (a.extra() && a.noise_p > 0) apply_extra(dst, H, W, slot);
      if (noise) {
        const std::uint64_t base = slot * per_row;
        const bool apply = a.noise_p >= 1.0 || Generator::u32_to_float(Generator::philox(noise_key, base).v[0]) <
                                                   static_cast<float>(a.noise_p);
        if (apply) add_normal_noise(dst, D, noise_key, base + 1, noise_std);
      }
    }
  }

 private:
  // Blur, salt-and-pepper and smooth noise of one row (see the contract), each decided by the
  // first block of its own stream's per-row counter range.
  void apply_extra(float* dst, index_t H, index_t W, std::uint64_t slot) const {
    const Augmentation& a = opt_.augment;
    const index_t D = H * W;
    auto decide = [&](Stream s, std::uint64_t per_row) {
      const std::uint64_t base = slot * per_row;
      const bool on = a.noise_p >= 1.0 ||
                      Generator::u32_to_float(Generator::philox(derive_key(opt_.seed, s), base).v[0]) <
                          static_cast<float>(a.noise_p);
      return on ? base + 1 : std::uint64_t{0};
    };
    if (a.blur_sigma > 0 && decide(kBlur, 1)) {
      std::vector<float> tmp(dst, dst + D);
      gaussian_blur(tmp.data(), H, W, a.blur_sigma, dst);
    }
    if (a.salt_pepper > 0)
      if (const std::uint64_t c = decide(kSaltPepper, 1 + salt_pepper_blocks(D)))
        salt_pepper(dst, D, derive_key(opt_.seed, kSaltPepper), c, a.salt_pepper, lut_[0], lut_[255]);
    if (a.smooth_noise > 0)
      if (const std::uint64_t c = decide(kSmooth, 1 + smooth_noise_blocks(H, W, a.smooth_cell)))
        smooth_noise(dst, H, W, derive_key(opt_.seed, kSmooth), c, a.smooth_cell, a.smooth_noise);
  }

  template <class U>
  static void reuse_or_alloc(Tensor<U>& t, const Shape& shape) {
    // use_count 1: only this handle refers to the storage, so overwriting it is invisible.
    if (t.defined() && t.shape() == shape && t.storage().use_count() == 1 && t.impl_ptr().use_count() == 1 &&
        !t.requires_grad())
      return;
    t = Tensor<U>::empty(shape);
  }

  ImageDataset data_;
  LoaderOptions opt_;
  std::array<float, 256> lut_{};
  std::vector<index_t> order_;
  Position pos_;
  index_t part_ = 0, parts_ = 1;
};

}  // namespace bilin::data
