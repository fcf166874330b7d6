// explain — classify your own picture of a digit (or garment) with a trained bilinear model and
// show which eigenvector features decided it.
//
//   explain --ckpt PATH --image FILE [--out DIR] [--center com|box|none] [--invert auto|yes|no]
//           [--top N] [--json FILE]
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
#include "bilin/io/html_report.hpp"
#include "bilin/io/image.hpp"
#include "bilin/io/json.hpp"
#include "bilin/io/png.hpp"
#include "bilin/io/safetensors.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

[[noreturn]] void usage(const std::string& err) {
  std::cerr << "explain: " << err << "\n"
            << "usage: explain --ckpt PATH --image FILE [--out DIR] [--center com|box|none] [--invert auto|yes|no]"
               " [--top N] [--json FILE]\n";
  std::exit(2);
}

std::vector<std::string> class_names(const std::string& dataset) {
  if (dataset.find("fmnist") != std::string::npos || dataset.find("fashion") != std::string::npos)
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

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

}  // namespace

int main(int argc, char** argv) {
  std::string ckpt, image, out = "explain_out", center = "com", invert = "auto", json_out;
  index_t top = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "-h" || k == "--help") usage("help");
    if (i + 1 >= argc) usage("missing value after " + k);
    const std::string v = argv[++i];
    if (k == "--ckpt") ckpt = v;
    else if (k == "--image") image = v;
    else if (k == "--out") out = v;
    else if (k == "--json") json_out = v;
    else if (k == "--center") {
      if (v != "com" && v != "box" && v != "none") usage("--center takes com, box or none");
      center = v;
    } else if (k == "--invert") {
      if (v != "auto" && v != "yes" && v != "no") usage("--invert takes auto, yes or no");
      invert = v;
    } else if (k == "--top") {
      top = std::atoi(v.c_str());
      if (top < 1 || top > 10) usage("--top must be 1..10");
    } else usage("unknown option " + k);
  }
  if (ckpt.empty() || image.empty()) usage("--ckpt and --image are required");
  try {
    // Read the picture first: a bad image should fail before any model work.
    const io::Image img = io::read_image(image);
    const std::vector<float> px = to_mnist(img, center, invert);

    const io::TensorMap map = io::load_safetensors(ckpt);
    const BilinearClassifier<float> model = from_tensors<float>(map);
    BILIN_CHECK(model.input_dim() == 784, "explain", ckpt, ": the model reads ", model.input_dim(),
                " inputs; explain feeds 28x28 = 784 pixels");
    const auto ds = map.metadata.find("dataset");
    const auto names = class_names(ds != map.metadata.end() ? ds->second : "mnist");
    const InputNormalization norm = input_normalization(map.metadata);
    TensorF x = TensorF::empty({784});
    for (int p = 0; p < 784; ++p) x.data()[p] = norm.apply(px[p]);

    const auto comps = decompose_classes(model);
    const Explanation e = explain(comps, x, top);
    const TensorF logits = model.logits(x.reshape({1, 784}));
    if (!json_out.empty())
      io::write_file_atomic(json_out, explanation_json(explain(comps, x, model.num_classes()), names).dump() + "\n");
    // Softmax for the printout.
    std::vector<double> prob(e.logits.size());
    double mx = -1e300, s = 0;
    for (double l : e.logits) mx = std::max(mx, l);
    for (std::size_t c = 0; c < prob.size(); ++c) s += prob[c] = std::exp(e.logits[c] - mx);
    for (auto& p : prob) p /= s;

    const index_t pred = e.prediction();
    std::printf("prediction: %s (p = %.3f)\n", names[pred].c_str(), prob[pred]);
    for (const auto& ce : e.classes) {
      std::printf("  class %-12s logit %8.3f  (model %8.3f)  top-5 components carry %.0f%% of |contributions|\n",
                  names[ce.cls].c_str(), ce.logit, static_cast<double>(logits.data()[ce.cls]), 100 * ce.top_share(5));
      for (const auto& c : ce.top_positive(3))
        std::printf("      + component %3lld  λ=%8.4f  (v·x)=%8.3f  contribution %+8.3f\n",
                    static_cast<long long>(c.component), c.eigenvalue, c.projection, c.contribution);
      for (const auto& c : ce.top_negative(2))
        std::printf("      - component %3lld  λ=%8.4f  (v·x)=%8.3f  contribution %+8.3f\n",
                    static_cast<long long>(c.component), c.eigenvalue, c.projection, c.contribution);
    }

    std::filesystem::create_directories(out);
    std::vector<std::vector<io::Image>> rows;
    rows.push_back({gray_tile(px.data(), 28, 28, 5)});
    io::HtmlReport rep("Explanation: " + std::filesystem::path(image).filename().string(),
                       "Prediction " + names[pred] + " (p = " + fmt_num(prob[pred], 3) + ") by " + ckpt);
    rep.paragraph("The input as the model sees it (28×28, white ink on black, " +
                  std::string(center == "com" ? "centre of mass centred" : center == "box" ? "box centred" : "resized") +
                  "). Each class logit is the sum over eigenvector features of λ·(v·x)²; for the top classes we show "
                  "the features that push the logit up most (left of the bar) and down most (right).");
    std::string html = "<div>" + tile_html(gray_tile(px.data(), 28, 28, 4), 112, "input") + "</div>";
    for (const auto& ce : e.classes) {
      std::vector<io::Image> row;
      html += "<div style=\"margin:.5em 0\"><b>" + io::html_escape(names[ce.cls]) + "</b> logit " +
              fmt_num(ce.logit, 4) + " (p = " + fmt_num(prob[ce.cls], 3) + ")<br>";
      for (const auto& c : ce.top_positive(3)) {
        row.push_back(component_tile(comps[ce.cls], c.component, 28, 28, 5));
        html += tile_html(component_tile(comps[ce.cls], c.component), 84, std::string("+").append(fmt_num(c.contribution, 3)));
      }
      html += "<span style=\"display:inline-block;width:2px;height:84px;background:#bbb;margin:0 .5em\"></span>";
      for (const auto& c : ce.top_negative(2)) {
        row.push_back(component_tile(comps[ce.cls], c.component, 28, 28, 5));
        html += tile_html(component_tile(comps[ce.cls], c.component), 84, fmt_num(c.contribution, 3));
      }
      html += "</div>";
      rows.push_back(row);
    }
    rep.raw_html(html);
    const std::string png = out + "/explanation.png", page = out + "/explanation.html";
    io::write_png(png, compose(rows));
    rep.write(page);
    std::printf("wrote %s and %s\n", png.c_str(), page.c_str());

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
