// bilin/optim/schedule.hpp — learning-rate schedules as pure functions of the step (or epoch).
//
// Contract: LrSchedule::at(s) for s = 0, 1, 2, ... is the learning rate to use for step s (or
// epoch s — the unit is whatever the caller counts; the MNIST trainer counts epochs, like the
// official code's CosineAnnealingLR(T_max = epochs) stepped once per epoch).
// - constant(lr, warmup): lr, after an optional linear warmup.
// - cosine(base, total, warmup, min): linear warmup base·(s+1)/warmup for s < warmup, then
//     min + (base − min)·(1 + cos(π·(s − warmup)/(total − warmup)))/2   for warmup ≤ s < total,
//   and min for s ≥ total. With warmup = 0 this is PyTorch's CosineAnnealingLR closed form
//   (eta_min = min, T_max = total): at(0) = base, at(total) = min.
// Being a pure function of s, a schedule needs no state in checkpoints: a resumed run recomputes
// the rate from its position.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "../core/error.hpp"

namespace bilin::optim {

struct LrSchedule {
  enum class Kind { Constant, Cosine };
  Kind kind = Kind::Constant;
  double base_lr = 1e-3, min_lr = 0;
  std::int64_t total_steps = 0, warmup_steps = 0;

  static LrSchedule constant(double lr, std::int64_t warmup_steps = 0) {
    BILIN_CHECK(lr >= 0 && warmup_steps >= 0, "LrSchedule", "lr and warmup must be >= 0, got ", lr, ", ", warmup_steps);
    LrSchedule s;
    s.kind = Kind::Constant;
    s.base_lr = lr;
    s.warmup_steps = warmup_steps;
    return s;
  }
  static LrSchedule cosine(double base_lr, std::int64_t total_steps, std::int64_t warmup_steps = 0, double min_lr = 0) {
    BILIN_CHECK(base_lr >= 0 && min_lr >= 0, "LrSchedule", "learning rates must be >= 0, got ", base_lr, ", ", min_lr);
    BILIN_CHECK(total_steps > 0 && warmup_steps >= 0 && warmup_steps < total_steps, "LrSchedule",
                "cosine needs 0 <= warmup < total, got warmup ", warmup_steps, ", total ", total_steps);
    LrSchedule s;
    s.kind = Kind::Cosine;
    s.base_lr = base_lr;
    s.min_lr = min_lr;
    s.total_steps = total_steps;
    s.warmup_steps = warmup_steps;
    return s;
  }

  double at(std::int64_t step) const {
    BILIN_CHECK(step >= 0, "LrSchedule", "step must be >= 0, got ", step);
    if (step < warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    if (kind == Kind::Constant) return base_lr;
    if (step >= total_steps) return min_lr;
    const double t = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
    return min_lr + (base_lr - min_lr) * (1.0 + std::cos(3.14159265358979323846 * t)) / 2.0;
  }

  std::string describe() const {
    std::string s = kind == Kind::Constant ? "constant" : "cosine";
    s += "(lr=" + std::to_string(base_lr);
    if (kind == Kind::Cosine) s += ", total=" + std::to_string(total_steps) + ", min=" + std::to_string(min_lr);
    if (warmup_steps) s += ", warmup=" + std::to_string(warmup_steps);
    return s + ")";
  }
};

}  // namespace bilin::optim
