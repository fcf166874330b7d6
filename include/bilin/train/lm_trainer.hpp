// bilin/train/lm_trainer.hpp — the training loop of the Transformer language model and its
// checkpoint/resume protocol (train_tinylm).
//
// Contract:
// - LmTrainConfig holds everything that defines a run: the model, batch, steps, AdamW settings
//   (β = (0.9, beta2), weight decay on every parameter, ε at PyTorch's default), linear warmup then
//   cosine decay to min_lr, gradient clipping at `clip` (global L2 norm), seed, and the
//   evaluation / checkpoint / log cadence. validate() throws bilin::Error naming the bad flag;
//   to_json() is the run config recorded in checkpoints and summaries.
// - lm_train_step(): forward, backward, clip, AdamW step; returns (loss, gradient norm).
//   evaluate_lm(): mean loss on `windows` fixed, non-overlapping windows of the validation
//   tokens spread evenly over them (under NoGradGuard).
// - LmTrainer(cfg, train, val, tokenizer_text, out_dir) builds the model from Generator(seed),
//   AdamW, the schedule and a WindowSampler(train, ctx, seed + 1). Checkpoint:
//   <out>/ckpt.safetensors (train/lm_checkpoint.hpp, atomic), holding model, optimizer state and
//   metadata: step, sampler state, train_seconds, the smoothed train loss, the last val loss
//   (doubles printed to round-trip exactly), the tokenizer text and the run config. begin(resume)
//   restores that state when asked and a checkpoint exists (its model config must equal cfg's),
//   so a resumed run gives the same losses, bit for bit, as an uninterrupted one with the same
//   thread count; a fresh run (resume false) truncates <out>/metrics.jsonl.
//   run(hooks) trains to cfg.steps (or stops at cfg.stop_at as if interrupted): hooks.on_log every
//   log_every steps, an evaluation every eval_every steps (and at the end, over up to 1024
//   windows = the whole validation head) appended to metrics.jsonl and passed to hooks.on_eval,
//   a checkpoint every ckpt_every steps and at the end. A non-finite loss or gradient throws
//   before it is applied, naming the step and the parameter (train/nonfinite.hpp), unless
//   set_nonfinite() allows skipping such steps. SIGINT/SIGTERM (train/stop_signal.hpp, when the
//   program installed the handlers) write the checkpoint between steps and throw StopRequested.
//   metrics.jsonl lines are appended whole (train/metrics_log.hpp); a resume drops the lines
//   logged after its checkpoint (and a torn last line) before appending.
// The smoothed training loss is an exponential moving average with decay 0.95.
// - Mixed precision: LmTrainConfig::precision (fp32 default, or bf16) is the matmul precision of
//   the training steps' GEMMs (ops/precision_scope.hpp: projections, bilinear MLPs, attention,
//   unembedding, forward and backward); lm_train_step itself runs at the caller's scope, LmTrainer
//   sets cfg.precision around it. Master weights, AdamW state, norms, softmax, the loss, the
//   clipping norm and evaluate_lm stay fp32; the checkpoint is the same fp32 file, with the
//   precision in its run config, and may be resumed at either precision. No loss scaling: bf16
//   keeps fp32's 8-bit exponent, so gradients do not underflow the way fp16's 5-bit exponent
//   makes them; only the mantissa is shorter, and the GEMMs accumulate in fp32.
// - Under mpirun (train/distributed.hpp) every rank builds the same trainer: parameters are
//   broadcast from rank 0 (at construction and after a resume), every rank draws the whole
//   batch's windows from the same sampler and trains on its shard of them, gradients are
//   averaged into the whole batch's before clipping, the loss and the evaluation (sharded over
//   the windows) are reduced over the ranks, and only rank 0 writes the checkpoint and metrics.
//   The checkpoint holds only global state, so a run resumes at any rank count.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../autograd/engine.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../data/text.hpp"
#include "../io/json.hpp"
#include "../nn/transformer.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../ops/precision_scope.hpp"
#include "../optim/schedule.hpp"
#include "distributed.hpp"
#include "lm_checkpoint.hpp"
#include "metrics_log.hpp"
#include "nonfinite.hpp"
#include "stop_signal.hpp"

namespace bilin::train {

struct LmTrainConfig {
  nn::TransformerConfig model;
  index_t batch = 16, steps = 1500, warmup = 100, eval_every = 200, eval_windows = 64, ckpt_every = 200,
          log_every = 10, stop_at = -1;  // stop_at < 0: run to `steps`
  double lr = 1e-3, min_lr = 1e-4, wd = 0.1, beta2 = 0.95, clip = 1.0;
  std::uint64_t seed = 0;
  int threads = 2;  // recorded in the run config; the caller sets OpenMP's thread count
  Precision precision = Precision::fp32;  // of the training GEMMs (see the contract)

  void validate() const {
    model.validate();
    BILIN_CHECK(batch > 0 && steps >= 0 && threads > 0, "train_tinylm", "--batch, --threads must be positive and --steps >= 0");
    BILIN_CHECK(warmup >= 0 && eval_every > 0 && ckpt_every > 0 && log_every > 0, "train_tinylm",
                "--warmup must be >= 0; --eval-every, --ckpt-every, --log-every positive");
    BILIN_CHECK(clip > 0 && lr > 0 && min_lr >= 0, "train_tinylm", "--clip and --lr must be positive, --min-lr >= 0");
  }
  json::Value to_json() const {
    json::Value v = model.to_json_value();
    v["batch"] = batch;
    v["threads"] = threads;
    v["precision"] = precision_name(precision);
    return v;
  }
  optim::AdamWOptions adamw() const {  // β1 and ε at PyTorch's defaults
    optim::AdamWOptions ao;
    ao.lr = lr;
    ao.beta2 = beta2;
    ao.weight_decay = wd;
    return ao;
  }
};

// One training step (forward, backward, clip, AdamW); returns (loss, grad norm). With a
// data-parallel group, b is this rank's shard of a batch of global_rows sequences and the loss
// returned is the whole batch's. With a guard (train/nonfinite.hpp) the loss and the averaged
// gradients are checked before clipping (so every rank decides alike): a skipped step returns a
// NaN gradient norm and leaves the weights and the optimizer untouched.
inline std::pair<double, double> lm_train_step(nn::Transformer<float>& model, optim::AdamW<float>& opt,
                                               const std::vector<TensorF>& params, const data::TokenBatch& b, double clip,
                                               NonFiniteGuard* guard = nullptr, index_t step = 0,
                                               const dist::DataParallel* dp = nullptr, index_t global_rows = 0) {
  opt.zero_grad();
  TensorF loss = model.loss(b.inputs, b.targets);
  double l = loss.item();
  loss.backward();
  if (dp && dp->parallel()) {
    const index_t rows = b.inputs.size(0);
    dp->average_gradients(params, rows, global_rows);
    l = dp->sum(l * static_cast<double>(rows) / static_cast<double>(global_rows));
  }
  if (guard && !guard->check(step, l, model.named_parameters())) return {l, NAN};
  const double gn = optim::clip_grad_norm(params, clip);
  opt.step();
  return {l, gn};
}

// With a data-parallel group each rank evaluates its part of the windows and the sums are reduced.
inline double evaluate_lm(nn::Transformer<float>& model, const std::vector<data::token_t>& val, index_t ctx,
                          index_t batch, index_t windows, const dist::DataParallel* dp = nullptr) {
  NoGradGuard ng;
  // all non-overlapping windows, then `windows` of them spread evenly over the text: the
  // validation head is not homogeneous (some stretches are much harder), so its first windows
  // alone would be a biased sample
  const auto all = data::eval_window_starts(val.size(), ctx, val.size());
  BILIN_CHECK(!all.empty(), "train_tinylm", "the validation text (", val.size(), " tokens) is shorter than one window");
  std::vector<std::uint64_t> starts;
  const std::size_t n_pick = std::min(all.size(), static_cast<std::size_t>(windows));
  for (std::size_t i = 0; i < n_pick; ++i) starts.push_back(all[i * all.size() / n_pick]);
  if (dp && dp->parallel()) {
    const auto [lo, hi] = part_range(static_cast<index_t>(starts.size()), dp->rank(), dp->size());
    starts = std::vector<std::uint64_t>(starts.begin() + lo, starts.begin() + hi);
  }
  double total = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < starts.size(); i += static_cast<std::size_t>(batch)) {
    const std::size_t m = std::min(starts.size() - i, static_cast<std::size_t>(batch));
    auto b = data::batch_at(val, ctx, std::span<const std::uint64_t>(starts.data() + i, m));
    total += model.loss(b.inputs, b.targets).item() * static_cast<double>(m);
    n += m;
  }
  if (dp && dp->parallel()) {
    double v[2] = {total, static_cast<double>(n)};
    dp->comm().allreduce_sum(v, 2);
    return v[0] / v[1];
  }
  return total / static_cast<double>(n);
}

// The final evaluation covers the whole validation head: up to this many windows.
inline constexpr index_t kLmFullEvalWindows = 1024;

struct LmProgress {
  index_t step, steps;
  double loss, avg_loss, lr, grad_norm, tokens_per_s, eta_seconds;
};
struct LmEval {
  index_t step;
  double val_loss, train_loss;
};
struct LmRunHooks {
  std::function<void(const LmProgress&)> on_log;
  std::function<void(const LmEval&)> on_eval;
};
struct LmRunResult {
  double val_loss, train_loss, tokens_per_s;
};

class LmTrainer {
 public:
  LmTrainer(const LmTrainConfig& cfg, const std::vector<data::token_t>& train, const std::vector<data::token_t>& val,
            std::string tokenizer_text, const std::string& out_dir)
      : cfg_(cfg),
        val_(val),
        tokenizer_text_(std::move(tokenizer_text)),
        gen_(cfg.seed),
        model_(cfg.model, gen_),
        params_(model_.parameters()),
        opt_(params_, cfg.adamw()),
        sched_(optim::LrSchedule::cosine(cfg.lr, cfg.steps, cfg.warmup, cfg.min_lr)),
        sampler_(train, cfg.model.n_ctx, cfg.seed + 1),
        train_(train),
        ckpt_(out_dir + "/ckpt.safetensors"),
        metrics_path_(out_dir + "/metrics.jsonl") {
    dp_.shard(cfg.batch);  // checks the batch can be split over the ranks
    dp_.broadcast_parameters(params_);
  }

  // Resume from the checkpoint when asked and one exists (returns true); a fresh run (resume
  // false) starts a fresh metrics log.
  bool begin(bool resume) {
    if (resume && std::filesystem::exists(ckpt_)) {
      restore();
      if (dp_.root()) trim_jsonl(metrics_path_, "step", step_);
      return true;
    }
    if (!resume && dp_.root()) io::write_file_atomic(metrics_path_, "");
    return false;
  }

  LmRunResult run(const LmRunHooks& hooks = {}) {
    const double tokens_per_step = static_cast<double>(cfg_.batch * cfg_.model.n_ctx);
    double window_t0 = seconds_now(), run_t0 = window_t0, run_train_s = 0;
    index_t window_steps = 0, run_steps = 0;
    const index_t stop = cfg_.stop_at >= 0 ? std::min(cfg_.stop_at, cfg_.steps) : cfg_.steps;
    while (step_ < stop) {
      if (dp_.any(stop_requested())) {
        save();
        stop_now(msg("step ", step_), ckpt_);
      }
      opt_.set_lr(sched_.at(step_));
      const double t0 = seconds_now();
      auto b = next_batch();
      const std::int64_t skipped_before = guard_.skipped();
      const auto [loss, gnorm] = [&] {
        const PrecisionScope scope(cfg_.precision);
        return lm_train_step(model_, opt_, params_, b, cfg_.clip, &guard_, step_, &dp_, cfg_.batch);
      }();
      const double dt = seconds_now() - t0;
      train_seconds_ += dt;
      run_train_s += dt;
      ++step_;
      ++window_steps;
      ++run_steps;
      if (guard_.skipped() == skipped_before) ema_ = std::isnan(ema_) ? loss : 0.95 * ema_ + 0.05 * loss;
      train_loss_ = ema_;
      if (step_ % cfg_.log_every == 0 || step_ == cfg_.steps) {
        const double now = seconds_now();
        const double per_step = (now - run_t0) / static_cast<double>(run_steps);
        if (hooks.on_log)
          hooks.on_log({step_, cfg_.steps, loss, ema_, opt_.lr(), gnorm,
                        tokens_per_step * static_cast<double>(window_steps) / (now - window_t0),
                        per_step * static_cast<double>(cfg_.steps - step_)});
        window_t0 = now;
        window_steps = 0;
      }
      const bool last = step_ == stop;
      if (step_ % cfg_.eval_every == 0 || last) {
        val_loss_ = evaluate_lm(model_, val_, cfg_.model.n_ctx, cfg_.batch,
                                last ? std::max<index_t>(cfg_.eval_windows, kLmFullEvalWindows) : cfg_.eval_windows, &dp_);
        if (hooks.on_eval) hooks.on_eval({step_, val_loss_, train_loss_});
        log_metrics();
      }
      if (step_ % cfg_.ckpt_every == 0 || last) save();
    }
    if (std::isnan(val_loss_)) val_loss_ = evaluate_lm(model_, val_, cfg_.model.n_ctx, cfg_.batch, cfg_.eval_windows, &dp_);
    if (dp_.root() && !std::filesystem::exists(ckpt_)) save();
    return {val_loss_, train_loss_,
            run_train_s > 0 ? tokens_per_step * static_cast<double>(run_steps) / run_train_s : 0.0};
  }

  // Writes the checkpoint with the run's state (see the contract).
  void save() const {
    if (!dp_.root()) return;  // one writer: every rank holds the same state
    std::map<std::string, std::string> meta{
        {"step", std::to_string(step_)},
        {"sampler_seed", std::to_string(sampler_.state().first)},
        {"sampler_counter", std::to_string(sampler_.state().second)},
        {"train_seconds", std::to_string(train_seconds_)},
        {"train_loss", exact(train_loss_)},
        {"val_loss", exact(val_loss_)},
        {"tokenizer", tokenizer_text_},
        {"run_config", cfg_.to_json().dump()},
    };
    save_lm_checkpoint(ckpt_, model_, &opt_, meta);
  }

  index_t step() const { return step_; }
  double train_seconds() const { return train_seconds_; }  // training steps only, summed over resumed runs
  const std::string& checkpoint_path() const { return ckpt_; }
  nn::Transformer<float>& model() { return model_; }
  const LmTrainConfig& config() const { return cfg_; }
  void set_nonfinite(const NonFiniteOptions& o) { guard_ = NonFiniteGuard(o, "train_tinylm"); }
  const NonFiniteGuard& nonfinite() const { return guard_; }

 private:
  static double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  static std::string exact(double v) {  // round-trips exactly (resume restores the smoothed loss)
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

  void restore() {
    const auto saved = read_lm_config(ckpt_);
    BILIN_CHECK(saved.to_json() == cfg_.model.to_json(), "train_tinylm", "cannot resume: the checkpoint's model ",
                saved.to_json(), " differs from the requested ", cfg_.model.to_json());
    auto meta = load_lm_checkpoint(ckpt_, model_, &opt_);
    auto get = [&](const char* k) {
      auto it = meta.find(k);
      BILIN_CHECK(it != meta.end(), "train_tinylm", ckpt_, ": metadata lacks '", k, "' (not a train_tinylm checkpoint?)");
      return it->second;
    };
    step_ = std::stoll(get("step"));
    sampler_.set_state({std::stoull(get("sampler_seed")), std::stoull(get("sampler_counter"))});
    train_seconds_ = std::stod(get("train_seconds"));
    ema_ = train_loss_ = std::stod(get("train_loss"));
    dp_.broadcast_parameters(params_);
  }

  // The step's batch: with a data-parallel group, this rank's shard of the whole batch's windows.
  data::TokenBatch next_batch() {
    if (!dp_.parallel()) return sampler_.next(cfg_.batch);
    const auto starts = sampler_.next_starts(cfg_.batch);
    const auto [lo, hi] = dp_.shard(cfg_.batch);
    return data::batch_at(train_, cfg_.model.n_ctx,
                          std::span<const std::uint64_t>(starts.data() + lo, static_cast<std::size_t>(hi - lo)));
  }

  void log_metrics() const {
    if (!dp_.root()) return;
    json::Value m = json::Value::object();
    m["step"] = step_;
    m["train_loss"] = train_loss_;
    m["val_loss"] = val_loss_;
    m["seconds"] = train_seconds_;
    append_jsonl(metrics_path_, m.dump());
  }

  LmTrainConfig cfg_;
  const std::vector<data::token_t>& val_;
  std::string tokenizer_text_;
  Generator gen_;
  nn::Transformer<float> model_;
  std::vector<TensorF> params_;
  optim::AdamW<float> opt_;
  optim::LrSchedule sched_;
  data::WindowSampler sampler_;
  std::span<const data::token_t> train_;
  std::string ckpt_, metrics_path_;
  dist::DataParallel dp_;
  index_t step_ = 0;
  double train_seconds_ = 0;
  double train_loss_ = NAN, val_loss_ = NAN, ema_ = NAN;
  NonFiniteGuard guard_{NonFiniteOptions{}, "train_tinylm"};
};

}  // namespace bilin::train
