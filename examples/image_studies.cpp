// image_studies — the image half's remaining paper figures, from trained checkpoints, in one report:
// consistency across runs and widths (§4.2 Fig. 5, App. F Fig. 20), Casper's challenge (§4.3
// Fig. 6, App. L), the augmentation / regularization ablations (App. B Figs 13–14, App. E
// Fig. 19), the paper's Table 1 recipe beside the official code's (App. G.1), and adversarial
// masks from the pseudo-inverse (§4.4 Fig. 7, App. M Fig. 26).
//
//   image_studies --manifest FILE --out DIR [--dataset mnist|PATH] [--match-k K]
//
// The manifest (JSON, written by examples/image_studies.sh, which trains the models) names the
// checkpoints; every part is optional and a missing one leaves its section saying so:
//   {"consistency": {"seeds": {"0": CKPT, ...}, "widths": {"64": CKPT, ...}},
//    "casper": CKPT,
//    "ablations": [{"label": L, "kind": K, "strength": X, "ckpt": CKPT}, ...],
//    "table1": {"paper": CKPT, "paper-table1": CKPT},
//    "pinv": {"0": CKPT, "0.15": CKPT, "0.3": CKPT},
//    "budget": TEXT}
// Writes DIR/report.html (sections with ids consistency, casper, ablations, table1, pinv-masks)
// and prints one JSON line with "consistency_top_cosine_mean", "casper_recovered_cosine",
// "report" and the per-part figures. Progress on stderr.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/data/casper.hpp"
#include "bilin/data/idx.hpp"
#include "bilin/data/loader.hpp"
#include "bilin/interp/bias_terms.hpp"
#include "bilin/interp/casper.hpp"
#include "bilin/interp/consistency.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/figures.hpp"
#include "bilin/interp/pinv_mask.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/spectral.hpp"
#include "bilin/interp/truncation.hpp"
#include "bilin/io/atomic_file.hpp"
#include "bilin/io/flags.hpp"
#include "bilin/io/html_report.hpp"
#include "bilin/io/json.hpp"
#include "bilin/io/safetensors.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

using Clock = std::chrono::steady_clock;
const auto t_start = Clock::now();

void progress(const std::string& what) {
  std::fprintf(stderr, "image_studies: [%6.1f s] %s\n", std::chrono::duration<double>(Clock::now() - t_start).count(),
               what.c_str());
}

// A checkpoint, its weights as a quadratic form, and its test inputs in the trainer's scaling.
struct Loaded {
  std::string path;
  BilinearClassifier<float> model;
  std::map<std::string, std::string> meta;
  TensorF X;  // test inputs [N, D]
};

Loaded load(const std::string& path, const data::ImageDataset& test) {
  Loaded l;
  l.path = path;
  const io::TensorMap map = io::load_safetensors(path);
  l.model = from_tensors<float>(map);
  l.meta = map.metadata;
  const InputNormalization norm = input_normalization(map.metadata);
  const index_t N = test.size(), D = test.features();
  BILIN_CHECK(l.model.input_dim() == D, "image_studies", path, ": the model reads ", l.model.input_dim(), " inputs, the images have ", D);
  l.X = TensorF::empty({N, D});
  for (index_t i = 0; i < N * D; ++i) l.X.data()[i] = norm.apply(test.images.data()[i]);
  return l;
}

double accuracy(const Loaded& l, const data::ImageDataset& test) {
  const auto pred = predict(l.model, l.X);
  index_t ok = 0;
  for (index_t i = 0; i < test.size(); ++i) ok += pred[i] == test.labels.data()[i];
  return static_cast<double>(ok) / static_cast<double>(test.size());
}

std::vector<std::int64_t> labels_of(const data::ImageDataset& ds) {
  return std::vector<std::int64_t>(ds.labels.data(), ds.labels.data() + ds.size());
}

// A pixel picture with the sign that agrees with `ref` (eigenvectors are defined up to sign).
io::Image aligned_tile(const float* px, const float* ref, index_t D) {
  double dot = 0;
  for (index_t p = 0; p < D; ++p) dot += static_cast<double>(px[p]) * static_cast<double>(ref[p]);
  std::vector<float> v(px, px + D);
  if (dot < 0)
    for (float& x : v) x = -x;
  return rdbu_tile(v.data(), 28, 28);
}
io::Image picture(const std::vector<double>& px) {
  std::vector<float> v(px.begin(), px.end());
  return rdbu_tile(v.data(), 28, 28);
}

void not_run(io::HtmlReport& rep, const std::string& what) {
  rep.paragraph("Not run: the manifest names no " + what + " checkpoints.");
}

// ---------------------------------------------------------------- consistency
struct ConsistencyOut {
  double top_mean = NAN;  // mean over classes of the per-class mean (over seeds) matched top+ cosine
  json::Value json = json::Value::object();
};

ConsistencyOut consistency_section(io::HtmlReport& rep, const json::Value* part, const data::ImageDataset& test,
                                   index_t match_k) {
  ConsistencyOut out;
  rep.section("Consistency across runs and widths (§4.2, Fig. 5; App. F, Fig. 20)", "consistency");
  const json::Value* seeds = part ? part->find("seeds") : nullptr;
  if (!seeds || !seeds->is_object() || !seeds->find("0")) return not_run(rep, "consistency (seed 0)"), out;
  const json::Value* widths = part->find("widths");
  DecomposeOptions opt;
  opt.top_k = 4 * match_k;  // enough of both signs for the matching
  auto decompose_ckpt = [&](const std::string& path) {
    progress("consistency: decomposing " + path);
    return decompose_classes(load(path, test).model, opt);
  };
  struct Run {
    std::string label;
    std::vector<Eigencomponents<float>> comps;
  };
  const auto ref = decompose_ckpt(seeds->find("0")->as_string());
  std::vector<Run> seed_runs, width_runs;
  for (const auto& [k, v] : seeds->as_object())
    if (k != "0") seed_runs.push_back({"seed " + k, decompose_ckpt(v.as_string())});
  if (widths && widths->is_object()) {
    std::vector<std::pair<long, std::string>> ws;
    for (const auto& [k, v] : widths->as_object()) ws.emplace_back(std::stol(k), v.as_string());
    std::sort(ws.begin(), ws.end());
    for (const auto& [w, p] : ws) width_runs.push_back({"width " + std::to_string(w), decompose_ckpt(p)});
  }
  const index_t C = static_cast<index_t>(ref.size());
  rep.paragraph(
      "Each model is decomposed per digit (one-hot output directions); features are compared as pixel pictures "
      "(embedᵀv), the only space two runs share, by |cosine| (sign-aligned). The reference is the run at seed 0, width "
      "512. 'Direct' compares the two rank-1 features; 'matched' pairs each model's " + std::to_string(match_k) +
      " most positive (negative) eigenvectors one-to-one with the reference's by the Hungarian method (maximum total "
      "|cosine|) and reports the reference's top feature's partner. Paper: top-eigenvector cosine 0.8–0.9 across 5 "
      "runs.");
  // Per class: mean over seeds of direct / matched top± cosines.
  std::vector<std::vector<std::string>> rows;
  std::vector<double> cls_top(static_cast<std::size_t>(C)), cls_direct(static_cast<std::size_t>(C)),
      cls_neg(static_cast<std::size_t>(C));
  json::Value per_class = json::Value::array();
  for (index_t c = 0; c < C; ++c) {
    double d = 0, m = 0, nd = 0, nm = 0, mk = 0;
    for (const Run& r : seed_runs) {
      const FeatureMatch p = match_components(ref[c], r.comps[c], match_k, true);
      const FeatureMatch n = match_components(ref[c], r.comps[c], match_k, false);
      d += p.top_direct, m += p.top_matched, mk += p.mean_matched, nd += n.top_direct, nm += n.top_matched;
    }
    const double S = static_cast<double>(std::max<std::size_t>(1, seed_runs.size()));
    cls_top[c] = m / S, cls_direct[c] = d / S, cls_neg[c] = nm / S;
    rows.push_back({std::to_string(c), fmt_num(d / S, 3), fmt_num(m / S, 3), fmt_num(nd / S, 3), fmt_num(nm / S, 3),
                    fmt_num(mk / S, 3)});
    per_class.push_back(m / S);
  }
  double mean_top = 0, mean_direct = 0, mean_neg = 0;
  for (index_t c = 0; c < C; ++c) mean_top += cls_top[c] / C, mean_direct += cls_direct[c] / C, mean_neg += cls_neg[c] / C;
  out.top_mean = seed_runs.empty() ? NAN : mean_top;
  rows.push_back({"mean", fmt_num(mean_direct, 3), fmt_num(mean_top, 3), "", fmt_num(mean_neg, 3), ""});
  rep.key_numbers({{"mean matched top+ cosine vs seed 0 (" + std::to_string(seed_runs.size()) + " other runs)", fmt_num(mean_top, 3)},
                   {"mean direct top+ cosine", fmt_num(mean_direct, 3)},
                   {"mean matched top− cosine", fmt_num(mean_neg, 3)},
                   {"paper (top eigenvector)", "0.8–0.9"}});
  rep.table({"digit", "top+ direct", "top+ matched", "top− direct", "top− matched", "mean of " + std::to_string(match_k) + " matched (+)"},
            rows, "Cosine with the seed-0 run, mean over the other seeds (width 512).");
  // Widths.
  io::Plot wp;
  wp.title("Top eigenvector cosine with the width-512 seed-0 run").xlabel("hidden width").ylabel("|cosine|").logx().size(600, 380);
  io::Series sp, sn;
  sp.name = "top positive (matched), mean over digits";
  sn.name = "top negative (matched), mean over digits";
  std::vector<std::vector<std::string>> wrows;
  json::Value wj = json::Value::object();
  for (const Run& r : width_runs) {
    double p = 0, n = 0;
    for (index_t c = 0; c < C; ++c) {
      p += match_components(ref[c], r.comps[c], match_k, true).top_matched / C;
      n += match_components(ref[c], r.comps[c], match_k, false).top_matched / C;
    }
    const double w = std::stod(r.label.substr(6));
    sp.x.push_back(w), sp.y.push_back(p), sn.x.push_back(w), sn.y.push_back(n);
    wrows.push_back({r.label, fmt_num(p, 3), fmt_num(n, 3)});
    wj[r.label.substr(6)] = p;
  }
  if (!width_runs.empty()) {
    wp.add(sp).add(sn).ylim(0, 1);
    rep.table({"model", "top+ matched (mean over digits)", "top− matched"}, wrows, "Against seed 0, width 512.");
  }
  io::Plot cp;
  cp.title("Per digit: top eigenvector cosine across seeds").xlabel("digit").ylabel("|cosine| (mean over seeds)").size(600, 380);
  io::Series a, b;
  a.name = "top positive, matched";
  b.name = "top positive, direct";
  a.markers = b.markers = true;
  for (index_t c = 0; c < C; ++c) a.x.push_back(c), a.y.push_back(cls_top[c]), b.x.push_back(c), b.y.push_back(cls_direct[c]);
  cp.add(a).add(b).ylim(0, 1).hline(0.8, "paper's lower end");
  rep.svg(cp, "Per-digit cosine of the reference's top positive eigenvector with its counterpart in the other seeds.", "consistency_classes.svg");
  if (!width_runs.empty()) rep.svg(wp, "Against model width (same recipe, seed 0).", "consistency_widths.svg");
  // Pictures: per digit, the reference's top positive feature and its matched partners.
  std::vector<io::TileRow> tr;
  for (index_t c = 0; c < C; ++c) {
    const auto rp = ref[c].top_positive(1);
    if (rp.empty()) continue;
    const float* refpx = ref[c].input(rp[0]);
    io::TileRow row{"digit " + std::to_string(c), {{}, {}, {}}};
    row.groups[0].push_back({component_tile(ref[c], rp[0]), 60, "seed 0"});
    for (int g = 0; g < 2; ++g)
      for (const Run& r : g == 0 ? seed_runs : width_runs) {
        const FeatureMatch m = match_components(ref[c], r.comps[c], match_k, true);
        if (m.k == 0) continue;
        const auto ip = r.comps[c].top_positive(match_k);
        row.groups[1 + g].push_back({aligned_tile(r.comps[c].input(ip[m.partner[0]]), refpx, ref[c].input_dim()), 60,
                                     r.label + " " + fmt_num(m.cosine[0], 2)});
      }
    tr.push_back(std::move(row));
  }
  rep.tile_table(tr, "Top positive eigenvector per digit: the reference | its matched partner in the other seeds | in the "
                     "other widths (caption: |cosine|), sign-aligned to the reference.");
  out.json["top_matched_mean"] = out.top_mean;
  out.json["top_direct_mean"] = mean_direct;
  out.json["top_negative_matched_mean"] = mean_neg;
  out.json["per_class_top_matched"] = per_class;
  out.json["widths_top_matched"] = wj;
  out.json["seeds"] = static_cast<std::int64_t>(seed_runs.size() + 1);
  return out;
}

// ---------------------------------------------------------------- Casper
json::Value casper_section(io::HtmlReport& rep, const json::Value* part, const data::ImageDataset& train,
                           const data::ImageDataset& test) {
  json::Value j = json::Value::object();
  rep.section("Casper's MNIST challenge (§4.3, Fig. 6; App. L)", "casper");
  if (!part || !part->is_string()) return not_run(rep, "Casper"), j;
  progress("casper: " + part->as_string());
  const data::CasperTask task = data::make_casper_task(train);
  const data::ImageDataset ctest = data::casper_relabel(test, task);
  const Loaded l = load(part->as_string(), ctest);
  BILIN_CHECK(l.model.num_classes() == 2 && l.model.augmented(), "image_studies", l.path,
              ": the Casper model must have 2 outputs and biases (train_mnist --task casper --bias on)");
  const double acc = accuracy(l, ctest);
  TensorF u = TensorF::from_vector({-1.0f, 1.0f}, {2});  // logit(True) − logit(False)
  const Eigencomponents<float> ec = decompose_direction(l.model, u);
  const CasperRecovery r = recover_casper(ec, task, train, ctest);
  const AugmentedTerms<float> terms = augmented_terms(l.model, u);
  const TermValues tv = term_values(l.model, terms, l.X);
  // The constant input's share of each component, λ_i·o_i²: summed over the negative (positive)
  // eigenvalues it is the bias's negative (positive) contribution at x = 0; they add up to c.
  double bias_neg = 0, bias_pos = 0, worst = 0;
  index_t bias_comp = -1;
  for (index_t i = 0; i < ec.size(); ++i) {
    const double o = ec.offsets.data()[i], cst = static_cast<double>(ec.value(i)) * o * o;
    (cst < 0 ? bias_neg : bias_pos) += cst;
    if (cst < worst) worst = cst, bias_comp = i;
  }
  double lin_mean = 0, quad_mean = 0;
  for (std::size_t i = 0; i < tv.linear.size(); ++i) lin_mean += tv.linear[i] / tv.linear.size(), quad_mean += tv.interaction[i] / tv.linear.size();
  rep.paragraph(
      "Labelling function (data/casper.hpp): True when the image is similar to a target 1 (the first 1 of the training "
      "set) or to its complement, with similarity the centred dot product s(x) = (t − ½)·(x − ½); True ⇔ |s(x)| > θ, θ "
      "the median over the training set (balanced labels). As a function of the pixels this is (c·x + b)² − θ²: one "
      "positive rank-one term and a negative constant. The model (one bilinear layer with biases, 2 outputs) is "
      "decomposed along u = e_True − e_False with the bias-augmented input x̃ = [x, 1], so each eigenvector has a pixel "
      "picture and a weight on the constant input.");
  rep.key_numbers({{"recovered function cosine (test images)", fmt_num(r.function_cosine, 4)},
                   {"pixel cosine, data support (" + std::to_string(r.support_pixels) + " px)", fmt_num(r.support_cosine, 4)},
                   {"pixel cosine, all 784 px", fmt_num(r.pixel_cosine, 4)},
                   {"top λ share of positive λ", fmt_pct(r.top_share, 1)},
                   {"bias via negative λ: Σ λᵢoᵢ² (λ<0)", fmt_num(bias_neg, 4)},
                   {"bias via positive λ: Σ λᵢoᵢ² (λ>0)", fmt_num(bias_pos, 4)},
                   {"test accuracy", fmt_pct(acc, 2)}});
  rep.paragraph("Recovered function cosine: |cos| between the recovered f̂(x) = p·x + o (p, o: the top positive "
                "eigenvector's pixel picture and constant weight) and the true s(x), as vectors over the 10 000 test "
                "images. The pixel cosines compare p with c = t − ½ directly; pixels the training data never sets "
                "(the support holds pixels non-zero in ≥ 1% of training images) carry only initialization minus "
                "weight decay, which is why the all-pixel figure is lower. Paper: one dominant positive eigenvector "
                "recovers the labelling function, the bias contributes negatively (no number given). The bias's part "
                "in each eigencomponent is λᵢoᵢ² (its value at x = 0); summed over the negative eigenvalues it is the "
                "negative contribution the paper points to (the −θ² of the labelling function), over the positive ones "
                "mostly the b² of the recovered (c·x + b)².");
  std::vector<float> tpx(784), cpx(task.centred.begin(), task.centred.end());
  for (index_t p = 0; p < 784; ++p) tpx[p] = train.images.data()[task.target_index * 784 + p] / 255.0f;
  std::vector<float> lin(terms.linear_input.begin(), terms.linear_input.end());
  std::vector<io::Tile> tiles = {{gray_tile(tpx.data(), 28, 28), 84, "target 1"},
                                 {rdbu_tile(cpx.data(), 28, 28), 84, "true c = t − ½"},
                                 {aligned_tile(ec.input(r.component), cpx.data(), 784), 84,
                                  "top + eigvec, λ=" + fmt_num(r.lambda_top, 3)}};
  const auto pos = ec.top_positive(3);
  for (std::size_t i = 1; i < pos.size(); ++i)
    tiles.push_back({component_tile(ec, pos[i]), 84, "+" + std::to_string(i + 1) + ", λ=" + fmt_num(ec.value(pos[i]), 3)});
  for (index_t i : ec.top_negative(3)) tiles.push_back({component_tile(ec, i), 84, "−, λ=" + fmt_num(ec.value(i), 3)});
  if (bias_comp >= 0)
    tiles.push_back({component_tile(ec, bias_comp), 84,
                     "largest bias part, λo²=" + fmt_num(worst, 3) + ", o=" + fmt_num(ec.offsets.data()[bias_comp], 2)});
  tiles.push_back({rdbu_tile(lin.data(), 28, 28), 84, "linear term 2Eᵀq"});
  rep.tile_strip(tiles, "The target, the true weight vector, the top positive eigenvector (sign-aligned), the next "
                        "positive and the top negative ones, the negative component that carries most of the bias (λo² "
                        "most negative; o = its weight on the constant input), and the linear term of the augmented form.");
  rep.table({"term (App. L)", "value / mean over test images"},
            {{"interaction zᵀQz", fmt_num(quad_mean, 4)},
             {"linear 2q·z", fmt_num(lin_mean, 4)},
             {"constant c", fmt_num(terms.constant, 4)}},
            "The three parts of uᵀlogits = z̃ᵀQ̃z̃ with z̃ = [z; 1]; they sum to the model's logit difference.");
  io::Plot sp;
  sp.title("Eigenvalues of Q̃(u), u = e_True − e_False").xlabel("rank").ylabel("λ").size(600, 360);
  io::Series s;
  s.name = "λ";
  for (index_t i = 0; i < std::min<index_t>(20, ec.size()); ++i) s.x.push_back(i + 1), s.y.push_back(ec.value(i));
  for (index_t i = 0; i < std::min<index_t>(20, ec.size()); ++i)
    s.x.push_back(-(i + 1)), s.y.push_back(ec.value(ec.size() - 1 - i));
  sp.stem(s.name, s.x, s.y);
  rep.svg(sp, "The 20 most positive (rank 1…) and most negative (rank −1…) eigenvalues: one dominant positive one.", "casper_spectrum.svg");
  j["function_cosine"] = r.function_cosine;
  j["pixel_cosine"] = r.pixel_cosine;
  j["support_cosine"] = r.support_cosine;
  j["top_share"] = r.top_share;
  j["lambda_top"] = r.lambda_top;
  j["lambda_second"] = r.lambda_second;
  j["constant"] = terms.constant;
  j["bias_negative"] = bias_neg;
  j["bias_positive"] = bias_pos;
  j["test_acc"] = acc;
  return j;
}

// ---------------------------------------------------------------- ablations
json::Value ablation_section(io::HtmlReport& rep, const json::Value* part, const data::ImageDataset& test) {
  json::Value j = json::Value::array();
  rep.section("Augmentation and regularization ablations (App. B, Figs 13–14; App. E, Fig. 19)", "ablations");
  if (!part || !part->is_array() || part->as_array().empty()) return not_run(rep, "ablation"), j;
  rep.paragraph(
      "One model per setting, same budget, starting from the paper recipe without input noise and without weight "
      "decay, with one regularizer added. Effective rank = (Σ|λ|)²/Σλ² of each digit's eigenvalues; effective pixel "
      "count = (L1/L2)² of the pixel picture of the 5 largest-|λ| eigenvectors (App. E), both averaged over digits. "
      "Paper (App. B): dense Gaussian noise is best; salt-and-pepper and Perlin noise are worse; model noise and dropout "
      "have no effect; weight decay sparsifies the eigenvalues; translation splits features; rotation and blur smooth "
      "them.");
  std::vector<std::vector<std::string>> rows;
  std::vector<io::TileRow> tr;
  for (const json::Value& e : part->as_array()) {
    const std::string label = e.at("label").as_string(), path = e.at("ckpt").as_string();
    progress("ablation: " + label);
    const Loaded l = load(path, test);
    const double acc = accuracy(l, test);
    const auto comps = decompose_classes(l.model);
    double er = 0, px = 0;
    for (const auto& ec : comps) {
      er += l1l2_count(to_doubles(ec.values)) / comps.size();
      const auto order = ec.by_magnitude();
      const index_t k = std::min<index_t>(5, ec.size());
      for (index_t i = 0; i < k; ++i) px += l1l2_count(ec.input(order[i]), static_cast<std::size_t>(ec.input_dim())) / (k * comps.size());
    }
    rows.push_back({label, e.at("kind").as_string(), fmt_num(e.at("strength").as_double(), 3), fmt_pct(acc, 2),
                    fmt_num(er, 4), fmt_num(px, 4)});
    io::TileRow row{label + " (" + fmt_pct(acc, 1) + ")", {{}}};
    for (std::size_t c = 0; c < comps.size(); ++c) {
      const auto p = comps[c].top_positive(1);
      if (!p.empty()) row.groups[0].push_back({component_tile(comps[c], p[0]), 56, std::to_string(c)});
    }
    tr.push_back(std::move(row));
    json::Value m = json::Value::object();
    m["label"] = label;
    m["kind"] = e.at("kind").as_string();
    m["strength"] = e.at("strength").as_double();
    m["test_acc"] = acc;
    m["effective_rank"] = er;
    m["effective_pixels"] = px;
    j.push_back(m);
  }
  rep.table({"setting", "kind", "strength", "test accuracy", "eigenvalue effective rank", "top-5 effective pixel count"}, rows,
            "Means over the ten digits.");
  rep.tile_table(tr, "Top positive eigenvector of every digit, one row per setting.");
  return j;
}

// ---------------------------------------------------------------- Table 1 recipe
json::Value table1_section(io::HtmlReport& rep, const json::Value* part, const data::ImageDataset& test) {
  json::Value j = json::Value::object();
  rep.section("The paper's Table 1 recipe beside the official code's (App. G.1)", "table1");
  if (!part || !part->is_object() || part->as_object().empty()) return not_run(rep, "Table 1"), j;
  rep.paragraph("paper: the official code and tutorial (noise std 0.4 on half the samples, weight decay 0.5). paper-table1: "
                "App. G.1 Table 1 (noise 'norm 0.5' = per-pixel std 0.5 on every sample, weight decay 1.0). Both 20 "
                "epochs of AdamW lr 1e-3, batch 2048, cosine. The paper gives no accuracy for Table 1; it states that "
                "keeping only a handful of eigencomponents per digit costs little accuracy (Fig. 5).");
  const std::vector<index_t> ks = {1, 2, 3, 5, 10, 20, 50, 0};
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, v] : part->as_object()) {
    progress("table1: " + name);
    const Loaded l = load(v.as_string(), test);
    const auto comps = decompose_classes(l.model);
    const ComponentLogits<float> cl(comps, l.model.layer_inputs(l.X), 50);
    const auto curve = truncation_curve(cl, labels_of(test), ks);
    std::vector<std::string> row = {name};
    json::Value c = json::Value::object();
    for (const auto& p : curve) {
      row.push_back(fmt_pct(p.accuracy, 2));
      c[p.all ? std::string("all") : std::to_string(p.k)] = p.accuracy;
    }
    rows.push_back(row);
    j[name] = c;
    rep.svg(truncation_plot(curve, "Truncation: " + name), "Test accuracy keeping the top-k eigencomponents per digit, " + name + ".",
            "truncation_" + name + ".svg");
  }
  std::vector<std::string> head = {"recipe"};
  for (index_t k : ks) head.push_back(k ? "top " + std::to_string(k) : "all (full model)");
  rep.table(head, rows, "Test accuracy of the truncated models.");
  return j;
}

// ---------------------------------------------------------------- pseudo-inverse masks
json::Value pinv_section(io::HtmlReport& rep, const json::Value* part, const data::ImageDataset& train,
                         const data::ImageDataset& test, bool quick) {
  json::Value j = json::Value::object();
  rep.section("Adversarial masks from the pseudo-inverse (§4.4, Fig. 7; App. M, Fig. 26)", "pinv-masks");
  if (!part || !part->is_object() || part->as_object().empty()) return not_run(rep, "mask"), j;
  const std::int64_t target = 3;
  rep.paragraph(
      "Mask = column of the pseudo-inverse V⁺ of the top-10 positive eigenvectors (pixel pictures) of digit 3: it raises "
      "one feature's activation and leaves the other nine unchanged. Added at L2 norm ε to test images of the other "
      "digits that the model classifies correctly; success = classified as 3. Controls: the same mask with its pixels "
      "randomly permuted. Panel B: for the model trained without noise, a mask on the outer-edge pixels only (non-zero in "
      "< 1% of training images), from digit 3's top positive eigenvector. Paper: masks from the weights succeed at "
      "small norms while permuted masks do not; the no-noise model is fooled by edge pixels.");
  std::vector<double> norms;
  for (double e = 0; e <= 10.0001; e += quick ? 2.0 : 1.0) norms.push_back(e);
  const index_t Nuse = quick ? 2000 : test.size();
  const data::ImageDataset sub = test.subset(0, Nuse);
  io::Plot pa, pb;
  pa.title("A: pseudo-inverse masks for digit 3").xlabel("mask L2 norm ε").ylabel("success rate (% classified as 3)").size(640, 400);
  pb.title("B: outer-edge mask").xlabel("mask L2 norm ε").ylabel("success rate (% classified as 3)").size(640, 400);
  std::vector<io::Tile> tiles;
  for (const auto& [name, v] : part->as_object()) {
    progress("pinv: noise " + name);
    const Loaded l = load(v.as_string(), sub);
    const auto comps = decompose_classes(l.model);
    const auto labels = labels_of(sub);
    json::Value m = json::Value::object();
    if (name != "0") {
      const auto masks = pinv_masks(comps[target], 10);
      const MaskSweep s = mask_success(l.model, l.X, labels, target, masks[0], norms);
      std::vector<double> mean(norms.size(), 0.0), perm(norms.size(), 0.0);
      for (std::size_t i = 0; i < masks.size(); ++i) {
        const MaskSweep a = mask_success(l.model, l.X, labels, target, masks[i], norms);
        const MaskSweep b = mask_success(l.model, l.X, labels, target, permuted_mask(masks[i], 1000 + i), norms);
        for (std::size_t e = 0; e < norms.size(); ++e) mean[e] += a.success[e] / masks.size(), perm[e] += b.success[e] / masks.size();
      }
      io::Series s0, s1, s2;
      s0.name = "noise " + name + ": mask 1 (top eigenvector)";
      s1.name = "noise " + name + ": mean of the 10 masks";
      s2.name = "noise " + name + ": permuted masks (mean)";
      s2.dash = "5,4";
      for (std::size_t e = 0; e < norms.size(); ++e) {
        s0.x.push_back(norms[e]), s0.y.push_back(100 * s.success[e]);
        s1.x.push_back(norms[e]), s1.y.push_back(100 * mean[e]);
        s2.x.push_back(norms[e]), s2.y.push_back(100 * perm[e]);
      }
      pa.add(s0).add(s1).add(s2);
      tiles.push_back({picture(masks[0]), 84, "noise " + name + ": mask 1"});
      tiles.push_back({picture(permuted_mask(masks[0], 1000)), 84, "permuted"});
      m["mask1"] = json::Value::array_of(s.success);
      m["mean10"] = json::Value::array_of(mean);
      m["permuted_mean10"] = json::Value::array_of(perm);
      m["samples"] = s.samples;
    }
    const auto top = comps[target].top_positive(1);
    const auto edge = rare_pixel_mask(comps[target], top.at(0), train, 0.01);
    double en = 0;
    for (double x : edge) en += x * x;
    if (en > 0) {
      const MaskSweep s = mask_success(l.model, l.X, labels, target, edge, norms);
      io::Series se;
      se.name = "noise " + name + ": edge mask";
      for (std::size_t e = 0; e < norms.size(); ++e) se.x.push_back(norms[e]), se.y.push_back(100 * s.success[e]);
      pb.add(se);
      tiles.push_back({picture(edge), 84, "noise " + name + ": edge mask"});
      m["edge"] = json::Value::array_of(s.success);
    }
    j[name] = m;
  }
  j["norms"] = json::Value::array_of(norms);
  pa.ylim(0, 100);
  pb.ylim(0, 100);
  rep.svg(pa, "Success rate against mask norm, models trained with input noise (App. M: 0.15 and 0.3).", "pinv_masks.svg");
  rep.svg(pb, "The outer-edge mask on each model: only the model trained without noise relies on those pixels.", "edge_masks.svg");
  rep.tile_strip(tiles, "The masks (RdBu, zero white).");
  return j;
}

int run(int argc, char** argv) {
  Flags f("image_studies", "The image half's consistency, Casper, ablation, Table 1 and pseudo-inverse-mask studies.");
  f.value("manifest", "", "JSON manifest of the checkpoints (written by image_studies.sh); required", "FILE")
      .value("out", "", "output folder; required", "DIR")
      .value("dataset", "mnist", "mnist|PATH", "DATA")
      .value("match-k", "5", "eigenvectors per sign matched across runs", "K")
      .toggle("quick", "smaller evaluation sets (the test budget)");
  if (!f.parse(argc, argv)) return 0;
  const std::string out = f.str("out"), manifest_path = f.str("manifest");
  BILIN_CHECK(!out.empty() && !manifest_path.empty(), "image_studies", "--manifest and --out are required");
  const json::Value manifest = json::parse(io::read_file(manifest_path));
  BILIN_CHECK(manifest.is_object(), "image_studies", manifest_path, ": expected a JSON object");
  std::filesystem::create_directories(out);
  const data::MnistData mnist = data::load_mnist(data::locate_dataset(f.str("dataset")));
  const data::ImageDataset train = data::ImageDataset::from_mnist(mnist.train);
  const data::ImageDataset test = data::ImageDataset::from_mnist(mnist.test);

  io::HtmlReport rep("Image studies: consistency, Casper's challenge, ablations, Table 1, pseudo-inverse masks",
                     "Bilinear MNIST classifiers trained by examples/image_studies.sh and analysed from their weights." +
                         (manifest.find("budget") ? " Budget: " + manifest.at("budget").as_string() : std::string()));
  const ConsistencyOut cons = consistency_section(rep, manifest.find("consistency"), test, f.integer("match-k"));
  const json::Value casper = casper_section(rep, manifest.find("casper"), train, test);
  const json::Value abl = ablation_section(rep, manifest.find("ablations"), test);
  const json::Value t1 = table1_section(rep, manifest.find("table1"), test);
  const json::Value pinv = pinv_section(rep, manifest.find("pinv"), train, test, f.on("quick"));
  const double seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  rep.footer("Generated by bilin image_studies in " + fmt_num(seconds, 3) + " s.");
  const std::string report = out + "/report.html";
  rep.write(report);
  json::Value j = json::Value::object();
  j["consistency"] = cons.json;
  j["casper"] = casper;
  j["ablations"] = abl;
  j["table1"] = t1;
  j["pinv_masks"] = pinv;
  j["seconds"] = seconds;
  j["consistency_top_cosine_mean"] = cons.top_mean;
  j["casper_recovered_cosine"] = casper.find("function_cosine") ? casper.at("function_cosine").as_double() : NAN;
  j["report"] = report;
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "image_studies: error: %s\n", e.what());
    return 1;
  }
}
