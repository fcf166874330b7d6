// Rotary position embeddings (ops/rope.hpp): explicit formula, relative-position property,
// pass-through channels, gradcheck in double, errors.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/ops/rope.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

TEST_CASE("rope matches the rotate_half formula of the official code") {
  Generator gen(1);
  const index_t Tn = 9, dh = 6, C = 3 * dh;
  RopeTable<double> tab(dh, 32);
  auto x = TensorD::randn({2, Tn, C}, gen);
  const index_t offset = 4;
  auto y = rope(x, tab, 2 * dh, offset);  // rotate two heads, pass the third through
  for (index_t b = 0; b < 2; ++b)
    for (index_t t = 0; t < Tn; ++t)
      for (index_t head = 0; head < 3; ++head)
        for (index_t i = 0; i < dh; ++i) {
          const index_t c = head * dh + i;
          double want = x.at({b, t, c});
          if (head < 2) {  // q·cos + rotate_half(q)·sin with emb = cat(freqs, freqs)
            const index_t f = i % (dh / 2);
            const double ang = static_cast<double>(offset + t) / std::pow(10000.0, 2.0 * f / dh);
            const double rot = i < dh / 2 ? -x.at({b, t, c + dh / 2}) : x.at({b, t, c - dh / 2});
            want = x.at({b, t, c}) * std::cos(ang) + rot * std::sin(ang);
          }
          CHECK(y.at({b, t, c}) == Approx(want).epsilon(1e-13).margin(1e-13));
        }
}

TEST_CASE("rope: scores depend only on the relative position") {
  Generator gen(2);
  const index_t dh = 8;
  RopeTable<double> tab(dh, 64);
  auto q = TensorD::randn({1, dh}, gen), k = TensorD::randn({1, dh}, gen);
  auto dot_at = [&](index_t pq, index_t pk) {
    auto a = rope(q, tab, -1, pq), b = rope(k, tab, -1, pk);
    double s = 0;
    for (index_t i = 0; i < dh; ++i) s += a.data()[i] * b.data()[i];
    return s;
  };
  CHECK(dot_at(10, 7) == Approx(dot_at(40, 37)).epsilon(1e-12));
  CHECK(dot_at(3, 3) == Approx(dot_at(50, 50)).epsilon(1e-12));
  // a rotation keeps the norm
  auto y = rope(q, tab, -1, 33);
  double n0 = 0, n1 = 0;
  for (index_t i = 0; i < dh; ++i) {
    n0 += q.data()[i] * q.data()[i];
    n1 += y.data()[i] * y.data()[i];
  }
  CHECK(n1 == Approx(n0).epsilon(1e-13));
}

TEST_CASE("gradcheck: rope (double)") {
  Generator gen(3);
  RopeTable<double> tab(4, 16);
  auto r = gradcheck([&](In& x) { return rope(x[0], tab, 8, 3); }, {TensorD::randn({2, 5, 12}, gen)});
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);
  auto r2 = gradcheck([&](In& x) { return rope(x[0].transpose(0, 1), tab); }, {TensorD::randn({5, 2, 4}, gen)});
  INFO(r2.report());
  CHECK(r2.max_error <= 1e-6);
}

TEST_CASE("rope errors name the problem") {
  CHECK_THROWS_WITH(RopeTable<float>(5, 8), Contains("even"));
  RopeTable<float> tab(4, 8);
  CHECK_THROWS_WITH(rope(TensorF::zeros({9, 4}), tab), Contains("exceed the table"));
  CHECK_THROWS_WITH(rope(TensorF::zeros({2, 6}), tab), Contains("multiple of d_head"));
  CHECK_THROWS_WITH(rope(TensorF::zeros({4}), tab), Contains("[..., T, C]"));
  CHECK_THROWS_WITH(rope(TensorF::zeros({2, 4}), RopeTable<float>()), Contains("empty"));
}
