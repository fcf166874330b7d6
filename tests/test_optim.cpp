// Optimizers, gradient clipping and learning-rate schedules against their defining equations.
// The expected values are computed here, independently, in double from PyTorch's documented
// update rules (plus a few closed-form literals); test_optim_torch.cpp cross-checks the same
// cases against torch itself when it is installed.
#include <bilin/bilin.hpp>
#include <bilin/optim/adamw.hpp>
#include <bilin/optim/clip.hpp>
#include <bilin/optim/schedule.hpp>
#include <bilin/optim/sgd.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

using namespace bilin;

namespace {

template <class T>
Tensor<T> param(std::vector<T> v) {
  auto t = Tensor<T>::from_vector(v);
  t.requires_grad_(true);
  return t;
}
template <class T>
void set_grad(Tensor<T>& p, std::vector<T> g) {
  p.set_grad(Tensor<T>::from_vector(g, p.shape()));
}

// PyTorch's AdamW/Adam, one parameter, straight from the equations (double).
struct RefAdam {
  double lr, b1, b2, eps, wd;
  bool decoupled;
  std::vector<double> p, m, v;
  int t = 0;
  void step(const std::vector<double>& g_in) {
    ++t;
    if (m.empty()) m.assign(p.size(), 0), v.assign(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = g_in[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double mhat_step = lr / (1 - std::pow(b1, t));
      const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      p[i] -= mhat_step * m[i] / denom;
    }
  }
};

// PyTorch's SGD (double).
struct RefSGD {
  double lr, mu, damp, wd;
  bool nesterov;
  std::vector<double> p, buf;
  void step(const std::vector<double>& g_in) {
    const bool first = buf.empty();
    if (first) buf.assign(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g_in[i] + wd * p[i];
      if (mu != 0) {
        buf[i] = first ? d : mu * buf[i] + (1 - damp) * d;
        d = nesterov ? d + mu * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  }
};

const std::vector<double> kP0 = {0.5, -1.0, 2.0, 0.0, -0.25};
const std::vector<std::vector<double>> kGrads = {{0.1, -0.2, 0.3, 0.05, 0.0}, {-0.05, 0.4, 0.0, -0.3, 1.5},
                                                 {0.2, 0.2, -0.1, 0.0, -0.7}};

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("AdamW first step has the closed form p(1 - lr*wd) - lr*g/(|g|+eps)", "[optim]") {
  auto p = param<double>({1.0, -3.0});
  optim::AdamWOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.01;
  optim::AdamW<double> opt({p}, o);
  set_grad(p, {0.5, -2.0});
  opt.step();
  // 1·(1 − 0.001) − 0.1·0.5/(0.5 + 1e-8) and −3·0.999 + 0.1·2/(2 + 1e-8)
  CHECK(p.at({0}) == Approx(0.89900000199999996).epsilon(1e-15));
  CHECK(p.at({1}) == Approx(-2.8970000005).epsilon(1e-15));
  CHECK(opt.steps() == 1);
}

TEST_CASE("AdamW and Adam follow PyTorch's equations for several steps", "[optim]") {
  for (bool decoupled : {true, false}) {
    CAPTURE(decoupled);
    RefAdam ref{0.01, 0.9, 0.999, 1e-8, 0.1, decoupled, kP0, {}, {}};
    auto pd = param<double>(kP0);
    auto pf = param<float>(cast<float>(kP0));
    optim::AdamWOptions o;
    o.lr = 0.01;
    o.weight_decay = 0.1;
    o.decoupled = decoupled;
    optim::AdamW<double> od({pd}, o);
    optim::AdamW<float> of({pf}, o);
    CHECK(od.kind() == (decoupled ? "adamw" : "adam"));
    for (const auto& g : kGrads) {
      ref.step(g);
      set_grad(pd, g);
      set_grad(pf, cast<float>(g));
      od.step();
      of.step();
      for (std::size_t i = 0; i < kP0.size(); ++i) {
        CHECK(pd.at({static_cast<index_t>(i)}) == Approx(ref.p[i]).epsilon(1e-13).margin(1e-15));
        CHECK(pf.at({static_cast<index_t>(i)}) == Approx(ref.p[i]).epsilon(2e-6).margin(1e-7));
      }
    }
    // the optimizer state is the reference's moments
    const auto sd = od.state_dict();
    for (const auto& [name, t] : sd) {
      if (name == "exp_avg.0")
        for (std::size_t i = 0; i < kP0.size(); ++i) CHECK(t.at({static_cast<index_t>(i)}) == Approx(ref.m[i]));
      if (name == "exp_avg_sq.0")
        for (std::size_t i = 0; i < kP0.size(); ++i) CHECK(t.at({static_cast<index_t>(i)}) == Approx(ref.v[i]));
    }
  }
}

TEST_CASE("AdamW skips parameters without a gradient and keeps their step count", "[optim]") {
  auto a = param<double>({1.0});
  auto b = param<double>({2.0});
  optim::AdamW<double> opt({a, b}, {});
  set_grad(a, {1.0});
  opt.step();
  CHECK(b.at({0}) == 2.0);
  set_grad(b, {1.0});
  opt.step();
  auto* aw = &opt;
  CHECK(aw->param_steps() == std::vector<std::int64_t>{2, 1});
  // b's first step is a first step: closed form with its own t = 1
  CHECK(b.at({0}) == Approx(2.0 * (1 - 1e-3 * 1e-2) - 1e-3 * 1.0 / (1.0 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("SGD follows PyTorch's equations (momentum, dampening, nesterov, weight decay)", "[optim]") {
  struct Case {
    double mu, damp, wd;
    bool nesterov;
  };
  for (Case c : {Case{0, 0, 0, false}, Case{0.9, 0, 0, false}, Case{0.9, 0.3, 0.01, false}, Case{0.8, 0, 0.05, true},
                 Case{0, 0, 0.2, false}}) {
    CAPTURE(c.mu, c.damp, c.wd, c.nesterov);
    RefSGD ref{0.1, c.mu, c.damp, c.wd, c.nesterov, kP0, {}};
    auto pd = param<double>(kP0);
    auto pf = param<float>(cast<float>(kP0));
    optim::SGDOptions o;
    o.lr = 0.1;
    o.momentum = c.mu;
    o.dampening = c.damp;
    o.weight_decay = c.wd;
    o.nesterov = c.nesterov;
    optim::SGD<double> od({pd}, o);
    optim::SGD<float> of({pf}, o);
    for (const auto& g : kGrads) {
      ref.step(g);
      set_grad(pd, g);
      set_grad(pf, cast<float>(g));
      od.step();
      of.step();
      for (std::size_t i = 0; i < kP0.size(); ++i) {
        CHECK(pd.at({static_cast<index_t>(i)}) == Approx(ref.p[i]).epsilon(1e-14).margin(1e-15));
        CHECK(pf.at({static_cast<index_t>(i)}) == Approx(ref.p[i]).epsilon(1e-6).margin(1e-7));
      }
    }
  }
  // literal two-step check, momentum 0.9, dampening 0: b1 = g1, b2 = 0.9 g1 + g2
  auto p = param<double>({1.0});
  optim::SGDOptions o;
  o.lr = 0.5;
  o.momentum = 0.9;
  optim::SGD<double> opt({p}, o);
  set_grad(p, {0.2});
  opt.step();  // 1 − 0.5·0.2 = 0.9
  CHECK(p.at({0}) == Approx(0.9));
  set_grad(p, {-0.4});
  opt.step();  // b = 0.18 − 0.4 = −0.22 → 0.9 + 0.11 = 1.01
  CHECK(p.at({0}) == Approx(1.01));
  CHECK_THROWS_WITH((optim::SGD<double>({p}, optim::SGDOptions{0.1, 0.0, 0.0, 0.0, true})),
                    Catch::Matchers::Contains("nesterov"));
}

TEST_CASE("optimizer state round-trips through state_dict and hyper_state", "[optim]") {
  auto run = [](bool reload) {
    auto p = param<float>(cast<float>(kP0));
    auto q = param<float>({0.3f, 0.7f});
    optim::AdamWOptions o;
    o.lr = 0.02;
    o.weight_decay = 0.3;
    auto opt = std::make_unique<optim::AdamW<float>>(std::vector<TensorF>{p, q}, o);
    for (int s = 0; s < 3; ++s) {
      set_grad(p, cast<float>(kGrads[static_cast<std::size_t>(s)]));
      set_grad(q, {0.1f * static_cast<float>(s), -0.2f});
      opt->step();
      if (s == 1 && reload) {
        // a fresh optimizer (same options: options are configuration, not state) + saved state
        nn::NamedTensors<float> copy;
        for (auto& [n, t] : opt->state_dict()) copy.emplace_back(n, t.clone());
        const auto hs = opt->hyper_state();
        opt = std::make_unique<optim::AdamW<float>>(std::vector<TensorF>{p, q}, o);
        opt->set_lr(1.0);
        opt->load_state_dict(copy);
        opt->load_hyper_state(hs);
        REQUIRE(opt->steps() == 2);
        REQUIRE(opt->lr() == 0.02);
      }
    }
    return std::make_pair(p.to_vector(), q.to_vector());
  };
  const auto a = run(false), b = run(true);
  CHECK(a.first == b.first);  // bit-identical
  CHECK(a.second == b.second);

  auto p = param<double>({1.0, 2.0});
  optim::AdamW<double> opt({p}, {});
  nn::NamedTensors<double> bad{{"exp_avg.0", TensorD::zeros({3})}};
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Matchers::Contains("exp_avg.0") && Catch::Matchers::Contains("[3]"));
  nn::NamedTensors<double> bad_idx{{"exp_avg.7", TensorD::zeros({2})}};
  CHECK_THROWS_WITH(opt.load_state_dict(bad_idx), Catch::Matchers::Contains("exp_avg.7"));
}

TEST_CASE("clip_grad_norm scales by max_norm/(total+1e-6) only when the norm is too large", "[optim]") {
  auto a = param<double>({0, 0, 0});
  auto b = param<double>({0, 0});
  auto c = param<double>({0});  // no gradient: ignored
  set_grad(a, {3, 0, 4});
  set_grad(b, {0, 12});
  const double total = optim::clip_grad_norm<double>({a, b, c}, 6.5);
  CHECK(total == Approx(13.0));
  const double coef = 6.5 / (13.0 + 1e-6);
  CHECK(a.grad().at({0}) == Approx(3 * coef).epsilon(1e-15));
  CHECK(a.grad().at({2}) == Approx(4 * coef).epsilon(1e-15));
  CHECK(b.grad().at({1}) == Approx(12 * coef).epsilon(1e-15));
  // below the limit: untouched, same norm reported
  const double again = optim::clip_grad_norm<double>({a, b, c}, 100.0);
  CHECK(again == Approx(13.0 * coef));
  CHECK(a.grad().at({0}) == Approx(3 * coef).epsilon(1e-15));
  CHECK_THROWS_WITH(optim::clip_grad_norm<double>({a}, 0.0), Catch::Matchers::Contains("max_norm"));

  // a large gradient: the parallel chunked sum equals a serial double sum
  auto big = param<float>(std::vector<float>(300000, 0.f));
  std::vector<float> g(300000);
  double ref = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    g[i] = static_cast<float>(std::sin(0.001 * static_cast<double>(i)));
    ref += static_cast<double>(g[i]) * g[i];
  }
  set_grad(big, g);
  CHECK(optim::clip_grad_norm<float>({big}, 1e9) == Approx(std::sqrt(ref)).epsilon(1e-12));
}

TEST_CASE("LR schedules: cosine (CosineAnnealingLR closed form), warmup, constant", "[optim]") {
  const auto c = optim::LrSchedule::cosine(1e-3, 20);
  CHECK(c.at(0) == 1e-3);
  for (int e = 0; e <= 20; ++e)
    CHECK(c.at(e) == Approx(0.5e-3 * (1 + std::cos(M_PI * e / 20.0))).margin(1e-18));
  CHECK(c.at(10) == Approx(0.5e-3));
  CHECK(c.at(20) == Approx(0.0).margin(1e-18));
  CHECK(c.at(25) == 0.0);
  const auto m = optim::LrSchedule::cosine(1.0, 10, 0, 0.1);
  CHECK(m.at(5) == Approx(0.55));
  CHECK(m.at(10) == Approx(0.1));
  const auto w = optim::LrSchedule::cosine(2.0, 14, 4);
  CHECK(w.at(0) == Approx(0.5));
  CHECK(w.at(3) == Approx(2.0));
  CHECK(w.at(4) == Approx(2.0));
  CHECK(w.at(9) == Approx(1.0));  // halfway through the 10 cosine steps
  const auto k = optim::LrSchedule::constant(0.3, 2);
  CHECK(k.at(0) == Approx(0.15));
  CHECK(k.at(1) == Approx(0.3));
  CHECK(k.at(1000) == Approx(0.3));
  CHECK_THROWS_WITH(optim::LrSchedule::cosine(1.0, 5, 5), Catch::Matchers::Contains("warmup"));
  CHECK_THROWS(c.at(-1));
}

TEST_CASE("optimizers update large parameters identically for any thread count", "[optim]") {
  auto run = [](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    Generator g(5);
    auto p = TensorF::randn({200000}, g);
    p.requires_grad_(true);
    optim::AdamW<float> opt({p}, {});
    for (int s = 0; s < 3; ++s) {
      p.set_grad(TensorF::randn({200000}, g));
      opt.step();
    }
    omp_set_num_threads(saved);
    return p.to_vector();
  };
  CHECK(run(1) == run(2));
}
