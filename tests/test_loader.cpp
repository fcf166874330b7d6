// DataLoader: determinism, shuffling, drop_last, normalization, resumable positions, and the
// augmentations (Gaussian noise statistics, shifts, rotations, Philox equivalence).
#include <bilin/bilin.hpp>
#include <bilin/data/loader.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

using namespace bilin;
using data::DataLoader;

namespace {

// n images of 4x4 pixels; image i has pixel value (i*7 + j) % 256 and label i % 10.
data::ImageDataset toy(index_t n, index_t h = 4, index_t w = 4) {
  auto img = Tensor<std::uint8_t>::empty({n, h * w});
  auto lab = Tensor<std::int64_t>::empty({n});
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < h * w; ++j) img.data()[i * h * w + j] = static_cast<std::uint8_t>((i * 7 + j) % 256);
    lab.data()[i] = i % 10;
  }
  return data::ImageDataset::from_tensors(img, lab, h, w);
}

// Which sample a batch row came from (toy images are identified by their first pixel + label).
std::vector<index_t> sample_ids(const data::Batch& b, index_t n) {
  std::vector<index_t> ids;
  for (index_t r = 0; r < b.size(); ++r) {
    const int first = static_cast<int>(std::lround(b.x.data()[r * b.x.size(1)] * 255.0f));
    index_t found = -1;
    for (index_t i = 0; i < n; ++i)
      if ((i * 7) % 256 == first && i % 10 == b.y.data()[r]) found = i;
    ids.push_back(found);
  }
  return ids;
}

}  // namespace

TEST_CASE("loader: pixel/255 exactly, labels, identity order without shuffle", "[loader]") {
  data::LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  o.drop_last = false;
  DataLoader L(toy(10), o);
  CHECK(L.batches_per_epoch() == 3);
  data::Batch b;
  REQUIRE(L.next(b));
  REQUIRE(b.x.shape() == Shape{4, 16});
  for (index_t r = 0; r < 4; ++r)
    for (index_t j = 0; j < 16; ++j)
      CHECK(b.x.data()[r * 16 + j] == static_cast<float>((r * 7 + j) % 256) / 255.0f);  // bit-exact ToTensor
  CHECK(b.y.to_vector() == std::vector<std::int64_t>{0, 1, 2, 3});
  REQUIRE(L.next(b));
  REQUIRE(L.next(b));
  CHECK(b.size() == 2);  // the incomplete last batch is kept without drop_last
  CHECK(b.y.to_vector() == std::vector<std::int64_t>{8, 9});
  CHECK_FALSE(L.next(b));

  data::LoaderOptions n = o;
  n.norm = {0.1307, 0.3081};
  DataLoader N(toy(10), n);
  REQUIRE(N.next(b));
  CHECK(b.x.data()[5] == Approx((5 / 255.0 - 0.1307) / 0.3081).epsilon(1e-6));
}

TEST_CASE("loader: seeded shuffling is a permutation per epoch, reproducible, drop_last", "[loader]") {
  data::LoaderOptions o;
  o.batch_size = 16;
  o.seed = 7;
  const index_t n = 100;
  DataLoader A(toy(n), o), B(toy(n), o);
  CHECK(A.batches_per_epoch() == 6);  // 100 / 16, last 4 samples dropped
  std::vector<index_t> seen;
  data::Batch a, b;
  while (A.next(a)) {
    REQUIRE(B.next(b));
    CHECK(a.x.to_vector() == b.x.to_vector());
    CHECK(a.y.to_vector() == b.y.to_vector());
    CHECK(a.size() == 16);
    for (index_t id : sample_ids(a, n)) seen.push_back(id);
  }
  CHECK_FALSE(B.next(b));
  std::set<index_t> uniq(seen.begin(), seen.end());
  CHECK(uniq.size() == 96);  // no repeats within an epoch
  CHECK(!uniq.count(-1));
  const std::vector<index_t> order0 = A.order();
  std::vector<index_t> sorted = order0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<index_t> iota(n);
  std::iota(iota.begin(), iota.end(), 0);
  CHECK(sorted == iota);
  CHECK(order0 != iota);
  A.start_epoch(1);
  CHECK(A.order() != order0);  // a new permutation each epoch
  A.start_epoch(0);
  CHECK(A.order() == order0);  // ... that depends only on (seed, epoch)
  o.seed = 8;
  DataLoader C(toy(n), o);
  CHECK(C.order() != order0);
  o.batch_size = 200;
  CHECK_THROWS_WITH(DataLoader(toy(n), o), Catch::Matchers::Contains("drop_last"));
}

TEST_CASE("loader: seek reproduces the batches of an uninterrupted run", "[loader]") {
  data::LoaderOptions o;
  o.batch_size = 8;
  o.augment.noise_std = 0.3;
  o.augment.noise_p = 0.5;
  o.augment.max_shift = 1;
  DataLoader A(toy(50), o);
  std::vector<std::vector<float>> xs;
  data::Batch b;
  for (int e = 0; e < 3; ++e) {
    A.start_epoch(e);
    while (A.next(b)) xs.push_back(b.x.to_vector());
  }
  DataLoader B(toy(50), o);
  B.seek({1, 2});  // epoch 1, third batch
  REQUIRE(B.next(b));
  CHECK(b.x.to_vector() == xs[static_cast<std::size_t>(A.batches_per_epoch() + 2)]);
  CHECK(B.position() == DataLoader::Position{1, 3});
  CHECK_THROWS_WITH(B.seek({0, 99}), Catch::Matchers::Contains("batch 99"));
}

TEST_CASE("loader: batch buffers are reused unless something else holds them", "[loader]") {
  data::LoaderOptions o;
  o.batch_size = 4;
  DataLoader L(toy(20), o);
  data::Batch b;
  REQUIRE(L.next(b));
  const float* p0 = b.x.data();
  REQUIRE(L.next(b));
  CHECK(b.x.data() == p0);  // reused
  const TensorF keep = b.x;  // e.g. an autograd node holding the input
  const std::vector<float> kept = keep.to_vector();
  REQUIRE(L.next(b));
  CHECK(b.x.data() != keep.data());
  CHECK(keep.to_vector() == kept);  // never overwritten behind the holder's back
}

TEST_CASE("augment: philox16 equals Generator::philox; normal_fill is a pure function", "[loader][augment]") {
  std::uint32_t a[16], b[16], c[16], d[16];
  data::philox16(0x123456789abcdefull, 0xfffffff8ull, a, b, c, d);  // crosses the 32-bit counter boundary
  for (int i = 0; i < 16; ++i) {
    const auto blk = Generator::philox(0x123456789abcdefull, 0xfffffff8ull + i);
    CHECK(a[i] == blk.v[0]);
    CHECK(b[i] == blk.v[1]);
    CHECK(c[i] == blk.v[2]);
    CHECK(d[i] == blk.v[3]);
  }
  std::vector<float> x(100), y(64);
  data::normal_fill(x.data(), 100, 5, 32, 0.f, 1.f);
  data::normal_fill(y.data(), 64, 5, 32, 0.f, 1.f);
  CHECK(std::equal(y.begin(), y.end(), x.begin()));  // prefix property
  CHECK(data::normal_blocks(100) == 32);
  // Box–Muller from the words, in double, matches the float generator closely
  data::philox16(5, 32, a, b, c, d);
  const double u1 = ((a[3] >> 8) + 1) * 0x1.0p-24, u2 = (b[3] >> 8) * 0x1.0p-24;
  CHECK(x[3] == Approx(std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2)).margin(1e-5));
  CHECK(x[32 + 3] == Approx(std::sqrt(-2 * std::log(u1)) * std::sin(2 * M_PI * u2)).margin(1e-5));
}

TEST_CASE("augment: Gaussian noise has the requested statistics", "[loader][augment]") {
  std::vector<float> z(1 << 20);
  data::normal_fill(z.data(), static_cast<index_t>(z.size()), 99, 0, 0.f, 0.4f);
  double s = 0, s2 = 0, s4 = 0;
  std::size_t beyond1 = 0, beyond2 = 0, beyond3 = 0;
  for (float v : z) {
    const double t = v / 0.4;
    s += t;
    s2 += t * t;
    s4 += t * t * t * t;
    beyond1 += std::abs(t) > 1;
    beyond2 += std::abs(t) > 2;
    beyond3 += std::abs(t) > 3;
  }
  const double n = static_cast<double>(z.size());
  CHECK(std::abs(s / n) < 5 / std::sqrt(n));
  CHECK(s2 / n == Approx(1.0).epsilon(0.005));
  CHECK(s4 / n == Approx(3.0).epsilon(0.02));  // normal kurtosis
  CHECK(beyond1 / n == Approx(0.31731).epsilon(0.01));
  CHECK(beyond2 / n == Approx(0.045500).epsilon(0.03));
  CHECK(beyond3 / n == Approx(0.0026998).epsilon(0.1));

  // in the loader: per-sample probability p, zero mean; clean samples untouched
  auto zeros = data::ImageDataset::from_tensors(Tensor<std::uint8_t>::zeros({4000, 64}),
                                                Tensor<std::int64_t>::zeros({4000}), 8, 8);
  data::LoaderOptions o;
  o.batch_size = 4000;
  o.augment.noise_std = 0.4;
  o.augment.noise_p = 0.5;
  DataLoader L(zeros, o);
  data::Batch b;
  REQUIRE(L.next(b));
  index_t noisy = 0;
  double var = 0;
  for (index_t r = 0; r < 4000; ++r) {
    double rs = 0;
    for (index_t j = 0; j < 64; ++j) rs += static_cast<double>(b.x.data()[r * 64 + j]) * b.x.data()[r * 64 + j];
    if (rs > 0) {
      ++noisy;
      var += rs;
    }
  }
  CHECK(std::abs(static_cast<double>(noisy) - 2000.0) < 5 * std::sqrt(1000.0));  // Binomial(4000, 0.5)
  CHECK(var / (static_cast<double>(noisy) * 64) == Approx(0.16).epsilon(0.02));
}

TEST_CASE("augment: batches are identical for any thread count", "[loader][augment]") {
  auto run = [](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    data::LoaderOptions o;
    o.batch_size = 512;
    o.augment.noise_std = 0.4;
    o.augment.noise_p = 0.5;
    o.augment.max_shift = 2;
    o.augment.max_rotation_deg = 10;
    DataLoader L(toy(1024, 28, 28), o);
    data::Batch b;
    L.next(b);
    L.next(b);
    omp_set_num_threads(saved);
    return b.x.to_vector();
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("augment: shifts move pixels by whole steps, rotations turn about the centre", "[loader][augment]") {
  std::vector<std::uint8_t> img(28 * 28, 0);
  img[10 * 28 + 12] = 200;
  std::vector<float> out(28 * 28);
  data::resample_affine(img.data(), 28, 28, out.data(), 2, -3, 0.0);
  CHECK(out[12 * 28 + 9] == 200.0f);
  CHECK(std::accumulate(out.begin(), out.end(), 0.0) == 200.0);
  data::resample_affine(img.data(), 28, 28, out.data(), 0, 0, 90.0);
  // (10, 12) relative to the centre (13.5, 13.5) is (−3.5, −1.5); a quarter turn maps it to a
  // pixel on the other diagonal side — find where the mass went
  std::size_t arg = static_cast<std::size_t>(std::max_element(out.begin(), out.end()) - out.begin());
  const double ry = static_cast<double>(arg / 28) - 13.5, rx = static_cast<double>(arg % 28) - 13.5;
  CHECK(std::hypot(ry, rx) == Approx(std::hypot(3.5, 1.5)).epsilon(1e-9));
  CHECK(std::accumulate(out.begin(), out.end(), 0.0) == Approx(200.0).epsilon(1e-9));
  data::resample_affine(img.data(), 28, 28, out.data(), 40, 0, 0.0);  // shifted out entirely
  CHECK(std::accumulate(out.begin(), out.end(), 0.0) == 0.0);

  // in the loader, shifted images keep their mass when the ink is away from the border
  auto one = Tensor<std::uint8_t>::zeros({64, 28 * 28});
  for (index_t i = 0; i < 64; ++i) one.data()[i * 784 + 14 * 28 + 14] = 255;
  data::LoaderOptions o;
  o.batch_size = 64;
  o.augment.max_shift = 3;
  DataLoader L(data::ImageDataset::from_tensors(one, Tensor<std::int64_t>::zeros({64}), 28, 28), o);
  data::Batch b;
  REQUIRE(L.next(b));
  std::set<index_t> positions;
  for (index_t r = 0; r < 64; ++r) {
    index_t where = -1, count = 0;
    for (index_t j = 0; j < 784; ++j)
      if (b.x.data()[r * 784 + j] != 0) where = j, ++count;
    REQUIRE(count == 1);
    CHECK(std::abs(where / 28 - 14) <= 3);
    CHECK(std::abs(where % 28 - 14) <= 3);
    positions.insert(where);
  }
  CHECK(positions.size() > 10);  // the shifts really vary
}
