// bilin/optim/optimizer.hpp — what every optimizer shares: parameters, learning rate, step count.
//
// Contract:
// - Optimizer(params, lr) keeps handles to the parameters (the same tensors the model holds), in
//   the given order; per-parameter state is indexed by that position ("exp_avg.3").
// - step() updates every parameter that has a gradient, in place, under NoGradGuard, and then
//   counts one step; parameters without a gradient are skipped (their state is untouched), as in
//   PyTorch. zero_grad() drops the gradients (set_grad(undefined)), so the next backward()
//   allocates fresh ones instead of accumulating into stale ones.
// - lr()/set_lr(): the learning rate used by the next step() (schedules call set_lr).
// - state_dict(): the tensors needed to continue a run bit-identically, named
//   "<buffer>.<param index>" plus "step" (a one-element tensor). Learning rate and step count
//   are also exposed exactly as hyper_state() strings ("lr", "step") because a float tensor
//   cannot hold every double or every int64; checkpoints store both (train/checkpoint.hpp).
//   load_state_dict() checks names and shapes against this optimizer's parameters and throws
//   bilin::Error naming the offending entry.
// - Updates are element-wise and split across OpenMP threads by element ranges, so results do
//   not depend on the thread count.
#pragma once
#include <omp.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"

namespace bilin::optim {

template <class T>
class Optimizer {
 public:
  Optimizer(std::vector<Tensor<T>> params, double lr) : params_(std::move(params)), lr_(lr) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      BILIN_CHECK(params_[i].defined(), "optimizer", "parameter ", i, " is an undefined tensor");
      BILIN_CHECK(params_[i].is_contiguous(), "optimizer", "parameter ", i, " of shape ",
                  to_string(params_[i].shape()), " is not contiguous");
    }
    BILIN_CHECK(lr >= 0, "optimizer", "learning rate must be >= 0, got ", lr);
  }
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  // The optimizer's name as used in checkpoints ("adamw", "adam", "sgd").
  virtual std::string kind() const = 0;

  void zero_grad() {
    for (auto& p : params_) p.set_grad(Tensor<T>());
  }
  double lr() const { return lr_; }
  void set_lr(double lr) {
    BILIN_CHECK(lr >= 0, "optimizer", "learning rate must be >= 0, got ", lr);
    lr_ = lr;
  }
  std::int64_t steps() const { return steps_; }
  const std::vector<Tensor<T>>& params() const { return params_; }

  virtual NamedTensors<T> state_dict() const {
    return {{"step", Tensor<T>::scalar(static_cast<T>(steps_))}};
  }
  virtual void load_state_dict(const NamedTensors<T>& sd) {
    for (const auto& [name, t] : sd)
      if (name == "step") {
        BILIN_CHECK(t.numel() == 1, "optimizer", "'step' must hold one value, got shape ", to_string(t.shape()));
        steps_ = step_count(t.item(), name);
      }
  }
  // Exact learning rate and step count as text (shortest round-trip form).
  virtual std::map<std::string, std::string> hyper_state() const {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, lr_);
    return {{"lr", std::string(buf, r.ptr)}, {"step", std::to_string(steps_)}};
  }
  virtual void load_hyper_state(const std::map<std::string, std::string>& h) {
    if (auto it = h.find("lr"); it != h.end()) {
      double v = 0;
      const auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      BILIN_CHECK(r.ec == std::errc() && r.ptr == it->second.data() + it->second.size(), "optimizer",
                  "bad learning rate '", it->second, "'");
      set_lr(v);
    }
    if (auto it = h.find("step"); it != h.end()) {
      std::int64_t v = 0;
      const auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      BILIN_CHECK(r.ec == std::errc() && r.ptr == it->second.data() + it->second.size() && v >= 0, "optimizer",
                  "bad step count '", it->second, "'");
      steps_ = v;
    }
  }

 protected:
  // A step count stored as a tensor value (a loaded checkpoint): a non-negative integer that the
  // element type holds exactly; anything else (NaN, 1e30, -1, 2.5) is a corrupt file, not a count.
  static std::int64_t step_count(T v, const std::string& name) {
    BILIN_CHECK(v >= T(0) && v <= static_cast<T>(std::int64_t{1} << std::numeric_limits<T>::digits) &&
                    v == static_cast<T>(static_cast<std::int64_t>(v)),
                "optimizer", "state '", name, "' must hold a step count (a non-negative integer), got ", v);
    return static_cast<std::int64_t>(v);
  }
  // Per-parameter buffer (zeros, parameter's shape), created on first use like PyTorch's lazy state.
  static Tensor<T>& buffer_for(std::vector<Tensor<T>>& bufs, std::size_t i, const Tensor<T>& like) {
    if (bufs.size() < i + 1) bufs.resize(i + 1);
    if (!bufs[i].defined()) bufs[i] = Tensor<T>::zeros(like.shape());
    return bufs[i];
  }
  // Named per-parameter buffers for state_dict ("exp_avg.0", ...), skipping never-created ones.
  static void export_buffers(NamedTensors<T>& out, const std::string& prefix, const std::vector<Tensor<T>>& bufs) {
    for (std::size_t i = 0; i < bufs.size(); ++i)
      if (bufs[i].defined()) out.emplace_back(prefix + "." + std::to_string(i), bufs[i]);
  }
  // Inverse of export_buffers: copies "<prefix>.<i>" entries into fresh buffers, checking shapes.
  void import_buffers(const NamedTensors<T>& sd, const std::string& prefix, std::vector<Tensor<T>>& bufs) const {
    bufs.assign(params_.size(), Tensor<T>());
    const std::string head = prefix + ".";
    for (const auto& [name, t] : sd) {
      if (name.compare(0, head.size(), head) != 0) continue;
      const std::string idx = name.substr(head.size());
      std::size_t i = 0;
      const auto r = std::from_chars(idx.data(), idx.data() + idx.size(), i);
      BILIN_CHECK(r.ec == std::errc() && r.ptr == idx.data() + idx.size() && i < params_.size(), "optimizer", "'",
                  name, "' does not name one of the ", params_.size(), " parameters");
      BILIN_CHECK(t.shape() == params_[i].shape(), "optimizer", "'", name, "' has shape ", to_string(t.shape()),
                  " but parameter ", i, " has shape ", to_string(params_[i].shape()));
      bufs[i] = Tensor<T>::empty(t.shape());
      const std::vector<T> v = t.to_vector();
      std::copy(v.begin(), v.end(), bufs[i].data());
    }
  }

  std::vector<Tensor<T>> params_;
  double lr_;
  std::int64_t steps_ = 0;
};

namespace detail {
// Element ranges for an update loop: the same partition for any thread count.
inline constexpr index_t kUpdateChunk = 1 << 14;
}  // namespace detail

}  // namespace bilin::optim
