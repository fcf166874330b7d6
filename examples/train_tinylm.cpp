// train_tinylm — train the paper's bilinear transformer language model on TinyStories.
//
//   train_tinylm [flags]      (--help lists every flag with its default)
//
// Data: the TinyStories subset in --data (default $BILIN_DATA_DIR/tinystories, else the build's
// ../shared/data/tinystories). The BPE tokenizer and token caches are made once and cached in
// --cache (default --out). Training windows are random (seeded) runs of ctx+1 tokens of the
// training stories; the validation loss is measured on the same fixed, non-overlapping
// windows of the validation text (--eval-windows of them, spread evenly over the text) every
// --eval-every steps, and at the end on all of it (up to 1024 windows; 771 at ctx 256 with
// vocab 4096).
// Optimizer: AdamW (β = (0.9, β2), weight decay on every parameter — this model has no biases
// or norm weights by default), linear warmup then cosine decay to --min-lr, gradient clipping
// at --clip (global L2 norm). These follow the official training setup (lr 1e-3, wd 0.1,
// β2 0.95, warmup).
// Checkpoints: <out>/ckpt.safetensors (atomic rename), holding the model, the optimizer state
// and metadata (config JSON, step, sampler state, the tokenizer itself, losses) — --resume
// continues a run exactly where the checkpoint left it (same losses, bit for bit, as an
// uninterrupted run with the same thread count); SIGINT/SIGTERM write it and exit with 75; a
// NaN/Inf loss or gradient stops the run naming the step and parameter unless
// --skip-nonfinite N skips such steps (README "Crash safety"); --stop-at N ends a run early at
// step N as if it had been interrupted (a checkpoint is written). <out>/metrics.jsonl gets one line per
// evaluation.
// Progress goes to stderr; stdout ends with one JSON line: val_loss, train_loss, tokens_per_s,
// seconds, checkpoint (and the config).
// --precision bf16: mixed-precision training (bf16 GEMM operands, fp32 accumulation; weights,
// optimizer, evaluation and checkpoint stay fp32, so --resume may switch precision;
// train/lm_trainer.hpp). It is recorded in the run config of the checkpoint and the summary.
// --eval-only: print the validation loss of <out>/ckpt.safetensors (all windows, or the first
// --eval-windows when given) and exit.
// --time-steps N: timing mode for bench/compare_torch_lm.py — random tokens, no data, no
// checkpoint; runs 2 warm-up steps and N timed training steps (forward, backward, clipping,
// AdamW) and prints one JSON line with tokens_per_s and the median step time. --dump FILE
// also writes the initial weights, the two warm-up batches and their losses (safetensors).
// Under `mpirun -np N` (README, "Distributed training") the ranks split every batch and the
// evaluation; rank 0 prepares the tokenizer and caches first, and only it prints and writes.
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <bilin/data/text.hpp>
#include <bilin/data/tinystories.hpp>
#include <bilin/io/flags.hpp>
#include <bilin/io/json.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/optim/adamw.hpp>
#include <bilin/train/distributed.hpp>
#include <bilin/train/lm_trainer.hpp>
#include <bilin/train/stop_signal.hpp>

#include "lm_common.hpp"

using namespace bilin;
namespace fs = std::filesystem;

namespace {

struct Options {
  train::LmTrainConfig run;
  std::string data, out, cache, dump;
  index_t time_steps = 0;
  train::NonFiniteOptions nonfinite;
  bool resume = false, eval_only = false, eval_windows_given = false;
};

// Returns false after --help.
bool parse(int argc, char** argv, Options& o) {
  Flags f("train_tinylm", "Train the paper's bilinear transformer language model on TinyStories.");
  f.value("data", lm::default_data_dir(), "folder holding the TinyStories files", "DIR")
      .value("out", "tinylm_out", "output folder: checkpoint, metrics.jsonl", "DIR")
      .value("cache", "", "tokenizer and token caches (default: --out)", "DIR")
      .value("vocab", "4096", "BPE vocabulary size", "N")
      .value("layers", "4", "transformer layers", "N")
      .value("d-model", "256", "residual width", "N")
      .value("heads", "4", "attention heads", "N")
      .value("hidden", "1024", "MLP hidden width", "N")
      .value("ctx", "256", "context length", "N")
      .value("mlp", "bilinear", "MLP kind: bilinear|glu-silu|glu-relu|glu-gelu|relu", "KIND")
      .toggle("norm-affine", "RMSNorm with learned weights")
      .value("batch", "16", "sequences per step", "N")
      .value("steps", "1500", "training steps", "N")
      .value("lr", "1e-3", "peak learning rate", "LR")
      .value("min-lr", "", "final learning rate of the cosine decay (default: --lr / 10)", "LR")
      .value("warmup", "", "linear warmup steps (default: min(100, steps / 10))", "N")
      .value("wd", "0.1", "AdamW weight decay", "X")
      .value("beta2", "0.95", "AdamW beta2", "X")
      .value("clip", "1.0", "gradient clipping at this global L2 norm", "X")
      .value("seed", "0", "random seed", "N")
      .value("threads", "2", "OpenMP threads", "N")
      .value("eval-every", "200", "validation loss every N steps", "N")
      .value("eval-windows", "64", "validation windows per evaluation", "N")
      .value("ckpt-every", "200", "checkpoint every N steps", "N")
      .value("log-every", "10", "progress line every N steps", "N")
      .value("precision", "fp32",
             "training GEMMs: fp32|bf16 (bf16 operands, fp32 accumulation; weights, optimizer state and the "
             "checkpoint stay fp32, so --resume may switch it)",
             "P")
      .toggle("resume", "continue from <out>/ckpt.safetensors")
      .value("skip-nonfinite", "0", "skip a step whose loss or gradient is NaN/Inf, at most N in a row (0: stop)", "N")
      .value("inject-nan", "-1", "test hook: make the first gradient NaN at this step", "STEP")
      .value("stop-at", "-1", "stop at step N as if interrupted (a checkpoint is written)", "N")
      .toggle("eval-only", "print the validation loss of <out>/ckpt.safetensors and exit")
      .value("time-steps", "0", "timing mode: N timed steps on random tokens, no data, no checkpoint", "N")
      .value("dump", "", "timing mode: also write initial weights, warm-up batches and losses", "FILE");
  if (!f.parse(argc, argv)) return false;
  o.data = f.str("data");
  o.out = f.str("out");
  o.cache = f.given("cache") ? f.str("cache") : o.out;
  train::LmTrainConfig& r = o.run;
  r.model.vocab = f.integer("vocab");
  r.model.n_layer = f.integer("layers");
  r.model.d_model = f.integer("d-model");
  r.model.n_head = f.integer("heads");
  r.model.d_hidden = f.integer("hidden");
  r.model.n_ctx = f.integer("ctx");
  r.model.mlp = nn::parse_mlp_kind(f.str("mlp"));
  r.model.norm_affine = f.on("norm-affine");
  r.batch = f.integer("batch");
  r.steps = f.integer("steps");
  r.lr = f.real("lr");
  r.min_lr = f.given("min-lr") ? f.real("min-lr") : r.lr / 10;
  r.warmup = f.given("warmup") ? f.integer("warmup") : std::min<index_t>(100, r.steps / 10);  // 10% of a short run
  r.wd = f.real("wd");
  r.beta2 = f.real("beta2");
  r.clip = f.real("clip");
  r.seed = static_cast<std::uint64_t>(f.integer("seed"));
  r.threads = static_cast<int>(f.integer("threads"));
  r.eval_every = f.integer("eval-every");
  o.eval_windows_given = f.given("eval-windows");
  r.eval_windows = f.integer("eval-windows");
  r.ckpt_every = f.integer("ckpt-every");
  r.log_every = f.integer("log-every");
  r.precision = parse_precision(f.str("precision"), "train_tinylm --precision");
  o.resume = f.on("resume");
  o.nonfinite.skip_max = f.integer("skip-nonfinite");
  o.nonfinite.inject_step = f.integer("inject-nan");
  r.stop_at = f.integer("stop-at");
  o.eval_only = f.on("eval-only");
  o.time_steps = f.integer("time-steps");
  o.dump = f.str("dump");
  r.validate();
  return true;
}

int time_mode(const Options& opts) {
  const train::LmTrainConfig& o = opts.run;
  Generator gen(o.seed);
  nn::Transformer<float> model(o.model, gen);
  auto params = model.parameters();
  optim::AdamW<float> opt(params, o.adamw());
  // random tokens: the step's cost does not depend on the data
  std::vector<data::token_t> tokens(static_cast<std::size_t>(o.batch * (o.model.n_ctx + 1) * 8));
  for (auto& t : tokens) t = static_cast<data::token_t>(gen.randint(static_cast<std::uint64_t>(o.model.vocab)));
  data::WindowSampler sampler(tokens, o.model.n_ctx, o.seed);
  // --dump: the initial weights, the two warm-up batches and their losses, so a PyTorch run
  // can check it computes the same model and the same AdamW step (bench/compare_torch_lm.py).
  std::vector<std::pair<std::string, io::AnyTensor>> dump;
  if (!opts.dump.empty())
    for (auto& [n, t] : model.state_dict()) dump.emplace_back(n, t.clone());
  std::vector<double> times, warm_losses;
  double loss = 0;
  for (index_t s = 0; s < opts.time_steps + 2; ++s) {
    auto b = sampler.next(o.batch);
    if (s < 2 && !opts.dump.empty()) {
      dump.emplace_back("batch" + std::to_string(s) + ".inputs", b.inputs);
      dump.emplace_back("batch" + std::to_string(s) + ".targets", b.targets);
    }
    const double t0 = lm::now_seconds();
    const PrecisionScope scope(o.precision);
    loss = train::lm_train_step(model, opt, params, b, o.clip).first;
    if (s < 2) warm_losses.push_back(loss);
    if (s >= 2) times.push_back(lm::now_seconds() - t0);
    if (s == 1 && !opts.dump.empty()) {
      char buf[2][32];
      std::snprintf(buf[0], 32, "%.9g", warm_losses[0]);
      std::snprintf(buf[1], 32, "%.9g", warm_losses[1]);
      io::save_safetensors(opts.dump, dump, {{"loss0", buf[0]}, {"loss1", buf[1]}, {"model_config", o.model.to_json()}});
    }
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.empty() ? 0 : sorted[sorted.size() / 2];
  double sum = 0;
  for (double t : times) sum += t;
  const double tokens_per_step = static_cast<double>(o.batch * o.model.n_ctx);
  json::Value r = json::Value::object();
  r["mode"] = "timing";
  r["tokens_per_s"] = median > 0 ? tokens_per_step / median : 0.0;
  r["tokens_per_s_mean"] = sum > 0 ? tokens_per_step * static_cast<double>(times.size()) / sum : 0.0;
  r["median_step_s"] = median;
  r["steps"] = static_cast<index_t>(times.size());
  r["step_seconds"] = json::Value::array_of(times);
  r["loss"] = loss;
  r["parameters"] = model.num_parameters();
  r["config"] = o.to_json();
  std::printf("%s\n", r.dump().c_str());
  return 0;
}

std::string fmt_time(double s) {
  char buf[32];
  const long t = static_cast<long>(std::max(0.0, s));
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

// The loss of the saved model on the whole validation text (--eval-only).
int eval_only(const Options& o, const data::LmData& dat, double process_t0) {
  const nn::TransformerConfig& cfg = o.run.model;
  const std::string ckpt = o.out + "/ckpt.safetensors";
  BILIN_CHECK(fs::exists(ckpt), "train_tinylm", "--eval-only: no checkpoint ", ckpt);
  BILIN_CHECK(train::read_lm_config(ckpt).to_json() == cfg.to_json(), "train_tinylm", "--eval-only: the checkpoint's model ",
              train::read_lm_config(ckpt).to_json(), " differs from the requested ", cfg.to_json());
  Generator gen(o.run.seed);
  nn::Transformer<float> model(cfg, gen);
  auto meta = train::load_lm_checkpoint(ckpt, model);
  json::Value r = json::Value::object();
  r["val_loss"] = train::evaluate_lm(model, dat.val, cfg.n_ctx, o.run.batch,
                                     o.eval_windows_given ? o.run.eval_windows : train::kLmFullEvalWindows);
  r["step"] = std::stoll(meta.at("step"));
  r["checkpoint"] = fs::absolute(ckpt).string();
  r["seconds"] = lm::now_seconds() - process_t0;
  std::printf("%s\n", r.dump().c_str());
  return 0;
}

int train_run(const Options& o) {
  const double process_t0 = lm::now_seconds();
  const train::dist::DataParallel dp;
  if (dp.root()) fs::create_directories(o.out);
  // rank 0 makes the tokenizer and token caches; the others then read them
  const auto prepare = [&] {
    return data::prepare_tinystories(o.data, static_cast<std::size_t>(o.run.model.vocab), o.cache, dp.root());
  };
  data::LmData dat;
  if (dp.root()) dat = prepare();
  dp.comm().barrier();
  if (!dp.root()) dat = prepare();
  const nn::TransformerConfig& cfg = o.run.model;
  BILIN_CHECK(static_cast<index_t>(dat.tokenizer.vocab_size()) <= cfg.vocab, "train_tinylm", "the tokenizer has ",
              dat.tokenizer.vocab_size(), " ids but --vocab is ", cfg.vocab);
  if (o.eval_only) return eval_only(o, dat, process_t0);

  train::LmTrainer trainer(o.run, dat.train, dat.val, dat.tokenizer.serialize(), o.out);
  trainer.set_nonfinite(o.nonfinite);
  train::install_stop_handlers("train_tinylm");
  if (trainer.begin(o.resume) && dp.root())
    std::fprintf(stderr, "resumed from %s at step %lld\n", trainer.checkpoint_path().c_str(),
                 static_cast<long long>(trainer.step()));
  if (dp.root())
    std::fprintf(stderr, "model: %s, %lld parameters; %lld steps of %lld x %lld tokens, %d threads x %d ranks, %s\n",
                 cfg.to_json().c_str(), static_cast<long long>(trainer.model().num_parameters()),
                 static_cast<long long>(o.run.steps), static_cast<long long>(o.run.batch),
                 static_cast<long long>(cfg.n_ctx), o.run.threads, dp.size(), precision_name(o.run.precision));
  train::LmRunHooks hooks;
  if (dp.root()) hooks.on_log = [](const train::LmProgress& p) {
    std::fprintf(stderr, "step %6lld/%lld  loss %.4f (avg %.4f)  lr %.2e  |g| %.3f  %.0f tok/s  ETA %s\n",
                 static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, p.avg_loss, p.lr, p.grad_norm,
                 p.tokens_per_s, fmt_time(p.eta_seconds).c_str());
  };
  if (dp.root()) hooks.on_eval = [](const train::LmEval& e) {
    std::fprintf(stderr, "step %6lld  val_loss %.4f  train_loss(avg) %.4f\n", static_cast<long long>(e.step),
                 e.val_loss, e.train_loss);
  };
  const train::LmRunResult res = trainer.run(hooks);

  json::Value r = json::Value::object();
  r["val_loss"] = res.val_loss;
  r["train_loss"] = res.train_loss;
  r["tokens_per_s"] = res.tokens_per_s;
  r["seconds"] = lm::now_seconds() - process_t0;  // wall time of this run: data, training, evaluation
  r["train_seconds"] = trainer.train_seconds();   // training steps only, summed over resumed runs
  r["steps"] = trainer.step();
  r["checkpoint"] = fs::absolute(trainer.checkpoint_path()).string();
  r["parameters"] = trainer.model().num_parameters();
  r["config"] = o.run.to_json();
  r["skipped_nonfinite"] = trainer.nonfinite().skipped();
  r["ranks"] = dp.size();
  if (dp.root()) std::printf("%s\n", r.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  lm::reexec_with_runtime_env(argv);
  lm::keep_freed_blocks_in_heap();
  try {
    Options o;
    if (!parse(argc, argv, o)) return 0;
    if (o.time_steps == 0) train::dist::DataParallel().check_same_flags("train_tinylm", argc, argv);
    omp_set_num_threads(o.run.threads);
    return o.time_steps > 0 ? time_mode(o) : train_run(o);
  } catch (const train::StopRequested& s) {
    std::fprintf(stderr, "%s\n", s.what());
    return train::kExitStopped;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_tinylm: error: %s\n", e.what());
    train::dist::Communicator::world().abort(1);  // the other ranks must not wait for this one
    return 1;
  }
}
