// bilin/train/nonfinite.hpp — stop (or skip) a training step whose loss or gradient is NaN/Inf.
//
// Contract:
// - NonFiniteGuard(options, program).check(step, loss, named_params) is called after backward()
//   and before the optimizer step. It returns true when the step may be applied. When the loss
//   or any gradient element is NaN or ±Inf it either
//   * throws bilin::Error(program, ...) naming the step and "loss" or the first parameter (in
//     named-parameter order) whose gradient is non-finite, with the element index and value —
//     the caller has not stepped the optimizer, so no bad value reaches the weights, and since
//     the trainers only write checkpoints between good steps, the last one stays intact; or
//   * with options.skip_max = N > 0, returns false (skip this step: do not apply it) as long as
//     at most N steps in a row were non-finite; the (N+1)-th in a row throws as above.
//   skipped() counts all skipped steps, last_reason() says what the last skipped one was.
// - options.inject_step = k >= 0 is a test hook: at step k, before checking, the first element
//   of the first parameter's gradient (or of options.inject_param's, by name) is set to NaN, so
//   tests and the programs' --inject-nan flag exercise the real path. An unknown name throws.
// - Parameters without a gradient (unused this step) are ignored.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace bilin::train {

struct NonFiniteOptions {
  std::int64_t skip_max = 0;     // 0: stop at the first non-finite step
  std::int64_t inject_step = -1; // test hook (see the contract)
  std::string inject_param;      // "" = the first parameter
};

class NonFiniteGuard {
 public:
  explicit NonFiniteGuard(NonFiniteOptions o = {}, std::string program = "train")
      : o_(std::move(o)), program_(std::move(program)) {
    BILIN_CHECK(o_.skip_max >= 0, program_, "--skip-nonfinite must be >= 0, got ", o_.skip_max);
  }

  template <class T>
  bool check(std::int64_t step, double loss, const NamedTensors<T>& params) {
    if (step == o_.inject_step) inject(params);
    std::string what;
    if (!std::isfinite(loss)) {
      what = msg("the loss is ", loss);
    } else {
      for (const auto& [name, p] : params) {
        const Tensor<T> g = p.grad();
        if (!g.defined()) continue;
        const Tensor<T> c = g.is_contiguous() ? g : g.contiguous();
        const T* d = c.data();
        for (index_t i = 0; i < c.numel(); ++i)
          if (!std::isfinite(static_cast<double>(d[i]))) {
            what = msg("the gradient of parameter '", name, "' is ", static_cast<double>(d[i]), " (element ", i, " of ",
                       to_string(p.shape()), ")");
            break;
          }
        if (!what.empty()) break;
      }
    }
    if (what.empty()) {
      run_ = 0;
      return true;
    }
    if (++run_ <= o_.skip_max) {
      ++skipped_;
      last_reason_ = msg("step ", step, ": ", what);
      return false;
    }
    throw Error(program_, msg("non-finite training step ", step, ": ", what,
                              o_.skip_max > 0 ? msg(" (", run_, " non-finite steps in a row, --skip-nonfinite allows ",
                                                    o_.skip_max, ")")
                                              : std::string(),
                              "; training stopped before applying it, the last checkpoint is kept"));
  }

  std::int64_t skipped() const { return skipped_; }
  const std::string& last_reason() const { return last_reason_; }
  const NonFiniteOptions& options() const { return o_; }

 private:
  template <class T>
  void inject(const NamedTensors<T>& params) {
    for (const auto& [name, p] : params) {
      if (!o_.inject_param.empty() && name != o_.inject_param) continue;
      Tensor<T> g = p.grad();
      BILIN_CHECK(g.defined() && g.numel() > 0, program_, "--inject-nan: parameter '", name, "' has no gradient");
      g.data()[0] = std::numeric_limits<T>::quiet_NaN();
      return;
    }
    throw Error(program_, msg("--inject-nan: no parameter named '", o_.inject_param, "'"));
  }

  NonFiniteOptions o_;
  std::string program_;
  std::int64_t run_ = 0, skipped_ = 0;
  std::string last_reason_;
};

}  // namespace bilin::train
