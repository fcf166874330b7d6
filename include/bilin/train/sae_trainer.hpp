// bilin/train/sae_trainer.hpp — training TopK SAEs on a language model's activations, with
// checkpoints that resume a run exactly.
//
// Contract:
// - SaeTrainOptions: the official recipe by default (expansion 4, k 30, batch 4096, Adam with
//   lr 1e-4 and cosine decay to 2e-5 over `steps`, decoder columns kept unit-norm by
//   ConstrainedAdam), the activation buffer (`buffer` rows per hook point, each fill read
//   `reuse` times in fresh shuffled orders before it is refilled) and the dead-latent window
//   (`dead_tokens`: a latent is dead when it was not among any row's top k over that many
//   most recent training activations), and the optional AuxK loss on dead latents (aux_k > 0).
// - SaeTrainer: one SAE, its optimizer and its firing record. step(x, s) runs one training
//   step at learning rate schedule(s) and returns the batch's MSE loss; dead_fraction(s).
//   save(path, meta) / load(path) write and read a checkpoint (io/checkpoint.hpp: the SAE,
//   the optimizer state, step and firing record in the metadata), atomically.
// - train_saes(model, train_tokens, targets, options, hooks) trains one SAE per target from one
//   shared ActivationBuffer (one forward pass harvests every target), fill by fill: each fill
//   gives every SAE steps_per_fill() consecutive steps. After every fill it calls hooks.on_fill
//   (checkpoints, evaluation); a checkpointed run resumed with hooks.resume_from (the state
//   written at the end of a fill) continues with the same batches and reaches bit-identical
//   weights with the same thread count. hooks.stop_at ends the run at the first fill end at or
//   after that step, as if interrupted. hooks.on_checkpoint saves within a fill (every
//   hooks.ckpt_every steps, and on SIGINT/SIGTERM before StopRequested is thrown): a run
//   resumed from such a point redoes the fill's harvest and is bit-identical too.
// - SaeTrainer::step checks the loss and gradients before the optimizer step
//   (train/nonfinite.hpp, set_nonfinite()): NaN/Inf throws naming the step and parameter, or
//   the step is skipped when allowed.
// - Mixed precision: SaeTrainOptions::precision (fp32 default, or bf16) is the matmul precision
//   of step()'s dense encoder GEMM (ops/precision_scope.hpp; the sparse decoder and gradients
//   have no GEMM); weights, Adam state and the loss stay fp32, the checkpoint records the
//   precision in its metadata and may be resumed at either one. No loss scaling: bf16 keeps
//   fp32's 8-bit exponent, so nothing underflows the way fp16's 5-bit exponent would.
// - Under mpirun (train/distributed.hpp) every rank harvests the same buffer (replicated: the
//   LM forward passes are not split) and takes its shard of each batch's rows; SaeTrainer
//   broadcasts rank 0's parameters (at construction and after load()), averages gradients into
//   the whole batch's, returns the whole batch's loss and merges the firing record over the
//   ranks, so every rank holds the same state and a checkpoint resumes at any rank count.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../io/atomic_file.hpp"
#include "checkpoint.hpp"
#include "../nn/sae.hpp"
#include "../ops/precision_scope.hpp"
#include "../optim/constrained_adam.hpp"
#include "../optim/schedule.hpp"
#include "activation_buffer.hpp"
#include "nonfinite.hpp"
#include "stop_signal.hpp"
#include "distributed.hpp"

namespace bilin::train {

struct SaeTrainOptions {
  index_t expansion = 4, k = 30;
  bool relu = false;
  index_t steps = 4096, batch = 4096;
  double lr = 1e-4, min_lr = 2e-5;
  index_t buffer = 1 << 18, reuse = 16, windows_per_forward = 16;
  std::int64_t dead_tokens = 1 << 20;
  std::uint64_t seed = 0;
  // AuxK (Gao et al. 2024, off by default as in the official code): when latents are dead, the
  // aux_k largest pre-activations among them reconstruct the main reconstruction's error
  // e = x − x̂ (decoder without bias) and aux_coef · MSE(ê, e) joins the loss.
  index_t aux_k = 0;
  double aux_coef = 1.0 / 32;
  Precision precision = Precision::fp32;  // of the training GEMMs (see the contract)

  void validate() const {
    BILIN_CHECK(expansion > 0 && k > 0, "train_sae", "--expansion and --k must be positive, got ", expansion, ", ", k);
    BILIN_CHECK(steps > 0 && batch > 0 && buffer > 0 && reuse > 0 && windows_per_forward > 0, "train_sae",
                "--steps, --batch, --buffer, --reuse and --windows must be positive");
    BILIN_CHECK(lr > 0 && min_lr >= 0 && dead_tokens > 0, "train_sae", "--lr and --dead-tokens must be positive, --min-lr >= 0");
    BILIN_CHECK(aux_k >= 0 && aux_coef >= 0, "train_sae", "--aux-k and --aux-coef must be >= 0, got ", aux_k, ", ", aux_coef);
  }
};

class SaeTrainer {
 public:
  SaeTrainer(const nn::SaeConfig& cfg, const SaeTrainOptions& o, std::uint64_t seed)
      : gen_(seed), sae_(std::make_shared<nn::TopKSAE<float>>(cfg, gen_)),
        opt_(sae_->parameters(), {sae_->w_dec->weight}, optim::adam_options(o.lr)),
        sched_(optim::LrSchedule::cosine(o.lr, o.steps, 0, o.min_lr)),
        dead_steps_(std::max<std::int64_t>(1, (o.dead_tokens + o.batch - 1) / o.batch)), aux_k_(o.aux_k),
        aux_coef_(o.aux_coef),
        precision_(o.precision),
        last_fired_(static_cast<std::size_t>(cfg.n_latents), -1) {
    dp_.broadcast_parameters(sae_->parameters());
  }

  nn::TopKSAE<float>& sae() { return *sae_; }
  std::shared_ptr<nn::TopKSAE<float>> sae_ptr() { return sae_; }
  std::int64_t steps_done() const { return steps_done_; }

  // x: this rank's rows of a batch of global_rows (0: x is the whole batch).
  double step(const TensorF& x, index_t global_rows = 0) {
    opt_.set_lr(sched_.at(steps_done_));
    opt_.zero_grad();
    const PrecisionScope scope(precision_);
    const SparseCode<float> code = sae_->encode(x);
    const TensorF xh = sae_->decode(code);
    TensorF loss = mse(xh, x);
    double l = loss.item();
    if (aux_k_ > 0)
      if (TensorF aux = aux_loss(x, xh); aux.defined()) loss = loss + aux * static_cast<float>(aux_coef_);
    double total = loss.item();
    loss.backward();
    const bool parallel = dp_.parallel() && global_rows > 0;
    if (parallel) {  // every rank then checks the same averaged gradients and loss below
      const index_t rows = x.size(0);
      dp_.average_gradients(sae_->parameters(), rows, global_rows);
      const double w = static_cast<double>(rows) / static_cast<double>(global_rows);
      l = dp_.sum(l * w);
      total = dp_.sum(total * w);
    }
    if (!guard_.check(steps_done_, total, sae_->named_parameters())) {
      ++steps_done_;  // skipped: the batch is consumed, nothing is applied
      return l;
    }
    opt_.step();
    std::vector<std::int64_t> fired(parallel ? last_fired_.size() : 0);
    for (index_t e = 0; e < code.indices.numel(); ++e)
      if (code.values.data()[e] != 0.0f) {
        const auto j = static_cast<std::size_t>(code.indices.data()[e]);
        if (parallel) fired[j] = 1;
        else last_fired_[j] = steps_done_;
      }
    if (parallel) {
      dp_.comm().allreduce_sum(fired.data(), fired.size());
      for (std::size_t j = 0; j < fired.size(); ++j)
        if (fired[j]) last_fired_[j] = steps_done_;
    }
    ++steps_done_;
    return l;
  }
  double lr() const { return opt_.lr(); }
  Precision precision() const { return precision_; }
  void set_nonfinite(const NonFiniteOptions& o) { guard_ = NonFiniteGuard(o, "train_sae"); }
  const NonFiniteGuard& nonfinite() const { return guard_; }
  // Which latents count as dead now (see dead_fraction).
  std::vector<bool> dead_mask() const {
    std::vector<bool> m(last_fired_.size());
    for (std::size_t j = 0; j < m.size(); ++j) m[j] = last_fired_[j] < 0 || steps_done_ - 1 - last_fired_[j] >= dead_steps_;
    return m;
  }
  // Latents that fired in none of the last dead_tokens activations (or not yet, early on).
  double dead_fraction() const {
    std::int64_t dead = 0;
    for (bool d : dead_mask()) dead += d;
    return static_cast<double>(dead) / static_cast<double>(last_fired_.size());
  }

  void save(const std::string& path, std::map<std::string, std::string> meta) const {
    meta["sae_step"] = std::to_string(steps_done_);
    meta["precision"] = precision_name(precision_);  // a record only: load() keeps this trainer's
    std::string lf;
    for (std::size_t j = 0; j < last_fired_.size(); ++j) {
      if (j) lf += ',';  // appended separately: `"," + to_string(...)` trips GCC 12's -Wrestrict
      lf += std::to_string(last_fired_[j]);
    }
    meta["last_fired"] = lf;
    io::save_checkpoint(path, *sae_, &opt_, meta);
  }
  std::map<std::string, std::string> load(const std::string& path) {
    auto meta = io::load_checkpoint(path, *sae_, &opt_);
    auto need = [&](const char* k) -> const std::string& {
      auto it = meta.find(k);
      BILIN_CHECK(it != meta.end(), "train_sae", path, ": metadata lacks '", k, "' (not a train_sae checkpoint)");
      return it->second;
    };
    steps_done_ = std::stoll(need("sae_step"));
    const std::string& lf = need("last_fired");
    std::size_t j = 0, p = 0;
    while (p <= lf.size() && j < last_fired_.size()) {
      const std::size_t q = std::min(lf.find(',', p), lf.size());
      last_fired_[j++] = std::stoll(lf.substr(p, q - p));
      p = q + 1;
    }
    BILIN_CHECK(j == last_fired_.size(), "train_sae", path, ": 'last_fired' lists ", j, " latents, the SAE has ",
                last_fired_.size());
    dp_.broadcast_parameters(sae_->parameters());
    return meta;
  }

 private:
  // AuxK term (undefined when no latent is dead yet): the support is chosen without gradient
  // among the dead latents, then encode_at / sparse_decode make it differentiable.
  TensorF aux_loss(const TensorF& x, const TensorF& xh) {
    const std::vector<bool> dead = dead_mask();
    index_t n_dead = 0;
    for (bool d : dead) n_dead += d;
    if (steps_done_ < dead_steps_ || n_dead == 0) return TensorF();
    const index_t ka = std::min(aux_k_, n_dead), n = sae_->n_latents();
    IndexTensor idx;
    TensorF err;
    {
      NoGradGuard ng;
      TensorF pre = linear(x - sae_->b_dec, sae_->encoder()).contiguous();
      for (index_t r = 0; r < pre.size(0); ++r)
        for (index_t j = 0; j < n; ++j)
          if (!dead[static_cast<std::size_t>(j)]) pre.data()[r * n + j] = -std::numeric_limits<float>::infinity();
      idx = topk_select(pre, ka);
      err = (x - xh).detach();
    }
    const TensorF v = encode_at(x, sae_->w_enc->weight, sae_->b_dec, idx, sae_->config().relu);
    return mse(sparse_decode(v, idx, sae_->w_dec->weight), err);
  }

  Generator gen_;
  std::shared_ptr<nn::TopKSAE<float>> sae_;
  optim::ConstrainedAdam<float> opt_;
  optim::LrSchedule sched_;
  std::int64_t dead_steps_;
  index_t aux_k_;
  double aux_coef_;
  Precision precision_;
  std::vector<std::int64_t> last_fired_;
  std::int64_t steps_done_ = 0;
  NonFiniteGuard guard_{NonFiniteOptions{}, "train_sae"};
  dist::DataParallel dp_;
};

// Several SAEs trained together have one checkpoint file each, written in turn, so a kill
// between two files would leave them at different steps. save_sae_checkpoints() therefore first
// keeps each existing file as PATH.prev (a hard link, put in place by an atomic rename) when
// there is more than one; load_sae_checkpoints() loads every file and, for those ahead of the
// others, the .prev one, which it renames back over the file ahead (so the next save keeps a
// .prev of the same step as the others): all SAEs resume from one step (the metadata of each is
// returned, in order). Both throw bilin::Error("train_sae", ...) naming the file on failure.
inline void save_sae_checkpoints(const std::vector<SaeTrainer*>& trainers, const std::vector<std::string>& paths,
                                 const std::map<std::string, std::string>& meta) {
  for (std::size_t i = 0; i < trainers.size(); ++i) {
    if (trainers.size() > 1 && ::access(paths[i].c_str(), F_OK) == 0) {
      const std::string tmp = paths[i] + ".prev.tmp", prev = paths[i] + ".prev";
      ::unlink(tmp.c_str());
      if (::link(paths[i].c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), prev.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("train_sae", msg("cannot keep the previous checkpoint '", paths[i], "' as '", prev, "': ",
                                     io::detail::errno_text(err)));
      }
    }
    trainers[i]->save(paths[i], meta);
  }
}
// put_back (optional, called once after every file is read, on every process that loads) says
// whether this process renames the .prev files back: under mpirun every rank reads the files and
// rank 0 alone renames, after a barrier, so no rank finds a .prev already gone.
inline std::vector<std::map<std::string, std::string>> load_sae_checkpoints(
    const std::vector<SaeTrainer*>& trainers, const std::vector<std::string>& paths,
    const std::function<bool()>& put_back = nullptr) {
  std::vector<std::map<std::string, std::string>> metas;
  std::int64_t low = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 0; i < trainers.size(); ++i) {
    metas.push_back(trainers[i]->load(paths[i]));
    low = std::min(low, trainers[i]->steps_done());
  }
  std::vector<std::size_t> behind;
  for (std::size_t i = 0; i < trainers.size(); ++i) {
    if (trainers[i]->steps_done() == low) continue;
    const std::string prev = paths[i] + ".prev";
    BILIN_CHECK(::access(prev.c_str(), F_OK) == 0, "train_sae", paths[i], " is at step ", trainers[i]->steps_done(),
                ", another SAE's checkpoint at step ", low, ", and there is no ", prev, " to go back to");
    metas[i] = trainers[i]->load(prev);
    BILIN_CHECK(trainers[i]->steps_done() == low, "train_sae", prev, " is at step ", trainers[i]->steps_done(),
                ", not at the other SAEs' step ", low);
    behind.push_back(i);
  }
  if (put_back && !put_back()) return metas;
  // The files ahead go: the next save must keep these as .prev, not the orphans.
  for (const std::size_t i : behind) {
    const std::string prev = paths[i] + ".prev";
    if (::rename(prev.c_str(), paths[i].c_str()) != 0) {
      const int err = errno;
      throw Error("train_sae", msg("cannot put '", prev, "' back as '", paths[i], "': ", io::detail::errno_text(err)));
    }
  }
  return metas;
}

struct SaeProgress {
  std::size_t target;
  std::int64_t step;
  double loss, lr, seconds;
};

struct SaeRunHooks {
  // Called after every fill with the number of steps every SAE has done; the buffer's sampler
  // state there is what a checkpoint must keep (ActivationBuffer::sampler_state()).
  std::function<void(std::int64_t step, const ActivationBuffer&)> on_fill;
  std::function<void(const SaeProgress&)> on_step;  // after every step of every SAE
  // Checkpoints within a fill: every ckpt_every steps (0: none) and when a stop signal arrived
  // (train/stop_signal.hpp), on_checkpoint(step, fills, sampler) must save every trainer with
  // these as the resume point ("fills" and the sampler state before the current fill: resuming
  // redoes that fill's harvest, which is deterministic, and continues at `step`). At a fill end
  // they equal on_fill's buf.fills() / buf.sampler_state(), so both kinds of checkpoint resume
  // the same way. `checkpoint` names the files for the stop message.
  std::int64_t ckpt_every = 0;
  std::function<void(std::int64_t step, std::int64_t fills, std::pair<std::uint64_t, std::uint64_t> sampler)>
      on_checkpoint;
  std::string checkpoint = "the checkpoint";
  std::int64_t stop_at = -1;
  // Resume: the fill count and the sampler state saved at the end of a fill (steps must then
  // equal every trainer's steps_done()).
  bool resume = false;
  std::int64_t resume_fills = 0;
  std::pair<std::uint64_t, std::uint64_t> resume_sampler{0, 0};
};

inline index_t steps_per_fill(const ActivationBuffer& buf, const SaeTrainOptions& o) {
  return std::max<index_t>(1, (buf.rows() * o.reuse) / o.batch);
}

struct SaeRunTiming {
  double harvest_seconds = 0;
  std::vector<double> train_seconds;  // per target
};

inline SaeRunTiming train_saes(ActivationBuffer& buf, std::vector<SaeTrainer*> trainers, const SaeTrainOptions& o,
                               const SaeRunHooks& hooks) {
  BILIN_CHECK(trainers.size() == buf.targets().size(), "train_saes", trainers.size(), " trainers for ",
              buf.targets().size(), " hook targets");
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
  SaeRunTiming timing;
  timing.train_seconds.assign(trainers.size(), 0.0);
  const index_t spf = steps_per_fill(buf, o);
  std::int64_t step = trainers.empty() ? 0 : trainers[0]->steps_done();
  for (auto* t : trainers)
    BILIN_CHECK(t->steps_done() == step, "train_saes", "the SAEs have done different numbers of steps (", step, ", ",
                t->steps_done(), ")");
  if (hooks.resume) {
    buf.set_sampler_state(hooks.resume_sampler);
    buf.set_fill_count(hooks.resume_fills);
  }
  const std::int64_t stop = hooks.stop_at >= 0 ? std::min<std::int64_t>(hooks.stop_at, o.steps) : o.steps;
  const dist::DataParallel dp;
  const auto [lo, hi] = dp.shard(o.batch);  // this rank's rows of every batch
  const auto checkpoint_and_stop = [&](std::int64_t at, std::int64_t fills, std::pair<std::uint64_t, std::uint64_t> st) {
    if (hooks.on_checkpoint) hooks.on_checkpoint(at, fills, st);
    stop_now(msg("step ", at), hooks.checkpoint);
  };
  while (step < stop) {
    // Fills start at multiples of spf; a run resumed within a fill redoes its harvest.
    const std::int64_t fill_start = step - step % spf;
    const std::int64_t fills_before = buf.fills();
    const auto fill_sampler = buf.sampler_state();
    const clock::time_point h0 = clock::now();
    buf.refill();
    timing.harvest_seconds += secs(h0);
    const std::int64_t fill_end = std::min<std::int64_t>(o.steps, fill_start + spf);
    // Step s of every SAE, then s + 1: each SAE sees exactly the batches it saw in the older
    // SAE-after-SAE order (a batch is a pure function of fill and offset), and every SAE has
    // done the same steps whenever a checkpoint is taken.
    for (std::int64_t s = step; s < fill_end; ++s) {
      for (std::size_t i = 0; i < trainers.size(); ++i) {
        const clock::time_point t0 = clock::now();
        const TensorF x = buf.batch(i, (s - fill_start) * o.batch + lo, hi - lo);
        const double loss = trainers[i]->step(x, dp.parallel() ? o.batch : 0);
        timing.train_seconds[i] += secs(t0);
        if (hooks.on_step) hooks.on_step({i, s + 1, loss, trainers[i]->lr(), timing.train_seconds[i]});
      }
      if (s + 1 < fill_end) {  // fill ends are on_fill's
        if (dp.any(stop_requested())) checkpoint_and_stop(s + 1, fills_before, fill_sampler);
        if (hooks.ckpt_every > 0 && (s + 1) % hooks.ckpt_every == 0 && hooks.on_checkpoint)
          hooks.on_checkpoint(s + 1, fills_before, fill_sampler);
      }
    }
    step = fill_end;
    if (hooks.on_fill) hooks.on_fill(step, buf);
    if (dp.any(stop_requested()) && step < stop) checkpoint_and_stop(step, buf.fills(), buf.sampler_state());
  }
  return timing;
}

}  // namespace bilin::train
