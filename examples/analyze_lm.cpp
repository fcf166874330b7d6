// analyze_lm — the paper's weight-based analysis of a language model's bilinear MLP (§3, §5,
// App. H, N, O), one layer or all, as one HTML report.
//
//   analyze_lm --ckpt LM --sae-out DIR --sae-in DIR --layer L --out DIR [flags]   (--help lists them)
//
// For every output feature a of the output SAE (at the layer's mlp_out) it forms the interaction
// matrix Q(e_a) from the weights (one batched job), eigendecomposes all of them, checks on real
// MLP inputs that uᵀMLP(x) = xᵀQx = Σλ(v·x)² (encoder rows, unembedding rows, contrasts, random
// directions) and the latent-basis identity of the input SAE, measures the active-only low-rank
// correlation curve (Fig. 9) with two controls, spectra against a random matrix, and circuits in
// the input SAE's latent basis (Fig. 8, App. N, O). DIR/report.html is self-contained; beside it
// results.safetensors + results.json hold the numbers for NumPy/PyTorch. Nothing is written
// before every computation has finished. The last stdout line is one JSON object.
// Under `mpirun -np N` each rank eigendecomposes its share of the output features (gathered on
// every rank); rank 0 alone does the rest and writes (README, "Distributed training").
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bilin/bilin.hpp>
#include <bilin/data/hf_tokenizer.hpp>
#include <bilin/interp/circuits.hpp>
#include <bilin/interp/distributed_spectra.hpp>
#include <bilin/interp/interaction_batch.hpp>
#include <bilin/interp/latent_basis.hpp>
#include <bilin/interp/lm_figures.hpp>
#include <bilin/interp/lm_mlp.hpp>
#include <bilin/interp/lm_sections.hpp>
#include <bilin/interp/lowrank_correlation.hpp>
#include <bilin/interp/sae_features.hpp>
#include <bilin/interp/spectral.hpp>
#include <bilin/io/flags.hpp>
#include <bilin/io/html_report.hpp>
#include <bilin/io/svg_heatmap.hpp>
#include <bilin/io/json.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/train/activation_buffer.hpp>
#include <bilin/train/load_lm.hpp>
#include <bilin/train/sae_file.hpp>

#include "lm_common.hpp"

using namespace bilin;
using namespace bilin::interp;
namespace fs = std::filesystem;

namespace {

struct Args {
  std::string ckpt, sae_out, sae_in, out, data, cache, text, layer = "2";
  std::vector<std::string> series;  // LABEL=PATH
  index_t time_repeats = 0, windows = 128, min_active = 10, exact_inputs = 2048, goe_pool = 32, top_features = 4, contexts = 5;
  std::uint64_t seed = 0;
  int threads = 2;
};

bool parse(int argc, char** argv, Args& a) {
  Flags f("analyze_lm", "Weight-based analysis of a language model's bilinear MLP layer(s), as one HTML report.");
  f.value("ckpt", "", "the language model (train_tinylm checkpoint, or an official folder with config.json, model.safetensors, tokenizer.json); required", "PATH")
      .value("sae-out", "", "output SAE at the layer's mlp_out: a sae.safetensors, its folder, or a folder of "
                            "<layer>-mlp_out/ folders (train_sae --all-layers); required", "PATH")
      .value("sae-in", "", "input SAE at mlp_in or resid_mid (same forms; optional: without it no latent basis "
                           "or circuits)", "PATH")
      .value("layer", "2", "layer to analyse (0-based), or 'all'", "L")
      .value("out", "analysis_lm", "output folder: report.html, results.safetensors, results.json", "DIR")
      .value("data", lm::default_data_dir(), "TinyStories directory (for the token caches' key)", "DIR")
      .value("cache", "", "directory of the token caches (default: the checkpoint's)", "DIR")
      .value("text", "", "held-out text file to analyse on, tokenized with the checkpoint's tokenizer (default: the "
                         "TinyStories validation split)", "FILE")
      .value("windows", "128", "held-out windows of n_ctx tokens (positions >= 1 are used)", "N")
      .value("min-active", "10", "active positions a feature needs to enter the correlation curve", "N")
      .value("exact-inputs", "2048", "MLP inputs in the exactness check (at least 1000)", "N")
      .value("goe-pool", "32", "random symmetric matrices in the GOE control", "N")
      .value("top-features", "4", "circuit features shown in detail", "N")
      .value("sae-out-series", "", "SAEs trained 1x/2x/4x/8x as long, for the Table 5 row: LABEL=PATH,...", "LIST")
      .value("seed", "0", "seed of the controls", "S")
      .value("time-repeats", "0", "timing mode: form and eigendecompose all Q(e_a) of the layer N times (float and "
                                  "double solves interleaved), print the medians as JSON, write nothing", "N")
      .value("threads", "2", "OpenMP threads", "T");
  if (!f.parse(argc, argv)) return false;
  a.ckpt = f.str("ckpt");
  a.sae_out = f.str("sae-out");
  a.sae_in = f.str("sae-in");
  a.layer = f.str("layer");
  a.out = f.str("out");
  a.data = f.str("data");
  a.cache = f.str("cache");
  a.text = f.str("text");
  a.windows = f.integer("windows");
  a.min_active = f.integer("min-active");
  a.exact_inputs = f.integer("exact-inputs");
  a.goe_pool = f.integer("goe-pool");
  a.top_features = f.integer("top-features");
  if (f.given("sae-out-series")) a.series = f.list("sae-out-series");
  a.seed = static_cast<std::uint64_t>(f.integer("seed"));
  a.time_repeats = f.integer("time-repeats");
  a.threads = static_cast<int>(f.integer("threads"));
  BILIN_CHECK(!a.ckpt.empty(), "analyze_lm", "--ckpt FILE (the language model) is required");
  BILIN_CHECK(!a.sae_out.empty(), "analyze_lm", "--sae-out PATH (the output SAE) is required");
  BILIN_CHECK(a.windows >= 1, "analyze_lm", "--windows must be >= 1, got ", a.windows);
  BILIN_CHECK(a.min_active >= 2, "analyze_lm", "--min-active must be >= 2, got ", a.min_active);
  BILIN_CHECK(a.exact_inputs >= 1, "analyze_lm", "--exact-inputs must be >= 1, got ", a.exact_inputs);
  BILIN_CHECK(a.goe_pool >= 1, "analyze_lm", "--goe-pool must be >= 1, got ", a.goe_pool);
  BILIN_CHECK(a.threads >= 1, "analyze_lm", "--threads must be >= 1, got ", a.threads);
  return true;
}

double now() { return lm::now_seconds(); }

// ---------------------------------------------------------------------------------------------
// The model: one small loader (other checkpoint layouts plug in here).
struct LmModel {
  std::shared_ptr<nn::Transformer<float>> model;
  nn::TransformerConfig config;
  std::map<std::string, std::string> meta;
  std::string path, hash;  // hash: "crc32:<model_crc32>" as train_sae stores it in SAE files
  std::string tokenizer_json;  // official folders: their tokenizer.json, if any
  bool official = false;
};

// A train_tinylm checkpoint or an official-layout folder (train/load_lm.hpp).
LmModel load_model(const std::string& path) {
  train::LoadedLm l = train::load_lm(path);
  LmModel m;
  m.path = l.path;
  m.model = l.model;
  m.config = l.model->config();
  m.meta = l.metadata;
  m.tokenizer_json = l.tokenizer_json;
  m.official = l.official;
  if (auto it = m.meta.find("model_crc32"); it != m.meta.end()) m.hash = "crc32:" + it->second;
  return m;
}

// An SAE given as a file, its folder, or a folder of <layer>-<hook>/ folders; checked against the model.
struct SaeAt {
  train::LoadedSae s;
  std::string path;
  nn::HookPoint hook = nn::HookPoint::MlpOut;
};

std::string find_sae_file(const std::string& p, index_t layer, const std::vector<std::string>& hooks) {
  if (fs::is_regular_file(p) || !train::official_sae_folder(p).empty()) return p;
  // a folder of official SAE folders (tdooms/ts-medium-scope: "<layer>-<hook>-x<e>-k<k>", hook with '-')
  if (fs::is_directory(p))
    for (const auto& h : hooks) {
      std::string dashed = h;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      std::vector<std::string> hits;
      for (const auto& e : fs::directory_iterator(p)) {
        const std::string name = e.path().filename().string();
        for (const std::string& pre : {std::to_string(layer) + "-" + dashed + "-x", dashed + "-" + std::to_string(layer) + "-x"})
          if (name.rfind(pre, 0) == 0 && !train::official_sae_folder(e.path().string()).empty()) hits.push_back(e.path().string());
      }
      std::sort(hits.begin(), hits.end());
      if (!hits.empty()) return hits.front();
    }
  if (fs::is_regular_file(p + "/sae.safetensors")) return p + "/sae.safetensors";
  for (const auto& h : hooks) {
    const std::string q = p + "/" + std::to_string(layer) + "-" + h + "/sae.safetensors";
    if (fs::is_regular_file(q)) return q;
  }
  throw Error("analyze_lm", msg("no SAE found at '", p, "' for layer ", layer, " (looked for the file, ", p,
                                "/sae.safetensors and ", p, "/", layer, "-", hooks.front(), "/sae.safetensors)"));
}

SaeAt load_sae_for(const std::string& given, index_t layer, const std::vector<std::string>& hooks, const LmModel& lm,
                   const char* role) {
  SaeAt a;
  a.path = find_sae_file(given, layer, hooks);
  a.s = train::load_sae(a.path);
  train::check_sae_fits(a.s.info, *a.s.sae, lm.config, a.path);
  a.hook = nn::parse_hook_point(a.s.info.hook);
  BILIN_CHECK(std::find(hooks.begin(), hooks.end(), nn::hook_point_name(a.hook)) != hooks.end(), "analyze_lm", role,
              " SAE ", a.path, " reads hook point ", a.s.info.hook, "; the ", role, " SAE must read ", hooks.front(),
              hooks.size() > 1 ? " or " + hooks[1] : std::string());
  BILIN_CHECK(a.s.info.layer == layer, "analyze_lm", role, " SAE ", a.path, " was trained on layer ", a.s.info.layer,
              ", not on the analysed layer ", layer);
  BILIN_CHECK(a.s.info.lm_hash.empty() || lm.hash.empty() || a.s.info.lm_hash == lm.hash, "analyze_lm", role, " SAE ",
              a.path, " was trained on another model (", a.s.info.lm_checkpoint, ", ", a.s.info.lm_hash, "), not on ",
              lm.path, " (", lm.hash, ")");
  return a;
}

// ---------------------------------------------------------------------------------------------
// Held-out text and the activations of one layer.
struct Text {
  data::BpeTokenizer tok;
  std::optional<data::HfTokenizer> hf;  // an official folder's tokenizer.json
  std::vector<data::token_t> val, train;  // train: next-token counts of the direct-path check
  std::vector<std::uint64_t> starts;
  index_t ctx = 0;
  std::string decode(std::span<const data::token_t> t) const {
    if (hf) return hf->decode(std::vector<std::int64_t>(t.begin(), t.end()), false);
    return tok.decode(t);
  }
};

Text load_text(const Args& args, const LmModel& lm) {
  Text t;
  const auto tok_meta = lm.meta.find("tokenizer");
  if (lm.official) {
    // The official data: one story per row, each starting with [BOS] (the tokenizer's template).
    BILIN_CHECK(!lm.tokenizer_json.empty() && !args.text.empty(), "analyze_lm", lm.path,
                " is an official-layout folder: it needs its tokenizer.json and --text FILE (held-out stories, one ",
                "per paragraph)");
    t.hf = data::HfTokenizer::load(lm.tokenizer_json);
    const std::string s = io::read_file(args.text, "analyze_lm");
    std::vector<std::string> stories;
    for (std::size_t b = 0; b < s.size();) {
      std::size_t e = s.find("\n\n", b);
      if (e == std::string::npos) e = s.size();
      if (s.find_first_not_of(" \t\r\n", b) < e) stories.push_back(s.substr(b, e - b));
      b = e + 2;
    }
    t.val = data::encode_documents(*t.hf, stories);
    t.train = t.val;  // the direct path's next-token counts come from the same stories
  } else if (!args.text.empty()) {
    BILIN_CHECK(tok_meta != lm.meta.end(), "analyze_lm", lm.path, " stores no tokenizer in its metadata; --text needs one");
    t.tok = data::BpeTokenizer::parse(tok_meta->second, lm.path + " (metadata 'tokenizer')");
    const std::string s = io::read_file(args.text, "analyze_lm");
    t.val = t.tok.encode(s);
    t.train = t.val;  // the direct path's next-token counts then come from this text too
  } else {
    const std::string cache = args.cache.empty() ? fs::path(lm.path).parent_path().string() : args.cache;
    lm::LmData dat = lm::prepare_tinystories(args.data, static_cast<std::size_t>(lm.config.vocab), cache.empty() ? "." : cache);
    t.tok = dat.tokenizer;
    if (tok_meta != lm.meta.end()) t.tok = data::BpeTokenizer::parse(tok_meta->second, lm.path + " (metadata 'tokenizer')");
    t.val = std::move(dat.val);
    t.train = std::move(dat.train);
  }
  t.ctx = lm.config.n_ctx;
  const auto all = data::eval_window_starts(t.val.size(), t.ctx, t.val.size());
  BILIN_CHECK(!all.empty(), "analyze_lm", "the held-out text", args.text.empty() ? std::string() : " " + args.text, " has ",
              t.val.size(), " tokens, fewer than one window of ", t.ctx + 1, " tokens: nothing to analyse");
  const std::size_t n = std::min(all.size(), static_cast<std::size_t>(args.windows));
  for (std::size_t i = 0; i < n; ++i) t.starts.push_back(all[i * all.size() / n]);
  return t;
}

struct Acts {
  TensorF mlp_in, mlp_out, sae_in;  // [N, d] at positions >= 1
};

Acts harvest_layer(LmModel& lm, const Text& text, index_t layer, std::optional<nn::HookPoint> in_hook) {
  std::vector<train::HookTarget> targets = {{layer, nn::HookPoint::MlpIn}, {layer, nn::HookPoint::MlpOut}};
  if (in_hook && *in_hook != nn::HookPoint::MlpIn) targets.push_back({layer, *in_hook});
  std::vector<TensorF> parts[3];
  for (std::size_t w = 0; w < text.starts.size(); w += 16) {
    const std::span<const std::uint64_t> ws(text.starts.data() + w, std::min<std::size_t>(16, text.starts.size() - w));
    auto a = train::harvest(*lm.model, text.val, text.ctx, ws, targets);
    for (std::size_t i = 0; i < a.size(); ++i) parts[i].push_back(a[i]);
  }
  auto cat = [](const std::vector<TensorF>& ps) {
    if (ps.empty()) return TensorF();
    index_t rows = 0;
    const index_t d = ps[0].size(1);
    for (const auto& p : ps) rows += p.size(0);
    TensorF out = TensorF::empty({rows, d});
    index_t r = 0;
    for (const auto& p : ps) std::copy_n(p.data(), p.numel(), out.data() + r * d), r += p.size(0);
    return out;
  };
  Acts a;
  a.mlp_in = cat(parts[0]);
  a.mlp_out = cat(parts[1]);
  a.sae_in = targets.size() > 2 ? cat(parts[2]) : a.mlp_in;
  return a;
}

// Fig. 8B's overlay directions (named d-vectors): the unembedding contrast U['bad'] − U['good']
// (through the final norm, as every unembedding direction here) and the MLP input of this layer
// at "not" right after the start-of-text token (the paper's "[BOS] not"). A direction whose words
// are not single tokens of this tokenizer is left out.
std::vector<std::pair<std::string, std::vector<float>>> fig8b_overlay(LmModel& lm, const Text& text, index_t layer) {
  const auto encode = [&text](const std::string& s) {
    if (text.hf) return text.hf->encode(s, false);
    const auto ids = text.tok.encode(s);
    return std::vector<std::int64_t>(ids.begin(), ids.end());
  };
  std::vector<std::pair<std::string, std::vector<float>>> out;
  const auto bg = single_token_ids(encode, {"bad", "good"});
  if (bg.size() == 2) {
    const TensorF u = contrast_directions(*lm.model, {{bg[0], bg[1]}});
    out.emplace_back("U['bad'] − U['good']", std::vector<float>(u.data(), u.data() + u.numel()));
  }
  const auto no = single_token_ids(encode, {"not"});
  std::vector<std::int64_t> bos = text.hf ? text.hf->encode("", true) : encode(data::kEndOfText);
  if (no.size() == 1 && bos.size() == 1) {
    const std::vector<data::token_t> seq = {static_cast<data::token_t>(bos[0]), static_cast<data::token_t>(no[0]),
                                            static_cast<data::token_t>(no[0])};
    const std::vector<std::uint64_t> start = {0};
    const TensorF x = train::harvest(*lm.model, seq, 2, start, {{layer, nn::HookPoint::MlpIn}})[0];
    out.emplace_back("MLP input at '[BOS] not'", std::vector<float>(x.data(), x.data() + x.numel()));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The analysis of one layer.
struct LayerResult {
  index_t layer = 0;
  SaeAt out_sae;
  std::optional<SaeAt> in_sae;
  index_t positions = 0, n_features = 0, d = 0;
  TensorF Q;                     // [m, d, d]
  SortedSpectra<float> spec, goe;
  double form_seconds = 0, eigh_seconds = 0;
  FormExactness ex_enc, ex_unemb, ex_contrast, ex_random;
  double latent_identity = -1;
  double exact_max = 0;
  CorrelationResult corr;
  double corr_seconds = 0;
  std::vector<SpectrumShape> spectra;  // per output feature
  SpectrumShape goe_median;
  double rank_median = 0;
  std::vector<std::pair<std::string, double>> series_k2;  // Table 5 row
  std::vector<std::string> out_labels, in_labels;           // short label per feature
  std::vector<std::vector<std::string>> out_contexts, in_contexts;
  CircuitAnalysis circuits;
  double circuit_seconds = 0;
  TokenLevel token;  // direct path and HOSVD (lm_sections.hpp)
  double seconds = 0;
};

// Top contexts of every latent, via the dashboard data of sae_features.hpp.
void feature_contexts(LmModel& lm, const Text& text, SaeAt& s, index_t layer, index_t top,
                      std::vector<std::string>& labels, std::vector<std::vector<std::string>>& contexts) {
  const SaeFeatures f = sae_features(*lm.model, *s.s.sae, {layer, s.hook}, text.val, text.ctx, text.starts, top);
  const json::Value j = features_json(f, text.val, [&](std::span<const data::token_t> t) { return text.decode(t); }, 10, 3);
  const auto& lat = j.at("latents");
  labels.assign(f.count.size(), "");
  contexts.assign(f.count.size(), {});
  for (std::size_t a = 0; a < f.count.size(); ++a) {
    for (const auto& e : lat.at(a).at("top").as_array()) contexts[a].push_back(e.at("context").as_string());
    labels[a] = "#" + std::to_string(a) + (contexts[a].empty() ? "" : " " + marked_token(contexts[a][0]));
  }
}

FormExactness exactness_for(const LayerMlp& mlp, LmModel& lm, const TensorF& Xe, const TensorF& U) {
  const TensorF Q = interaction_matrices(mlp.W, mlp.V, mlp.P, U);
  const SortedSpectra<float> s = eigh_sorted(Q, true);
  const TensorF out = mlp_forward(*lm.model, mlp.layer, Xe);
  const index_t N = Xe.size(0), m = U.size(0), d = U.size(1);
  TensorF ref = TensorF::empty({N, m});
  kernels::gemm<float>(kernels::Trans::N, kernels::Trans::T, N, m, d, 1.0f, out.data(), d, U.contiguous().data(), d, 0.0f,
                       ref.data(), m);
  return form_exactness(ref, Xe, Q, s);
}

TensorF rows_of(const TensorF& X, const std::vector<index_t>& idx) {
  const index_t d = X.size(1);
  TensorF out = TensorF::empty({static_cast<index_t>(idx.size()), d});
  for (std::size_t r = 0; r < idx.size(); ++r) std::copy_n(X.data() + idx[r] * d, d, out.data() + static_cast<index_t>(r) * d);
  return out;
}

std::vector<index_t> spread(index_t total, index_t want) {
  std::vector<index_t> v;
  const index_t n = std::min(total, want);
  for (index_t i = 0; i < n; ++i) v.push_back(i * total / n);
  return v;
}

void check_exactness(const Args& args, LayerResult& r, const LayerMlp& mlp, LmModel& lm, const Acts& acts) {
  const TensorF Xe = rows_of(acts.mlp_in, spread(acts.mlp_in.size(0), args.exact_inputs));
  const index_t m = r.n_features, V = lm.config.vocab;
  r.ex_enc = exactness_for(mlp, lm, Xe, rows_of(r.out_sae.s.sae->encoder(), spread(m, 64)));
  std::vector<index_t> toks;
  for (index_t t : spread(V, 16)) toks.push_back(t);
  r.ex_unemb = exactness_for(mlp, lm, Xe, unembedding_directions(*lm.model, toks));
  std::vector<std::pair<index_t, index_t>> pairs;
  for (index_t i = 0; i < 8; ++i) pairs.emplace_back((i * 509 + 7) % V, (i * 263 + 101) % V);
  r.ex_contrast = exactness_for(mlp, lm, Xe, contrast_directions(*lm.model, pairs));
  Generator gen(args.seed + 99);
  r.ex_random = exactness_for(mlp, lm, Xe, random_directions(8, r.d, gen));
  r.exact_max = std::max({r.ex_enc.form_rel, r.ex_enc.eigen_rel, r.ex_unemb.form_rel, r.ex_unemb.eigen_rel,
                          r.ex_contrast.form_rel, r.ex_contrast.eigen_rel, r.ex_random.form_rel, r.ex_random.eigen_rel});
  if (r.in_sae) {
    const TensorF H = rows_of(acts.sae_in, spread(acts.sae_in.size(0), args.exact_inputs));
    r.latent_identity = latent_identity_error(r.Q, spread(m, 8), *r.in_sae->s.sae, H);
    r.exact_max = std::max(r.exact_max, r.latent_identity);
  }
}

// The k = 2 mean correlation for another output SAE of the same layer (Table 5).
double series_k2(const Args& args, LayerResult& r, const LayerMlp& mlp, LmModel& lm, const Acts& acts,
                 const std::string& path) {
  SaeAt s = load_sae_for(path, r.layer, {"mlp_out"}, lm, "output");
  BILIN_CHECK(s.s.sae->d() == r.d, "analyze_lm", path, ": d = ", s.s.sae->d(), " but the layer has d = ", r.d);
  const TensorF Q = interaction_matrices(mlp.W, mlp.V, mlp.P, s.s.sae->encoder());
  const SortedSpectra<float> sp = eigh_sorted(Q, true);
  NoGradGuard ng;
  const auto act = active_sets(s.s.sae->encode(acts.mlp_out), s.s.sae->n_latents());
  CorrelationOptions o;
  o.ks = {1, 2};
  o.min_active = args.min_active;
  o.seed = args.seed;
  const CorrelationResult c = lowrank_correlations(sp, acts.mlp_in, act, o, r.goe);
  return CorrelationResult::mean_of(c.r, 1);
}

LayerResult analyze_layer(const Args& args, LmModel& lm, const Text& text, index_t layer) {
  const double t0 = now();
  LayerResult r;
  r.layer = layer;
  const LayerMlp mlp = bilinear_mlp(*lm.model, layer);
  r.out_sae = load_sae_for(args.sae_out, layer, {"mlp_out"}, lm, "output");
  if (!args.sae_in.empty()) r.in_sae = load_sae_for(args.sae_in, layer, {"mlp_in", "resid_mid"}, lm, "input");
  r.d = mlp.d();
  r.n_features = r.out_sae.s.sae->n_latents();
  std::cerr << "analyze_lm: layer " << layer << ": " << r.n_features << " output features, d " << r.d << ", hidden "
            << mlp.hidden() << "\n";

  double t = now();
  r.Q = interaction_matrices(mlp.W, mlp.V, mlp.P, r.out_sae.s.sae->encoder());
  r.form_seconds = now() - t;
  t = now();
  // under mpirun each rank decomposes its share of the features; rank 0 alone goes on
  auto& comm = train::dist::Communicator::world();
  r.spec = eigh_sorted_shared(r.Q, comm, true);
  r.eigh_seconds = now() - t;
  if (!comm.root()) return r;
  const double th = now();
  const Acts acts = harvest_layer(lm, text, layer, r.in_sae ? std::optional(r.in_sae->hook) : std::nullopt);
  r.positions = acts.mlp_in.size(0);
  std::cerr << "  harvested " << r.positions << " positions (" << text.starts.size() << " windows) in "
            << fmt_num(now() - th, 3) << " s\n";
  std::cerr << "  Q(e_a) for " << r.n_features << " features in " << fmt_num(r.form_seconds, 3) << " s, eigh in "
            << fmt_num(r.eigh_seconds, 3) << " s\n";

  // the GOE pool at the median off-diagonal scale of the Q's
  std::vector<double> stds;
  for (index_t a = 0; a < r.n_features; a += std::max<index_t>(1, r.n_features / 64))
    stds.push_back(offdiag_std(r.Q.data() + a * r.d * r.d, r.d));
  std::sort(stds.begin(), stds.end());
  Generator gg(args.seed + 7);
  TensorF G = TensorF::empty({args.goe_pool, r.d, r.d});
  for (index_t g = 0; g < args.goe_pool; ++g) {
    const TensorF one = goe_matrix<float>(r.d, stds[stds.size() / 2], gg);
    std::copy_n(one.data(), one.numel(), G.data() + g * r.d * r.d);
  }
  r.goe = eigh_sorted(G, true);

  t = now();
  check_exactness(args, r, mlp, lm, acts);
  std::cerr << "  exactness: max relative error " << r.exact_max << " (" << fmt_num(now() - t, 3) << " s)\n";

  t = now();
  NoGradGuard ng;
  const SparseCode<float> code = r.out_sae.s.sae->encode(acts.mlp_out);
  const auto act = active_sets(code, r.n_features);
  CorrelationOptions co;
  co.min_active = args.min_active;
  co.seed = args.seed;
  r.corr = lowrank_correlations(r.spec, acts.mlp_in, act, co, r.goe);
  r.corr_seconds = now() - t;
  BILIN_CHECK(r.corr.size() > 0, "analyze_lm", "no output feature has ", args.min_active, " active positions in ",
              r.positions, " held-out positions: the text is too short (raise --windows)");
  std::cerr << "  correlations of " << r.corr.size() << " features in " << fmt_num(r.corr_seconds, 3) << " s: r(k=2) "
            << CorrelationResult::mean_of(r.corr.r, 1) << "\n";

  for (index_t a = 0; a < r.n_features; ++a) r.spectra.push_back(spectrum_shape(r.spec.spectrum(a)));
  std::vector<SpectrumShape> gr;
  for (index_t g = 0; g < r.goe.count(); ++g) gr.push_back(spectrum_shape(r.goe.spectrum(g)));
  r.goe_median = median_shape(gr);
  r.rank_median = median_shape(r.spectra).rank;

  feature_contexts(lm, text, r.out_sae, layer, args.contexts, r.out_labels, r.out_contexts);
  if (r.in_sae) {
    feature_contexts(lm, text, *r.in_sae, layer, args.contexts, r.in_labels, r.in_contexts);
    t = now();
    CircuitOptions cop;
    cop.top_features = args.top_features;
    cop.seed = args.seed;
    cop.overlay = fig8b_overlay(lm, text, layer);
    r.circuits = analyze_circuits(r.Q, r.spec, *r.out_sae.s.sae, *r.in_sae->s.sae, acts.mlp_in, act, r.out_contexts, cop);
    r.circuit_seconds = now() - t;
    std::cerr << "  circuits in " << fmt_num(r.circuit_seconds, 3) << " s\n";
  }

  if (!args.series.empty()) {
    for (const auto& item : args.series) {
      const auto eq = item.find('=');
      BILIN_CHECK(eq != std::string::npos && eq > 0, "analyze_lm", "--sae-out-series item '", item,
                  "' must look like LABEL=PATH");
      r.series_k2.emplace_back(item.substr(0, eq), series_k2(args, r, mlp, lm, acts, item.substr(eq + 1)));
      std::cerr << "  series " << r.series_k2.back().first << ": r(k=2) " << r.series_k2.back().second << "\n";
    }
  }
  auto encode = [&text](const std::string& s) {
    if (text.hf) return text.hf->encode(s, false);
    const auto ids = text.tok.encode(s);
    return std::vector<std::int64_t>(ids.begin(), ids.end());
  };
  r.token = analyze_token_level(*lm.model, layer, text.train, encode, [&text](index_t id) {
    const data::token_t x = static_cast<data::token_t>(id);
    return text.decode(std::span<const data::token_t>(&x, 1));
  });
  std::cerr << "  direct path: Spearman " << r.token.direct.agreement_mlp.spearman_mean << "; HOSVD sigma_1 "
            << r.token.hosvd.hosvd.singular_values[0] << "\n";
  r.seconds = now() - t0;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Report sections.
std::string f3(double v) { return fmt_num(v, 3); }

// The measured k closest to k from below (a layer narrower than 64 stops at d).
std::size_t k_index(const CorrelationResult& c, index_t k) {
  std::size_t j = 0;
  for (std::size_t i = 0; i < c.ks.size(); ++i)
    if (c.ks[i] <= k) j = i;
  return j;
}
double corr_mean(const LayerResult& r, index_t k) { return CorrelationResult::mean_of(r.corr.r, k_index(r.corr, k)); }

void section_overview(io::HtmlReport& rep, const LayerResult& r) {
  const double r1 = corr_mean(r, 1), r2 = corr_mean(r, 2);
  const std::size_t j2 = r.corr.index_of(2);
  rep.key_numbers({{"layer", std::to_string(r.layer)},
                   {"output features analysed", std::to_string(r.corr.size()) + " / " + std::to_string(r.n_features)},
                   {"exactness (max rel. error)", fmt_num(r.exact_max, 2)},
                   {"mean r, k = 1 / 2", f3(r1) + " / " + f3(r2)},
                   {"controls at k = 2 (random eig / GOE)",
                    f3(CorrelationResult::mean_of(r.corr.r_random, j2)) + " / " + f3(CorrelationResult::mean_of(r.corr.r_goe, j2))},
                   {"fraction r > 0.75 at k = 2", fmt_pct(r.corr.frac_above(j2, 0.75))},
                   {"median effective rank (GOE)", f3(r.rank_median) + " (" + f3(r.goe_median.rank) + ")"}},
                  "Layer " + std::to_string(r.layer) + ": key numbers");
  rep.table({"paper (6-layer TinyStories / FineWeb models)", "this model"},
            {{"uᵀMLP(x) = xᵀQx = Σλ(v·x)² exactly (Eq. 3)", "max relative error " + fmt_num(r.exact_max, 2)},
             {"mean active-only r ≈ 0.65 at k = 1, rising steadily (Fig. 9A)", "r(1) = " + f3(r1) + ", r(2) = " + f3(r2) +
                                                                                   ", r(" + std::to_string(r.corr.ks[k_index(r.corr, 64)]) + ") = " + f3(corr_mean(r, 64))},
             {"most features r > 0.75 at k = 2 (Fig. 9B; a reproduction: 32–65%)", fmt_pct(r.corr.frac_above(j2, 0.75))},
             {"Table 5: k = 2 mean 0.17 → 0.28 → 0.42 → 0.52 → 0.59 with SAE training",
              r.series_k2.empty() ? std::string("(no --sae-out-series given)") : [&] {
                std::string s;
                for (const auto& [l, v] : r.series_k2) s += (s.empty() ? "" : " → ") + l + " " + f3(v);
                return s;
              }()},
             {"negation feature: two outlier eigenvalues +0.62 / −0.66 against a random matrix (Fig. 27B)",
              r.circuits.features.empty() ? std::string("(no input SAE)")
                                          : "top circuit feature #" + std::to_string(r.circuits.features[0].feature) +
                                                ": λ₁ = " + f3(r.circuits.features[0].top_pos) + ", λ₋₁ = " +
                                                f3(r.circuits.features[0].top_neg) + ", GOE max |μ| " + f3(r.circuits.goe_max)},
             {"cross-interaction std 0.004 (App. N)", r.circuits.features.empty() ? std::string("—") : fmt_num(r.circuits.features[0].cross_std, 2)},
             {"antipodal output pair, decoder cosine −0.975", r.circuits.pairs.empty() ? std::string("none ≤ −0.9")
                                                                                      : std::to_string(r.circuits.pairs.size()) + " pairs, most negative " + f3(r.circuits.pairs[0].cosine)}},
            "The paper's LM numbers next to this model's.");
}

void section_exactness(io::HtmlReport& rep, const LayerResult& r) {
  rep.section("Layer " + std::to_string(r.layer) + ": the MLP as interaction matrices");
  rep.paragraph("For any output direction u, uᵀMLP(x) = xᵀQ(u)x with Q(u) = ½(Wᵀdiag(Pᵀu)V + Vᵀdiag(Pᵀu)W), and with "
                "the eigendecomposition Q = Σλᵢvᵢvᵢᵀ, uᵀMLP(x) = Σλᵢ(vᵢ·x)². All " + std::to_string(r.n_features) +
                " matrices Q(e_a) for the output SAE's encoder rows e_a were formed in one batched job (" +
                f3(r.form_seconds) + " s) and eigendecomposed (" + f3(r.eigh_seconds) + " s). The identities on " +
                std::to_string(r.ex_enc.inputs) + " real MLP inputs (max |error| / max |uᵀMLP(x)| per direction, "
                "worst direction):");
  auto row = [](const std::string& k, const FormExactness& e) {
    return std::vector<std::string>{k, std::to_string(e.directions), fmt_num(e.form_rel, 2), fmt_num(e.eigen_rel, 2)};
  };
  std::vector<std::vector<std::string>> rows = {row("output-SAE encoder rows", r.ex_enc),
                                                row("unembedding rows (through the final norm)", r.ex_unemb),
                                                row("contrasts U[a] − U[b]", r.ex_contrast), row("random unit directions", r.ex_random)};
  rep.table({"directions u", "count", "xᵀQx vs uᵀMLP(x)", "Σλ(v·x)² vs uᵀMLP(x)"}, rows, "Exactness (relative errors).");
  if (r.in_sae)
    rep.paragraph("Latent basis: with the input SAE's decoder D and its bias b_dec as one extra always-on latent, "
                  "x̂ᵀQx̂ = z'ᵀ(D'ᵀQD')z' for the SAE's reconstruction x̂ = D'z'; largest relative difference over 8 "
                  "features: " + fmt_num(r.latent_identity, 2) + ".");
}

void section_correlation(io::HtmlReport& rep, const LayerResult& r) {
  rep.section("Layer " + std::to_string(r.layer) + ": output features are low rank (Fig. 9)");
  const auto& c = r.corr;
  rep.paragraph("For each output feature with at least 10 active positions in the held-out text (" +
                std::to_string(c.size()) + " of " + std::to_string(r.n_features) + ", " + std::to_string(r.positions) +
                " positions), the Pearson correlation over its active positions between its activation and the top-k "
                "approximation Σ_{i≤k} λᵢ(vᵢ·x)². Controls: k eigenvectors of the same Q picked at random, and the "
                "top-k eigenvectors of a random symmetric (GOE) matrix with the same entry scale.");
  std::vector<double> x, m, mr, mg;
  for (std::size_t j = 0; j + 1 < c.ks.size(); ++j) {
    x.push_back(static_cast<double>(c.ks[j]));
    m.push_back(CorrelationResult::mean_of(c.r, j));
    mr.push_back(CorrelationResult::mean_of(c.r_random, j));
    mg.push_back(CorrelationResult::mean_of(c.r_goe, j));
  }
  io::Plot p = curve_plot(x, {{"top-k by |λ|", m}, {"k random eigenvectors", mr}, {"GOE top-k", mg}},
                          "Mean active-only correlation vs k", "k (eigenvectors kept)", "mean Pearson r");
  p.hline(CorrelationResult::mean_of(c.r, c.ks.size() - 1), "k = d (all)");
  rep.svg(p, "Mean correlation curve (Fig. 9A analogue). Dashed: k = d = " + std::to_string(r.d) + ".");
  const std::size_t j2 = c.index_of(2);
  std::vector<double> h2, hr, hg;
  for (std::size_t f = 0; f < c.r.size(); ++f) h2.push_back(c.r[f][j2]), hr.push_back(c.r_random[f][j2]), hg.push_back(c.r_goe[f][j2]);
  rep.svg(histogram_plot({{"top-2 by |λ|", h2}, {"2 random eigenvectors", hr}, {"GOE top-2", hg}}, -1, 1, 40,
                         "Correlation at k = 2 per feature", "Pearson r"),
          "Histogram at k = 2 (Fig. 9B analogue); fraction above 0.75: " + fmt_pct(c.frac_above(j2, 0.75)) + ".");
  std::vector<std::vector<std::string>> rows;
  for (index_t k : {1, 2, 4, 8, 16, 32, 64}) {
    if (k >= r.d) break;
    const std::size_t j = c.index_of(k);
    rows.push_back({std::to_string(k), f3(CorrelationResult::mean_of(c.r, j)), f3(CorrelationResult::mean_of(c.r_random, j)),
                    f3(CorrelationResult::mean_of(c.r_goe, j)), fmt_pct(c.frac_above(j, 0.75))});
  }
  const std::size_t jd = c.ks.size() - 1;
  double worst = 1;
  for (const auto& v : c.r) worst = std::min(worst, v[jd]);
  rows.push_back({"d = " + std::to_string(r.d), f3(CorrelationResult::mean_of(c.r, jd)), f3(CorrelationResult::mean_of(c.r_random, jd)),
                  f3(CorrelationResult::mean_of(c.r_goe, jd)), fmt_pct(c.frac_above(jd, 0.75))});
  rep.table({"k", "mean r (top |λ|)", "random eigenvectors", "GOE", "fraction r > 0.75"}, rows,
            "At k = d every feature's r is 1 up to rounding (smallest: " + fmt_num(worst, 7) + ").");
  if (!r.series_k2.empty()) {
    std::vector<std::vector<std::string>> srows;
    for (const auto& [l, v] : r.series_k2) srows.push_back({l, f3(v)});
    rep.table({"output SAE training", "mean r at k = 2"}, srows,
              "Table 5 analogue (paper, fw-medium: 0.17 / 0.28 / 0.42 / 0.52 / 0.59 at 1/2/4/8/16×).");
  }
}

void section_spectra(io::HtmlReport& rep, const LayerResult& r) {
  rep.section("Layer " + std::to_string(r.layer) + ": spectra against a random matrix");
  rep.paragraph("Effective rank (Σ|λ|)²/Σλ² (the official compute_effective_rank) and the share of Σλ² in the top 2 "
                "and top 8 eigenvalues, for Q(e_a) and for its traceless part Q − (tr Q/d)·I (on inputs of fixed norm "
                "the trace adds a constant), against GOE matrices of the same size and entry scale.");
  const auto med = median_shape(r.spectra);
  auto row = [](const std::string& k, const SpectrumShape& s) {
    return std::vector<std::string>{k, f3(s.rank), fmt_pct(s.e2), fmt_pct(s.e8), f3(s.rank_tl), fmt_pct(s.e2_tl), fmt_pct(s.e8_tl)};
  };
  rep.table({"", "effective rank", "top-2 energy", "top-8 energy", "traceless: rank", "top-2", "top-8"},
            {row("median over output features", med), row("median over GOE samples", r.goe_median)},
            "GOE closed form for n = 256: rank ≈ 0.72n ≈ 184, top-2 ≈ 3%, top-8 ≈ 12%.");
  std::vector<double> rk, gk;
  for (const auto& s : r.spectra) rk.push_back(s.rank);
  for (index_t g = 0; g < r.goe.count(); ++g) gk.push_back(l1l2_rank(r.goe.spectrum(g)));
  // the x range hugs the data (both populations sit in a narrow band of [0, d])
  double lo = static_cast<double>(r.d), hi = 0;
  for (const auto* v : {&rk, &gk})
    for (double x : *v) lo = std::min(lo, x), hi = std::max(hi, x);
  const double pad = std::max(1.0, 0.05 * (hi - lo));
  rep.svg(histogram_plot({{"output features", rk}, {"GOE", gk}}, std::max(0.0, std::floor(lo - pad)),
                         std::ceil(hi + pad), 40, "Effective rank (L1/L2)² per output feature", "effective rank", false, true),
          "Effective ranks of all " + std::to_string(r.n_features) + " Q(e_a) against the " +
              std::to_string(r.goe.count()) + " GOE samples, each as a fraction of its own count.");
}

std::string contexts_text(const std::vector<std::string>& cs, std::size_t n = 3) {
  std::string s;
  for (std::size_t i = 0; i < std::min(n, cs.size()); ++i) s += (s.empty() ? "" : "  |  ") + cs[i];
  return s;
}

void section_circuits(io::HtmlReport& rep, const LayerResult& r) {
  if (!r.in_sae) return;
  const auto& C = r.circuits;
  rep.section("Layer " + std::to_string(r.layer) + ": circuits in the input SAE's latent basis (Fig. 8, App. N, O)");
  rep.paragraph("Q_lat(a) = D'ᵀQ(e_a)D' for the input SAE (" + r.in_sae->s.info.hook + ", " +
                std::to_string(r.in_sae->s.sae->n_latents()) + " latents + b_dec). Output features are ranked by the "
                "official heuristic: IQR outliers of the cross-interactions 2·Q_lat[i,j] (i < j, factor 4) and "
                "self-interactions Q_lat[i,i] (factor 2), largest |outlier| first; and by the sum of the top-2 |λ| "
                "of Q(e_a).");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < std::min<std::size_t>(12, C.by_outliers.size()); ++i) {
    const index_t a = C.by_outliers[i];
    rows.push_back({std::to_string(i + 1), std::to_string(a), f3(C.outlier_max[a]), std::to_string(C.outlier_count[a]),
                    contexts_text(r.out_contexts[a], 2)});
  }
  rep.table({"rank", "output feature", "largest |outlier|", "outliers", "top contexts"}, rows, "Ranked by IQR outliers.");
  rows.clear();
  for (std::size_t i = 0; i < std::min<std::size_t>(8, C.by_top2.size()); ++i) {
    const index_t a = C.by_top2[i];
    rows.push_back({std::to_string(i + 1), std::to_string(a), f3(C.top2_sum[a]), contexts_text(r.out_contexts[a], 2)});
  }
  rep.table({"rank", "output feature", "top-2 |λ| sum", "top contexts"}, rows, "Ranked by the sum of the top-2 |λ|.");
  rows.clear();
  for (std::size_t i = 0; i < std::min<std::size_t>(10, C.pairs.size()); ++i)
    rows.push_back({std::to_string(C.pairs[i].a) + " / " + std::to_string(C.pairs[i].b), f3(C.pairs[i].cosine),
                    contexts_text(r.out_contexts[C.pairs[i].a], 1), contexts_text(r.out_contexts[C.pairs[i].b], 1)});
  if (rows.empty()) rep.paragraph("No antipodal output pair (decoder cosine ≤ −0.9) in this SAE.");
  else rep.table({"pair", "decoder cosine", "contexts of the first", "of the second"}, rows, "Antipodal output pairs (cosine ≤ −0.9).");
  if (!C.negation.empty()) {
    rows.clear();
    for (const auto& [a, frac] : C.negation) rows.push_back({std::to_string(a), fmt_pct(frac), contexts_text(r.out_contexts[a], 3)});
    rep.table({"output feature", "top contexts on a negation", "top contexts"}, rows,
              "Negation probe: output features whose top-activating tokens are \"not\", \"n't\" or \"never\".");
  } else {
    rep.paragraph("Negation probe: no output feature has a negation (\"not\", \"n't\", \"never\") as the activating token of "
                  "most of its top contexts.");
  }
  for (const auto& fc : C.features) {
    const index_t a = fc.feature;
    rep.subsection("Output feature #" + std::to_string(a) + " (" + fc.why + ")");
    rep.paragraph("Top contexts: " + contexts_text(r.out_contexts[a], 4));
    std::vector<double> sub(fc.sub_matrix.begin(), fc.sub_matrix.end());
    const int ns = static_cast<int>(fc.sub_features.size());
    const index_t n_in = r.in_sae->s.sae->n_latents();
    io::HeatmapOptions ho;
    ho.title = "Q_lat(" + std::to_string(a) + "): top-15 interactions";
    ho.xlabel = "input latent (column)";
    ho.ylabel = "input latent (row)";
    ho.value_label = "Q_lat[i, j]";
    ho.scale = fc.sub_scale;
    ho.cell = std::clamp(300 / std::max(1, ns), 14, 28);
    for (index_t b : fc.sub_features) {
      std::string l = b == n_in ? std::string("b_dec") : b < static_cast<index_t>(r.in_labels.size()) ? r.in_labels[b] : std::to_string(b);
      if (l.size() > 22) l = l.substr(0, 21) + "…";
      ho.row_labels.push_back(l);
    }
    ho.col_labels = ho.row_labels;
    rep.svg(io::heatmap_svg(sub, ns, ns, ho),
            "Top-15 interaction submatrix in the input SAE's latent basis (Fig. 8A): rows and columns are the input "
            "latents taking part in the 15 largest |interactions|, labelled #index and the token their top context "
            "fires on; diagonal = self-interactions. Red positive, blue negative, symmetric scale ±" +
                fmt_num(fc.sub_scale, 2) + ".");
    rep.svg(histogram_plot({{"cross 2·Q_lat[i,j]", fc.cross_sample}, {"self Q_lat[i,i]", fc.self_values}}, fc.hist_lo, fc.hist_hi, 60,
                           "Self vs cross interactions", "interaction", true),
            "Cross-interaction std " + fmt_num(fc.cross_std, 2) + " (paper: 0.004).");
    rep.svg(spectrum_vs_random_plot(r.spec.spectrum(a), fc.goe_values, 30, "Eigenvalues vs random"),
            "Top-30 |λ| of Q(e_" + std::to_string(a) + ") against a GOE matrix of the same entry scale.");
    std::vector<double> cp, cn;
    for (const auto& [cpos, cneg] : fc.cosines) cp.push_back(cpos), cn.push_back(cneg);
    io::Plot sc;
    sc.title("Input features on v₊ / v₋ (Fig. 8B)")
        .xlabel("cosine with v₊ (largest λ > 0)")
        .ylabel("cosine with v₋ (most negative λ)")
        .xlim(-1, 1)
        .ylim(-1, 1)
        .size(480, 420);
    io::Series lat;
    lat.name = "input latents of the submatrix";
    lat.x = cp;
    lat.y = cn;
    lat.kind = io::Series::Kind::scatter;
    lat.marker_size = 3.5;
    sc.add(lat);
    static const char* overlay_colors[] = {"#d62728", "#2ca02c", "#9467bd"};
    std::string overlay_text;
    for (std::size_t i = 0; i < fc.overlay.size(); ++i) {
      const auto& o = fc.overlay[i];
      io::Series s;
      s.name = o.name;
      s.x = {o.cos_pos};
      s.y = {o.cos_neg};
      s.kind = io::Series::Kind::scatter;
      s.marker_size = 6;
      s.color = overlay_colors[i % 3];
      sc.add(s);
      overlay_text += "; " + o.name + ": (" + fmt_num(o.cos_pos, 2) + ", " + fmt_num(o.cos_neg, 2) + ")";
    }
    rep.svg(sc, "Decoder directions of the latents in the top interactions, projected on the top positive and negative "
                "eigenvectors by cosine, with the paper's overlay: the 'bad' − 'good' unembedding difference and the "
                "MLP input at \"[BOS] not\"" + overlay_text + ".");
    rep.svg(scatter_plot(fc.approx, fc.truth, "Rank-2 approximation", "λ₁(v₁·x)² + λ₂(v₂·x)²", "feature activation"),
            "Active positions: r = " + f3(fc.rank2_r) + " (paper 0.66), " + f3(fc.rank2_r_large) +
                " on the larger half of the activations (paper 0.76).");
    std::vector<std::vector<std::string>> irows;
    for (index_t b : fc.sub_features)
      irows.push_back({b == r.in_sae->s.sae->n_latents() ? "b_dec" : std::to_string(b),
                       b < static_cast<index_t>(r.in_contexts.size()) ? contexts_text(r.in_contexts[b], 2) : "always on"});
    rep.table({"input latent", "top contexts"}, irows, "The input features in the submatrix.");
  }
}

// --time-repeats: the batched job alone (forming every Q(e_a), eigendecomposing them), repeated.
int time_mode(const Args& args, LmModel& lm, index_t layer) {
  const LayerMlp mlp = bilinear_mlp(*lm.model, layer);
  const SaeAt sae = load_sae_for(args.sae_out, layer, {"mlp_out"}, lm, "output");
  std::vector<double> form, ef, ed, ef_cpu;
  // process CPU time over all threads: with other jobs on the machine, wall time overstates the work
  const auto cpu = [] { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; };
  for (index_t r = 0; r < args.time_repeats; ++r) {
    double t = now();
    const TensorF Q = interaction_matrices(mlp.W, mlp.V, mlp.P, sae.s.sae->encoder());
    form.push_back(now() - t);
    t = now();
    const double c0 = cpu();
    eigh_sorted(Q, true, false);
    ef_cpu.push_back(cpu() - c0);
    ef.push_back(now() - t);
    t = now();
    eigh_sorted(Q, true, true);
    ed.push_back(now() - t);
    std::cerr << "repeat " << r + 1 << "/" << args.time_repeats << ": form " << f3(form.back()) << " s, eigh float "
              << f3(ef.back()) << " s, double " << f3(ed.back()) << " s\n";
  }
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  json::Value j = json::Value::object();
  j["mode"] = "timing";
  j["layer"] = layer;
  j["matrices"] = sae.s.sae->n_latents();
  j["d"] = mlp.d();
  j["form_seconds_median"] = med(form);
  j["eigh_float_seconds_median"] = med(ef);
  j["eigh_double_seconds_median"] = med(ed);
  j["eigh_float_cpu_seconds_median"] = med(ef_cpu);
  j["form_seconds"] = json::Value::array_of(form);
  j["eigh_float_seconds"] = json::Value::array_of(ef);
  j["eigh_double_seconds"] = json::Value::array_of(ed);
  j["threads"] = omp_get_max_threads();
  std::cout << j.dump() << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Outputs, written only after every layer is computed.
json::Value layer_summary(const LayerResult& r) {
  json::Value j = json::Value::object();
  j["layer"] = r.layer;
  j["exactness_max_rel_err"] = r.exact_max;
  json::Value cm = json::Value::object();
  for (std::size_t i = 0; i < r.corr.ks.size(); ++i) {
    const double v = CorrelationResult::mean_of(r.corr.r, i);
    if (r.corr.ks[i] != r.d || r.d <= 64) cm[std::to_string(r.corr.ks[i])] = v;
    if (r.corr.ks[i] == r.d) cm["d"] = v;
  }
  j["corr_mean"] = cm;
  const std::size_t j2 = r.corr.index_of(2);
  j["corr_control_random_eig"] = CorrelationResult::mean_of(r.corr.r_random, j2);
  j["corr_control_goe"] = CorrelationResult::mean_of(r.corr.r_goe, j2);
  j["frac_above_075_k2"] = r.corr.frac_above(j2, 0.75);
  double worst = 1;
  for (const auto& v : r.corr.r) worst = std::min(worst, v.back());
  j["corr_min_k_d"] = worst;
  j["effective_rank_median"] = r.rank_median;
  j["goe_effective_rank"] = r.goe_median.rank;
  j["effective_rank_traceless_median"] = median_shape(r.spectra).rank_tl;
  j["top2_energy_median"] = median_shape(r.spectra).e2;
  j["goe_top2_energy"] = r.goe_median.e2;
  j["features_analysed"] = r.corr.size();
  j["features_total"] = r.n_features;
  j["positions"] = r.positions;
  j["latent_identity_rel_err"] = r.latent_identity;
  j["form_seconds"] = r.form_seconds;
  j["eigh_seconds"] = r.eigh_seconds;
  j["corr_seconds"] = r.corr_seconds;
  j["circuit_seconds"] = r.circuit_seconds;
  const json::Value tl = token_level_json(r.token);
  for (const auto& [k, v] : tl.as_object()) j[k] = v;
  j["layer_seconds"] = r.seconds;
  if (!r.series_k2.empty()) {
    json::Value s = json::Value::object();
    for (const auto& [l, v] : r.series_k2) s[l] = v;
    j["corr_k2_series"] = s;
  }
  if (!r.circuits.features.empty()) {
    json::Value cf = json::Value::array();
    for (const auto& fc : r.circuits.features) {
      json::Value o = json::Value::object();
      o["feature"] = fc.feature;
      o["why"] = fc.why;
      o["top_pos"] = fc.top_pos;
      o["top_neg"] = fc.top_neg;
      o["cross_std"] = fc.cross_std;
      o["rank2_r"] = fc.rank2_r;
      cf.push_back(o);
    }
    j["circuit_features"] = cf;
    j["antipodal_pairs"] = static_cast<index_t>(r.circuits.pairs.size());
  }
  return j;
}

// Per output feature: eigenvalues, top eigenvectors, correlation curve, spectral measures;
// the circuit matrices.
std::vector<std::pair<std::string, io::AnyTensor>> export_tensors(const LayerResult& r, index_t top_vecs) {
  const std::string p = "layer" + std::to_string(r.layer) + ".";
  const index_t m = r.n_features, d = r.d, kv = std::min(top_vecs, d);
  std::vector<std::pair<std::string, io::AnyTensor>> t;
  t.emplace_back(p + "eigenvalues", r.spec.values);
  TensorF vec = TensorF::empty({m, kv, d});
  for (index_t a = 0; a < m; ++a) std::copy_n(r.spec.vecs(a), kv * d, vec.data() + a * kv * d);
  t.emplace_back(p + "top_eigenvectors", vec);
  const index_t K = static_cast<index_t>(r.corr.ks.size());
  TensorF curve = TensorF::full({m, K}, std::nanf("")), cr = TensorF::full({m, K}, std::nanf("")),
          cg = TensorF::full({m, K}, std::nanf(""));
  for (std::size_t f = 0; f < r.corr.features.size(); ++f)
    for (index_t j = 0; j < K; ++j) {
      const index_t a = r.corr.features[f];
      curve.data()[a * K + j] = static_cast<float>(r.corr.r[f][j]);
      cr.data()[a * K + j] = static_cast<float>(r.corr.r_random[f][j]);
      cg.data()[a * K + j] = static_cast<float>(r.corr.r_goe[f][j]);
    }
  t.emplace_back(p + "corr_curve", curve);
  t.emplace_back(p + "corr_control_random_eig", cr);
  t.emplace_back(p + "corr_control_goe", cg);
  std::vector<std::int64_t> ks(r.corr.ks.begin(), r.corr.ks.end());
  t.emplace_back(p + "corr_ks", Tensor<std::int64_t>::from_vector(ks, {K}));
  TensorF sm = TensorF::empty({m, 6});
  for (index_t a = 0; a < m; ++a) {
    const auto& s = r.spectra[a];
    const double v[6] = {s.rank, s.e2, s.e8, s.rank_tl, s.e2_tl, s.e8_tl};
    for (int c = 0; c < 6; ++c) sm.data()[a * 6 + c] = static_cast<float>(v[c]);
  }
  t.emplace_back(p + "spectral_measures", sm);
  t.emplace_back(p + "goe_eigenvalues", r.goe.values);
  for (auto& x : token_level_tensors(r.token, p)) t.push_back(std::move(x));
  for (const auto& fc : r.circuits.features) {
    const std::string q = p + "circuit" + std::to_string(fc.feature) + ".";
    const index_t ns = static_cast<index_t>(fc.sub_features.size());
    t.emplace_back(q + "submatrix", TensorF::from_vector(fc.sub_matrix, {ns, ns}));
    std::vector<std::int64_t> sf(fc.sub_features.begin(), fc.sub_features.end());
    t.emplace_back(q + "latents", Tensor<std::int64_t>::from_vector(sf, {ns}));
  }
  if (!r.circuits.outlier_max.empty()) {
    std::vector<float> om(r.circuits.outlier_max.begin(), r.circuits.outlier_max.end());
    t.emplace_back(p + "outlier_max", TensorF::from_vector(om, {m}));
    std::vector<float> ts(r.circuits.top2_sum.begin(), r.circuits.top2_sum.end());
    t.emplace_back(p + "top2_abs_sum", TensorF::from_vector(ts, {m}));
  }
  return t;
}

std::string write_outputs(const Args& args, const std::vector<LayerResult>& layers, double t_start) {
  io::HtmlReport rep("Bilinear LM, decomposed: " + fs::path(args.ckpt).filename().string(),
                     "Weight-based analysis after Pearce et al., \"Bilinear MLPs enable weight-based mechanistic "
                     "interpretability\" (ICLR 2025), §3, §5, App. H, N, O.");
  for (const auto& r : layers) section_overview(rep, r);
  for (const auto& r : layers) {
    section_exactness(rep, r);
    section_correlation(rep, r);
    section_spectra(rep, r);
    section_circuits(rep, r);
    add_token_level_sections(rep, r.token);
  }
  rep.section("How this was computed");
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : layers)
    rows.push_back({std::to_string(r.layer), f3(r.form_seconds), f3(r.eigh_seconds), f3(r.corr_seconds),
                    f3(r.circuit_seconds), f3(r.seconds)});
  rep.table({"layer", "form Q (s)", "eigh (s)", "correlations (s)", "circuits (s)", "layer total (s)"}, rows);
  rep.paragraph("Model " + args.ckpt + ", output SAE " + layers[0].out_sae.path +
                (layers[0].in_sae ? ", input SAE " + layers[0].in_sae->path : std::string()) +
                ". Numbers for NumPy/PyTorch: results.safetensors and results.json next to this report.");
  rep.footer("Generated by bilin analyze_lm in " + f3(now() - t_start) + " s.");

  json::Value res = json::Value::object();
  json::Value ls = json::Value::array();
  std::vector<std::pair<std::string, io::AnyTensor>> tensors;
  for (const auto& r : layers) {
    ls.push_back(layer_summary(r));
    for (auto& t : export_tensors(r, 16)) tensors.push_back(std::move(t));
  }
  res["layers"] = ls;
  res["checkpoint"] = args.ckpt;
  res["tensors"] = "results.safetensors: layer<L>.eigenvalues [m, d] (by |λ| descending), top_eigenvectors [m, 16, d], "
                   "corr_curve / corr_control_random_eig / corr_control_goe [m, len(corr_ks)] (NaN: < min-active), "
                   "corr_ks, spectral_measures [m, 6] (l1l2 rank, top-2, top-8 energy; the same traceless), "
                   "goe_eigenvalues, circuit<a>.submatrix / latents, outlier_max, top2_abs_sum";
  fs::create_directories(args.out);
  io::save_safetensors(args.out + "/results.safetensors", tensors, {{"summary", res.dump()}});
  io::write_file_atomic(args.out + "/results.json", res.dump());
  const std::string report = args.out + "/report.html";
  rep.write(report);
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  lm::reexec_with_runtime_env(argv);
  const double t_start = now();
  try {
    Args args;
    if (!parse(argc, argv, args)) return 0;
    train::dist::DataParallel().check_same_flags("analyze_lm", argc, argv);
    omp_set_num_threads(args.threads);
    LmModel lm = load_model(args.ckpt);
    std::vector<index_t> layers;
    if (args.layer == "all") {
      for (index_t l = 0; l < lm.config.n_layer; ++l) layers.push_back(l);
    } else {
      index_t l = 0;
      try {
        l = std::stoll(args.layer);
      } catch (...) {
        throw Error("analyze_lm", msg("--layer must be a layer number or 'all', got '", args.layer, "'"));
      }
      layers.push_back(l);
    }
    if (args.time_repeats > 0) return time_mode(args, lm, layers[0]);
    for (index_t l : layers) {  // a GLU model, a bad layer or an SAE that does not fit fails before any work
      bilinear_mlp(*lm.model, l);
      load_sae_for(args.sae_out, l, {"mlp_out"}, lm, "output");
      if (!args.sae_in.empty()) load_sae_for(args.sae_in, l, {"mlp_in", "resid_mid"}, lm, "input");
      for (const auto& item : args.series) {
        const auto eq = item.find('=');
        BILIN_CHECK(eq != std::string::npos && eq > 0, "analyze_lm", "--sae-out-series item '", item, "' must look like LABEL=PATH");
        load_sae_for(item.substr(eq + 1), l, {"mlp_out"}, lm, "output");
      }
    }
    const Text text = load_text(args, lm);
    std::vector<LayerResult> results;
    const double t_layers = now();
    const bool root = train::dist::Communicator::world().root();
    for (index_t l : layers) {
      results.push_back(analyze_layer(args, lm, text, l));
      if (!root) continue;
      const double per = (now() - t_layers) / static_cast<double>(results.size());
      std::cerr << "analyze_lm: layer " << l << " done (" << results.size() << "/" << layers.size() << ", "
                << f3(60.0 / per) << " layers/min, ETA " << f3(per * static_cast<double>(layers.size() - results.size()))
                << " s)\n";
    }
    if (!root) return 0;  // rank 0 gathered every layer's spectra and writes the report
    const std::string report = write_outputs(args, results, t_start);
    json::Value j = layer_summary(results[0]);
    if (results.size() > 1) {
      json::Value all = json::Value::array();
      for (const auto& r : results) all.push_back(layer_summary(r));
      j["layers"] = all;
    }
    j["seconds"] = now() - t_start;
    j["report"] = fs::absolute(report).string();
    j["results"] = fs::absolute(args.out + "/results.safetensors").string();
    std::cout << j.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "analyze_lm: error: " << e.what() << "\n";
    train::dist::Communicator::world().abort(1);  // the other ranks must not wait for this one
    return 1;
  }
  return 0;
}
