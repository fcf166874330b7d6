// train_mnist — train the paper's bilinear image classifier (or a GLU / ReLU variant) on MNIST or
// Fashion-MNIST.
//
//   train_mnist --dataset mnist|fmnist|PATH [--recipe paper|paper-table1|best] [--task mnist|casper]
//               [--out DIR] [flags...]
//   (--help lists every flag)
//
// Recipes (individual flags override them):
//   paper  the official code (tdooms/bilinear-decomposition, src/image/model.py + the image
//          tutorial): embed 784→512, one bilinear layer 512→512, head 512→10, no biases;
//          AdamW lr 1e-3, weight decay 0.5, cosine over the epochs (stepped per epoch), batch
//          2048 with drop_last, inputs pixel/255, Gaussian input noise std 0.4 on each training
//          sample with probability 0.5 (kornia RandomGaussianNoise's default p), 20 epochs, seed 42.
//   paper-table1  the paper's own App. G.1 Table 1: as paper, but input noise std 0.5 on every
//          sample ("norm 0.5" in the paper's per-pixel RMS sense) and weight decay 1.0.
//   best   same family tuned for accuracy within 10 minutes here: hidden 1024, batch 256, AdamW
//          lr 1e-3, weight decay 0.1, cosine over 30 epochs, label smoothing 0.1, input noise
//          std 0.1 (p 0.5), and on MNIST (not Fashion-MNIST) random ±1-pixel shifts.
// --task casper relabels the images with Casper's challenge (data/casper.hpp: similar to a target
// 1 or to its complement; two classes) — train it with --bias on for the paper's §4.3 model.
// --blur, --salt-pepper, --smooth-noise, --dropout and --model-noise are the App. B ablations.
// --precision bf16 trains with bf16 GEMM operands and fp32 accumulation (mixed precision; weights,
// optimizer, evaluation and files stay fp32: train/classifier_trainer.hpp).
// Output: a start line (SIMD set, threads, seed) and one progress line per epoch on stderr;
// DIR/model.safetensors (weights + config metadata), DIR/checkpoint.safetensors (weights +
// optimizer + position, for --resume), DIR/metrics.jsonl (one line per epoch), all written
// atomically; and a final JSON summary line on stdout.
// Crash safety (README "Crash safety"): SIGINT/SIGTERM write the resumable checkpoint and exit
// with 75; --ckpt-steps N checkpoints within epochs; a NaN/Inf loss or gradient stops the run
// naming the step and parameter (exit 1), or --skip-nonfinite N skips such steps.
// Under `mpirun -np N` (README, "Distributed training") the ranks split every batch and the
// evaluation; only rank 0 prints and writes files; --threads is the OpenMP team of each rank.
#include <malloc.h>
#include <omp.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <bilin/bilin.hpp>
#include <bilin/data/casper.hpp>
#include <bilin/data/idx.hpp>
#include <bilin/io/atomic_file.hpp>
#include <bilin/io/flags.hpp>
#include <bilin/train/classifier_trainer.hpp>
#include <bilin/train/metrics_log.hpp>
#include <bilin/train/stop_signal.hpp>
#include <bilin/train/distributed.hpp>

using namespace bilin;

namespace {

// The flag table. Flags whose default comes from the recipe show no default here; given, they
// override the recipe's value.
Flags flag_table() {
  Flags f("train_mnist", "Train the paper's bilinear image classifier (or a GLU / ReLU variant) on MNIST or Fashion-MNIST.");
  f.value("dataset", "mnist", "mnist|fmnist|PATH (found via data_scripts conventions)", "DATA")
      .value("recipe", "paper", "defaults to start from: paper|paper-table1|best", "NAME")
      .value("task", "mnist", "mnist (the dataset's classes) | casper (Casper's challenge labels)", "NAME")
      .value("out", "train_mnist_out", "output folder", "DIR")
      .value("model", "", "bilinear|glu-relu|glu-silu|glu-gelu|relu", "KIND")
      .value("hidden", "", "hidden width", "N")
      .value("layers", "", "hidden layers", "N")
      .value("residual", "", "residual connections", "on|off")
      .value("embed", "", "input embedding layer", "on|off")
      .value("bias", "", "biases", "on|off")
      .value("epochs", "", "epochs", "N")
      .value("batch", "", "batch size", "N")
      .value("lr", "", "learning rate", "X")
      .value("wd", "", "weight decay", "X")
      .value("optimizer", "", "adamw|adam|sgd", "NAME")
      .value("momentum", "", "SGD momentum", "X")
      .value("schedule", "", "cosine|cosine-step|constant", "NAME")
      .value("warmup", "", "warmup in schedule units", "N")
      .value("min-lr", "", "final learning rate", "X")
      .value("clip", "", "global gradient-norm clip (0 = off)", "X")
      .value("label-smoothing", "", "label smoothing", "X")
      .value("noise", "", "Gaussian input noise std", "STD")
      .value("noise-p", "", "probability of noise per sample", "P")
      .value("shift", "", "random shifts up to this many pixels", "PIXELS")
      .value("rotate", "", "random rotations up to this many degrees", "DEGREES")
      .value("blur", "", "Gaussian blur std (pixels), per sample with the noise probability", "SIGMA")
      .value("salt-pepper", "", "salt-and-pepper pixel probability, per sample with the noise probability", "P")
      .value("smooth-noise", "", "Perlin-style smooth noise amplitude, per sample with the noise probability", "AMP")
      .value("dropout", "", "dropout rate on the bilinear layer's input (training only)", "P")
      .value("model-noise", "", "Gaussian noise std on the bilinear layer's input (training only)", "STD")
      .value("seed", "", "random seed", "N")
      .value("threads", "0", "OpenMP threads (0: OpenMP's default)", "N")
      .value("eval-batch", "", "evaluation batch size", "N")
      .value("precision", "fp32",
             "training GEMMs: fp32|bf16 (bf16 operands, fp32 accumulation; weights, optimizer state and "
             "checkpoints stay fp32, so --resume may switch it)",
             "P")
      .value("resume", "", "continue a run from DIR/checkpoint.safetensors", "CHECKPOINT")
      .value("save-every", "1", "also write the resumable checkpoint every N epochs (0: only at the end)", "N")
      .value("ckpt-steps", "0", "also write the resumable checkpoint every N optimizer steps", "N")
      .value("skip-nonfinite", "0", "skip a step whose loss or gradient is NaN/Inf, at most N in a row (0: stop)", "N")
      .value("inject-nan", "-1", "test hook: make the first gradient NaN at this step (global batch index)", "STEP")
      .value("max-steps", "-1", "stop after N optimizer steps (timing runs)", "N")
      .toggle("no-final-train-eval", "skip the clean pass over the training set at the end");
  return f;
}

bool on_off(const Flags& f, const char* name) {
  const std::string& s = f.choice(name, {"on", "off", "true", "false", "1", "0"});
  return s == "on" || s == "true" || s == "1";
}

// The recipe's configuration with every given flag applied over it.
train::TrainConfig config_from_flags(const Flags& f, bool fashion) {
  const std::string& recipe = f.choice("recipe", {"paper", "paper-table1", "best"});
  train::TrainConfig cfg = recipe == "paper"          ? train::TrainConfig::paper_recipe()
                           : recipe == "paper-table1" ? train::TrainConfig::paper_table1_recipe()
                                                      : train::TrainConfig::best_recipe(fashion);
  const auto set_int = [&](const char* name, auto& field) {
    if (f.given(name)) field = static_cast<std::remove_reference_t<decltype(field)>>(f.integer(name));
  };
  const auto set_real = [&](const char* name, double& field) {
    if (f.given(name)) field = f.real(name);
  };
  if (f.given("model")) cfg.model.kind = nn::parse_mlp_kind(f.str("model"));
  set_int("hidden", cfg.model.d_hidden);
  set_int("layers", cfg.model.n_layer);
  if (f.given("residual")) cfg.model.residual = on_off(f, "residual");
  if (f.given("embed")) cfg.model.embed = on_off(f, "embed");
  if (f.given("bias")) cfg.model.bias = on_off(f, "bias");
  set_int("epochs", cfg.epochs);
  set_int("batch", cfg.batch);
  set_real("lr", cfg.lr);
  set_real("wd", cfg.weight_decay);
  if (f.given("optimizer")) cfg.optimizer = f.str("optimizer");
  set_real("momentum", cfg.momentum);
  if (f.given("schedule")) cfg.schedule = f.str("schedule");
  set_int("warmup", cfg.warmup);
  set_real("min-lr", cfg.min_lr);
  set_real("clip", cfg.clip);
  set_real("label-smoothing", cfg.label_smoothing);
  set_real("noise", cfg.noise);
  set_real("noise-p", cfg.noise_p);
  set_int("shift", cfg.shift);
  set_real("rotate", cfg.rotate);
  set_real("blur", cfg.blur);
  set_real("salt-pepper", cfg.salt_pepper);
  set_real("smooth-noise", cfg.smooth_noise);
  set_real("dropout", cfg.model.dropout);
  set_real("model-noise", cfg.model.model_noise);
  set_int("seed", cfg.seed);
  set_int("eval-batch", cfg.eval_batch);
  cfg.precision = parse_precision(f.str("precision"), "train_mnist --precision");
  return cfg;
}

// CPU time of the whole process (all threads), for load-independent comparisons.
double process_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::string fmt_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void make_dirs(const std::string& dir) {
  std::string cur;
  for (std::size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && cur != "/") ::mkdir(cur.c_str(), 0755);
    }
    if (i < dir.size()) cur += dir[i];
  }
  struct stat st{};
  BILIN_CHECK(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "train_mnist", "cannot create output folder '",
              dir, "'");
}

// What the flags ask for besides the training configuration.
struct RunFlags {
  std::string dataset, data_dir, out, resume, task;
  int threads = 0;
  std::int64_t max_steps = -1, save_every = 0, ckpt_steps = 0;
  bool final_train_eval = true;
  bool root = true;  // rank 0 of a data-parallel run (the one that prints and writes)
};

// The run's start line and configuration line on stderr.
void print_configuration(const RunFlags& rf, const train::TrainConfig& cfg, const data::MnistData& mnist,
                         const data::ImageDataset& train_set, const data::ImageDataset& test_set,
                         train::ClassifierTrainer& t) {
  auto* trainer = &t;
  const std::string& dataset = rf.dataset;
  const std::string& resume = rf.resume;
  const auto& mc = cfg.model;
  std::fprintf(stderr,
               "train_mnist: data %s (%s: %lld train, %lld test) | model %s d_input %lld hidden %lld layers %lld "
               "embed %s residual %s bias %s (%lld params) | recipe %s: %s lr %g wd %g, %s, batch %lld, %lld "
               "epochs, noise %g (p %g), shift %lld, rotate %g, label smoothing %g, clip %g, precision %s%s\n",
               dataset.c_str(), mnist.dir.c_str(), static_cast<long long>(train_set.size()),
               static_cast<long long>(test_set.size()), nn::mlp_kind_name(mc.kind),
               static_cast<long long>(mc.d_input), static_cast<long long>(mc.d_hidden),
               static_cast<long long>(mc.n_layer), mc.embed ? "on" : "off", mc.residual ? "on" : "off",
               mc.bias ? "on" : "off", static_cast<long long>(trainer->model().num_parameters()),
               cfg.recipe.c_str(), cfg.optimizer.c_str(), cfg.lr, cfg.weight_decay,
               trainer->schedule().describe().c_str(), static_cast<long long>(cfg.batch),
               static_cast<long long>(cfg.epochs), cfg.noise, cfg.noise_p, static_cast<long long>(cfg.shift),
               cfg.rotate, cfg.label_smoothing, cfg.clip, precision_name(cfg.precision), resume.empty() ? "" : (" | resumed from " + resume).c_str());
  if (cfg.blur > 0 || cfg.salt_pepper > 0 || cfg.smooth_noise > 0 || mc.dropout > 0 || mc.model_noise > 0)
    std::fprintf(stderr, "train_mnist: ablations: blur %g, salt-and-pepper %g, smooth noise %g (each with p %g); dropout %g, model noise %g\n",
                 cfg.blur, cfg.salt_pepper, cfg.smooth_noise, cfg.noise_p, mc.dropout, mc.model_noise);
}

// The metrics lines of the epochs a resumed checkpoint has seen completed.
std::string kept_metrics(const std::string& metrics_path, std::int64_t first_epoch) {
  std::string old;
  try {
    old = io::read_file(metrics_path);
  } catch (const Error&) {
  }
  return train::kept_jsonl(old, "epoch", first_epoch);
}

// What the epochs leave for the summary.
struct EpochsResult {
  train::EvalResult test_res;
  train::EpochStats last_stats;
  std::vector<double> epoch_seconds;
  double train_seconds_total = 0;
};

// The epochs from first_epoch on (the first one continued when partial): train, evaluate on the
// test set, one progress line on stderr and one metrics line per epoch; --max-steps stops early.
EpochsResult train_epochs(train::ClassifierTrainer* trainer, const train::TrainConfig& cfg, const RunFlags& rf,
                          std::int64_t first_epoch, bool partial, std::string metrics_text,
                          std::chrono::steady_clock::time_point t_start) {
  const std::string metrics_path = rf.out + "/metrics.jsonl", ckpt_path = rf.out + "/checkpoint.safetensors";
  const std::int64_t max_steps = rf.max_steps, save_every = rf.save_every;
  EpochsResult r;
  train::EvalResult& test_res = r.test_res;
  train::EpochStats& last_stats = r.last_stats;
  std::vector<double>& epoch_seconds = r.epoch_seconds;
  double& train_seconds_total = r.train_seconds_total;
  bool stopped = false;
  for (std::int64_t e = first_epoch; e < cfg.epochs && !stopped; ++e) {
    if (!(partial && e == first_epoch)) trainer->begin_epoch(e);
    const double lr = trainer->current_lr();
    const double cpu0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    while (true) {
      if (max_steps >= 0 && trainer->optimizer().steps() >= max_steps) {
        stopped = true;
        break;
      }
      if (train::dist::DataParallel().any(train::stop_requested())) {  // every rank stops at the same step
        if (rf.root) trainer->save(ckpt_path);
        train::stop_now(msg("epoch ", e + 1, ", step ", trainer->optimizer().steps()), ckpt_path);
      }
      if (!trainer->step()) break;
      if (rf.root && rf.ckpt_steps > 0 && trainer->optimizer().steps() % rf.ckpt_steps == 0) trainer->save(ckpt_path);
    }
    const auto t1 = std::chrono::steady_clock::now();
    test_res = trainer->evaluate_test();
    const auto t2 = std::chrono::steady_clock::now();
    const double cpu_s = process_cpu_seconds() - cpu0;
    last_stats = trainer->epoch_stats();
    const double train_s = std::chrono::duration<double>(t1 - t0).count();
    const double eval_s = std::chrono::duration<double>(t2 - t1).count();
    const double elapsed = std::chrono::duration<double>(t2 - t_start).count();
    train_seconds_total += train_s;
    epoch_seconds.push_back(train_s + eval_s);
    const double sps = train_s > 0 ? static_cast<double>(last_stats.samples) / train_s : 0.0;
    double mean_epoch = 0;
    for (double s : epoch_seconds) mean_epoch += s;
    mean_epoch /= static_cast<double>(epoch_seconds.size());
    const double eta = stopped ? 0.0 : mean_epoch * static_cast<double>(cfg.epochs - e - 1);
    if (rf.root)
      std::fprintf(stderr,
                 "epoch %3lld/%lld  lr %.3g  loss %.4f  acc %.2f%%  test_loss %.4f  test_acc %.2f%%  %.0f samples/s  "
                 "%.2f s (+%.2f s eval)  ETA %s\n",
                 static_cast<long long>(e + 1), static_cast<long long>(cfg.epochs), lr, last_stats.loss(),
                 100 * last_stats.acc(), test_res.loss, 100 * test_res.acc, sps, train_s, eval_s,
                 fmt_duration(eta).c_str());
    json::Value line = json::Value::object();
    line["epoch"] = e + 1;
    line["lr"] = lr;
    line["train_loss"] = last_stats.loss();
    line["train_acc"] = last_stats.acc();
    line["test_loss"] = test_res.loss;
    line["test_acc"] = test_res.acc;
    line["steps"] = trainer->optimizer().steps();
    line["train_seconds"] = train_s;
    line["eval_seconds"] = eval_s;
    line["cpu_seconds"] = cpu_s;  // training + evaluation, all threads
    line["samples_per_s"] = sps;
    line["elapsed"] = elapsed;
    metrics_text += line.dump() + "\n";
    if (!rf.root) continue;
    io::write_file_atomic(metrics_path, metrics_text);
    if (save_every > 0 && (e + 1) % save_every == 0) trainer->save(ckpt_path);
  }
  return r;
}

// The final JSON line on stdout.
void print_summary(const RunFlags& rf, const train::TrainConfig& cfg, const data::MnistData& mnist,
                   train::ClassifierTrainer& t, const EpochsResult& r, const train::EvalResult& train_eval,
                   std::int64_t first_epoch, double seconds) {
  auto* trainer = &t;
  const auto& mc = cfg.model;
  const auto& dataset = rf.dataset;
  const auto& test_res = r.test_res;
  const auto& last_stats = r.last_stats;
  const auto& epoch_seconds = r.epoch_seconds;
  const double train_seconds_total = r.train_seconds_total;
  const bool final_train_eval = rf.final_train_eval;
  const int threads = rf.threads;
  const std::string model_path = rf.out + "/model.safetensors", ckpt_path = rf.out + "/checkpoint.safetensors";
  const std::string metrics_path = rf.out + "/metrics.jsonl";
  std::vector<double> sorted = epoch_seconds;
  std::sort(sorted.begin(), sorted.end());
  json::Value s = json::Value::object();
  s["dataset"] = dataset;
  s["data_dir"] = mnist.dir;
  s["recipe"] = cfg.recipe;
  s["model"] = nn::mlp_kind_name(mc.kind);
  s["hidden"] = mc.d_hidden;
  s["layers"] = mc.n_layer;
  s["test_acc"] = test_res.acc;
  s["test_loss"] = test_res.loss;
  s["train_acc"] = last_stats.acc();
  s["train_loss"] = last_stats.loss();
  if (final_train_eval) {
    s["train_eval_acc"] = train_eval.acc;
    s["train_eval_loss"] = train_eval.loss;
  }
  s["epochs"] = first_epoch + static_cast<std::int64_t>(epoch_seconds.size());
  s["steps"] = trainer->optimizer().steps();
  s["seconds"] = seconds;
  s["train_seconds"] = train_seconds_total;
  s["median_epoch_seconds"] = sorted.empty() ? 0.0 : sorted[sorted.size() / 2];
  s["threads"] = threads;
  s["seed"] = static_cast<std::int64_t>(cfg.seed);
  s["precision"] = precision_name(cfg.precision);
  s["simd"] = bilin::simd::arch_name();
  s["checkpoint"] = model_path;
  s["resume_checkpoint"] = ckpt_path;
  s["metrics"] = metrics_path;
  s["skipped_nonfinite"] = trainer->nonfinite().skipped();
  std::cout << s.dump() << std::endl;
}

int run(int argc, char** argv) {
  Flags f = flag_table();
  if (!f.parse(argc, argv)) return 0;
  const train::dist::DataParallel dp;
  dp.check_same_flags("train_mnist", argc, argv);
  RunFlags rf;
  rf.root = dp.root();
  rf.dataset = f.str("dataset");
  rf.data_dir = data::locate_dataset(rf.dataset);
  const bool fashion = rf.dataset == "fmnist" || rf.dataset == "fashion-mnist" || rf.dataset == "fashion_mnist" ||
                       rf.data_dir.find("fashion") != std::string::npos;
  train::TrainConfig cfg = config_from_flags(f, fashion);
  rf.task = f.choice("task", {"mnist", "casper"});
  rf.out = f.str("out");
  rf.resume = f.str("resume");
  rf.threads = static_cast<int>(f.integer("threads"));
  rf.max_steps = f.integer("max-steps");
  rf.save_every = f.integer("save-every");
  rf.ckpt_steps = f.integer("ckpt-steps");
  train::install_stop_handlers("train_mnist");
  rf.final_train_eval = !f.on("no-final-train-eval");
  if (rf.threads > 0) omp_set_num_threads(rf.threads);
  rf.threads = omp_get_max_threads();
  // Big per-step tensors: keep them on the heap instead of fresh, kernel-zeroed mmaps every step
  // (glibc caps M_MMAP_THRESHOLD at 32 MiB, so turning mmap off is the only way to cover all).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);

  const auto t_start = std::chrono::steady_clock::now();
  if (rf.root)
    std::fprintf(stderr, "train_mnist: simd %s, threads %d, seed %llu, ranks %d\n", bilin::simd::arch_name(), rf.threads,
                 static_cast<unsigned long long>(cfg.seed), dp.size());
  const data::MnistData mnist = data::load_mnist(rf.data_dir);
  data::ImageDataset train_set = data::ImageDataset::from_mnist(mnist.train);
  data::ImageDataset test_set = data::ImageDataset::from_mnist(mnist.test);
  cfg.model.d_input = train_set.features();
  if (rf.task == "casper") {
    const data::CasperTask task = data::make_casper_task(train_set);
    train_set = data::casper_relabel(train_set, task);
    test_set = data::casper_relabel(test_set, task);
    cfg.model.d_output = 2;
    std::fprintf(stderr, "train_mnist: task casper: target = training image %lld (a 1), threshold |s| > %.4g\n",
                 static_cast<long long>(task.target_index), task.threshold);
  }

  std::unique_ptr<train::ClassifierTrainer> trainer;
  if (!rf.resume.empty()) {
    // The run's configuration (schedule length included) comes from the checkpoint; only
    // --out, --threads, --max-steps and a given --precision (the weights are fp32 either way)
    // apply to a resumed run.
    trainer = train::ClassifierTrainer::resume(rf.resume, train_set, test_set);
    if (f.given("precision")) trainer->set_precision(cfg.precision);
    cfg = trainer->config();
  } else {
    trainer = std::make_unique<train::ClassifierTrainer>(cfg, train_set, test_set);
  }
  trainer->set_nonfinite({f.integer("skip-nonfinite"), f.integer("inject-nan"), ""});
  if (rf.root) {
    make_dirs(rf.out);
    print_configuration(rf, cfg, mnist, train_set, test_set, *trainer);
  }

  // A resumed run continues the checkpoint's epoch (or starts the next one when it was complete).
  std::int64_t first_epoch = trainer->epoch();
  bool partial = !rf.resume.empty() && trainer->loader().position().batch > 0;
  if (partial && trainer->epoch_done()) {
    ++first_epoch;
    partial = false;
  }
  const std::string kept = rf.resume.empty() ? "" : kept_metrics(rf.out + "/metrics.jsonl", first_epoch);
  const EpochsResult r = train_epochs(trainer.get(), cfg, rf, first_epoch, partial, kept, t_start);
  if (rf.root) {
    trainer->save(rf.out + "/checkpoint.safetensors");
    trainer->save_model(rf.out + "/model.safetensors", {{"dataset", rf.dataset}, {"task", rf.task}});
  }
  train::EvalResult train_eval;
  if (rf.final_train_eval) train_eval = trainer->evaluate(train_set);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  if (rf.root) print_summary(rf, cfg, mnist, *trainer, r, train_eval, first_epoch, seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const train::StopRequested& s) {
    std::fprintf(stderr, "%s\n", s.what());
    return train::kExitStopped;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mnist: error: %s\n", e.what());
    train::dist::Communicator::world().abort(1);  // the other ranks must not wait for this one
    return 1;
  }
}
