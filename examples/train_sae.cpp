// train_sae — TopK sparse autoencoders on a train_tinylm model's activations (the paper's
// §3.1 / App. G.3 recipe: k 30, expansion 4, batch 4096, Adam lr 1e-4 cosine to 2e-5, decoder
// columns unit-norm).
//
//   train_sae --ckpt LM.safetensors --layer 2 --hook mlp_out --out DIR [--k 30] [--expansion 4] ...
//   train_sae --ckpt LM.safetensors --all-layers --hook mlp_out,mlp_in --out DIR
//   train_sae --time-steps N [--d 256 --expansion 4 --k 30 --batch 4096]   (timing only)
//
// One target (layer, hook) writes DIR/sae.safetensors (official names w_enc.weight, w_dec.weight,
// b_dec; config in the metadata), DIR/ckpt.safetensors (resumable state, --resume),
// DIR/metrics.jsonl and DIR/features.json (firing frequency and top contexts per latent, on the
// validation text). Several targets (--all-layers, or a list of hooks) share one harvesting pass
// and write each of those files under DIR/<layer>-<hook>/. Progress goes to stderr; stdout ends
// with one JSON line (the metrics, "seconds", "sae"; with several targets a "saes" list).
// The token data comes from the token caches train_tinylm made (--cache, default the
// checkpoint's directory), the tokenizer for feature contexts from the checkpoint itself.
// Crash safety (README "Crash safety"): checkpoints at every fill end and every --ckpt-every
// steps; SIGINT/SIGTERM write them and exit with 75; a NaN/Inf loss or gradient stops the run
// naming the step and parameter unless --skip-nonfinite N skips such steps.
// --precision bf16 runs the encoder GEMM with bf16 operands and fp32 accumulation (weights,
// optimizer, harvest, evaluation and files stay fp32, so --resume may switch it).
// Under `mpirun -np N` (README, "Distributed training") the ranks split every batch's rows (the
// harvest is replicated); only rank 0 prints, evaluates and writes.
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <fstream>
#include <string>
#include <vector>

#include <bilin/bilin.hpp>
#include <bilin/interp/sae_features.hpp>
#include <bilin/io/flags.hpp>
#include <bilin/io/json.hpp>
#include <bilin/data/hf_tokenizer.hpp>
#include <bilin/train/distributed.hpp>
#include <bilin/train/load_lm.hpp>
#include <bilin/train/sae_file.hpp>
#include <bilin/train/sae_metrics.hpp>
#include <bilin/train/metrics_log.hpp>
#include <bilin/train/sae_trainer.hpp>
#include <bilin/train/stop_signal.hpp>

#include "lm_common.hpp"

using namespace bilin;
namespace fs = std::filesystem;

namespace {

Flags make_flags() {
  Flags f("train_sae", "Train TopK sparse autoencoders on a language model's hook-point activations.");
  f.value("ckpt", "", "the language model: train_tinylm checkpoint or official folder (config.json, model.safetensors, tokenizer.json)", "PATH")
      .value("layer", "2", "layer whose hook point is read (0-based)", "L")
      .value("hook", "mlp_out", "hook point(s), comma-separated: resid_pre, resid_mid, mlp_in, mlp_out, resid_post", "H")
      .toggle("all-layers", "one SAE per layer (and per --hook) from one harvesting pass")
      .value("out", "sae_out", "output directory", "DIR")
      .value("expansion", "4", "latents per input dimension", "E")
      .value("k", "30", "active latents per activation (TopK)", "K")
      .toggle("relu", "ReLU after the TopK selection (the official code has none)")
      .value("steps", "4096", "training steps", "N")
      .value("batch", "4096", "activations per step", "B")
      .value("lr", "1e-4", "Adam learning rate (cosine decay)", "LR")
      .value("min-lr", "2e-5", "learning rate at the end of the cosine", "LR")
      .value("buffer", "262144", "activations held per hook point", "N")
      .value("reuse", "16", "passes over each buffer fill before it is refilled", "R")
      .value("windows", "16", "context windows per harvesting forward pass", "W")
      .value("aux-k", "0", "AuxK: dead latents that reconstruct the error (0: off, as the official code; Gao et al. use d/2)", "K")
      .value("aux-coef", "0.03125", "weight of the AuxK loss", "C")
      .value("dead-tokens", "1048576", "a latent is dead when it fired on none of this many recent activations", "N")
      .value("eval-windows", "32", "validation windows for metrics at every buffer fill", "N")
      .value("final-windows", "256", "validation windows for the final metrics and feature data", "N")
      .value("top", "10", "top-activating contexts kept per latent", "N")
      .value("data", lm::default_data_dir(), "TinyStories directory (for the token-cache key)", "DIR")
      .value("cache", "", "directory of the token caches (default: the checkpoint's)", "DIR")
      .value("seed", "0", "seed of the SAE init, window sampling and shuffling", "S")
      .value("precision", "fp32",
             "training GEMMs: fp32|bf16 (bf16 operands, fp32 accumulation; weights, optimizer state and "
             "checkpoints stay fp32, so --resume may switch it)",
             "P")
      .value("threads", "2", "OpenMP threads", "T")
      .value("log-every", "100", "steps between progress lines", "N")
      .toggle("resume", "continue from DIR's checkpoint(s)")
      .value("ckpt-every", "0", "also checkpoint every N steps within a buffer fill (0: at fill ends only)", "N")
      .value("skip-nonfinite", "0", "skip a step whose loss or gradient is NaN/Inf, at most N in a row (0: stop)", "N")
      .value("inject-nan", "-1", "test hook: make the first gradient NaN at this step", "STEP")
      .value("stop-at", "-1", "end at the first buffer fill at or after this step, as if interrupted", "N")
      .value("eval-sae", "", "evaluate this SAE file (bilin's or the official layout with --k) at its hook point and exit", "FILE")
      .value("time-steps", "0", "timing mode: N timed steps on random data, no model", "N")
      .value("d", "256", "timing mode: input width", "D");
  return f;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p <= s.size()) {
    const std::size_t q = std::min(s.find(',', p), s.size());
    if (q > p) out.push_back(s.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

train::SaeTrainOptions train_options(const Flags& f) {
  train::SaeTrainOptions o;
  o.expansion = f.integer("expansion");
  o.k = f.integer("k");
  o.relu = f.on("relu");
  o.steps = f.integer("steps");
  o.batch = f.integer("batch");
  o.lr = f.real("lr");
  o.min_lr = f.real("min-lr");
  o.buffer = f.integer("buffer");
  o.reuse = f.integer("reuse");
  o.windows_per_forward = f.integer("windows");
  o.dead_tokens = f.integer("dead-tokens");
  o.aux_k = f.integer("aux-k");
  o.aux_coef = f.real("aux-coef");
  o.seed = static_cast<std::uint64_t>(f.integer("seed"));
  o.precision = parse_precision(f.str("precision"), "train_sae --precision");
  o.validate();
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// --time-steps: one SAE training step (encode, decode, MSE, backward, ConstrainedAdam) on random
// activations, for bench/compare_torch_sae.py.
int time_mode(const Flags& f, const train::SaeTrainOptions& o) {
  const index_t d = f.integer("d"), steps = f.integer("time-steps");
  const nn::SaeConfig cfg = nn::SaeConfig::with_expansion(d, o.expansion, o.k, o.relu);
  train::SaeTrainer t(cfg, o, o.seed);
  Generator gen(o.seed + 1);
  const TensorF x = TensorF::randn({o.batch, d}, gen);
  std::vector<double> times;
  double loss = 0;
  for (index_t s = 0; s < steps + 2; ++s) {
    const double t0 = lm::now_seconds();
    loss = t.step(x);
    if (s >= 2) times.push_back(lm::now_seconds() - t0);
  }
  const double med = median(times);
  json::Value r = json::Value::object();
  r["mode"] = "timing";
  r["steps_per_s"] = med > 0 ? 1.0 / med : 0.0;
  r["median_step_s"] = med;
  r["step_seconds"] = json::Value::array_of(times);
  r["loss"] = loss;
  r["d"] = d;
  r["n_latents"] = cfg.n_latents;
  r["k"] = cfg.k;
  r["batch"] = o.batch;
  r["threads"] = omp_get_max_threads();
  r["precision"] = precision_name(o.precision);
  std::printf("%s\n", r.dump().c_str());
  return 0;
}

std::vector<std::uint64_t> spread_windows(std::size_t n_tokens, index_t ctx, index_t windows) {
  // all non-overlapping windows of ctx+1 tokens, `windows` of them spread evenly over the text
  const auto all = data::eval_window_starts(n_tokens, ctx, n_tokens);
  BILIN_CHECK(!all.empty(), "train_sae", "the validation text (", n_tokens, " tokens) is shorter than one window");
  std::vector<std::uint64_t> s;
  const std::size_t n = std::min(all.size(), static_cast<std::size_t>(windows));
  for (std::size_t i = 0; i < n; ++i) s.push_back(all[i * all.size() / n]);
  return s;
}

int run(const Flags& f, const train::SaeTrainOptions& o) {
  const double t_start = lm::now_seconds();
  const train::dist::DataParallel dp;  // under mpirun: the ranks split every batch, rank 0 writes
  const std::string ckpt = f.str("ckpt");
  BILIN_CHECK(!ckpt.empty(), "train_sae", "--ckpt PATH (a train_tinylm checkpoint or an official folder) is required");
  const train::LoadedLm loaded = train::load_lm(ckpt);
  nn::Transformer<float>& model = *loaded.model;
  const nn::TransformerConfig lmcfg = model.config();
  const auto& lm_meta = loaded.metadata;

  // targets
  const nn::SaeConfig scfg = nn::SaeConfig::with_expansion(lmcfg.d_model, o.expansion, o.k, o.relu);
  if (f.str("eval-sae").empty()) scfg.validate();
  std::vector<train::HookTarget> targets;
  std::vector<nn::HookPoint> hooks;
  for (const auto& h : split_commas(f.str("hook"))) hooks.push_back(nn::parse_hook_point(h));
  BILIN_CHECK(!hooks.empty(), "train_sae", "--hook names no hook point");
  const index_t layer = f.integer("layer");
  const bool eval_mode = !f.str("eval-sae").empty();
  if (f.on("all-layers")) {
    for (nn::HookPoint h : hooks)
      for (index_t l = 0; l < lmcfg.n_layer; ++l) targets.push_back({l, h});
  } else {
    BILIN_CHECK(eval_mode || (layer >= 0 && layer < lmcfg.n_layer), "train_sae", "--layer ", layer,
                " does not exist (the model has ", lmcfg.n_layer, " layers)");
    for (nn::HookPoint h : hooks) targets.push_back({layer, h});
  }
  std::optional<train::LoadedSae> evaluated;
  if (eval_mode) {  // an existing SAE: check it fits this model, then measure it
    const std::string path = f.str("eval-sae");
    evaluated = train::load_sae(path, f.given("k") ? std::optional<index_t>(o.k) : std::nullopt);
    if (!evaluated->metadata.count("sae_config"))
      evaluated->info = {nn::hook_point_name(targets[0].hook), targets[0].layer, "", ""};
    train::check_sae_fits(evaluated->info, *evaluated->sae, lmcfg, path);
    targets = {{evaluated->info.layer, nn::parse_hook_point(evaluated->info.hook)}};
  }

  // data
  const std::string cache = f.given("cache") ? f.str("cache") : fs::path(ckpt).parent_path().string();
  lm::LmData dat;
  std::optional<data::HfTokenizer> hf;  // an official folder: its tokenizer.json, one [BOS] per story
  if (loaded.official) {
    BILIN_CHECK(!loaded.tokenizer_json.empty(), "train_sae", loaded.path, " has no tokenizer.json to tokenize the stories with");
    hf = data::HfTokenizer::load(loaded.tokenizer_json);
    const data::TextCorpus corpus = data::load_tinystories(f.str("data"));
    dat.train = data::encode_documents(*hf, corpus.train);
    dat.val = data::encode_documents(*hf, corpus.val);
  } else {
    // under mpirun rank 0 makes the tokenizer and caches; the others then read them
    const auto prepare = [&] { return lm::prepare_tinystories(f.str("data"), static_cast<std::size_t>(lmcfg.vocab), cache.empty() ? "." : cache); };
    if (dp.root()) dat = prepare();
    dp.comm().barrier();
    if (!dp.root()) dat = prepare();
  }
  data::BpeTokenizer tok = dat.tokenizer;
  if (auto it = lm_meta.find("tokenizer"); it != lm_meta.end()) tok = data::BpeTokenizer::parse(it->second, ckpt + " (metadata 'tokenizer')");
  const auto decode = [&](std::span<const data::token_t> ts) {
    return hf ? hf->decode(std::vector<std::int64_t>(ts.begin(), ts.end()), false) : tok.decode(ts);
  };
  const index_t ctx = lmcfg.n_ctx;

  if (evaluated) {
    const auto ms = train::evaluate_saes(model, dat.val, ctx, spread_windows(dat.val.size(), ctx, f.integer("final-windows")),
                                         targets, {evaluated->sae.get()});
    json::Value r = train::metrics_json(ms[0]);
    r["layer"] = targets[0].layer;
    r["hook"] = nn::hook_point_name(targets[0].hook);
    r["sae"] = fs::absolute(f.str("eval-sae")).string();
    r["seconds"] = lm::now_seconds() - t_start;
    std::printf("%s\n", r.dump().c_str());
    return 0;
  }

  // output places
  const std::string out = f.str("out");
  const bool several = targets.size() > 1;
  std::vector<std::string> dirs;
  for (const auto& t : targets) dirs.push_back(several ? out + "/" + t.name() : out);
  if (dp.root())
    for (const auto& d : dirs) fs::create_directories(d);
  train::SaeInfo base;
  base.lm_checkpoint = fs::absolute(ckpt).string();
  if (auto it = lm_meta.find("model_crc32"); it != lm_meta.end()) base.lm_hash = "crc32:" + it->second;

  std::vector<std::unique_ptr<train::SaeTrainer>> trainers;
  std::vector<train::SaeTrainer*> tptr;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    trainers.push_back(std::make_unique<train::SaeTrainer>(scfg, o, o.seed + 17 * i));
    trainers.back()->set_nonfinite({f.integer("skip-nonfinite"), f.integer("inject-nan"), ""});
    tptr.push_back(trainers.back().get());
  }
  train::ActivationBuffer buf(model, dat.train, ctx, targets, o.buffer, o.windows_per_forward, o.seed + 1);

  train::SaeRunHooks hooks_cb;
  hooks_cb.stop_at = f.integer("stop-at");
  const std::string run_key = json::Value(train::sae_config_json(scfg, base)).dump() + " steps " + std::to_string(o.steps) + " aux " + std::to_string(o.aux_k) +
                              " batch " + std::to_string(o.batch) + " buffer " + std::to_string(o.buffer) + " reuse " +
                              std::to_string(o.reuse) + " seed " + std::to_string(o.seed);
  std::vector<std::string> ckpts;
  bool all_saved = true;  // a kill during the very first checkpoint leaves only some: start afresh
  for (const auto& d : dirs) {
    ckpts.push_back(d + "/ckpt.safetensors");
    all_saved = all_saved && fs::exists(ckpts.back());
  }
  if (f.on("resume") && all_saved) {
    std::map<std::string, std::string> meta;
    const auto metas = train::load_sae_checkpoints(tptr, ckpts, [&] {
      dp.comm().barrier();  // every rank has read the .prev files before rank 0 renames them
      return dp.root();
    });
    for (std::size_t i = 0; i < targets.size(); ++i) {
      meta = metas[i];
      BILIN_CHECK(meta["run_key"] == run_key, "train_sae", dirs[i], "/ckpt.safetensors was written by a different run (",
                  meta["run_key"], "), not ", run_key);
    }
    hooks_cb.resume = true;
    hooks_cb.resume_fills = std::stoll(meta.at("fills"));
    hooks_cb.resume_sampler = {std::stoull(meta.at("sampler_seed")), std::stoull(meta.at("sampler_counter"))};
    if (dp.root())
      for (const auto& d : dirs) train::trim_jsonl(d + "/metrics.jsonl", "step", trainers[0]->steps_done());
    if (dp.root()) std::fprintf(stderr, "resumed at step %lld\n", static_cast<long long>(trainers[0]->steps_done()));
  } else if (dp.root()) {
    for (const auto& d : dirs) io::write_file_atomic(d + "/metrics.jsonl", "");
  }
  if (dp.root()) std::fprintf(stderr, "train_sae: %zu SAE(s) d %lld n %lld k %lld; %lld steps of %lld; buffer %lld rows, %lld steps per fill, %s\n",
               targets.size(), static_cast<long long>(scfg.d), static_cast<long long>(scfg.n_latents),
               static_cast<long long>(scfg.k), static_cast<long long>(o.steps), static_cast<long long>(o.batch),
               static_cast<long long>(buf.rows()), static_cast<long long>(train::steps_per_fill(buf, o)), precision_name(o.precision));

  const auto eval_starts = spread_windows(dat.val.size(), ctx, f.integer("eval-windows"));
  std::vector<nn::TopKSAE<float>*> saes;
  for (auto& t : trainers) saes.push_back(&t->sae());
  const index_t log_every = f.integer("log-every");
  const double t_train0 = lm::now_seconds();
  const std::int64_t step0 = trainers[0]->steps_done();
  hooks_cb.on_step = [&](const train::SaeProgress& p) {
    if ((p.step % log_every != 0 && p.step != o.steps) || !dp.root()) return;
    const double per = p.seconds / static_cast<double>(std::max<std::int64_t>(1, p.step - step0));
    std::fprintf(stderr, "[%s] step %6lld/%lld  loss %.5f  lr %.2e  dead %.3f  %.1f steps/s  ETA %.0f s\n",
                 targets[p.target].name().c_str(), static_cast<long long>(p.step), static_cast<long long>(o.steps), p.loss,
                 p.lr, trainers[p.target]->dead_fraction(), 1.0 / per,
                 per * static_cast<double>(o.steps - p.step));
  };
  const auto save_all = [&](std::int64_t, std::int64_t fills, std::pair<std::uint64_t, std::uint64_t> st) {
    if (!dp.root()) return;  // every rank holds the same SAEs: one writes
    train::save_sae_checkpoints(tptr, ckpts,
                                {{"run_key", run_key},
                                 {"fills", std::to_string(fills)},
                                 {"sampler_seed", std::to_string(st.first)},
                                 {"sampler_counter", std::to_string(st.second)}});
  };
  hooks_cb.on_fill = [&](std::int64_t step, const train::ActivationBuffer& b) {
    if (!dp.root()) return;  // every rank holds the same SAEs: one evaluates and writes
    const auto ms = train::evaluate_saes(model, dat.val, ctx, eval_starts, targets, saes);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      json::Value m = train::metrics_json(ms[i]);
      m["step"] = step;
      m["dead_fraction"] = trainers[i]->dead_fraction();
      train::append_jsonl(dirs[i] + "/metrics.jsonl", m.dump());
      std::fprintf(stderr, "[%s] step %lld  val nmse %.4f  loss added %.4f  recovered %.4f  dead %.3f\n",
                   targets[i].name().c_str(), static_cast<long long>(step), ms[i].nmse, ms[i].loss_added,
                   ms[i].loss_recovered, trainers[i]->dead_fraction());
    }
    save_all(step, b.fills(), b.sampler_state());
  };
  hooks_cb.on_checkpoint = save_all;
  hooks_cb.ckpt_every = f.integer("ckpt-every");
  hooks_cb.checkpoint = dirs[0] + "/ckpt.safetensors" + (several ? " (and the other targets')" : "");
  train::install_stop_handlers("train_sae");
  const train::SaeRunTiming timing = train::train_saes(buf, tptr, o, hooks_cb);
  const double train_wall = lm::now_seconds() - t_train0;
  if (!dp.root()) return 0;

  json::Value list = json::Value::array();
  json::Value single;
  const bool finished = trainers[0]->steps_done() >= o.steps;
  const auto final_starts = spread_windows(dat.val.size(), ctx, f.integer("final-windows"));
  const auto ms = train::evaluate_saes(model, dat.val, ctx, final_starts, targets, saes);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    train::SaeInfo info = base;
    info.hook = nn::hook_point_name(targets[i].hook);
    info.layer = targets[i].layer;
    json::Value r = train::metrics_json(ms[i]);
    r["layer"] = targets[i].layer;
    r["hook"] = info.hook;
    r["dead_fraction"] = trainers[i]->dead_fraction();
    r["steps"] = trainers[i]->steps_done();
    r["train_seconds"] = timing.train_seconds[i];
    r["skipped_nonfinite"] = trainers[i]->nonfinite().skipped();
    if (finished) {
      const std::string path = dirs[i] + "/sae.safetensors";
      train::save_sae(path, trainers[i]->sae(), info,
                      {{"steps", std::to_string(trainers[i]->steps_done())}, {"precision", precision_name(o.precision)}});
      r["sae"] = fs::absolute(path).string();
      const auto feats = interp::sae_features(model, trainers[i]->sae(), targets[i], dat.val, ctx, final_starts,
                                              f.integer("top"));
      json::Value fj = interp::features_json(feats, dat.val, decode);
      io::write_file_atomic(dirs[i] + "/features.json", fj.dump());
      r["features"] = fs::absolute(dirs[i] + "/features.json").string();
    }
    list.push_back(r);
    single = r;
  }
  json::Value top = several ? json::Value::object() : single;
  if (several) top["saes"] = list;
  top["harvest_seconds"] = timing.harvest_seconds;
  top["train_wall_seconds"] = train_wall;
  top["seconds"] = lm::now_seconds() - t_start;
  top["finished"] = finished;
  top["k"] = scfg.k;
  top["expansion"] = o.expansion;
  top["threads"] = omp_get_max_threads();
  top["precision"] = precision_name(o.precision);
  std::printf("%s\n", top.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  lm::reexec_with_runtime_env(argv);
  lm::keep_freed_blocks_in_heap();
  try {
    Flags f = make_flags();
    if (!f.parse(argc, argv)) return 0;
    const auto o = train_options(f);
    const int threads = static_cast<int>(f.integer("threads"));
    BILIN_CHECK(threads > 0, "train_sae", "--threads must be positive, got ", threads);
    omp_set_num_threads(threads);
    if (f.integer("time-steps") == 0) train::dist::DataParallel().check_same_flags("train_sae", argc, argv);
    return f.integer("time-steps") > 0 ? time_mode(f, o) : run(f, o);
  } catch (const train::StopRequested& s) {
    std::fprintf(stderr, "%s\n", s.what());
    return train::kExitStopped;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_sae: error: %s\n", e.what());
    train::dist::Communicator::world().abort(1);  // the other ranks must not wait for this one
    return 1;
  }
}
