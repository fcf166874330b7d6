// analyze_mnist — the paper's image analyses for one trained checkpoint, as one HTML report.
//
//   analyze_mnist --ckpt PATH [--out DIR] [--dataset mnist|fmnist|PATH] [flags]  (--help lists them)
//
// Reads a single-bilinear-layer classifier (bilin checkpoint, or a safetensors file exported
// from PyTorch with the official layout embed.weight / blocks.0.weight [2d, d] / head.weight),
// decomposes every class's interaction matrix, checks that the decomposition reproduces the
// model's logits on the whole test set, measures the low-rank truncation curve and the
// eigenvector-vs-random-vs-FGSM adversarial sweep, and writes DIR/report.html (self-contained:
// every picture inlined) plus the pictures as separate files, and the decomposition (per class
// eigenvalues, eigenvectors in embedding and pixel space; the HOSVD components) as
// DIR/decomposition.safetensors + DIR/decomposition.json for NumPy/PyTorch. The last stdout line is one JSON
// object with the numbers (exactness_max_abs_err, truncation_acc, adversarial, seconds, report).
// --explorer also writes DIR/explorer.html, the interactive page of interp/explorer.hpp.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/data/idx.hpp"
#include "bilin/interp/adversarial.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/explain.hpp"
#include "bilin/interp/decomposition_export.hpp"
#include "bilin/interp/explorer.hpp"
#include "bilin/interp/figures.hpp"
#include "bilin/interp/hosvd.hpp"
#include "bilin/interp/hosvd_sections.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/spectral.hpp"
#include "bilin/interp/truncation.hpp"
#include "bilin/io/flags.hpp"
#include "bilin/io/html_report.hpp"
#include "bilin/io/json.hpp"
#include "bilin/io/safetensors.hpp"


using namespace bilin;
using namespace bilin::interp;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string ckpt, out = "analysis", dataset;
  std::optional<bool> residual;
  index_t adv_samples = 1000, examples = 4;
  std::vector<double> norms = {0.5, 1, 1.5, 2, 3, 4, 5, 6};
  int threads = 0;
  bool explorer = false;  // also write DIR/explorer.html (interp/explorer.hpp)
};

// Returns false after --help.
bool parse(int argc, char** argv, Args& a) {
  Flags f("analyze_mnist", "The paper's image analyses of one trained checkpoint, as one HTML report.");
  f.value("ckpt", "", "the classifier checkpoint (bilin or the official PyTorch layout); required", "PATH")
      .value("out", "analysis", "output folder: report.html and the pictures", "DIR")
      .value("dataset", "", "mnist|fmnist|PATH (default: the checkpoint's 'dataset' metadata, else mnist)", "DATA")
      .value("residual", "", "the model has a residual connection (default: from the checkpoint)", "on|off")
      .value("adv-samples", "1000", "correctly classified test images in the adversarial sweep", "N")
      .value("norms", "0.5,1,1.5,2,3,4,5,6", "perturbation L2 norms of the adversarial sweep", "X,Y,...")
      .value("examples", "4", "test images explained in the report", "N")
      .value("threads", "0", "OpenMP threads (0: OpenMP's default)", "N")
      .toggle("explorer", "also write explorer.html: draw a digit in the browser and see the eigencomponents decide");
  if (!f.parse(argc, argv)) return false;
  a.ckpt = f.str("ckpt");
  a.out = f.str("out");
  a.dataset = f.str("dataset");
  if (f.given("residual")) a.residual = f.choice("residual", {"on", "off"}) == "on";
  a.adv_samples = f.integer("adv-samples");
  a.examples = f.integer("examples");
  a.threads = static_cast<int>(f.integer("threads"));
  a.norms = f.reals("norms");
  a.explorer = f.on("explorer");
  BILIN_CHECK(!a.ckpt.empty(), "analyze_mnist", "--ckpt is required");
  BILIN_CHECK(a.adv_samples >= 1 && a.examples >= 0, "analyze_mnist", "--adv-samples must be >= 1 and --examples >= 0");
  return true;
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The model and the test set it is analysed on (inputs normalized as the model was trained).
struct Inputs {
  std::string dataset, dir;
  BilinearClassifier<float> model;
  TensorF X;  // [N, 784]
  std::vector<std::int64_t> labels;
  std::vector<std::string> names;
  index_t N = 0, D = 784, C = 0;
  ExplorerOptions explorer{};  // with --explorer: the page's samples and exactness-check images
  InputNormalization norm{};    // pixel/255 → model input
};

// Results of the analysis steps, in the order main runs them.
struct Analysis {
  std::vector<Eigencomponents<float>> comps;
  double dec_seconds = 0;
  Exactness ex;
  std::vector<TruncationPoint> curve;  // k = 1, 2, 5, 10, 20, 50, all
  std::vector<std::int64_t> pred;      // the model's test predictions
  double test_acc = 0, tr_seconds = 0;
  std::vector<SpectrumSummary> spec;
  double er_mean = 0, mass_mean = 0;
  TensorF Xa;  // the correctly classified images the attacks start from, and their labels
  std::vector<std::int64_t> ya;
  index_t M = 0;
  AdversarialResult adv, adv2;  // adv2: eigenvector attack also using the true class's negative features
  double adv_seconds = 0;
  ClassifierHosvd<float> hosvd;  // of the whole quadratic model, top 4 components decomposed
  double hosvd_seconds = 0;
};

Inputs load_inputs(const Args& args) {
  const io::TensorMap map = io::load_safetensors(args.ckpt);
  Inputs in{"", "", from_tensors<float>(map, args.residual), {}, {}, {}};
  BILIN_CHECK(in.model.input_dim() == 784, "analyze_mnist", args.ckpt, ": the model reads ", in.model.input_dim(),
              " inputs; MNIST-style images have 28x28 = 784");
  in.dataset = args.dataset;
  if (in.dataset.empty()) {
    const auto it = map.metadata.find("dataset");
    in.dataset = it != map.metadata.end() ? it->second : "mnist";
  }
  in.dir = data::locate_dataset(in.dataset);
  const data::MnistSplit test = data::load_mnist_split(in.dir, "test");
  in.N = test.size();
  in.C = in.model.num_classes();
  const InputNormalization norm = input_normalization(map.metadata);
  in.norm = norm;
  in.X = TensorF::empty({in.N, in.D});
  for (index_t i = 0; i < in.N * in.D; ++i) in.X.data()[i] = norm.apply(test.images.data()[i]);
  in.labels.resize(static_cast<std::size_t>(in.N));
  for (index_t i = 0; i < in.N; ++i) in.labels[i] = test.labels.data()[i];
  in.names = dataset_class_names(in.dataset);
  if (args.explorer) in.explorer = explorer_options(test.images.data(), in.labels, in.N, in.names, norm, args.ckpt);
  std::cerr << "analyze_mnist: " << args.ckpt << " (hidden " << in.model.hidden_dim() << ", form size "
            << in.model.form_dim() << (in.model.residual ? ", residual" : "") << "), " << in.N << " test images from "
            << in.dir << "\n";
  return in;
}

void decompose(const Inputs& in, Analysis& a) {
  auto t = Clock::now();
  a.comps = decompose_classes(in.model);
  a.dec_seconds = since(t);
  t = Clock::now();
  a.hosvd = classifier_hosvd(in.model, 4);
  a.hosvd_seconds = since(t);
}

// The decomposition against the forward pass on the whole test set, and the top-k truncation curve.
void check_exactness_and_truncation(const Inputs& in, Analysis& a) {
  const auto t = Clock::now();
  const TensorF ref = in.model.logits(in.X);
  const TensorF Z = in.model.layer_inputs(in.X);
  const ComponentLogits<float> cl(a.comps, Z, 50);
  a.ex = exactness(ref, cl.full());
  a.curve = truncation_curve(cl, in.labels, {1, 2, 5, 10, 20, 50, 0});
  const auto ref_v = ref.to_vector();
  a.pred = argmax_rows(std::vector<double>(ref_v.begin(), ref_v.end()), in.N, in.C);
  index_t correct = 0;
  for (index_t i = 0; i < in.N; ++i) correct += a.pred[i] == in.labels[i];
  a.test_acc = static_cast<double>(correct) / static_cast<double>(in.N);
  a.tr_seconds = since(t);
}

void summarize_spectra(const Inputs& in, Analysis& a) {
  for (const auto& ec : a.comps) {
    a.spec.push_back(summarize(to_doubles(ec.values)));
    a.er_mean += a.spec.back().effective_rank / static_cast<double>(in.C);
    a.mass_mean += a.spec.back().top10_mass / static_cast<double>(in.C);
  }
}

// Eigenvector vs random vs FGSM directions on the first correctly classified test images.
void sweep_adversarial(const Inputs& in, const Args& args, Analysis& a) {
  const auto t = Clock::now();
  std::vector<index_t> pick;
  for (index_t i = 0; i < in.N && static_cast<index_t>(pick.size()) < args.adv_samples; ++i)
    if (a.pred[i] == in.labels[i]) pick.push_back(i);
  a.M = static_cast<index_t>(pick.size());
  a.Xa = TensorF::empty({a.M, in.D});
  a.ya.resize(static_cast<std::size_t>(a.M));
  for (index_t r = 0; r < a.M; ++r) {
    std::copy_n(in.X.data() + pick[r] * in.D, in.D, a.Xa.data() + r * in.D);
    a.ya[r] = in.labels[pick[r]];
  }
  a.adv = adversarial_sweep(in.model, a.comps, a.Xa, a.ya, args.norms);
  AdversarialOptions both;
  both.eigen_target = EigenTarget::runner_up_and_true;
  a.adv2 = adversarial_sweep(in.model, a.comps, a.Xa, a.ya, args.norms, {AttackMethod::eigenvector}, both);
  a.adv_seconds = since(t);
}

std::string pct(double f) { return fmt_pct(f, 2); }

// Key numbers, then the paper's statements next to this model's numbers (MNIST references:
// PyTorch CPU, official recipe, seed 42, 20 epochs; see ../shared/PAPER.md).
void report_overview(io::HtmlReport& rep, const Inputs& in, const Analysis& a, Clock::time_point t_start) {
  rep.key_numbers({{"test accuracy", pct(a.test_acc)},
                   {"max |logit − Σλ(v·z)²| (test set)", fmt_num(a.ex.max_abs_err, 3)},
                   {"accuracy with top-10 components/class", pct(a.curve[3].accuracy)},
                   {"mean effective rank of Q", fmt_num(a.er_mean, 3)},
                   {"mean top-10 |λ| mass", pct(a.mass_mean)},
                   {"analysis time (s)", fmt_num(since(t_start), 3)}});
  double pr_mean = 0;
  for (const auto& sm : a.spec) pr_mean += sm.participation_ratio / static_cast<double>(in.C);
  const auto& adv = a.adv;
  std::size_t j3 = 0;
  for (std::size_t q = 0; q < adv.norms.size(); ++q)
    if (std::fabs(adv.norms[q] - 3.0) < std::fabs(adv.norms[j3] - 3.0)) j3 = q;
  const auto trunc = [&](std::size_t i) { return pct(a.curve[i].accuracy); };
  rep.table({"paper / reference", "this model"},
            {{"test accuracy 97.5% (MNIST, official recipe)", pct(a.test_acc)},
             {"top-k truncation 20 / 37 / 87 / 97.0 / 97.55% at k = 1 / 2 / 5 / 10 / 20",
              trunc(0) + " / " + trunc(1) + " / " + trunc(2) + " / " + trunc(3) + " / " + trunc(4)},
             {"a few (about 10 on each side) eigenvalues per class dominate",
              "mean participation ratio " + fmt_num(pr_mean, 3) + "; top-10 |λ| hold " + pct(a.mass_mean) + " of Σ|λ|"},
             {"adversarial inputs can be built from the eigenvectors alone",
              "eigenvector direction flips " + pct(adv.rate(AttackMethod::eigenvector)[j3]) + " at L2 norm " +
                  fmt_num(adv.norms[j3], 2) + " (random: " + pct(adv.rate(AttackMethod::random)[j3]) +
                  ", FGSM: " + pct(adv.rate(AttackMethod::fgsm)[j3]) + ")"},
             {"the decomposition is exact", "max |logit − Σλ(v·z)²| = " + fmt_num(a.ex.max_abs_err, 3)}},
            "The paper's image claims, next to this checkpoint's numbers.");
}

void report_decomposition(io::HtmlReport& rep, const Inputs& in, const Analysis& a) {
  rep.section("The model as one quadratic form per class");
  rep.paragraph(
      "The model is embed → bilinear layer (Wz) ⊙ (Vz) → head. For class c the logit is exactly z̃ᵀ Q_c z̃ with "
      "Q_c = ½ Σ_o head[c,o] (w_o v_oᵀ + v_o w_oᵀ) (plus a constant input when the model has biases or a residual). "
      "Each Q_c is symmetric, so Q_c = Σ_i λ_i v_i v_iᵀ and logit_c = Σ_i λ_i (v_i·z̃)². The eigenvectors v_i are "
      "the layer's features for that class; mapped through the embedding (embedᵀ v_i) they are pictures in pixel "
      "space.");
  rep.paragraph("Exactness check: over all " + std::to_string(in.N) + " × " + std::to_string(in.C) +
                " test logits, the largest difference between the model's forward pass and the sum over its "
                "eigencomponents is " + fmt_num(a.ex.max_abs_err, 3) + " (largest |logit| " +
                fmt_num(a.ex.max_abs_logit, 4) + ", relative " + fmt_num(a.ex.max_rel_err, 3) +
                "): the decomposition is the model, up to float rounding.");
}

io::Tile eigen_tile(const Eigencomponents<float>& ec, index_t i, int width, const std::string& caption) {
  return {component_tile(ec, i), width, caption};
}

void report_eigenvectors(io::HtmlReport& rep, const Inputs& in, const Analysis& a, const std::string& out) {
  rep.section("Top eigenvectors per class");
  rep.paragraph(
      "Each row is one class: the 4 eigenvectors with the most positive eigenvalues (left), then the 3 most "
      "negative (right), in pixel space. Colours: red positive, blue negative, white zero, each picture on its own "
      "symmetric scale. A feature's activation is (v·x)², high when the input matches the red OR the blue region "
      "(not both); positive-λ features raise the class logit, negative-λ ones lower it.");
  std::vector<io::TileRow> rows;
  for (index_t c = 0; c < in.C; ++c) {
    const auto& ec = a.comps[c];
    io::TileRow row{in.names[c], {{}, {}}};
    for (index_t i : ec.top_positive(4)) row.groups[0].push_back(eigen_tile(ec, i, 84, "λ=" + fmt_num(ec.value(i), 3)));
    for (index_t i : ec.top_negative(3)) row.groups[1].push_back(eigen_tile(ec, i, 84, "λ=" + fmt_num(ec.value(i), 3)));
    rows.push_back(std::move(row));
  }
  rep.tile_table(rows);
  io::write_png(out + "/eigenvectors.png", eigenvector_grid(a.comps, 4, 3));
  std::vector<io::Tile> top;
  for (index_t c = 0; c < in.C; ++c) {
    const auto pos = a.comps[c].top_positive(1);
    if (!pos.empty()) top.push_back({component_tile(a.comps[c], pos[0], 28, 28, 4), 100, in.names[c]});
  }
  rep.tile_strip(top, "The single most positive eigenvector of every class (the paper's Figure 3 view):");
}

void report_spectra(io::HtmlReport& rep, const Inputs& in, const Analysis& a, const std::string& out) {
  rep.section("Eigenvalue spectra");
  rep.paragraph("Per class, the eigenvalues sorted from the most positive (rank 1) and from the most negative "
                "(rank -1): a few eigenvalues on each side are far larger than the rest.");
  const io::Plot sp = spectrum_plot(a.comps, in.names, 20);
  sp.write(out + "/spectrum.svg");
  rep.svg(sp, "Top-20 and bottom-20 eigenvalues of each class's interaction matrix.");
  const io::Plot mp = magnitude_plot(a.comps, in.names, 100);
  mp.write(out + "/spectrum_magnitude.svg");
  rep.svg(mp, "|λ| in decreasing order (first 100 of " + std::to_string(in.model.form_dim()) + ").");
  std::vector<std::vector<std::string>> rows;
  for (index_t c = 0; c < in.C; ++c) {
    const auto& ec = a.comps[c];
    rows.push_back({in.names[c], fmt_num(ec.value(0), 4), fmt_num(ec.value(ec.size() - 1), 4),
                    fmt_num(a.spec[c].effective_rank, 4), pct(a.spec[c].top10_mass),
                    fmt_num(a.spec[c].participation_ratio, 3)});
  }
  rep.table({"class", "largest λ", "smallest λ", "effective rank", "top-10 |λ| mass", "participation ratio"}, rows,
            "Spectral measures per class. Effective rank = exp(entropy of |λ|/Σ|λ|); top-10 mass = share of Σ|λ| "
            "in the 10 largest |λ|.");
}

void report_truncation(io::HtmlReport& rep, const Inputs& in, const Analysis& a, const std::string& out) {
  rep.section("Low-rank truncation");
  rep.paragraph("Keeping only the k eigencomponents of largest |λ| in every class gives a rank-k model whose "
                "test accuracy can be measured directly. Few components per class recover the full accuracy.");
  const io::Plot tp = truncation_plot(a.curve, "Test accuracy of the top-k truncated model");
  tp.write(out + "/truncation.svg");
  rep.svg(tp, "Accuracy vs components kept per class; dashed: the full model.");
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : a.curve)
    rows.push_back({p.all ? "all (" + std::to_string(in.model.form_dim()) + ")" : std::to_string(p.k), pct(p.accuracy),
                    pct(p.agreement)});
  rep.table({"k per class", "test accuracy", "agreement with full model"}, rows,
            "Paper/PyTorch reference (official recipe, MNIST): 20 / 37 / 87 / 97.0 / 97.55% at k = 1 / 2 / 5 / 10 "
            "/ 20, 97.5% with all.");
}

// For a few test images: per top class, the component pushing its logit up most and down most.
void report_explanations(io::HtmlReport& rep, const Inputs& in, const Analysis& a, index_t examples) {
  rep.section("Explanations of single test images");
  rep.paragraph("For a test image, each component's contribution to a class logit is λ_i (v_i·x)², and the "
                "contributions add up to the logit exactly. For the three highest logits we show the component that "
                "pushes the logit up most and the one that pushes it down most.");
  const index_t D = in.D;
  for (index_t e = 0; e < std::min<index_t>(examples, in.N); ++e) {
    const index_t idx = e * 97 % in.N;
    const TensorF x = TensorF::from_vector(std::vector<float>(in.X.data() + idx * D, in.X.data() + (idx + 1) * D), {D});
    const Explanation exp = explain(a.comps, x, 3);
    const io::Tile input{gray_tile(in.X.data() + idx * D, 28, 28, 3), 84,
                         "test #" + std::to_string(idx) + ", label " + in.names[in.labels[idx]]};
    std::vector<io::ExplainedClass> classes;
    for (const auto& ce : exp.classes) {
      io::ExplainedClass k{in.names[ce.cls], "logit " + fmt_num(ce.logit, 3), {}, {}, "top-5 share " + fmt_pct(ce.top_share(5), 0)};
      for (const auto& c : ce.top_positive(1))
        k.up.push_back(eigen_tile(a.comps[ce.cls], c.component, 70, std::string("+").append(fmt_num(c.contribution, 3))));
      for (const auto& c : ce.top_negative(1))
        k.down.push_back(eigen_tile(a.comps[ce.cls], c.component, 70, fmt_num(c.contribution, 3)));
      classes.push_back(std::move(k));
    }
    rep.explanation_row(&input, classes);
  }
}

// Before/after pictures at the norm where the eigenvector attack first reaches 50% (else the largest).
void report_adversarial_examples(io::HtmlReport& rep, const Inputs& in, const Analysis& a) {
  const auto& adv = a.adv;
  const index_t D = in.D;
  std::size_t j = adv.norms.size() - 1;
  for (std::size_t q = 0; q < adv.norms.size(); ++q)
    if (adv.rate(AttackMethod::eigenvector)[q] >= 0.5) {
      j = q;
      break;
    }
  const double eps = adv.norms[j];
  const index_t show = std::min<index_t>(8, a.M);
  TensorF Xs = TensorF::empty({show, D});
  std::copy_n(a.Xa.data(), show * D, Xs.data());
  const std::vector<std::int64_t> ys(a.ya.begin(), a.ya.begin() + show);
  const TensorF de = attack_directions(AttackMethod::eigenvector, in.model, a.comps, Xs, ys);
  const TensorF df = attack_directions(AttackMethod::fgsm, in.model, a.comps, Xs, ys);
  TensorF Pe = TensorF::empty({show, D}), Pf = TensorF::empty({show, D});
  for (index_t k = 0; k < show * D; ++k) {
    Pe.data()[k] = Xs.data()[k] + static_cast<float>(eps) * de.data()[k];
    Pf.data()[k] = Xs.data()[k] + static_cast<float>(eps) * df.data()[k];
  }
  const auto pe = predict(in.model, Pe), pf = predict(in.model, Pf);
  std::vector<io::TileRow> rows = {{"clean", {{}}}, {"δ", {{}}}, {"perturbed", {{}}}, {"FGSM", {{}}}};
  for (index_t s = 0; s < show; ++s) {
    std::vector<float> dd(de.data() + s * D, de.data() + (s + 1) * D);
    const auto verdict = [&](std::int64_t p) { return p == ys[s] ? in.names[p] + " (kept)" : in.names[p]; };
    rows[0].groups[0].push_back({gray_tile(Xs.data() + s * D, 28, 28), 70, "clean: " + in.names[ys[s]]});
    rows[1].groups[0].push_back({rdbu_tile(dd.data(), 28, 28), 70, "δ (eigvec)"});
    rows[2].groups[0].push_back({gray_tile(Pe.data() + s * D, 28, 28), 70, "→ " + verdict(pe[s])});
    rows[3].groups[0].push_back({gray_tile(Pf.data() + s * D, 28, 28), 70, "FGSM → " + verdict(pf[s])});
  }
  rep.tile_table(rows, "Examples at L2 norm " + fmt_num(eps, 3) +
                           " (rows: clean image, eigenvector perturbation, perturbed image, FGSM perturbed image; "
                           "captions: predicted class).");
}

void report_adversarial(io::HtmlReport& rep, const Inputs& in, const Analysis& a, const std::string& out) {
  rep.section("Adversarial inputs from the weights");
  rep.paragraph(
      "For " + std::to_string(a.M) +
      " correctly classified test images we add a perturbation of fixed L2 norm and count how often the prediction "
      "changes. Eigenvector: no gradient — the picture of the top positive eigenvector of the runner-up class (from "
      "the weights), signed to grow its activation. Random: a Gaussian direction. FGSM: the sign of the loss "
      "gradient, scaled to the same L2 norm. No clipping to [0, 1], so all three have exactly the same norm "
      "(a typical test image has L2 norm ≈ 9).");
  const io::Plot ap = adversarial_plot(a.adv, "Success rate vs perturbation norm");
  ap.write(out + "/adversarial.svg");
  rep.svg(ap, "Fraction of correctly classified test images whose prediction flips.");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t j = 0; j < a.adv.norms.size(); ++j)
    rows.push_back({fmt_num(a.adv.norms[j], 3), pct(a.adv.rate(AttackMethod::eigenvector)[j]),
                    pct(a.adv2.rate(AttackMethod::eigenvector)[j]), pct(a.adv.rate(AttackMethod::random)[j]),
                    pct(a.adv.rate(AttackMethod::fgsm)[j])});
  rep.table({"L2 norm", "eigenvector (runner-up +)", "eigenvector (runner-up + and true −)", "random", "FGSM"}, rows,
            "Success rates. The second eigenvector column also adds the true class's most negative-λ feature.");
  report_adversarial_examples(rep, in, a);
}

// Writes DIR/report.html with every picture inlined (and the pictures as files); returns its path.
std::string write_report(const Args& args, const Inputs& in, const Analysis& a, Clock::time_point t_start) {
  const auto t_rep = Clock::now();
  std::filesystem::create_directories(args.out);
  const std::string& out = args.out;
  io::HtmlReport rep("Bilinear MLP, decomposed: " + std::filesystem::path(args.ckpt).filename().string(),
                     "Weight-based analysis after Pearce et al., \"Bilinear MLPs enable weight-based mechanistic "
                     "interpretability\" (ICLR 2025). Dataset: " + in.dataset + " (" + std::to_string(in.N) +
                         " test images).");
  report_overview(rep, in, a, t_start);
  report_decomposition(rep, in, a);
  report_eigenvectors(rep, in, a, out);
  report_spectra(rep, in, a, out);
  add_classifier_hosvd_section(rep, a.hosvd, in.names, out);
  report_truncation(rep, in, a, out);
  report_explanations(rep, in, a, args.examples);
  report_adversarial(rep, in, a, out);
  rep.section("How this was computed");
  rep.table({"step", "seconds"},
            {{"eigendecomposition of " + std::to_string(in.C) + " " + std::to_string(in.model.form_dim()) + "×" +
                  std::to_string(in.model.form_dim()) + " matrices",
              fmt_num(a.dec_seconds, 3)},
             {"HOSVD (Gram matrix of the class forms, 4 components decomposed)", fmt_num(a.hosvd_seconds, 3)},
             {"exactness + truncation on the test set", fmt_num(a.tr_seconds, 3)},
             {"adversarial sweep", fmt_num(a.adv_seconds, 3)},
             {"pictures + report", fmt_num(since(t_rep), 3)}},
            "");
  rep.paragraph("Checkpoint: " + args.ckpt + ". Data: " + in.dir + ". Pictures are also written next to this report "
                "(eigenvectors.png, spectrum.svg, spectrum_magnitude.svg, hosvd_spectrum.svg, truncation.svg, adversarial.svg), "
                "and the decomposition as decomposition.safetensors with its index decomposition.json (NumPy/PyTorch).");
  rep.footer("Generated by bilin analyze_mnist in " + fmt_num(since(t_start), 3) + " s.");
  const std::string report = out + "/report.html";
  rep.write(report);
  return report;
}

// DIR/decomposition.safetensors + .json (interp/decomposition_export.hpp); returns the JSON's path.
std::string write_export(const Args& args, const Inputs& in, const Analysis& a) {
  json::Value info = json::Value::object();
  info["checkpoint"] = args.ckpt;
  info["dataset"] = in.dataset;
  json::Value norm = json::Value::object();
  norm["formula"] = "x = (pixel / 255 - mean) / std, pixels row-major 28x28";
  norm["mean"] = in.norm.mean;
  norm["std"] = in.norm.std;
  info["input_normalization"] = norm;
  return export_decomposition(args.out, in.model, a.comps, in.names, &a.hosvd, info).second;
}

// DIR/explorer.html; returns its path.
std::string write_explorer_page(const Args& args, const Inputs& in, const Analysis& a) {
  const ExplorerResult er = write_explorer(args.out + "/explorer.html", in.model, a.comps, in.explorer);
  std::cerr << "explorer " << er.path << ": " << er.bytes << " bytes, " << er.bits << "-bit weights, logits within "
            << er.max_abs_err << " of the model on " << er.checked << " test images\n";
  return er.path;
}

// Progress on stderr and the one JSON line on stdout.
void print_summary(const Args& args, const Inputs& in, const Analysis& a, double seconds, const std::string& report,
                   const std::string& explorer, const std::string& exported) {
  std::cerr << "decomposition " << fmt_num(a.dec_seconds, 3) << " s, exactness max abs err " << a.ex.max_abs_err
            << ", test acc " << a.test_acc << "\n";
  for (const auto& p : a.curve)
    std::cerr << "  k=" << (p.all ? std::string("all") : std::to_string(p.k)) << " acc " << p.accuracy << "\n";
  json::Value j = json::Value::object();
  j["checkpoint"] = args.ckpt;
  j["dataset"] = in.dataset;
  j["test_acc"] = a.test_acc;
  j["exactness_max_abs_err"] = a.ex.max_abs_err;
  j["exactness_max_rel_err"] = a.ex.max_rel_err;
  json::Value tr = json::Value::object();
  for (const auto& p : a.curve) tr[p.all ? std::string("all") : std::to_string(p.k)] = p.accuracy;
  j["truncation_acc"] = tr;
  json::Value adv = json::Value::object();
  adv["norms"] = json::Value::array_of(a.adv.norms);
  adv["eigenvector"] = json::Value::array_of(a.adv.rate(AttackMethod::eigenvector));
  adv["eigenvector_with_true_negative"] = json::Value::array_of(a.adv2.rate(AttackMethod::eigenvector));
  adv["random"] = json::Value::array_of(a.adv.rate(AttackMethod::random));
  adv["fgsm"] = json::Value::array_of(a.adv.rate(AttackMethod::fgsm));
  adv["samples"] = a.M;
  j["adversarial"] = adv;
  j["effective_rank_mean"] = a.er_mean;
  j["hosvd_singular_values"] = json::Value::array_of(a.hosvd.hosvd.singular_values);
  j["hosvd_energy_top1"] = a.hosvd.hosvd.size() ? a.hosvd.hosvd.energy(0) : 0.0;
  j["top10_mass_mean"] = a.mass_mean;
  j["seconds"] = seconds;
  j["report"] = report;
  if (!explorer.empty()) j["explorer"] = explorer;
  j["decomposition"] = exported;
  std::cout << j.dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t_start = Clock::now();
  try {
    Args args;
    if (!parse(argc, argv, args)) return 0;
    if (args.threads > 0) omp_set_num_threads(args.threads);
    const Inputs in = load_inputs(args);
    Analysis a;
    decompose(in, a);
    check_exactness_and_truncation(in, a);
    summarize_spectra(in, a);
    sweep_adversarial(in, args, a);
    const std::string report = write_report(args, in, a, t_start);
    const std::string explorer = args.explorer ? write_explorer_page(args, in, a) : "";
    const std::string exported = write_export(args, in, a);
    print_summary(args, in, a, since(t_start), report, explorer, exported);
  } catch (const std::exception& e) {
    std::cerr << "analyze_mnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
