// Fused linear / bilinear ops and the Linear, Bilinear, MLP modules.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

namespace {
Generator layers_gen(99);
TensorD layers_rnd(const Shape& s) { return TensorD::randn(s, layers_gen); }
template <class F>
void check_grad(const std::string& name, F f, In inputs) {
  auto r = gradcheck(f, std::move(inputs));
  INFO(name << ": " << r.report());
  CHECK(r.max_error <= 1e-6);
}
}  // namespace

TEST_CASE("gradcheck: fused linear") {
  check_grad("linear", [](In& x) { return linear(x[0], x[1]); }, {layers_rnd({5, 4}), layers_rnd({3, 4})});
  check_grad("linear bias", [](In& x) { return linear(x[0], x[1], x[2]); }, {layers_rnd({5, 4}), layers_rnd({3, 4}), layers_rnd({3})});
  check_grad("linear 3-D input", [](In& x) { return linear(x[0], x[1], x[2]); },
             {layers_rnd({2, 5, 4}), layers_rnd({3, 4}), layers_rnd({3})});
  check_grad("linear transposed input", [](In& x) { return linear(x[0].t(), x[1]); }, {layers_rnd({4, 5}), layers_rnd({3, 4})});
  // the fused op equals the composite matmul + broadcast add
  auto x = layers_rnd({6, 7}), w = layers_rnd({5, 7}), b = layers_rnd({5});
  const auto a = linear(x, w, b).to_vector(), c = (matmul(x, w.t()) + b).to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(c[i]).epsilon(1e-12));
}

TEST_CASE("gradcheck: fused bilinear product, every gate") {
  for (Gate g : {Gate::None, Gate::Relu, Gate::Silu, Gate::Gelu}) {
    // 2·19 columns: the SIMD body and the scalar tail both run; values away from relu's kink
    auto z = TensorD::uniform({3, 38}, layers_gen, 0.2, 1.5);
    auto sgn = TensorD::uniform({3, 38}, layers_gen, -1, 1);
    for (index_t i = 0; i < z.numel(); ++i) z.data()[i] *= sgn.data()[i] < 0 ? -1 : 1;
    check_grad(std::string("bilinear_product ") + gate_name(g), [g](In& x) { return bilinear_product(x[0], g); }, {z});
  }
  auto z = layers_rnd({4, 6});
  auto y = bilinear_product(z);
  auto ref = z.narrow(1, 0, 3) * z.narrow(1, 3, 3);
  CHECK(y.to_vector() == ref.to_vector());
  CHECK_THROWS_WITH(bilinear_product(layers_rnd({2, 3})), Contains("bilinear_product"));
}

TEST_CASE("bilinear product: outputs past simd::stream_min_bytes (streamed) equal the naive products") {
  // float rows of h = 1024 (whole 64-byte lines) and enough of them that the output and the
  // input gradient both take the non-temporal store path; the silu gate through both paths.
  const index_t h = 1024, rows = static_cast<index_t>(simd::stream_min_bytes / sizeof(float)) / h + 5;
  Generator g(4);
  for (Gate gate : {Gate::None, Gate::Silu}) {
    auto z = Tensor<float>::uniform({rows, 2 * h}, g, -2, 2).requires_grad_();
    auto y = bilinear_product(z, gate);
    auto gy = Tensor<float>::uniform({rows, h}, g, -1, 1);
    y.backward(gy);
    const float* zd = z.data();
    const float *yd = y.data(), *gd = gy.data(), *dz = z.grad().data();
    index_t bad_y = 0, bad_dz = 0;
    for (index_t r = 0; r < rows; ++r)
      for (index_t j = 0; j < h; ++j) {
        const double l = zd[r * 2 * h + j], rt = zd[r * 2 * h + h + j], gv = gd[r * h + j];
        const double sig = 1 / (1 + std::exp(-l));
        const double act = gate == Gate::None ? l : l * sig, dact = gate == Gate::None ? 1 : sig * (1 + l * (1 - sig));
        bad_y += std::abs(yd[r * h + j] - act * rt) > 1e-5 * (1 + std::abs(act * rt));
        bad_dz += std::abs(dz[r * 2 * h + j] - gv * rt * dact) > 1e-5 * (1 + std::abs(gv * rt * dact));
        bad_dz += std::abs(dz[r * 2 * h + h + j] - gv * act) > 1e-5 * (1 + std::abs(gv * act));
      }
    INFO(gate_name(gate));
    CHECK(bad_y == 0);
    CHECK(bad_dz == 0);
  }
}

TEST_CASE("Bilinear layer = (Wx + b_W) ⊙ (Vx + b_V), gradcheck through the module") {
  Generator g(1);
  for (bool bias : {false, true})
    for (Gate gate : {Gate::None, Gate::Silu}) {
      nn::Bilinear<double> layer(4, 3, gate, bias, g);
      CHECK(layer.weight.shape() == Shape{6, 4});
      CHECK(layer.w_l().shares_storage_with(layer.weight));
      auto x = layers_rnd({5, 4});
      auto l = matmul(x, layer.w_l().t()), r = matmul(x, layer.w_r().t());
      if (bias) {
        l = l + layer.b_l();
        r = r + layer.b_r();
      }
      auto ref = (gate == Gate::None ? l : silu(l)) * r;
      const auto a = layer(x).to_vector(), b = ref.to_vector();
      for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-12));
      // gradients of the parameters through the module against finite differences
      In params{layer.weight.detach().clone()};
      if (bias) params.push_back(layer.bias.detach().clone());
      check_grad("module", [&](In& p) {
        auto z = linear(x, p[0], bias ? p[1] : TensorD());
        return bilinear_product(z, gate);
      }, params);
    }
}

TEST_CASE("modules: names, order, state dicts, init bounds") {
  Generator g(7);
  nn::MLP<float> mlp(8, 16, nn::MlpKind::Bilinear, true, true, g);
  std::vector<std::string> names;
  for (auto& [n, t] : mlp.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"up.weight", "up.bias", "down.weight", "down.bias"});
  CHECK(mlp.num_parameters() == 32 * 8 + 32 + 8 * 16 + 8);
  // nn.Linear default init bound 1/sqrt(fan_in)
  for (float v : mlp.named_parameters()[0].second.to_vector()) CHECK(std::abs(v) <= 1 / std::sqrt(8.0f));
  nn::MLP<float> other(8, 16, nn::MlpKind::Bilinear, true, true, g);
  other.load_state_dict(mlp.state_dict());
  auto x = TensorF::randn({3, 8}, g);
  CHECK(other(x).to_vector() == mlp(x).to_vector());
  auto sd = mlp.state_dict();
  sd.pop_back();
  CHECK_THROWS_WITH(other.load_state_dict(sd), Contains("missing: down.bias"));
  sd = mlp.state_dict();
  sd[0].second = TensorF::zeros({3, 3});
  CHECK_THROWS_WITH(other.load_state_dict(sd), Contains("'up.weight' has shape [3,3]"));
  nn::Sequential<float> seq;
  seq.add(std::make_shared<nn::Linear<float>>(8, 4, false, g));
  seq.add(std::make_shared<nn::Bilinear<float>>(4, 4, Gate::None, false, g));
  CHECK(seq(x).shape() == Shape{3, 4});
  CHECK(seq.named_parameters()[1].first == "1.weight");
  CHECK_THROWS_WITH(nn::parse_mlp_kind("tanh"), Contains("unknown MLP kind 'tanh'"));
  for (auto kind : {nn::MlpKind::GluRelu, nn::MlpKind::GluSilu, nn::MlpKind::GluGelu, nn::MlpKind::Relu}) {
    nn::MLP<float> m(8, 16, kind, false, false, g);
    CHECK(m(x).shape() == Shape{3, 8});
  }
}
