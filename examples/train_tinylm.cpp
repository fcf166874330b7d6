// train_tinylm — train the paper's bilinear transformer language model on TinyStories.
//
//   train_tinylm [--data DIR] [--out DIR] [--vocab 4096] [--layers 4] [--d-model 256] [--heads 4]
//                [--hidden 1024] [--ctx 256] [--batch 16] [--steps N] [--lr 1e-3] [--min-lr lr/10]
//                [--warmup min(100, steps/10)] [--wd 0.1] [--beta2 0.95] [--clip 1.0] [--mlp bilinear|glu-silu|
//                glu-relu|glu-gelu|relu] [--seed 0] [--threads 2] [--eval-every 200]
//                [--eval-windows 64] [--ckpt-every 200] [--log-every 10] [--resume] [--cache DIR]
//                [--norm-affine] [--time-steps N] [--stop-at N] [--eval-only]
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
// uninterrupted run with the same thread count); --stop-at N ends a run early at step N as if it
// had been interrupted (a checkpoint is written). <out>/metrics.jsonl gets one line per
// evaluation.
// Progress goes to stderr; stdout ends with one JSON line: val_loss, train_loss, tokens_per_s,
// seconds, checkpoint (and the config).
// --eval-only: print the validation loss of <out>/ckpt.safetensors (all windows, or the first
// --eval-windows when given) and exit.
// --time-steps N: timing mode for bench/compare_torch_lm.py — random tokens, no data, no
// checkpoint; runs 2 warm-up steps and N timed training steps (forward, backward, clipping,
// AdamW) and prints one JSON line with tokens_per_s and the median step time. --dump FILE
// also writes the initial weights, the two warm-up batches and their losses (safetensors).
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <bilin/bilin.hpp>
#include <bilin/io/checkpoint.hpp>
#include <bilin/io/json.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/optim/adamw.hpp>
#include <bilin/optim/clip.hpp>
#include <bilin/optim/schedule.hpp>

#include "lm_common.hpp"

using namespace bilin;

namespace {

const char* kUsage =
    "usage: train_tinylm [--data DIR] [--out DIR] [--vocab 4096] [--layers 4] [--d-model 256] [--heads 4]\n"
    "                    [--hidden 1024] [--ctx 256] [--batch 16] [--steps 1500] [--lr 1e-3] [--min-lr LR/10]\n"
    "                    [--warmup min(100, steps/10)] [--wd 0.1] [--beta2 0.95] [--clip 1.0] [--mlp bilinear|glu-silu|relu|...]\n"
    "                    [--seed 0] [--threads 2] [--eval-every 200] [--eval-windows 64] [--ckpt-every 200]\n"
    "                    [--log-every 10] [--resume] [--cache DIR] [--norm-affine] [--time-steps N] [--stop-at N] [--eval-only]\n";

struct Options {
  nn::TransformerConfig model;
  std::string data, out, cache;
  index_t batch = 16, steps = 1500, warmup = 100, eval_every = 200, eval_windows = 64, ckpt_every = 200,
          log_every = 10, time_steps = 0, stop_at = -1;
  std::string dump;
  double lr = 1e-3, min_lr = -1, wd = 0.1, beta2 = 0.95, clip = 1.0;
  std::uint64_t seed = 0;
  int threads = 2;
  bool resume = false, eval_only = false, eval_windows_given = false;
};

Options parse(int argc, char** argv) {
  lm::Args a(argc, argv);
  Options o;
  if (a.has("help")) {
    std::fputs(kUsage, stdout);
    std::exit(0);
  }
  o.data = a.str("data", lm::default_data_dir());
  o.out = a.str("out", "tinylm_out");
  o.cache = a.str("cache", o.out);
  o.model.vocab = a.integer("vocab", 4096);
  o.model.n_layer = a.integer("layers", 4);
  o.model.d_model = a.integer("d-model", 256);
  o.model.n_head = a.integer("heads", 4);
  o.model.d_hidden = a.integer("hidden", 1024);
  o.model.n_ctx = a.integer("ctx", 256);
  o.model.mlp = nn::parse_mlp_kind(a.str("mlp", "bilinear"));
  o.model.norm_affine = a.flag("norm-affine");
  o.batch = a.integer("batch", 16);
  o.steps = a.integer("steps", 1500);
  o.lr = a.real("lr", 1e-3);
  o.min_lr = a.real("min-lr", o.lr / 10);
  o.warmup = a.integer("warmup", std::min<index_t>(100, o.steps / 10));  // default: 100, or 10% of a short run
  o.wd = a.real("wd", 0.1);
  o.beta2 = a.real("beta2", 0.95);
  o.clip = a.real("clip", 1.0);
  o.seed = static_cast<std::uint64_t>(a.integer("seed", 0));
  o.threads = static_cast<int>(a.integer("threads", 2));
  o.eval_every = a.integer("eval-every", 200);
  o.eval_windows_given = a.has("eval-windows");
  o.eval_windows = a.integer("eval-windows", 64);
  o.ckpt_every = a.integer("ckpt-every", 200);
  o.log_every = a.integer("log-every", 10);
  o.resume = a.flag("resume");
  o.stop_at = a.integer("stop-at", -1);
  o.eval_only = a.flag("eval-only");
  o.time_steps = a.integer("time-steps", 0);
  o.dump = a.str("dump", "");
  a.finish();
  o.model.validate();
  BILIN_CHECK(o.batch > 0 && o.steps >= 0 && o.threads > 0, "train_tinylm", "--batch, --threads must be positive and --steps >= 0");
  BILIN_CHECK(o.warmup >= 0 && o.eval_every > 0 && o.ckpt_every > 0 && o.log_every > 0, "train_tinylm",
              "--warmup must be >= 0; --eval-every, --ckpt-every, --log-every positive");
  BILIN_CHECK(o.clip > 0 && o.lr > 0 && o.min_lr >= 0, "train_tinylm", "--clip and --lr must be positive, --min-lr >= 0");
  return o;
}

json::Value config_json(const Options& o) {
  json::Value v = o.model.to_json_value();
  v["batch"] = o.batch;
  v["threads"] = o.threads;
  return v;
}

// One training step (forward, backward, clip, AdamW); returns (loss, grad norm).
std::pair<double, double> train_step(nn::Transformer<float>& model, optim::AdamW<float>& opt,
                                     const std::vector<TensorF>& params, const data::TokenBatch& b, double clip) {
  opt.zero_grad();
  TensorF loss = model.loss(b.inputs, b.targets);
  const double l = loss.item();
  loss.backward();
  const double gn = optim::clip_grad_norm(params, clip);
  opt.step();
  return {l, gn};
}

double evaluate(nn::Transformer<float>& model, const std::vector<data::token_t>& val, index_t ctx, index_t batch,
                index_t windows) {
  NoGradGuard ng;
  // all non-overlapping windows, then `windows` of them spread evenly over the text: the
  // validation head is not homogeneous (some stretches are much harder), so its first windows
  // alone would be a biased sample
  const auto all = data::eval_window_starts(val.size(), ctx, val.size());
  BILIN_CHECK(!all.empty(), "train_tinylm", "the validation text (", val.size(), " tokens) is shorter than one window");
  std::vector<std::uint64_t> starts;
  const std::size_t n_pick = std::min(all.size(), static_cast<std::size_t>(windows));
  for (std::size_t i = 0; i < n_pick; ++i) starts.push_back(all[i * all.size() / n_pick]);
  double total = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < starts.size(); i += static_cast<std::size_t>(batch)) {
    const std::size_t m = std::min(starts.size() - i, static_cast<std::size_t>(batch));
    auto b = data::batch_at(val, ctx, std::span<const std::uint64_t>(starts.data() + i, m));
    total += model.loss(b.inputs, b.targets).item() * static_cast<double>(m);
    n += m;
  }
  return total / static_cast<double>(n);
}

// The run's AdamW settings (β1 and ε at PyTorch's defaults).
optim::AdamWOptions adamw_options(const Options& o) {
  optim::AdamWOptions ao;
  ao.lr = o.lr;
  ao.beta2 = o.beta2;
  ao.weight_decay = o.wd;
  return ao;
}

int time_mode(const Options& o) {
  Generator gen(o.seed);
  nn::Transformer<float> model(o.model, gen);
  auto params = model.parameters();
  optim::AdamW<float> opt(params, adamw_options(o));
  // random tokens: the step's cost does not depend on the data
  std::vector<data::token_t> tokens(static_cast<std::size_t>(o.batch * (o.model.n_ctx + 1) * 8));
  for (auto& t : tokens) t = static_cast<data::token_t>(gen.randint(static_cast<std::uint64_t>(o.model.vocab)));
  data::WindowSampler sampler(tokens, o.model.n_ctx, o.seed);
  // --dump: the initial weights, the two warm-up batches and their losses, so a PyTorch run
  // can check it computes the same model and the same AdamW step (bench/compare_torch_lm.py).
  std::vector<std::pair<std::string, io::AnyTensor>> dump;
  if (!o.dump.empty())
    for (auto& [n, t] : model.state_dict()) dump.emplace_back(n, t.clone());
  std::vector<double> times, warm_losses;
  double loss = 0;
  for (index_t s = 0; s < o.time_steps + 2; ++s) {
    auto b = sampler.next(o.batch);
    if (s < 2 && !o.dump.empty()) {
      dump.emplace_back("batch" + std::to_string(s) + ".inputs", b.inputs);
      dump.emplace_back("batch" + std::to_string(s) + ".targets", b.targets);
    }
    const double t0 = lm::now_seconds();
    loss = train_step(model, opt, params, b, o.clip).first;
    if (s < 2) warm_losses.push_back(loss);
    if (s >= 2) times.push_back(lm::now_seconds() - t0);
    if (s == 1 && !o.dump.empty()) {
      char buf[2][32];
      std::snprintf(buf[0], 32, "%.9g", warm_losses[0]);
      std::snprintf(buf[1], 32, "%.9g", warm_losses[1]);
      io::save_safetensors(o.dump, dump, {{"loss0", buf[0]}, {"loss1", buf[1]}, {"model_config", o.model.to_json()}});
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
  r["config"] = config_json(o);
  std::printf("%s\n", r.dump().c_str());
  return 0;
}

std::string fmt_double(double v) {  // round-trips exactly (resume restores the smoothed loss)
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string fmt_time(double s) {
  char buf[32];
  const long t = static_cast<long>(std::max(0.0, s));
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

int train(const Options& o) {
  namespace fs = std::filesystem;
  const double process_t0 = lm::now_seconds();
  fs::create_directories(o.out);
  lm::LmData dat = lm::prepare_tinystories(o.data, static_cast<std::size_t>(o.model.vocab), o.cache);
  nn::TransformerConfig cfg = o.model;
  BILIN_CHECK(static_cast<index_t>(dat.tokenizer.vocab_size()) <= cfg.vocab, "train_tinylm", "the tokenizer has ",
              dat.tokenizer.vocab_size(), " ids but --vocab is ", cfg.vocab);
  Generator gen(o.seed);
  nn::Transformer<float> model(cfg, gen);
  auto params = model.parameters();
  optim::AdamW<float> opt(params, adamw_options(o));
  const auto sched = optim::LrSchedule::cosine(o.lr, o.steps, o.warmup, o.min_lr);
  data::WindowSampler sampler(dat.train, cfg.n_ctx, o.seed + 1);
  const std::string ckpt = o.out + "/ckpt.safetensors", metrics_path = o.out + "/metrics.jsonl";

  if (o.eval_only) {  // the loss of the saved model on the whole validation text
    BILIN_CHECK(fs::exists(ckpt), "train_tinylm", "--eval-only: no checkpoint ", ckpt);
    BILIN_CHECK(lm::read_lm_config(ckpt).to_json() == cfg.to_json(), "train_tinylm", "--eval-only: the checkpoint's model ",
                lm::read_lm_config(ckpt).to_json(), " differs from the requested ", cfg.to_json());
    auto meta = lm::load_lm_checkpoint(ckpt, model);
    json::Value r = json::Value::object();
    r["val_loss"] = evaluate(model, dat.val, cfg.n_ctx, o.batch, o.eval_windows_given ? o.eval_windows : 1024);
    r["step"] = std::stoll(meta.at("step"));
    r["checkpoint"] = fs::absolute(ckpt).string();
    r["seconds"] = lm::now_seconds() - process_t0;
    std::printf("%s\n", r.dump().c_str());
    return 0;
  }
  index_t step = 0;
  double elapsed_before = 0;  // training seconds of earlier runs (resume)
  double train_loss = NAN, val_loss = NAN, ema = NAN;  // ema: smoothed training loss (0.95 decay)
  if (o.resume && fs::exists(ckpt)) {
    const auto saved = lm::read_lm_config(ckpt);
    BILIN_CHECK(saved.to_json() == cfg.to_json(), "train_tinylm", "cannot resume: the checkpoint's model ",
                saved.to_json(), " differs from the requested ", cfg.to_json());
    auto meta = lm::load_lm_checkpoint(ckpt, model, &opt);
    auto get = [&](const char* k) {
      auto it = meta.find(k);
      BILIN_CHECK(it != meta.end(), "train_tinylm", ckpt, ": metadata lacks '", k, "' (not a train_tinylm checkpoint?)");
      return it->second;
    };
    step = std::stoll(get("step"));
    sampler.set_state({std::stoull(get("sampler_seed")), std::stoull(get("sampler_counter"))});
    elapsed_before = std::stod(get("train_seconds"));
    ema = train_loss = std::stod(get("train_loss"));
    std::fprintf(stderr, "resumed from %s at step %lld\n", ckpt.c_str(), static_cast<long long>(step));
  } else if (!o.resume) {
    std::ofstream(metrics_path, std::ios::trunc);  // a fresh run starts a fresh log
  }
  std::fprintf(stderr, "model: %s, %lld parameters; %lld steps of %lld x %lld tokens, %d threads\n",
               cfg.to_json().c_str(), static_cast<long long>(model.num_parameters()), static_cast<long long>(o.steps),
               static_cast<long long>(o.batch), static_cast<long long>(cfg.n_ctx), o.threads);

  auto save = [&]() {
    std::map<std::string, std::string> meta{
        {"step", std::to_string(step)},
        {"sampler_seed", std::to_string(sampler.state().first)},
        {"sampler_counter", std::to_string(sampler.state().second)},
        {"train_seconds", std::to_string(elapsed_before)},
        {"train_loss", fmt_double(train_loss)},
        {"val_loss", fmt_double(val_loss)},
        {"tokenizer", dat.tokenizer.serialize()},
        {"run_config", config_json(o).dump()},
    };
    lm::save_lm_checkpoint(ckpt, model, &opt, meta);
  };
  auto log_metrics = [&](double vl) {
    json::Value m = json::Value::object();
    m["step"] = step;
    m["train_loss"] = train_loss;
    m["val_loss"] = vl;
    m["seconds"] = elapsed_before;
    std::ofstream(metrics_path, std::ios::app) << m.dump() << "\n";
  };

  const double tokens_per_step = static_cast<double>(o.batch * cfg.n_ctx);
  double window_t0 = lm::now_seconds(), run_t0 = window_t0, run_train_s = 0;
  index_t window_steps = 0, run_steps = 0;
  const index_t stop = o.stop_at >= 0 ? std::min(o.stop_at, o.steps) : o.steps;
  while (step < stop) {
    opt.set_lr(sched.at(step));
    const double t0 = lm::now_seconds();
    auto b = sampler.next(o.batch);
    auto [loss, gnorm] = train_step(model, opt, params, b, o.clip);
    const double dt = lm::now_seconds() - t0;
    BILIN_CHECK(std::isfinite(loss), "train_tinylm", "loss became ", loss, " at step ", step);
    elapsed_before += dt;
    run_train_s += dt;
    ++step;
    ++window_steps;
    ++run_steps;
    ema = std::isnan(ema) ? loss : 0.95 * ema + 0.05 * loss;
    train_loss = ema;
    if (step % o.log_every == 0 || step == o.steps) {
      const double now = lm::now_seconds();
      const double tps = tokens_per_step * static_cast<double>(window_steps) / (now - window_t0);
      const double per_step = (now - run_t0) / static_cast<double>(run_steps);
      std::fprintf(stderr, "step %6lld/%lld  loss %.4f (avg %.4f)  lr %.2e  |g| %.3f  %.0f tok/s  ETA %s\n",
                   static_cast<long long>(step), static_cast<long long>(o.steps), loss, ema, opt.lr(), gnorm, tps,
                   fmt_time(per_step * static_cast<double>(o.steps - step)).c_str());
      window_t0 = now;
      window_steps = 0;
    }
    const bool last = step == stop;
    if (step % o.eval_every == 0 || last) {
      // the last evaluation covers the whole validation text (up to 1024 windows)
      val_loss = evaluate(model, dat.val, cfg.n_ctx, o.batch, last ? std::max<index_t>(o.eval_windows, 1024) : o.eval_windows);
      std::fprintf(stderr, "step %6lld  val_loss %.4f  train_loss(avg) %.4f\n", static_cast<long long>(step), val_loss,
                   train_loss);
      log_metrics(val_loss);
    }
    if (step % o.ckpt_every == 0 || last) save();
  }
  if (std::isnan(val_loss)) val_loss = evaluate(model, dat.val, cfg.n_ctx, o.batch, o.eval_windows);
  if (!fs::exists(ckpt)) save();
  json::Value r = json::Value::object();
  r["val_loss"] = val_loss;
  r["train_loss"] = train_loss;
  r["tokens_per_s"] = run_train_s > 0 ? tokens_per_step * static_cast<double>(run_steps) / run_train_s : 0.0;
  r["seconds"] = lm::now_seconds() - process_t0;  // wall time of this run: data, training, evaluation
  r["train_seconds"] = elapsed_before;            // training steps only, summed over resumed runs
  r["steps"] = step;
  r["checkpoint"] = fs::absolute(ckpt).string();
  r["parameters"] = model.num_parameters();
  r["config"] = config_json(o);
  std::printf("%s\n", r.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A step allocates and frees the same activation sizes over and over. glibc maps every block
  // of 32 MiB or more (the logits, 64 MiB, and their gradient) fresh from the kernel, which
  // zero-fills it: 21% of a step's samples were in the kernel's clear_page. With mmap off and a
  // high trim threshold, freed blocks stay in the heap and the next step reuses them.
  lm::reexec_with_runtime_env(argv);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  try {
    const Options o = parse(argc, argv);
    omp_set_num_threads(o.threads);
    return o.time_steps > 0 ? time_mode(o) : train(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_tinylm: error: %s\n", e.what());
    return 1;
  }
}
