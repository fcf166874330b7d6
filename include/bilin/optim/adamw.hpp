// bilin/optim/adamw.hpp — Adam and AdamW with PyTorch's update equations.
//
// Contract: for each parameter p with gradient g (PyTorch 1.13 torch.optim.AdamW / Adam,
// amsgrad = False), with t the parameter's own step count after incrementing:
//   AdamW (decoupled = true):  p ← p·(1 − lr·wd)
//   Adam  (decoupled = false): g ← g + wd·p
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// Scalars are formed in double and applied in T, in PyTorch's order. State: "exp_avg.i",
// "exp_avg_sq.i" and per-parameter step counts "step.i" (exact copies also in hyper_state()
// as "param_steps"). A parameter without a gradient is skipped and its step count stays.
#pragma once
#include <cmath>
#include "../core/simd.hpp"

#include "optimizer.hpp"

namespace bilin::optim {

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  bool decoupled = true;  // false: Adam with L2 penalty added to the gradient
};

template <class T>
class AdamW : public Optimizer<T> {
 public:
  AdamW(std::vector<Tensor<T>> params, const AdamWOptions& opt = {})
      : Optimizer<T>(std::move(params), opt.lr), opt_(opt) {
    BILIN_CHECK(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1, "adamw",
                "betas must be in [0, 1), got ", opt.beta1, ", ", opt.beta2);
    BILIN_CHECK(opt.eps >= 0 && opt.weight_decay >= 0, "adamw", "eps and weight_decay must be >= 0, got ", opt.eps,
                ", ", opt.weight_decay);
    param_steps_.assign(this->params_.size(), 0);
  }

  std::string kind() const override { return opt_.decoupled ? "adamw" : "adam"; }
  const AdamWOptions& options() const { return opt_; }

  void step() override {
    NoGradGuard ng;
    // Gather every update first, then run them all in one parallel region: one team start and
    // one barrier per step instead of one per parameter.
    std::vector<Job> jobs;
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      Tensor<T>& p = this->params_[i];
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      BILIN_CHECK(g.shape() == p.shape() && g.is_contiguous(), "adamw", "gradient of parameter ", i, " has shape ",
                  to_string(g.shape()), ", parameter has ", to_string(p.shape()));
      Tensor<T>& m = this->buffer_for(exp_avg_, i, p);
      Tensor<T>& v = this->buffer_for(exp_avg_sq_, i, p);
      const Coefs k = coefs(++param_steps_[i]);
      for (index_t lo = 0; lo < p.numel(); lo += detail::kUpdateChunk)
        jobs.push_back({p.data() + lo, g.data() + lo, m.data() + lo, v.data() + lo,
                        std::min(detail::kUpdateChunk, p.numel() - lo), k});
    }
    const auto n = static_cast<index_t>(jobs.size());
#pragma omp parallel for schedule(static) if (n >= 4 && !omp_in_parallel())
    for (index_t j = 0; j < n; ++j) update(jobs[static_cast<std::size_t>(j)]);
    ++this->steps_;
  }

  NamedTensors<T> state_dict() const override {
    NamedTensors<T> out = Optimizer<T>::state_dict();
    this->export_buffers(out, "exp_avg", exp_avg_);
    this->export_buffers(out, "exp_avg_sq", exp_avg_sq_);
    for (std::size_t i = 0; i < param_steps_.size(); ++i)
      out.emplace_back("step." + std::to_string(i), Tensor<T>::scalar(static_cast<T>(param_steps_[i])));
    return out;
  }
  void load_state_dict(const NamedTensors<T>& sd) override {
    Optimizer<T>::load_state_dict(sd);
    this->import_buffers(sd, "exp_avg", exp_avg_);
    this->import_buffers(sd, "exp_avg_sq", exp_avg_sq_);
    param_steps_.assign(this->params_.size(), 0);
    for (const auto& [name, t] : sd)
      if (name.rfind("step.", 0) == 0) {
        std::size_t i = 0;
        const char* b = name.data() + 5;
        const auto r = std::from_chars(b, name.data() + name.size(), i);
        BILIN_CHECK(r.ec == std::errc() && r.ptr == name.data() + name.size() && i < param_steps_.size() &&
                        t.numel() == 1,
                    "adamw", "bad state entry '", name, "' (", param_steps_.size(), " parameters)");
        param_steps_[i] = this->step_count(t.item(), name);
      }
  }
  std::map<std::string, std::string> hyper_state() const override {
    auto h = Optimizer<T>::hyper_state();
    h["param_steps"] = param_steps_text();
    return h;
  }
  void load_hyper_state(const std::map<std::string, std::string>& h) override {
    Optimizer<T>::load_hyper_state(h);
    if (auto it = h.find("param_steps"); it != h.end()) load_param_steps_text(it->second);
  }
  // Per-parameter step counts, exactly ("param_steps": "3,3,3").
  std::string param_steps_text() const {
    std::string s;
    for (std::size_t i = 0; i < param_steps_.size(); ++i) {
      if (i) s += ',';  // appended separately: `"," + to_string(...)` trips GCC 12's -Wrestrict
      s += std::to_string(param_steps_[i]);
    }
    return s;
  }
  void load_param_steps_text(const std::string& s) {
    std::vector<std::int64_t> v;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    while (p < end) {
      std::int64_t x = 0;
      const auto r = std::from_chars(p, end, x);
      BILIN_CHECK(r.ec == std::errc() && x >= 0 && (r.ptr == end || *r.ptr == ','), "adamw", "bad param_steps '", s,
                  "'");
      v.push_back(x);
      p = r.ptr == end ? end : r.ptr + 1;
    }
    BILIN_CHECK(v.size() == this->params_.size(), "adamw", "param_steps lists ", v.size(), " counts for ",
                this->params_.size(), " parameters");
    param_steps_ = v;
  }
  const std::vector<std::int64_t>& param_steps() const { return param_steps_; }

 private:
  // The per-step constants of one parameter (its own step count t), in T as PyTorch applies them.
  struct Coefs {
    T decay, wd, b1, one_b1, b2, one_b2, bc2_sqrt, eps, neg_step;
  };
  struct Job {
    T* p;
    const T* g;
    T* m;
    T* v;
    index_t n;
    Coefs k;
  };
  Coefs coefs(std::int64_t t) const {
    const double lr = this->lr_;
    const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(t));
    return {static_cast<T>(1.0 - lr * opt_.weight_decay), static_cast<T>(opt_.weight_decay),
            static_cast<T>(opt_.beta1),                   static_cast<T>(1.0 - opt_.beta1),
            static_cast<T>(opt_.beta2),                   static_cast<T>(1.0 - opt_.beta2),
            static_cast<T>(std::sqrt(bc2)),               static_cast<T>(opt_.eps),
            static_cast<T>(-(lr / bc1))};
  }
  void update(const Job& job) const {
    const Coefs& k = job.k;
    const bool decoupled = opt_.decoupled, has_wd = opt_.weight_decay != 0;
    auto body = [&](auto pv, auto gv, auto mv, auto vv, auto& p_out, auto& m_out, auto& v_out) {
      using V = decltype(pv);
      if (has_wd) {
        if (decoupled) pv = pv * V(k.decay);
        else gv = gv + V(k.wd) * pv;
      }
      mv = mv * V(k.b1) + gv * V(k.one_b1);
      vv = vv * V(k.b2) + gv * gv * V(k.one_b2);
      const V denom = sqrt_(vv) / V(k.bc2_sqrt) + V(k.eps);
      p_out = pv + V(k.neg_step) * (mv / denom);
      m_out = mv;
      v_out = vv;
    };
    using B = simd::batch<T>;
    constexpr index_t W = static_cast<index_t>(B::size);
    T* p = job.p;
    const T* g = job.g;
    T* m = job.m;
    T* v = job.v;
    index_t j = 0;
    for (; j + W <= job.n; j += W) {
      B po, mo, vo;
      body(B::load_unaligned(p + j), B::load_unaligned(g + j), B::load_unaligned(m + j), B::load_unaligned(v + j), po,
           mo, vo);
      po.store_unaligned(p + j);
      mo.store_unaligned(m + j);
      vo.store_unaligned(v + j);
    }
    for (; j < job.n; ++j) body(p[j], g[j], m[j], v[j], p[j], m[j], v[j]);
  }
  template <class V>
  static V sqrt_(const V& x) {
    if constexpr (std::is_floating_point_v<V>) return std::sqrt(x);
    else return xsimd::sqrt(x);
  }

  AdamWOptions opt_;
  std::vector<Tensor<T>> exp_avg_, exp_avg_sq_;
  std::vector<std::int64_t> param_steps_;
};

// Adam with PyTorch's (coupled, L2) weight decay.
template <class T>
std::unique_ptr<AdamW<T>> make_adam(std::vector<Tensor<T>> params, AdamWOptions opt = {}) {
  opt.decoupled = false;
  return std::make_unique<AdamW<T>>(std::move(params), opt);
}

}  // namespace bilin::optim
