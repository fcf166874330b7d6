// Tensor<T> storage, factories, views, printing, random numbers and error messages.
#include <catch2/catch.hpp>
#include <omp.h>

#include <bilin/bilin.hpp>
#include <sstream>

using namespace bilin;
using Catch::Matchers::Contains;

TEST_CASE("factories fill shapes and values") {
  auto z = TensorF::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.strides() == Strides{3, 1});
  for (float v : z.to_vector()) CHECK(v == 0.0f);
  CHECK(TensorD::ones({4}).to_vector() == std::vector<double>(4, 1.0));
  CHECK(TensorF::full({2}, 7.5f).to_vector() == std::vector<float>{7.5f, 7.5f});
  CHECK(TensorD::arange(0.0, 1.0, 0.25).to_vector() == std::vector<double>{0, 0.25, 0.5, 0.75});
  CHECK(Tensor<std::int64_t>::arange(4).to_vector() == std::vector<std::int64_t>{0, 1, 2, 3});
  auto m = TensorF::from({{1, 2, 3}, {4, 5, 6}});
  CHECK(m.shape() == Shape{2, 3});
  CHECK(m(1, 2) == 6.0f);
  CHECK(m.at({-1, -3}) == 4.0f);
  CHECK(TensorF::scalar(3).dim() == 0);
  CHECK(TensorF::scalar(3).item() == 3.0f);
  CHECK(reinterpret_cast<std::uintptr_t>(TensorF::empty({5, 7}).data()) % 64 == 0);
}

TEST_CASE("Philox matches the Random123 known-answer vector and is thread-count independent") {
  // Random123 kat_vectors: philox4x32_10, counter 0, key 0
  auto b = Generator::philox(0, 0);
  CHECK(b.v[0] == 0x6627e8d5u);
  CHECK(b.v[1] == 0xe169c58du);
  CHECK(b.v[2] == 0xbc57ac4cu);
  CHECK(b.v[3] == 0x9b00dbd8u);

  std::vector<float> one(200001), two(200001);
  omp_set_num_threads(1);
  Generator g1(42);
  g1.fill_normal(one.data(), static_cast<index_t>(one.size()), 0, 1);
  omp_set_num_threads(2);
  Generator g2(42);
  g2.fill_normal(two.data(), static_cast<index_t>(two.size()), 0, 1);
  CHECK(one == two);
  CHECK(g1.counter() == g2.counter());
  // moments of the normal fill
  double m = 0, v = 0;
  for (float x : one) m += x;
  m /= one.size();
  for (float x : one) v += (x - m) * (x - m);
  v /= one.size();
  CHECK(std::abs(m) < 0.01);
  CHECK(std::abs(v - 1) < 0.01);
  // uniform in range, different seeds differ
  auto u = TensorD::uniform({1000}, g1, -2, 3);
  for (double x : u.to_vector()) CHECK((x >= -2 && x < 3));
  Generator a(1), c(2);
  CHECK(a.next_u32() != c.next_u32());
  for (int i = 0; i < 1000; ++i) CHECK(a.randint(7) < 7u);
}

TEST_CASE("views share storage and see writes") {
  auto x = TensorF::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  auto t = x.t();
  CHECK(t.shape() == Shape{4, 3});
  CHECK(t.shares_storage_with(x));
  CHECK_FALSE(t.is_contiguous());
  CHECK(t(1, 2) == 9.0f);
  auto s = x.slice(1, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{3, 2});
  CHECK(s.to_vector() == std::vector<float>{1, 3, 5, 7, 9, 11});
  s.fill_(-1);
  CHECK(x(0, 1) == -1.0f);
  CHECK(x(2, 3) == -1.0f);
  CHECK(x(0, 0) == 0.0f);
  CHECK(x.narrow(0, 1, 2).shape() == Shape{2, 4});
  CHECK(x.select(0, 2).to_vector() == std::vector<float>{8, -1, 10, -1});
  CHECK(x.select(1, -1).to_vector() == std::vector<float>{-1, -1, -1});
  auto r = x.reshape({2, 6});
  CHECK(r.shares_storage_with(x));
  auto rt = t.reshape({12});  // non-contiguous: copies
  CHECK_FALSE(rt.shares_storage_with(x));
  CHECK(rt.to_vector() == std::vector<float>{0, 4, 8, -1, -1, -1, 2, 6, 10, -1, -1, -1});
  CHECK(x.reshape({-1, 2}).shape() == Shape{6, 2});
  CHECK(x.unsqueeze(0).shape() == Shape{1, 3, 4});
  CHECK(x.unsqueeze(-1).shape() == Shape{3, 4, 1});
  CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{3, 4});
  CHECK(TensorF::zeros({1, 3, 1}).squeeze().shape() == Shape{3});
  auto e = TensorF::from({1, 2, 3}).expand({2, 3});
  CHECK(e.strides() == Strides{0, 1});
  CHECK(e.to_vector() == std::vector<float>{1, 2, 3, 1, 2, 3});
  auto p = TensorF::zeros({2, 3, 4}).permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  auto ch = TensorF::arange(10).chunk(3);
  REQUIRE(ch.size() == 3);
  CHECK(ch[2].to_vector() == std::vector<float>{8, 9});
  auto sp = TensorF::arange(10).split(4);
  REQUIRE(sp.size() == 3);
  CHECK(sp[1].to_vector() == std::vector<float>{4, 5, 6, 7});
  auto c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.to_vector() == t.to_vector());
  auto cl = x.clone();
  cl.fill_(3);
  CHECK(x(0, 0) == 0.0f);
  CHECK(x.flatten().shape() == Shape{12});
  CHECK(TensorF::zeros({2, 3, 4}).flatten(1).shape() == Shape{2, 12});
  auto dst = TensorF::zeros({2, 3});
  dst.copy_(TensorF::from({1, 2, 3}));
  CHECK(dst.to_vector() == std::vector<float>{1, 2, 3, 1, 2, 3});
}

TEST_CASE("concat and stack") {
  auto a = TensorF::from({{1, 2}, {3, 4}});
  auto b = TensorF::from({{5, 6}});
  CHECK(concat<float>({a, b}, 0).to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(concat<float>({a, a.t()}, 1).to_vector() == std::vector<float>{1, 2, 1, 3, 3, 4, 2, 4});
  auto s = stack<float>({a, a}, 1);
  CHECK(s.shape() == Shape{2, 2, 2});
  CHECK(s.to_vector() == std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4});
  CHECK_THROWS_WITH(concat<float>({a, TensorF::zeros({2, 3})}, 0), Contains("concat") && Contains("[2,3]"));
}

TEST_CASE("printing is readable") {
  std::ostringstream os;
  os << TensorF::from({{1, 2}, {3, 4.5f}});
  CHECK_THAT(os.str(), Contains("float32") && Contains("shape=[2,2]") && Contains("4.5"));
  std::ostringstream big;
  big << TensorF::zeros({100, 100});
  CHECK_THAT(big.str(), Contains("..."));
  CHECK(big.str().size() < 2000);
}

TEST_CASE("errors name the op and the shapes") {
  auto a = TensorF::zeros({3, 4});
  CHECK_THROWS_WITH(matmul(a, TensorF::zeros({5, 6})), Contains("matmul: shapes [3,4] and [5,6] are not compatible"));
  CHECK_THROWS_WITH(a + TensorF::zeros({2, 4}), Contains("add") && Contains("[3,4]") && Contains("[2,4]"));
  CHECK_THROWS_WITH(sum(a, {2}), Contains("sum: axis 2 is out of range"));
  CHECK_THROWS_WITH(a.transpose(0, 5), Contains("transpose"));
  CHECK_THROWS_WITH(a.at({3, 0}), Contains("index 3 is out of range for axis 0 of shape [3,4]"));
  CHECK_THROWS_WITH(a.reshape({5, 5}), Contains("reshape") && Contains("[5,5]"));
  CHECK_THROWS_WITH(a.t().view({12}), Contains("not contiguous"));
  CHECK_THROWS_WITH(a.narrow(1, 2, 5), Contains("narrow"));
  CHECK_THROWS_WITH(a.expand({2, 4}), Contains("expand"));
  CHECK_THROWS_WITH(TensorF::from_vector({1, 2, 3}, {2, 2}), Contains("from_vector"));
  CHECK_THROWS_WITH(index_select(a, 0, Tensor<std::int64_t>::from({0, 3})), Contains("index 3"));
  CHECK_THROWS_WITH(embedding(a, Tensor<std::int64_t>::from({7})), Contains("index 7"));
  CHECK_THROWS_WITH(cross_entropy(a, Tensor<std::int64_t>::from({0, 1, 4})), Contains("target 4 at row 2"));
  CHECK_THROWS_WITH(cross_entropy(a, Tensor<std::int64_t>::from({0, 1})), Contains("targets of shape [2]"));
  CHECK_THROWS_WITH(TensorF::zeros({2}).item(), Contains("item"));
  CHECK_THROWS_WITH(TensorF().shape(), Contains("undefined"));
  CHECK_THROWS_WITH(max(TensorF::zeros({0, 3}), {0}), Contains("empty"));
  CHECK_THROWS_AS(Tensor<std::int64_t>::zeros({2}).requires_grad_(), Error);
}
