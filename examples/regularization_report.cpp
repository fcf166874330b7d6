// regularization_report — compare the spectra and eigenvectors of several trained checkpoints
// (the paper's regularization / overfitting study: input noise and weight decay).
//
//   regularization_report --out DIR [--dataset mnist|fmnist|PATH] LABEL=CKPT [LABEL=CKPT ...]
//
// For each checkpoint: test accuracy, mean effective rank of the class interaction matrices,
// mean share of Σ|λ| in the top-10 |λ|, mean participation ratio, the training noise and weight
// decay (from the checkpoint's train.config metadata when present), and the top positive
// eigenvector of every class as one row of pictures. Writes DIR/report.html (self-contained) and
// DIR/eigenvectors_<label>.png; the last stdout line is a JSON object with one entry per label.
// examples/regularization_study.sh trains the models and calls this.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/data/idx.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/figures.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/spectral.hpp"
#include "bilin/interp/truncation.hpp"
#include "bilin/io/flags.hpp"
#include "bilin/io/html_report.hpp"
#include "bilin/io/json.hpp"
#include "bilin/io/safetensors.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

struct Row {
  std::string label, ckpt;
  double noise = NAN, wd = NAN, acc = 0, er = 0, mass = 0, pr = 0, acc10 = 0;
  std::vector<Eigencomponents<float>> comps;
};

double meta_number(const std::map<std::string, std::string>& meta, const char* key) {
  const auto it = meta.find("train.config");
  if (it == meta.end()) return NAN;
  try {
    const json::Value v = json::parse(it->second);
    if (const json::Value* f = v.is_object() ? v.find(key) : nullptr; f && f->is_number()) return f->as_double();
  } catch (const Error&) {
  }
  return NAN;
}


// The test set every checkpoint is measured on.
struct TestSet {
  data::MnistSplit split;
  std::vector<std::int64_t> labels;
  index_t N = 0, D = 784;
};

// One checkpoint's accuracy and spectral measures (and its decomposition for the pictures).
Row analyze_checkpoint(const std::string& label, const std::string& ckpt, const TestSet& ts) {
  const index_t N = ts.N, D = ts.D;
  const auto& test = ts.split;
  const auto& labels = ts.labels;
  Row r;
  r.label = label;
  r.ckpt = ckpt;
  const io::TensorMap map = io::load_safetensors(ckpt);
  const auto model = from_tensors<float>(map);
  BILIN_CHECK(model.input_dim() == D, "regularization_report", ckpt, ": expects ", model.input_dim(), " inputs");
  const InputNormalization norm = input_normalization(map.metadata);
  TensorF X = TensorF::empty({N, D});
  for (index_t i = 0; i < N * D; ++i) X.data()[i] = norm.apply(test.images.data()[i]);
  r.noise = meta_number(map.metadata, "noise");
  r.wd = meta_number(map.metadata, "weight_decay");
  r.comps = decompose_classes(model);
  const ComponentLogits<float> cl(r.comps, model.layer_inputs(X), 10);
  const auto curve = truncation_curve(cl, labels, {10, 0});
  r.acc10 = curve[0].accuracy;
  r.acc = curve[1].accuracy;
  for (const auto& ec : r.comps) {
    const SpectrumSummary s = summarize(to_doubles(ec.values));
    r.er += s.effective_rank / static_cast<double>(r.comps.size());
    r.mass += s.top10_mass / static_cast<double>(r.comps.size());
    r.pr += s.participation_ratio / static_cast<double>(r.comps.size());
  }
  std::cerr << "regularization_report: " << label << ": acc " << r.acc << ", effective rank " << r.er
            << ", top-10 mass " << r.mass << "\n";
  return r;
}

// What these runs show, stated from the numbers (not from the paper); empty when no pair of
// runs differs in noise.
std::string measured_trends(const std::vector<Row>& rows) {
  std::string text;
  for (const bool with_wd : {true, false}) {
    const Row* lo = nullptr;
    const Row* hi = nullptr;
    for (const auto& r : rows)
      if (!std::isnan(r.noise) && !std::isnan(r.wd) && (r.wd > 0) == with_wd) {
        if (!lo || r.noise < lo->noise) lo = &r;
        if (!hi || r.noise > hi->noise) hi = &r;
      }
    if (!lo || lo == hi) continue;
    text += std::string(with_wd ? "With" : "Without") + " weight decay, raising the input noise from " +
            fmt_num(lo->noise, 2) + " to " + fmt_num(hi->noise, 2) + " changes test accuracy " + fmt_pct(lo->acc, 2) +
            " → " + fmt_pct(hi->acc, 2) + ", mean effective rank " + fmt_num(lo->er, 4) + " → " +
            fmt_num(hi->er, 4) + ", top-10 |λ| mass " + fmt_pct(lo->mass, 1) + " → " + fmt_pct(hi->mass, 1) + ". ";
  }
  int lower = 0, pairs = 0;
  for (const auto& a : rows)
    for (const auto& b : rows)
      if (!std::isnan(a.noise) && a.noise == b.noise && a.wd > 0 && b.wd == 0) {
        ++pairs;
        lower += a.er < b.er;
      }
  if (pairs)
    text += "Weight decay gives the lower effective rank at " + std::to_string(lower) + " of " +
            std::to_string(pairs) + " noise levels. Compare the pictures below for the visual effect of noise.";
  return text;
}

void report_summary(io::HtmlReport& rep, const std::vector<Row>& rows) {
  rep.section("Summary");
  rep.paragraph(
      "The paper's point: without regularization the model fits isolated pixels, its eigenvectors look like noise and "
      "the spectrum is spread out; Gaussian input noise during training turns the top eigenvectors into digit-shaped "
      "strokes. Effective rank = exp(entropy of |λ|/Σ|λ|) per class (lower = more low-rank), averaged over classes; "
      "top-10 mass = share of Σ|λ| in the 10 largest |λ|; participation ratio = (Σλ²)²/Σλ⁴.");
  const std::string text = measured_trends(rows);
  if (!text.empty()) rep.paragraph("Measured here: " + text);
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows)
    table.push_back({r.label, std::isnan(r.noise) ? "?" : fmt_num(r.noise, 3), std::isnan(r.wd) ? "?" : fmt_num(r.wd, 3),
                     fmt_pct(r.acc, 2), fmt_pct(r.acc10, 2), fmt_num(r.er, 4), fmt_pct(r.mass, 1), fmt_num(r.pr, 3)});
  rep.table({"model", "input noise std", "weight decay", "test accuracy", "accuracy, top-10 per class",
             "mean effective rank", "mean top-10 |λ| mass", "mean participation ratio"},
            table, "One row per checkpoint.");

}

// The top positive eigenvector of every class, one row per model (also as PNG files).
void report_eigenvectors(io::HtmlReport& rep, const std::vector<Row>& rows, const std::string& out) {
  rep.section("Top positive eigenvector of every class");
  rep.paragraph("Each row is one model; each picture the most positive eigenvector of one class, in pixel space "
                "(RdBu, zero white, each picture on its own symmetric scale).");
  std::vector<io::TileRow> tile_rows;
  for (const auto& r : rows) {
    io::TileRow tr{r.label, {{}}};
    for (std::size_t c = 0; c < r.comps.size(); ++c) {
      const auto pos = r.comps[c].top_positive(1);
      if (!pos.empty())
        tr.groups[0].push_back({component_tile(r.comps[c], pos[0]), 72,
                                std::to_string(c) + ": λ=" + fmt_num(r.comps[c].value(pos[0]), 2)});
    }
    tile_rows.push_back(std::move(tr));
    std::string safe;
    for (char ch : r.label) safe += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ? ch : '_';
    io::write_png(out + "/eigenvectors_" + safe + ".png", eigenvector_grid(r.comps, 3, 2));
  }
  rep.tile_table(tile_rows);

}

// Effective rank and accuracy against the input noise, with and without weight decay.
void report_trends(io::HtmlReport& rep, const std::vector<Row>& rows, const std::string& out) {
  io::Plot ep;
  ep.title("Mean effective rank vs input noise").xlabel("input noise std during training").ylabel("mean effective rank").size(560, 360);
  io::Plot ap;
  ap.title("Test accuracy vs input noise").xlabel("input noise std during training").ylabel("test accuracy (%)").size(560, 360);
  for (const bool with_wd : {true, false}) {
    io::Series se, sa;
    se.name = sa.name = with_wd ? "with weight decay" : "without weight decay";
    for (const auto& r : rows)
      if (!std::isnan(r.noise) && !std::isnan(r.wd) && (r.wd > 0) == with_wd) {
        se.x.push_back(r.noise), se.y.push_back(r.er);
        sa.x.push_back(r.noise), sa.y.push_back(100 * r.acc);
      }
    if (!se.x.empty()) ep.add(se), ap.add(sa);
  }
  rep.section("Trends");
  rep.svg(ep, "Lower effective rank = a few eigenvectors carry each class.", "effective_rank.svg");
  rep.svg(ap, "Test accuracy of the same models.", "accuracy.svg");
  ep.write(out + "/effective_rank.svg");
  ap.write(out + "/accuracy.svg");

}

void print_summary(const std::vector<Row>& rows, double seconds, const std::string& report) {
  json::Value j = json::Value::object();
  json::Value models = json::Value::object();
  for (const auto& r : rows) {
    json::Value m = json::Value::object();
    m["checkpoint"] = r.ckpt;
    m["noise"] = r.noise;
    m["weight_decay"] = r.wd;
    m["test_acc"] = r.acc;
    m["test_acc_top10"] = r.acc10;
    m["effective_rank_mean"] = r.er;
    m["top10_mass_mean"] = r.mass;
    m["participation_ratio_mean"] = r.pr;
    models[r.label] = m;
  }
  j["models"] = models;
  j["seconds"] = seconds;
  j["report"] = report;
  std::cout << j.dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Flags f("regularization_report", "Compare the spectra and eigenvectors of several trained checkpoints.");
    f.value("out", "", "output folder; required", "DIR")
        .value("dataset", "mnist", "mnist|fmnist|PATH", "DATA")
        .positional("LABEL=CKPT", "a checkpoint and the label it gets in the report (one or more)");
    if (!f.parse(argc, argv)) return 0;
    const std::string out = f.str("out"), dataset = f.str("dataset");
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const std::string& k : f.words()) {
      const auto eq = k.find('=');
      BILIN_CHECK(eq != std::string::npos && eq != 0 && eq + 1 != k.size(), "regularization_report",
                  "expected LABEL=CKPT, got '", k, "'");
      inputs.emplace_back(k.substr(0, eq), k.substr(eq + 1));
    }
    BILIN_CHECK(!out.empty() && !inputs.empty(), "regularization_report", "--out and at least one LABEL=CKPT are required");
    TestSet ts;
    ts.split = data::load_mnist_split(data::locate_dataset(dataset), "test");
    ts.N = ts.split.size();
    ts.labels.resize(static_cast<std::size_t>(ts.N));
    for (index_t i = 0; i < ts.N; ++i) ts.labels[i] = ts.split.labels.data()[i];
    std::filesystem::create_directories(out);
    std::vector<Row> rows;
    for (const auto& [label, ckpt] : inputs) rows.push_back(analyze_checkpoint(label, ckpt, ts));

    io::HtmlReport rep("Regularization and overfitting: input noise and weight decay",
                       "Bilinear MNIST-style models trained with different regularization, compared by their weights. "
                       "Dataset: " + dataset + ".");
    report_summary(rep, rows);
    report_eigenvectors(rep, rows, out);
    report_trends(rep, rows, out);
    const std::string report = out + "/report.html";
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.footer("Generated by bilin regularization_report in " + fmt_num(seconds, 3) + " s.");
    rep.write(report);
    print_summary(rows, seconds, report);
  } catch (const std::exception& e) {
    std::cerr << "regularization_report: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
