// analyze_mnist — the paper's image analyses for one trained checkpoint, as one HTML report.
//
//   analyze_mnist --ckpt PATH [--out DIR] [--dataset mnist|fmnist|PATH] [--residual on|off]
//                 [--adv-samples N] [--norms 0.5,1,2,...] [--examples N] [--threads N] [--explorer]
//
// Reads a single-bilinear-layer classifier (bilin checkpoint, or a safetensors file exported
// from PyTorch with the official layout embed.weight / blocks.0.weight [2d, d] / head.weight),
// decomposes every class's interaction matrix, checks that the decomposition reproduces the
// model's logits on the whole test set, measures the low-rank truncation curve and the
// eigenvector-vs-random-vs-FGSM adversarial sweep, and writes DIR/report.html (self-contained:
// every picture inlined) plus the pictures as separate files. The last stdout line is one JSON
// object with the numbers (exactness_max_abs_err, truncation_acc, adversarial, seconds, report).
#include <chrono>
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
#include "bilin/interp/explorer.hpp"
#include "bilin/interp/figures.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/spectral.hpp"
#include "bilin/interp/truncation.hpp"
#include "bilin/io/html_report.hpp"
#include "bilin/io/json.hpp"
#include "bilin/io/safetensors.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

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

[[noreturn]] void usage(const std::string& err) {
  std::cerr << "analyze_mnist: " << err << "\n"
            << "usage: analyze_mnist --ckpt PATH [--out DIR] [--dataset mnist|fmnist|PATH] [--residual on|off]\n"
            << "                     [--adv-samples N] [--norms 0.5,1,2] [--examples N] [--threads N] [--explorer]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + k);
      return argv[++i];
    };
    auto num = [&](const std::string& v) -> double {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end) usage("'" + v + "' is not a number (for " + k + ")");
      return d;
    };
    if (k == "--ckpt") a.ckpt = val();
    else if (k == "--out") a.out = val();
    else if (k == "--dataset") a.dataset = val();
    else if (k == "--residual") {
      const std::string v = val();
      if (v != "on" && v != "off") usage("--residual takes on or off");
      a.residual = v == "on";
    } else if (k == "--adv-samples") a.adv_samples = static_cast<index_t>(num(val()));
    else if (k == "--examples") a.examples = static_cast<index_t>(num(val()));
    else if (k == "--threads") a.threads = static_cast<int>(num(val()));
    else if (k == "--explorer") a.explorer = true;
    else if (k == "--norms") {
      a.norms.clear();
      std::string v = val(), tok;
      for (std::size_t p = 0; p <= v.size(); ++p) {
        if (p == v.size() || v[p] == ',') {
          a.norms.push_back(num(tok));
          tok.clear();
        } else {
          tok += v[p];
        }
      }
    } else if (k == "-h" || k == "--help") {
      usage("help");
    } else {
      usage("unknown option " + k);
    }
  }
  if (a.ckpt.empty()) usage("--ckpt is required");
  if (a.adv_samples < 1 || a.examples < 0) usage("--adv-samples must be >= 1 and --examples >= 0");
  return a;
}

std::vector<std::string> class_names(const std::string& dataset) {
  if (dataset.find("fmnist") != std::string::npos || dataset.find("fashion") != std::string::npos)
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const auto t_start = Clock::now();
#ifdef _OPENMP
  if (args.threads > 0) omp_set_num_threads(args.threads);
#endif
  try {
    // ------------------------------------------------------------------ model + data
    const io::TensorMap map = io::load_safetensors(args.ckpt);
    const BilinearClassifier<float> model = from_tensors<float>(map, args.residual);
    BILIN_CHECK(model.input_dim() == 784, "analyze_mnist", args.ckpt, ": the model reads ", model.input_dim(),
                " inputs; MNIST-style images have 28x28 = 784");
    std::string dataset = args.dataset;
    if (dataset.empty()) {
      const auto it = map.metadata.find("dataset");
      dataset = it != map.metadata.end() ? it->second : "mnist";
    }
    const std::string dir = data::locate_dataset(dataset);
    const data::MnistSplit test = data::load_mnist_split(dir, "test");
    const index_t N = test.size(), D = 784, C = model.num_classes();
    const InputNormalization norm = input_normalization(map.metadata);
    TensorF X = TensorF::empty({N, D});
    for (index_t i = 0; i < N * D; ++i) X.data()[i] = norm.apply(test.images.data()[i]);
    std::vector<std::int64_t> labels(static_cast<std::size_t>(N));
    for (index_t i = 0; i < N; ++i) labels[i] = test.labels.data()[i];
    const auto names = class_names(dataset);
    std::cerr << "analyze_mnist: " << args.ckpt << " (hidden " << model.hidden_dim() << ", form size "
              << model.form_dim() << (model.residual ? ", residual" : "") << "), " << N << " test images from " << dir
              << "\n";

    // ------------------------------------------------------------------ decomposition
    const auto t_dec = Clock::now();
    const auto comps = decompose_classes(model);
    const double dec_seconds = since(t_dec);

    // ------------------------------------------------------------------ exactness + truncation
    const auto t_tr = Clock::now();
    const TensorF ref = model.logits(X);
    const TensorF Z = model.layer_inputs(X);
    const std::vector<index_t> ks = {1, 2, 5, 10, 20, 50};
    const ComponentLogits<float> cl(comps, Z, 50);
    const Exactness ex = exactness(ref, cl.full());
    std::vector<index_t> ks_all = ks;
    ks_all.push_back(0);
    const auto curve = truncation_curve(cl, labels, ks_all);
    const auto ref_v = ref.to_vector();
    const auto pred = argmax_rows(std::vector<double>(ref_v.begin(), ref_v.end()), N, C);
    index_t correct = 0;
    for (index_t i = 0; i < N; ++i) correct += pred[i] == labels[i];
    const double test_acc = static_cast<double>(correct) / static_cast<double>(N);
    const double tr_seconds = since(t_tr);

    // ------------------------------------------------------------------ spectra
    std::vector<SpectrumSummary> spec;
    double er_mean = 0, mass_mean = 0;
    for (const auto& ec : comps) {
      spec.push_back(summarize(to_doubles(ec.values)));
      er_mean += spec.back().effective_rank / static_cast<double>(C);
      mass_mean += spec.back().top10_mass / static_cast<double>(C);
    }

    // ------------------------------------------------------------------ adversarial
    const auto t_adv = Clock::now();
    std::vector<index_t> pick;
    for (index_t i = 0; i < N && static_cast<index_t>(pick.size()) < args.adv_samples; ++i)
      if (pred[i] == labels[i]) pick.push_back(i);
    const index_t M = static_cast<index_t>(pick.size());
    TensorF Xa = TensorF::empty({M, D});
    std::vector<std::int64_t> ya(static_cast<std::size_t>(M));
    for (index_t r = 0; r < M; ++r) {
      std::copy_n(X.data() + pick[r] * D, D, Xa.data() + r * D);
      ya[r] = labels[pick[r]];
    }
    const AdversarialResult adv = adversarial_sweep(model, comps, Xa, ya, args.norms);
    AdversarialOptions both;
    both.eigen_target = EigenTarget::runner_up_and_true;
    const AdversarialResult adv2 =
        adversarial_sweep(model, comps, Xa, ya, args.norms, {AttackMethod::eigenvector}, both);
    const double adv_seconds = since(t_adv);

    // ------------------------------------------------------------------ pictures + report
    const auto t_rep = Clock::now();
    std::filesystem::create_directories(args.out);
    const std::string out = args.out;
    io::HtmlReport rep("Bilinear MLP, decomposed: " + std::filesystem::path(args.ckpt).filename().string(),
                       "Weight-based analysis after Pearce et al., \"Bilinear MLPs enable weight-based mechanistic "
                       "interpretability\" (ICLR 2025). Dataset: " + dataset + " (" + std::to_string(N) +
                           " test images).");
    const auto pct = [](double f) { return fmt_pct(f, 2); };
    const auto& t10 = curve[3];
    rep.key_numbers({{"test accuracy", pct(test_acc)},
                     {"max |logit − Σλ(v·z)²| (test set)", fmt_num(ex.max_abs_err, 3)},
                     {"accuracy with top-10 components/class", pct(t10.accuracy)},
                     {"mean effective rank of Q", fmt_num(er_mean, 3)},
                     {"mean top-10 |λ| mass", pct(mass_mean)},
                     {"analysis time (s)", fmt_num(since(t_start), 3)}});

    {
      // The paper's statements next to this model's numbers (MNIST references: PyTorch CPU, official
      // recipe, seed 42, 20 epochs; see ../shared/PAPER.md).
      double pr_mean = 0;
      for (const auto& sm : spec) pr_mean += sm.participation_ratio / static_cast<double>(C);
      std::size_t j3 = 0;
      for (std::size_t q = 0; q < adv.norms.size(); ++q)
        if (std::fabs(adv.norms[q] - 3.0) < std::fabs(adv.norms[j3] - 3.0)) j3 = q;
      const auto trunc = [&](std::size_t i) { return pct(curve[i].accuracy); };
      rep.table({"paper / reference", "this model"},
                {{"test accuracy 97.5% (MNIST, official recipe)", pct(test_acc)},
                 {"top-k truncation 20 / 37 / 87 / 97.0 / 97.55% at k = 1 / 2 / 5 / 10 / 20",
                  trunc(0) + " / " + trunc(1) + " / " + trunc(2) + " / " + trunc(3) + " / " + trunc(4)},
                 {"a few (about 10 on each side) eigenvalues per class dominate",
                  "mean participation ratio " + fmt_num(pr_mean, 3) + "; top-10 |λ| hold " + pct(mass_mean) +
                      " of Σ|λ|"},
                 {"adversarial inputs can be built from the eigenvectors alone",
                  "eigenvector direction flips " + pct(adv.rate(AttackMethod::eigenvector)[j3]) + " at L2 norm " +
                      fmt_num(adv.norms[j3], 2) + " (random: " + pct(adv.rate(AttackMethod::random)[j3]) +
                      ", FGSM: " + pct(adv.rate(AttackMethod::fgsm)[j3]) + ")"},
                 {"the decomposition is exact", "max |logit − Σλ(v·z)²| = " + fmt_num(ex.max_abs_err, 3)}},
                "The paper's image claims, next to this checkpoint's numbers.");
    }

    rep.section("The model as one quadratic form per class");
    rep.paragraph(
        "The model is embed → bilinear layer (Wz) ⊙ (Vz) → head. For class c the logit is exactly z̃ᵀ Q_c z̃ with "
        "Q_c = ½ Σ_o head[c,o] (w_o v_oᵀ + v_o w_oᵀ) (plus a constant input when the model has biases or a residual). "
        "Each Q_c is symmetric, so Q_c = Σ_i λ_i v_i v_iᵀ and logit_c = Σ_i λ_i (v_i·z̃)². The eigenvectors v_i are "
        "the layer's features for that class; mapped through the embedding (embedᵀ v_i) they are pictures in pixel "
        "space.");
    rep.paragraph("Exactness check: over all " + std::to_string(N) + " × " + std::to_string(C) +
                  " test logits, the largest difference between the model's forward pass and the sum over its "
                  "eigencomponents is " + fmt_num(ex.max_abs_err, 3) + " (largest |logit| " +
                  fmt_num(ex.max_abs_logit, 4) + ", relative " + fmt_num(ex.max_rel_err, 3) +
                  "): the decomposition is the model, up to float rounding.");

    rep.section("Top eigenvectors per class");
    rep.paragraph(
        "Each row is one class: the 4 eigenvectors with the most positive eigenvalues (left), then the 3 most "
        "negative (right), in pixel space. Colours: red positive, blue negative, white zero, each picture on its own "
        "symmetric scale. A feature's activation is (v·x)², high when the input matches the red OR the blue region "
        "(not both); positive-λ features raise the class logit, negative-λ ones lower it.");
    {
      std::string html = "<table style=\"border-collapse:collapse\"><tbody>";
      for (index_t c = 0; c < C; ++c) {
        html += "<tr><td style=\"font-weight:600;padding-right:.6em\">" + io::html_escape(names[c]) + "</td><td>";
        for (index_t i : comps[c].top_positive(4))
          html += tile_html(component_tile(comps[c], i), 84, "λ=" + fmt_num(comps[c].value(i), 3));
        html += "</td><td style=\"border-left:2px solid #bbb;padding-left:.5em\">";
        for (index_t i : comps[c].top_negative(3))
          html += tile_html(component_tile(comps[c], i), 84, "λ=" + fmt_num(comps[c].value(i), 3));
        html += "</td></tr>";
      }
      html += "</tbody></table>";
      rep.raw_html(html);
    }
    const io::Image grid = eigenvector_grid(comps, 4, 3);
    io::write_png(out + "/eigenvectors.png", grid);
    {
      std::string html = "<p>The single most positive eigenvector of every class (the paper's Figure 3 view):</p><div>";
      for (index_t c = 0; c < C; ++c) {
        const auto pos = comps[c].top_positive(1);
        if (!pos.empty()) html += tile_html(component_tile(comps[c], pos[0], 28, 28, 4), 100, names[c]);
      }
      rep.raw_html(html + "</div>");
    }

    rep.section("Eigenvalue spectra");
    rep.paragraph("Per class, the eigenvalues sorted from the most positive (rank 1) and from the most negative "
                  "(rank -1): a few eigenvalues on each side are far larger than the rest.");
    const io::Plot sp = spectrum_plot(comps, names, 20);
    sp.write(out + "/spectrum.svg");
    rep.svg(sp, "Top-20 and bottom-20 eigenvalues of each class's interaction matrix.");
    const io::Plot mp = magnitude_plot(comps, names, 100);
    mp.write(out + "/spectrum_magnitude.svg");
    rep.svg(mp, "|λ| in decreasing order (first 100 of " + std::to_string(model.form_dim()) + ").");
    {
      std::vector<std::vector<std::string>> rows;
      for (index_t c = 0; c < C; ++c)
        rows.push_back({names[c], fmt_num(comps[c].value(0), 4), fmt_num(comps[c].value(comps[c].size() - 1), 4),
                        fmt_num(spec[c].effective_rank, 4), pct(spec[c].top10_mass),
                        fmt_num(spec[c].participation_ratio, 3)});
      rep.table({"class", "largest λ", "smallest λ", "effective rank", "top-10 |λ| mass", "participation ratio"}, rows,
                "Spectral measures per class. Effective rank = exp(entropy of |λ|/Σ|λ|); top-10 mass = share of Σ|λ| "
                "in the 10 largest |λ|.");
    }

    rep.section("Low-rank truncation");
    rep.paragraph("Keeping only the k eigencomponents of largest |λ| in every class gives a rank-k model whose "
                  "test accuracy can be measured directly. Few components per class recover the full accuracy.");
    const io::Plot tp = truncation_plot(curve, "Test accuracy of the top-k truncated model");
    tp.write(out + "/truncation.svg");
    rep.svg(tp, "Accuracy vs components kept per class; dashed: the full model.");
    {
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : curve)
        rows.push_back({p.all ? "all (" + std::to_string(model.form_dim()) + ")" : std::to_string(p.k), pct(p.accuracy),
                        pct(p.agreement)});
      rep.table({"k per class", "test accuracy", "agreement with full model"}, rows,
                "Paper/PyTorch reference (official recipe, MNIST): 20 / 37 / 87 / 97.0 / 97.55% at k = 1 / 2 / 5 / 10 "
                "/ 20, 97.5% with all.");
    }

    rep.section("Explanations of single test images");
    rep.paragraph("For a test image, each component's contribution to a class logit is λ_i (v_i·x)², and the "
                  "contributions add up to the logit exactly. For the three highest logits we show the component that "
                  "pushes the logit up most and the one that pushes it down most.");
    {
      std::string html;
      for (index_t e = 0; e < std::min<index_t>(args.examples, N); ++e) {
        const index_t idx = e * 97 % N;
        const TensorF x = TensorF::from_vector(std::vector<float>(X.data() + idx * D, X.data() + (idx + 1) * D), {D});
        const Explanation exp = explain(comps, x, 3);
        html += "<div style=\"margin:.6em 0;padding:.4em;border:1px solid #eee;border-radius:6px\">";
        html += tile_html(gray_tile(X.data() + idx * D, 28, 28, 3), 84,
                          "test #" + std::to_string(idx) + ", label " + names[labels[idx]]);
        for (const auto& ce : exp.classes) {
          html += "<span style=\"display:inline-block;vertical-align:top;margin-left:1em\"><b>" +
                  io::html_escape(names[ce.cls]) + "</b> logit " + fmt_num(ce.logit, 3) + "<br>";
          for (const auto& c : ce.top_positive(1))
            html += tile_html(component_tile(comps[ce.cls], c.component), 70, std::string("+").append(fmt_num(c.contribution, 3)));
          for (const auto& c : ce.top_negative(1))
            html += tile_html(component_tile(comps[ce.cls], c.component), 70, fmt_num(c.contribution, 3));
          html += "<br><small>top-5 share " + fmt_pct(ce.top_share(5), 0) + "</small></span>";
        }
        html += "</div>";
      }
      rep.raw_html(html);
    }

    rep.section("Adversarial inputs from the weights");
    rep.paragraph(
        "For " + std::to_string(M) +
        " correctly classified test images we add a perturbation of fixed L2 norm and count how often the prediction "
        "changes. Eigenvector: no gradient — the picture of the top positive eigenvector of the runner-up class (from "
        "the weights), signed to grow its activation. Random: a Gaussian direction. FGSM: the sign of the loss "
        "gradient, scaled to the same L2 norm. No clipping to [0, 1], so all three have exactly the same norm "
        "(a typical test image has L2 norm ≈ 9).");
    const io::Plot ap = adversarial_plot(adv, "Success rate vs perturbation norm");
    ap.write(out + "/adversarial.svg");
    rep.svg(ap, "Fraction of correctly classified test images whose prediction flips.");
    {
      std::vector<std::vector<std::string>> rows;
      for (std::size_t j = 0; j < adv.norms.size(); ++j)
        rows.push_back({fmt_num(adv.norms[j], 3), pct(adv.rate(AttackMethod::eigenvector)[j]),
                        pct(adv2.rate(AttackMethod::eigenvector)[j]), pct(adv.rate(AttackMethod::random)[j]),
                        pct(adv.rate(AttackMethod::fgsm)[j])});
      rep.table({"L2 norm", "eigenvector (runner-up +)", "eigenvector (runner-up + and true −)", "random", "FGSM"}, rows,
                "Success rates. The second eigenvector column also adds the true class's most negative-λ feature.");
    }
    {
      // Before/after pictures at the norm where the eigenvector attack first reaches 50% (else the largest).
      std::size_t j = adv.norms.size() - 1;
      for (std::size_t q = 0; q < adv.norms.size(); ++q)
        if (adv.rate(AttackMethod::eigenvector)[q] >= 0.5) {
          j = q;
          break;
        }
      const double eps = adv.norms[j];
      const index_t show = std::min<index_t>(8, M);
      TensorF Xs = TensorF::empty({show, D});
      std::copy_n(Xa.data(), show * D, Xs.data());
      const std::vector<std::int64_t> ys(ya.begin(), ya.begin() + show);
      std::string html = "<p>Examples at L2 norm " + fmt_num(eps, 3) +
                         " (rows: clean image, eigenvector perturbation, perturbed image, FGSM perturbed image; "
                         "captions: predicted class).</p><table><tbody>";
      const TensorF de = attack_directions(AttackMethod::eigenvector, model, comps, Xs, ys);
      const TensorF df = attack_directions(AttackMethod::fgsm, model, comps, Xs, ys);
      TensorF Pe = TensorF::empty({show, D}), Pf = TensorF::empty({show, D});
      for (index_t k = 0; k < show * D; ++k) {
        Pe.data()[k] = Xs.data()[k] + static_cast<float>(eps) * de.data()[k];
        Pf.data()[k] = Xs.data()[k] + static_cast<float>(eps) * df.data()[k];
      }
      const auto pe = predict(model, Pe), pf = predict(model, Pf);
      std::string r0 = "<tr>", r1 = "<tr>", r2 = "<tr>", r3 = "<tr>";
      for (index_t s = 0; s < show; ++s) {
        std::vector<float> dd(de.data() + s * D, de.data() + (s + 1) * D);
        r0 += "<td>" + tile_html(gray_tile(Xs.data() + s * D, 28, 28), 70, "clean: " + names[ys[s]]) + "</td>";
        r1 += "<td>" + tile_html(rdbu_tile(dd.data(), 28, 28), 70, "δ (eigvec)") + "</td>";
        const auto verdict = [&](std::int64_t p) { return p == ys[s] ? names[p] + " (kept)" : names[p]; };
        r2 += "<td>" + tile_html(gray_tile(Pe.data() + s * D, 28, 28), 70, "→ " + verdict(pe[s])) + "</td>";
        r3 += "<td>" + tile_html(gray_tile(Pf.data() + s * D, 28, 28), 70, "FGSM → " + verdict(pf[s])) + "</td>";
      }
      html += r0 + "</tr>" + r1 + "</tr>" + r2 + "</tr>" + r3 + "</tr></tbody></table>";
      rep.raw_html(html);
    }

    rep.section("How this was computed");
    rep.table({"step", "seconds"},
              {{"eigendecomposition of " + std::to_string(C) + " " + std::to_string(model.form_dim()) + "×" +
                    std::to_string(model.form_dim()) + " matrices",
                fmt_num(dec_seconds, 3)},
               {"exactness + truncation on the test set", fmt_num(tr_seconds, 3)},
               {"adversarial sweep", fmt_num(adv_seconds, 3)},
               {"pictures + report", fmt_num(since(t_rep), 3)}},
              "");
    rep.paragraph("Checkpoint: " + args.ckpt + ". Data: " + dir + ". Pictures are also written next to this report "
                  "(eigenvectors.png, spectrum.svg, spectrum_magnitude.svg, truncation.svg, adversarial.svg).");
    const double seconds = since(t_start);
    rep.footer("Generated by bilin analyze_mnist in " + fmt_num(seconds, 3) + " s.");
    const std::string report = out + "/report.html";
    rep.write(report);
    std::string explorer;
    if (args.explorer) {
      const ExplorerResult er = write_explorer(out + "/explorer.html", model, comps,
                                               explorer_options(test.images.data(), labels, N, names, norm, args.ckpt));
      std::cerr << "explorer " << er.path << ": " << er.bytes << " bytes, " << er.bits << "-bit weights, logits within "
                << er.max_abs_err << " of the model on " << er.checked << " test images\n";
      explorer = er.path;
    }

    // ------------------------------------------------------------------ summary
    std::cerr << "decomposition " << fmt_num(dec_seconds, 3) << " s, exactness max abs err " << ex.max_abs_err
              << ", test acc " << test_acc << "\n";
    for (const auto& p : curve)
      std::cerr << "  k=" << (p.all ? std::string("all") : std::to_string(p.k)) << " acc " << p.accuracy << "\n";
    json::Value j = json::Value::object();
    j["checkpoint"] = args.ckpt;
    j["dataset"] = dataset;
    j["test_acc"] = test_acc;
    j["exactness_max_abs_err"] = ex.max_abs_err;
    j["exactness_max_rel_err"] = ex.max_rel_err;
    json::Value tr = json::Value::object();
    for (const auto& p : curve) tr[p.all ? std::string("all") : std::to_string(p.k)] = p.accuracy;
    j["truncation_acc"] = tr;
    json::Value a = json::Value::object();
    json::Value nv = json::Value::array();
    for (double v : adv.norms) nv.push_back(v);
    a["norms"] = nv;
    auto arr = [](const std::vector<double>& v) {
      json::Value x = json::Value::array();
      for (double d : v) x.push_back(d);
      return x;
    };
    a["eigenvector"] = arr(adv.rate(AttackMethod::eigenvector));
    a["eigenvector_with_true_negative"] = arr(adv2.rate(AttackMethod::eigenvector));
    a["random"] = arr(adv.rate(AttackMethod::random));
    a["fgsm"] = arr(adv.rate(AttackMethod::fgsm));
    a["samples"] = M;
    j["adversarial"] = a;
    j["effective_rank_mean"] = er_mean;
    j["top10_mass_mean"] = mass_mean;
    j["seconds"] = seconds;
    j["report"] = report;
    if (!explorer.empty()) j["explorer"] = explorer;
    std::cout << j.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "analyze_mnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
