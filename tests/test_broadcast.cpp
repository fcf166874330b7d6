// NumPy broadcasting: shapes and values against hand-computed expectations.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>

using namespace bilin;

namespace {
// value of element `flat` of the broadcast result, computed the slow, obvious way
double ref_at(const TensorD& t, const Shape& out, index_t flat) {
  std::vector<index_t> coord(out.size());
  for (std::size_t d = out.size(); d-- > 0;) {
    coord[d] = flat % out[d];
    flat /= out[d];
  }
  std::vector<index_t> c(t.shape().size());
  const std::size_t lead = out.size() - t.shape().size();
  for (std::size_t d = 0; d < c.size(); ++d) c[d] = t.shape()[d] == 1 ? 0 : coord[lead + d];
  return t.at(c);
}
}  // namespace

TEST_CASE("broadcast shapes follow NumPy") {
  struct Case {
    Shape a, b, out;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {4}, {3, 4}},          {{3, 1}, {1, 4}, {3, 4}},       {{5, 1, 4}, {3, 1}, {5, 3, 4}},
      {{}, {2, 3}, {2, 3}},           {{1}, {7}, {7}},                {{2, 1, 3}, {2, 4, 1}, {2, 4, 3}},
      {{4, 1, 1}, {1, 5, 6}, {4, 5, 6}}, {{6}, {1, 1, 6}, {1, 1, 6}}, {{1, 1}, {}, {1, 1}},
      {{3, 1, 5}, {2, 1}, {3, 2, 5}}, {{0, 3}, {1, 3}, {0, 3}},       {{2, 3, 4, 5}, {4, 1}, {2, 3, 4, 5}},
  };
  Generator gen(7);
  for (const auto& c : cases) {
    INFO("a=" << to_string(c.a) << " b=" << to_string(c.b));
    CHECK(broadcast_shapes(c.a, c.b) == c.out);
    CHECK(broadcast_shapes(c.b, c.a) == c.out);
    auto a = TensorD::randn(c.a, gen), b = TensorD::randn(c.b, gen);
    const auto sum_ab = (a + b).to_vector(), prod = (a * b).to_vector(), quo = (a / b).to_vector(),
               diff = (a - b).to_vector();
    REQUIRE(static_cast<index_t>(sum_ab.size()) == numel(c.out));
    for (index_t i = 0; i < numel(c.out); ++i) {
      const double x = ref_at(a, c.out, i), y = ref_at(b, c.out, i);
      CHECK(sum_ab[i] == x + y);
      CHECK(diff[i] == x - y);
      CHECK(prod[i] == x * y);
      CHECK(quo[i] == Approx(x / y).epsilon(1e-15));
    }
  }
  CHECK_THROWS_AS(broadcast_shapes({3}, {4}), Error);
  CHECK_THROWS_AS(broadcast_shapes({2, 3}, {3, 3}), Error);
}

TEST_CASE("hand-computed broadcast values") {
  auto col = TensorF::from_vector({1, 2, 3}, {3, 1});
  auto row = TensorF::from({10, 20});          // [2]
  CHECK((col + row).to_vector() == std::vector<float>{11, 21, 12, 22, 13, 23});
  CHECK((col * row).to_vector() == std::vector<float>{10, 20, 20, 40, 30, 60});
  CHECK((row - 1).to_vector() == std::vector<float>{9, 19});
  CHECK((2.0 * row).to_vector() == std::vector<float>{20, 40});
  CHECK((1 / TensorF::from({2, 4})).to_vector() == std::vector<float>{0.5f, 0.25f});
  // broadcasting through a transposed (non-contiguous) operand
  auto m = TensorF::from({{1, 2, 3}, {4, 5, 6}}).t();  // [3,2] = [[1,4],[2,5],[3,6]]
  CHECK((m + row).to_vector() == std::vector<float>{11, 24, 12, 25, 13, 26});
  CHECK((m * col).to_vector() == std::vector<float>{1, 4, 4, 10, 9, 18});
}

TEST_CASE("reductions over axes with keepdim") {
  auto x = TensorD::arange(24).reshape({2, 3, 4});
  CHECK(sum(x).item() == 276);
  CHECK(sum(x, {0}).to_vector() == std::vector<double>{12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
  CHECK(sum(x, {1}).to_vector() == std::vector<double>{12, 15, 18, 21, 48, 51, 54, 57});
  CHECK(sum(x, {0, 2}).to_vector() == std::vector<double>{60, 92, 124});
  CHECK(sum(x, {-1}).to_vector() == std::vector<double>{6, 22, 38, 54, 70, 86});
  CHECK(mean(x, {2}).to_vector() == std::vector<double>{1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  CHECK(max(x, {1}).to_vector() == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(min(x, {0, 1}).to_vector() == std::vector<double>{0, 1, 2, 3});
  CHECK(argmax(TensorF::from({{1, 5, 5}, {7, 0, 2}}), {1}).to_vector() == std::vector<std::int64_t>{1, 0});
  CHECK(argmin(TensorF::from({{1, 5, 5}, {7, 0, 2}}), {1}).to_vector() == std::vector<std::int64_t>{0, 1});
  // var: unbiased by default, population with correction 0
  auto v = TensorD::from({1, 2, 3, 4});
  CHECK(var(v).item() == Approx(5.0 / 3.0));
  CHECK(var(v, {}, 0).item() == Approx(1.25));
  // sums over transposed views and long float rows stay accurate
  CHECK(sum(x.transpose(0, 2), {0}).to_vector() == sum(x, {2}).t().contiguous().to_vector());
  auto ones = TensorF::ones({1 << 20});
  CHECK(sum(ones).item() == 1048576.0f);
}

TEST_CASE("matmul with batch broadcasting and 1-D operands") {
  auto a = TensorD::from({{1, 2}, {3, 4}});
  auto b = TensorD::from({{5, 6}, {7, 8}});
  CHECK(matmul(a, b).to_vector() == std::vector<double>{19, 22, 43, 50});
  CHECK(matmul(a.t(), b).to_vector() == std::vector<double>{26, 30, 38, 44});
  CHECK(matmul(a, b.t()).to_vector() == std::vector<double>{17, 23, 39, 53});
  auto v = TensorD::from({1, 1});
  CHECK(matmul(a, v).to_vector() == std::vector<double>{3, 7});
  CHECK(matmul(v, a).to_vector() == std::vector<double>{4, 6});
  CHECK(matmul(v, v).dim() == 0);
  CHECK(matmul(v, v).item() == 2);
  Generator gen(3);
  auto A = TensorD::randn({4, 1, 3, 5}, gen), B = TensorD::randn({6, 5, 2}, gen);
  auto C = matmul(A, B);
  REQUIRE(C.shape() == Shape{4, 6, 3, 2});
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 6; ++j)
      for (index_t r = 0; r < 3; ++r)
        for (index_t c = 0; c < 2; ++c) {
          double ref = 0;
          for (index_t k = 0; k < 5; ++k) ref += A(i, 0, r, k) * B(j, k, c);
          CHECK(C(i, j, r, c) == Approx(ref).epsilon(1e-12));
        }
}
