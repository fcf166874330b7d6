// explain — classify your own picture of a digit (or garment) with a trained bilinear model and
// show which eigenvector features decided it.
//
//   explain --ckpt PATH --image FILE [--out DIR] [--center com|box|none] [--invert auto|yes|no]
//           [--top N] [--json FILE]                                 (--help explains each)
//
// FILE: PNG, JPEG, BMP, GIF or PNM, any size, dark ink on light paper or light on dark. It is
// turned into a 28×28 MNIST-style input: grayscale, ink made white on black (inverted when the
// border is light, unless --invert says otherwise), cropped to the ink, scaled into a 20×20 box
// and placed with its centre of mass at the centre (--center com, MNIST's convention), its
// bounding box centred (box), or — for pictures already framed like MNIST — just resized (none).
// stdout: the prediction, the top classes with their logits and strongest eigenvector
// contributions, then one JSON line. DIR gets explanation.png (row 1: the input; then one row per
// top class: its 3 strongest positive and 2 strongest negative contributing eigenvectors) and
// explanation.html with captions. --json FILE also writes every class's logit and all its
// components' contributions (interp/explain.hpp, explanation_json) to FILE.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/explain.hpp"
#include "bilin/interp/figures.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/io/atomic_file.hpp"
#include "bilin/io/flags.hpp"
#include "bilin/io/html_report.hpp"
#include "bilin/io/image.hpp"
#include "bilin/io/json.hpp"
#include "bilin/io/png.hpp"
#include "bilin/io/safetensors.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

// The picture as 28×28 floats in [0, 1], white ink on black.
std::vector<float> to_mnist(const io::Image& img, const std::string& center, const std::string& invert) {
  io::MnistStyleOptions o;
  o.invert = invert == "yes" ? io::MnistStyleOptions::Invert::yes
             : invert == "no" ? io::MnistStyleOptions::Invert::no
                              : io::MnistStyleOptions::Invert::automatic;
  if (center != "none") {
    o.center_of_mass = center == "com";
    return io::mnist_style(img, o);
  }
  // Already framed: grayscale, resize, invert by the border (or as told).
  const std::vector<float> g = io::to_gray(img);
  std::vector<float> r = io::resize(g.data(), img.height, img.width, 28, 28);
  double border = 0;
  int nb = 0;
  for (int i = 0; i < 28; ++i)
    for (int j = 0; j < 28; ++j)
      if (i == 0 || j == 0 || i == 27 || j == 27) border += r[i * 28 + j], ++nb;
  const bool inv = invert == "yes" || (invert == "auto" && border / nb > 0.5);
  for (auto& v : r) v = std::clamp(inv ? 1.0f - v : v, 0.0f, 1.0f);
  return r;
}


struct Options {
  std::string ckpt, image, out, center, invert, json;
  index_t top = 3;
};

// Returns false after --help.
bool parse(int argc, char** argv, Options& o) {
  Flags f("explain", "Classify your own picture with a trained bilinear model and show the eigenvector features that decided it.");
  f.value("ckpt", "", "the classifier checkpoint; required", "PATH")
      .value("image", "", "PNG, JPEG, BMP, GIF or PNM picture; required", "FILE")
      .value("out", "explain_out", "output folder: explanation.png and explanation.html", "DIR")
      .value("center", "com", "com (centre of mass, MNIST's convention) | box | none (already framed)", "MODE")
      .value("invert", "auto", "auto (by the border) | yes | no", "MODE")
      .value("top", "3", "classes to explain, 1..10", "N")
      .value("json", "", "also write every class's logit and all its component contributions as JSON", "FILE");
  if (!f.parse(argc, argv)) return false;
  o.ckpt = f.str("ckpt"), o.image = f.str("image"), o.out = f.str("out");
  o.center = f.choice("center", {"com", "box", "none"});
  o.invert = f.choice("invert", {"auto", "yes", "no"});
  o.top = f.integer("top");
  o.json = f.str("json");
  BILIN_CHECK(o.top >= 1 && o.top <= 10, "explain", "--top must be 1..10, got ", o.top);
  BILIN_CHECK(!o.ckpt.empty() && !o.image.empty(), "explain", "--ckpt and --image are required");
  return true;
}

// The model's decomposition and its explanation of the picture.
struct Classified {
  std::vector<std::string> names;
  std::vector<Eigencomponents<float>> comps;
  Explanation e;
  std::vector<double> logits_model;  // the model's own forward pass
  std::vector<double> prob;          // softmax of the logits
  index_t pred = 0;
};

Classified classify(const Options& o, const std::vector<float>& px) {
  const std::string& ckpt = o.ckpt;
  const io::TensorMap map = io::load_safetensors(ckpt);
  const BilinearClassifier<float> model = from_tensors<float>(map);
  BILIN_CHECK(model.input_dim() == 784, "explain", ckpt, ": the model reads ", model.input_dim(),
              " inputs; explain feeds 28x28 = 784 pixels");
  const auto ds = map.metadata.find("dataset");
  Classified k;
  k.names = dataset_class_names(ds != map.metadata.end() ? ds->second : "mnist");
  const InputNormalization norm = input_normalization(map.metadata);
  TensorF x = TensorF::empty({784});
  for (int p = 0; p < 784; ++p) x.data()[p] = norm.apply(px[p]);

  k.comps = decompose_classes(model);
  k.e = explain(k.comps, x, o.top);
  if (!o.json.empty())
    io::write_file_atomic(o.json, explanation_json(explain(k.comps, x, model.num_classes()), k.names).dump() + "\n");
  const TensorF logits = model.logits(x.reshape({1, 784}));
  for (index_t c = 0; c < logits.numel(); ++c) k.logits_model.push_back(static_cast<double>(logits.data()[c]));
  const Explanation& e = k.e;
  std::vector<double>& prob = k.prob;
  // Softmax for the printout.
  prob.resize(e.logits.size());
  double mx = -1e300, s = 0;
  for (double l : e.logits) mx = std::max(mx, l);
  for (std::size_t c = 0; c < prob.size(); ++c) s += prob[c] = std::exp(e.logits[c] - mx);
  for (auto& p : prob) p /= s;

  k.pred = e.prediction();
  return k;
}

// The prediction and, per top class, its strongest contributions (stdout).
void print_explanation(const Classified& k) {
  const auto& names = k.names;
  const auto& prob = k.prob;
  const index_t pred = k.pred;
  std::printf("prediction: %s (p = %.3f)\n", names[pred].c_str(), prob[pred]);
  for (const auto& ce : k.e.classes) {
    std::printf("  class %-12s logit %8.3f  (model %8.3f)  top-5 components carry %.0f%% of |contributions|\n",
                names[ce.cls].c_str(), ce.logit, k.logits_model[ce.cls], 100 * ce.top_share(5));
    for (const auto& c : ce.top_positive(3))
      std::printf("      + component %3lld  λ=%8.4f  (v·x)=%8.3f  contribution %+8.3f\n",
                  static_cast<long long>(c.component), c.eigenvalue, c.projection, c.contribution);
    for (const auto& c : ce.top_negative(2))
      std::printf("      - component %3lld  λ=%8.4f  (v·x)=%8.3f  contribution %+8.3f\n",
                  static_cast<long long>(c.component), c.eigenvalue, c.projection, c.contribution);
  }

}

// explanation.png (input, then per class its contributing eigenvectors) and explanation.html.
std::pair<std::string, std::string> write_pictures(const Options& o, const std::vector<float>& px, const Classified& k) {
  const auto& names = k.names;
  const auto& prob = k.prob;
  const auto& comps = k.comps;
  const index_t pred = k.pred;
  const std::string &out = o.out, &image = o.image, &ckpt = o.ckpt, &center = o.center;
  std::filesystem::create_directories(out);
  std::vector<std::vector<io::Image>> rows;
  rows.push_back({gray_tile(px.data(), 28, 28, 5)});
  io::HtmlReport rep("Explanation: " + std::filesystem::path(image).filename().string(),
                     "Prediction " + names[pred] + " (p = " + fmt_num(prob[pred], 3) + ") by " + ckpt);
  rep.paragraph("The input as the model sees it (28×28, white ink on black, " +
                std::string(center == "com" ? "centre of mass centred" : center == "box" ? "box centred" : "resized") +
                "). Each class logit is the sum over eigenvector features of λ·(v·x)²; for the top classes we show "
                "the features that push the logit up most (left of the bar) and down most (right).");
  const io::Tile input{gray_tile(px.data(), 28, 28, 4), 112, "input"};
  std::vector<io::ExplainedClass> classes;
  for (const auto& ce : k.e.classes) {
    std::vector<io::Image> row;
    io::ExplainedClass k{names[ce.cls], "logit " + fmt_num(ce.logit, 4) + " (p = " + fmt_num(prob[ce.cls], 3) + ")",
                         {}, {}, ""};
    for (const auto& c : ce.top_positive(3)) {
      row.push_back(component_tile(comps[ce.cls], c.component, 28, 28, 5));
      k.up.push_back({component_tile(comps[ce.cls], c.component), 84, std::string("+").append(fmt_num(c.contribution, 3))});
    }
    for (const auto& c : ce.top_negative(2)) {
      row.push_back(component_tile(comps[ce.cls], c.component, 28, 28, 5));
      k.down.push_back({component_tile(comps[ce.cls], c.component), 84, fmt_num(c.contribution, 3)});
    }
    classes.push_back(std::move(k));
    rows.push_back(row);
  }
  rep.explanation_row(&input, classes);
  const std::string png = out + "/explanation.png", page = out + "/explanation.html";
  io::write_png(png, compose(rows));
  rep.write(page);
  std::printf("wrote %s and %s\n", png.c_str(), page.c_str());

  return {png, page};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o;
    if (!parse(argc, argv, o)) return 0;
    // Read the picture first: a bad image should fail before any model work.
    const io::Image img = io::read_image(o.image);
    const std::vector<float> px = to_mnist(img, o.center, o.invert);
    const Classified k = classify(o, px);
    print_explanation(k);
    const auto [png, page] = write_pictures(o, px, k);
    const auto& names = k.names;
    const index_t pred = k.pred;
    const Explanation& e = k.e;
    const auto& prob = k.prob;
    json::Value j = json::Value::object();
    j["prediction"] = names[pred];
    j["class"] = pred;
    j["probability"] = prob[pred];
    json::Value lj = json::Value::array();
    for (double l : e.logits) lj.push_back(l);
    j["logits"] = lj;
    j["picture"] = png;
    j["report"] = page;
    std::cout << j.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "explain: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
