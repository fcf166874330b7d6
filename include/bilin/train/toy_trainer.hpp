// bilin/train/toy_trainer.hpp — the training loop of the paper's toy bilinear models
// (interp/toy.hpp).
//
// Contract: train_toy(model, cfg, on_step) trains in place with MSE on a fresh random batch per
// step (toy_batch / toy_targets from Generator(cfg.seed)): Adam with L2 weight decay
// (optim::AdamW decoupled = false, the official torch.optim.Adam(weight_decay)), cosine
// learning-rate schedule over cfg.steps. Returns the loss of every step; on_step(step, loss) is
// called after each step. A bad config throws bilin::Error (ToyConfig::validate).
#pragma once
#include <functional>
#include <vector>

#include "../interp/toy.hpp"
#include "../ops/softmax.hpp"
#include "../optim/adamw.hpp"
#include "../optim/schedule.hpp"

namespace bilin::train {

using interp::ToyConfig;
using interp::ToyModel;

// Trains in place; returns the loss of every step. on_step(step, loss) is called after each step.
template <class T>
std::vector<double> train_toy(ToyModel<T>& model, const ToyConfig& cfg,
                              const std::function<void(index_t, double)>& on_step = {}) {
  cfg.validate();
  optim::AdamWOptions o;
  o.lr = cfg.lr;
  o.weight_decay = cfg.weight_decay;
  o.decoupled = false;
  optim::AdamW<T> opt(model.parameters(), o);
  const optim::LrSchedule sched = optim::LrSchedule::cosine(cfg.lr, cfg.steps);
  Generator gen(cfg.seed);
  std::vector<double> losses;
  for (index_t s = 0; s < cfg.steps; ++s) {
    opt.set_lr(sched.at(s));
    const Tensor<T> x = interp::toy_batch<T>(cfg, gen);
    const Tensor<T> y = interp::toy_targets(cfg, x);
    Tensor<T> loss = mse(model.forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(static_cast<double>(loss.item()));
    if (on_step) on_step(s, losses.back());
  }
  return losses;
}

}  // namespace bilin::train
