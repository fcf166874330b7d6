// Reverse-mode autodiff: every differentiable op against central finite differences (double),
// including broadcasting, views and non-contiguous inputs; engine semantics.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

namespace {
Generator gen(2024);
TensorD rnd(const Shape& s) { return TensorD::randn(s, gen); }
// values bounded away from 0 (for log, sqrt, abs, relu kinks) with random signs
TensorD away_from_zero(const Shape& s, bool positive = false) {
  auto t = TensorD::uniform(s, gen, 0.3, 1.5);
  if (!positive) {
    auto sg = TensorD::uniform(s, gen, -1, 1);
    for (index_t i = 0; i < t.numel(); ++i) t.data()[i] *= sg.data()[i] < 0 ? -1 : 1;
  }
  return t;
}
template <class F>
void check_grad(const char* name, F f, In inputs) {
  auto r = gradcheck(f, std::move(inputs));
  INFO(name << ": " << r.report());
  CHECK(r.ok);
  CHECK(r.max_error <= 1e-6);
}
}  // namespace

TEST_CASE("gradcheck: unary ops") {
  check_grad("neg", [](In& x) { return neg(x[0]); }, {rnd({3, 4})});
  check_grad("exp", [](In& x) { return exp(x[0]); }, {rnd({3, 4})});
  check_grad("log", [](In& x) { return log(x[0]); }, {away_from_zero({3, 4}, true)});
  check_grad("sqrt", [](In& x) { return sqrt(x[0]); }, {away_from_zero({3, 4}, true)});
  check_grad("rsqrt", [](In& x) { return rsqrt(x[0]); }, {away_from_zero({3, 4}, true)});
  check_grad("pow 3", [](In& x) { return pow(x[0], 3); }, {rnd({3, 4})});
  check_grad("pow 2.5", [](In& x) { return pow(x[0], 2.5); }, {away_from_zero({3, 4}, true)});
  check_grad("abs", [](In& x) { return abs(x[0]); }, {away_from_zero({3, 4})});
  check_grad("tanh", [](In& x) { return tanh(x[0]); }, {rnd({3, 4})});
  check_grad("sigmoid", [](In& x) { return sigmoid(x[0]); }, {rnd({3, 4})});
  check_grad("relu", [](In& x) { return relu(x[0]); }, {away_from_zero({3, 4})});
  check_grad("gelu erf", [](In& x) { return gelu(x[0]); }, {rnd({3, 4})});
  check_grad("gelu tanh", [](In& x) { return gelu(x[0], GeluApprox::Tanh); }, {rnd({3, 4})});
  check_grad("silu", [](In& x) { return silu(x[0]); }, {rnd({3, 4})});
  check_grad("square", [](In& x) { return square(x[0]); }, {rnd({3, 4})});
  check_grad("clamp", [](In& x) { return clamp(x[0], -0.2, 0.2); }, {away_from_zero({4, 4})});
  // on long inputs the SIMD body (not only the scalar tail) is exercised
  check_grad("tanh long", [](In& x) { return tanh(x[0]); }, {rnd({37})});
  check_grad("gelu long", [](In& x) { return gelu(x[0]); }, {rnd({37})});
}

TEST_CASE("gradcheck: binary ops with broadcasting") {
  const std::vector<std::pair<Shape, Shape>> pairs = {{{3, 4}, {3, 4}}, {{3, 4}, {4}},     {{3, 1}, {1, 4}},
                                                      {{2, 3, 4}, {3, 1}}, {{}, {2, 3}}, {{5, 1, 3}, {4, 1}}};
  for (const auto& [sa, sb] : pairs) {
    INFO(to_string(sa) << " with " << to_string(sb));
    check_grad("add", [](In& x) { return x[0] + x[1]; }, {rnd(sa), rnd(sb)});
    check_grad("sub", [](In& x) { return x[0] - x[1]; }, {rnd(sa), rnd(sb)});
    check_grad("mul", [](In& x) { return x[0] * x[1]; }, {rnd(sa), rnd(sb)});
    check_grad("div", [](In& x) { return x[0] / x[1]; }, {rnd(sa), away_from_zero(sb)});
    check_grad("pow", [](In& x) { return pow(x[0], x[1]); }, {away_from_zero(sa, true), rnd(sb)});
    check_grad("maximum", [](In& x) { return maximum(x[0], x[1]); }, {rnd(sa), rnd(sb)});
    check_grad("minimum", [](In& x) { return minimum(x[0], x[1]); }, {rnd(sa), rnd(sb)});
  }
  check_grad("scalar ops", [](In& x) { return (2.0 * x[0] + 1.0) / 3.0 - 0.5; }, {rnd({2, 3})});
  check_grad("where", [](In& x) {
    Mask m = gt(x[0], 0.0);
    return where(m, x[0] * x[1], x[1]);
  }, {away_from_zero({3, 4}), rnd({4})});
  check_grad("masked_fill", [](In& x) { return masked_fill(x[0], lt(x[0], 0.0), 7) * 2.0; },
             {away_from_zero({3, 4})});
}

TEST_CASE("gradcheck: reductions") {
  check_grad("sum all", [](In& x) { return sum(x[0]); }, {rnd({3, 4, 2})});
  check_grad("sum axes", [](In& x) { return sum(x[0], {0, 2}); }, {rnd({3, 4, 2})});
  check_grad("sum keepdim", [](In& x) { return sum(x[0], {1}, true) * x[0]; }, {rnd({3, 4, 2})});
  check_grad("mean", [](In& x) { return mean(x[0], {-1}); }, {rnd({3, 4})});
  check_grad("max", [](In& x) { return max(x[0], {1}); }, {rnd({3, 5})});
  check_grad("min all", [](In& x) { return min(x[0]); }, {rnd({3, 5})});
  check_grad("max axes 0,2", [](In& x) { return max(x[0], {0, 2}, true); }, {rnd({3, 4, 2})});
  check_grad("var", [](In& x) { return var(x[0], {1}); }, {rnd({3, 5})});
  check_grad("var pop", [](In& x) { return var(x[0], {}, 0); }, {rnd({3, 5})});
}

TEST_CASE("gradcheck: matmul, softmax, losses") {
  check_grad("matmul", [](In& x) { return matmul(x[0], x[1]); }, {rnd({3, 4}), rnd({4, 5})});
  check_grad("matmul transposed", [](In& x) { return matmul(x[0].t(), x[1].t()); }, {rnd({4, 3}), rnd({5, 4})});
  check_grad("matmul batch broadcast", [](In& x) { return matmul(x[0], x[1]); }, {rnd({2, 1, 3, 4}), rnd({3, 4, 2})});
  check_grad("matmul vec", [](In& x) { return matmul(x[0], x[1]); }, {rnd({4}), rnd({4, 3})});
  check_grad("matmul mat-vec", [](In& x) { return matmul(x[0], x[1]); }, {rnd({2, 3, 4}), rnd({4})});
  check_grad("dot", [](In& x) { return matmul(x[0], x[1]); }, {rnd({5}), rnd({5})});
  check_grad("softmax", [](In& x) { return softmax(x[0]); }, {rnd({3, 5})});
  check_grad("softmax axis 0", [](In& x) { return softmax(x[0], 0); }, {rnd({3, 5})});
  check_grad("log_softmax", [](In& x) { return log_softmax(x[0]); }, {rnd({3, 5})});
  check_grad("log_softmax axis 1 of 3", [](In& x) { return log_softmax(x[0], 1); }, {rnd({2, 3, 4})});
  const auto targets = Tensor<std::int64_t>::from({0, 4, 2, 1});
  check_grad("cross_entropy mean", [&](In& x) { return cross_entropy(x[0], targets); }, {rnd({4, 5})});
  check_grad("cross_entropy sum smoothing", [&](In& x) {
    return cross_entropy(x[0], targets, {Reduction::Sum, -100, 0.1});
  }, {rnd({4, 5})});
  const auto ign = Tensor<std::int64_t>::from({0, -100, 2, 1});
  check_grad("cross_entropy none ignore", [&](In& x) {
    return cross_entropy(x[0], ign, {Reduction::None, -100, 0.0});
  }, {rnd({4, 5})});
  check_grad("cross_entropy 3-D", [&](In& x) {
    return cross_entropy(x[0], Tensor<std::int64_t>::from_vector({1, 0, 2, 2, 1, 0}, {2, 3}));
  }, {rnd({2, 3, 3})});
  check_grad("mse", [](In& x) { return mse(x[0], x[1]); }, {rnd({3, 4}), rnd({3, 4})});
}

TEST_CASE("gradcheck: views, copies and indexing") {
  check_grad("reshape", [](In& x) { return x[0].reshape({6, 2}) * x[0].reshape({6, 2}); }, {rnd({3, 4})});
  check_grad("transpose + reshape (copy)", [](In& x) { return tanh(x[0].t().reshape({12})); }, {rnd({3, 4})});
  check_grad("permute", [](In& x) { return exp(x[0].permute({2, 0, 1})); }, {rnd({2, 3, 4})});
  check_grad("slice step", [](In& x) { return square(x[0].slice(1, 1, 5, 2)); }, {rnd({3, 6})});
  check_grad("narrow + select", [](In& x) { return x[0].narrow(0, 1, 2).select(1, 2) * 3.0; }, {rnd({4, 3})});
  check_grad("chunk", [](In& x) {
    auto c = x[0].chunk(2, 1);
    return c[0] * c[1];
  }, {rnd({3, 4})});
  check_grad("split", [](In& x) {
    auto c = x[0].split(1, 0);
    return c[0] - c[2] * 2.0;
  }, {rnd({3, 4})});
  check_grad("squeeze/unsqueeze", [](In& x) { return x[0].unsqueeze(1).squeeze(1).unsqueeze(0) * 2.0; },
             {rnd({3, 4})});
  check_grad("expand", [](In& x) { return x[0].expand({4, 3, 2}) * x[1]; }, {rnd({3, 1}), rnd({4, 3, 2})});
  check_grad("contiguous", [](In& x) { return x[0].t().contiguous() * 2.0; }, {rnd({3, 4})});
  check_grad("clone", [](In& x) { return square(x[0].clone()); }, {rnd({3, 4})});
  check_grad("non-contiguous into ops", [](In& x) {
    auto v = x[0].t().slice(0, 0, 4, 2);  // strided view
    return sum(exp(v) * v, {1});
  }, {rnd({3, 4})});
  const auto idx = Tensor<std::int64_t>::from({2, 0, 2});
  check_grad("index_select", [&](In& x) { return index_select(x[0], 1, idx); }, {rnd({3, 4})});
  check_grad("index_select on view", [&](In& x) { return index_select(x[0].t(), 0, idx); }, {rnd({4, 3})});
  check_grad("embedding", [&](In& x) {
    return embedding(x[0], Tensor<std::int64_t>::from_vector({1, 3, 1, 0}, {2, 2}));
  }, {rnd({4, 3})});
  check_grad("gather", [](In& x) {
    return gather(x[0], 1, Tensor<std::int64_t>::from_vector({0, 2, 2, 1, 0, 0}, {3, 2}));
  }, {rnd({3, 4})});
  check_grad("gather on transposed", [](In& x) {
    return gather(x[0].t(), 0, Tensor<std::int64_t>::from_vector({1, 2, 0, 0, 3, 1}, {2, 3}));
  }, {rnd({3, 4})});
  check_grad("concat", [](In& x) { return concat<double>({x[0], x[1].t()}, 0) * 2.0; }, {rnd({2, 3}), rnd({3, 4})});
  check_grad("stack", [](In& x) { return stack<double>({x[0], x[1]}, 1); }, {rnd({2, 3}), rnd({2, 3})});
  // a composite: small bilinear layer (Wx)⊙(Vx) followed by a head, as the paper uses
  check_grad("bilinear composite", [](In& x) {
    auto h = matmul(x[0], x[1].t()) * matmul(x[0], x[2].t());
    return matmul(h, x[3].t());
  }, {rnd({5, 4}), rnd({3, 4}), rnd({3, 4}), rnd({2, 3})});
}

TEST_CASE("gradient values against closed forms and accumulation rules") {
  auto x = TensorD::from({1, 2, 3}).requires_grad_();
  auto y = sum(x * x);
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
  // accumulation across backward calls until zero_grad
  sum(x * 3.0).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{5, 7, 9});
  x.zero_grad();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 0});
  // a tensor used twice gets both contributions
  auto z = sum(x * x + x);
  z.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3, 5, 7});
  // broadcast gradient reduced back to the input shape
  auto b = TensorD::from_vector({1, 2}, {2, 1}).requires_grad_();
  sum(b + TensorD::zeros({2, 5})).backward();
  CHECK(b.grad().shape() == Shape{2, 1});
  CHECK(b.grad().to_vector() == std::vector<double>{5, 5});
}

TEST_CASE("views propagate gradients to their base") {
  auto base = TensorD::zeros({3, 4}).requires_grad_();
  auto v = base.slice(1, 1, 3);
  sum(v * 2.0).backward();
  CHECK(base.grad().to_vector() == std::vector<double>{0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0});
  base.zero_grad();
  auto parts = base.chunk(3, 0);
  sum(parts[2] * 5.0 + parts[0]).backward();
  CHECK(base.grad().to_vector() == std::vector<double>{1, 1, 1, 1, 0, 0, 0, 0, 5, 5, 5, 5});
}

TEST_CASE("engine: no_grad, detach, retain_graph, retain_grad, errors") {
  auto w = TensorD::from({1, 2}).requires_grad_();
  {
    NoGradGuard ng;
    auto y = w * 2.0;
    CHECK_FALSE(y.requires_grad());
  }
  auto d = (w * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());

  auto h = (w * 3.0).retain_grad();
  auto loss = sum(h * h);
  loss.backward(true);
  CHECK(h.grad().to_vector() == std::vector<double>{6, 12});
  CHECK(w.grad().to_vector() == std::vector<double>{18, 36});
  loss.backward();  // graph was retained
  CHECK(w.grad().to_vector() == std::vector<double>{36, 72});
  CHECK_THROWS_WITH(loss.backward(), Contains("already freed"));

  auto v = w * 2.0;
  CHECK_THROWS_WITH(v.backward(), Contains("backward") && Contains("shape [2]"));
  v.backward(TensorD::from({1, -1}));
  CHECK_THROWS_WITH(sum(TensorD::ones({2})).backward(), Contains("does not require grad"));
  CHECK_THROWS_WITH(w.fill_(0), Contains("in-place"));
  {
    NoGradGuard ng;
    w.fill_(0);  // allowed for optimizer-style updates
  }
  // a deep chain does not overflow the stack (no recursion)
  auto a = TensorD::from({1}).requires_grad_();
  TensorD c = a;
  for (int i = 0; i < 20000; ++i) c = c * 1.0;
  sum(c).backward();
  CHECK(a.grad().item() == 1.0);
}

TEST_CASE("float results agree with double") {
  Generator g(5);
  auto xd = TensorD::randn({17, 33}, g), wd = TensorD::randn({33, 9}, g);
  auto xf = xd.to<float>(), wf = wd.to<float>();
  auto yd = softmax(gelu(matmul(xd, wd)));
  auto yf = softmax(gelu(matmul(xf, wf)));
  const auto a = yd.to_vector();
  const auto b = yf.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).margin(1e-5));
}
