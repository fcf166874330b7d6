// bilin/interp/figures.hpp — the pictures of the analyses: eigenvector grids, spectra, truncation
// and adversarial curves, interaction-matrix images, and small HTML tiles for reports.
//
// Contract:
// - Eigenvector pictures use the diverging RdBu map (io::rdbu: negative blue, zero WHITE, positive
//   red) with a symmetric scale per picture (±max|value| of that picture), so zero is white in
//   every tile and each tile uses its full colour range.
// - eigenvector_grid(comps, pos, neg, h, w) → one RGB image: a row per class, the class's `pos`
//   most positive eigenvalue pictures then its `neg` most negative ones (left to right by |λ|);
//   a missing component (fewer of that sign) stays a white tile.
// - spectrum_plot(comps, names, top): eigenvalues sorted descending, first `top` and last `top`
//   ranks of each class (x = rank from the top / from the bottom as negative ranks), one line
//   per class. magnitude_plot(comps, names, ranks): |λ| by rank on a log axis.
// - truncation_plot(points, full_accuracy) and adversarial_plot(result) are SVG line plots with
//   labelled axes (accuracy in %, success rate in %).
// - matrix_image(Q, n, cell) draws an n×n symmetric matrix (RdBu, symmetric scale ±max|Q|, or
//   ±scale when given) with `cell` pixels per entry.
// - compose(rows, pad) pastes images row by row (left-aligned, white background) into one RGB image.
// - gray_tile/rdbu_tile turn one h×w picture into an Image (for io/html_report.hpp's tile
//   blocks; tile_html is io's, named here too).
// - dataset_class_names(dataset) gives the ten class names of MNIST or Fashion-MNIST.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "../io/base64.hpp"
#include "../io/html_report.hpp"
#include "../io/image.hpp"
#include "../io/png.hpp"
#include "../io/svg.hpp"
#include "adversarial.hpp"
#include "decompose.hpp"
#include "truncation.hpp"

namespace bilin::interp {

inline std::string fmt_num(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}
inline std::string fmt_pct(double fraction, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%%", decimals, 100.0 * fraction);
  return buf;
}

template <class T>
io::Image eigenvector_grid(const std::vector<Eigencomponents<T>>& comps, int pos, int neg, int h = 28, int w = 28,
                           int upscale = 3) {
  const int cols = pos + neg;
  std::vector<float> tiles(static_cast<std::size_t>(comps.size()) * static_cast<std::size_t>(cols * h * w), 0.0f);
  for (std::size_t c = 0; c < comps.size(); ++c) {
    const auto& ec = comps[c];
    BILIN_CHECK(ec.input_dim() == static_cast<index_t>(h) * w, "eigenvector_grid", "class ", c, " has pictures of ",
                ec.input_dim(), " values, not ", h, "x", w);
    auto put = [&](const std::vector<index_t>& idx, int col0) {
      for (std::size_t k = 0; k < idx.size(); ++k) {
        float* dst = tiles.data() + (c * cols + col0 + k) * static_cast<std::size_t>(h * w);
        const T* src = ec.input(idx[k]);
        for (int p = 0; p < h * w; ++p) dst[p] = static_cast<float>(src[p]);
      }
    };
    put(ec.top_positive(pos), 0);
    put(ec.top_negative(neg), pos);
  }
  io::GridOptions o;
  o.cols = cols;
  o.upscale = upscale;
  o.pad = 2;
  o.cmap = io::Colormap::rdbu;
  o.shared_scale = false;
  return io::image_grid(tiles.data(), static_cast<int>(comps.size()) * cols, h, w, o);
}

inline io::Image rdbu_tile(const float* px, int h, int w, int upscale = 3, double scale = 0) {
  io::GridOptions o;
  o.cols = 1;
  o.upscale = upscale;
  o.pad = 1;
  o.cmap = io::Colormap::rdbu;
  o.vmax = scale;
  return io::image_grid(px, 1, h, w, o);
}
inline io::Image gray_tile(const float* px, int h, int w, int upscale = 3) {
  io::GridOptions o;
  o.cols = 1;
  o.upscale = upscale;
  o.pad = 1;
  o.cmap = io::Colormap::gray;
  o.vmin = 0;
  o.vmax = 1;
  return io::image_grid(px, 1, h, w, o);
}
template <class T>
io::Image component_tile(const Eigencomponents<T>& ec, index_t i, int h = 28, int w = 28, int upscale = 3) {
  std::vector<float> px(ec.input(i), ec.input(i) + ec.input_dim());
  return rdbu_tile(px.data(), h, w, upscale);
}

inline io::Image compose(const std::vector<std::vector<io::Image>>& rows, int pad = 6) {
  int W = pad, H = pad;
  for (const auto& r : rows) {
    int w = pad, h = 0;
    for (const auto& im : r) w += im.width + pad, h = std::max(h, im.height);
    W = std::max(W, w);
    H += h + pad;
  }
  io::Image out(W, H, 3, 255);
  int y = pad;
  for (const auto& r : rows) {
    int x = pad, h = 0;
    for (const auto& im : r) {
      for (int yy = 0; yy < im.height; ++yy)
        for (int xx = 0; xx < im.width; ++xx) out.set(x + xx, y + yy, im.rgb(xx, yy));
      x += im.width + pad;
      h = std::max(h, im.height);
    }
    y += h + pad;
  }
  return out;
}

using io::tile_html;  // one tile's markup (io/html_report.hpp)

// The class names of an MNIST-style dataset ("fmnist"/"fashion" in the name: Fashion-MNIST's
// garments, else the digits).
inline std::vector<std::string> dataset_class_names(const std::string& dataset) {
  if (dataset.find("fmnist") != std::string::npos || dataset.find("fashion") != std::string::npos)
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

inline const std::string& class_color(std::size_t c) {
  static const std::vector<std::string> tab10 = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return tab10[c % tab10.size()];
}

template <class T>
io::Plot spectrum_plot(const std::vector<Eigencomponents<T>>& comps, const std::vector<std::string>& names, int top = 20) {
  io::Plot p;
  p.title("Eigenvalues per class: the " + std::to_string(top) + " most positive and most negative")
      .xlabel("rank (1 = most positive λ; -1 = most negative λ)")
      .ylabel("eigenvalue λ")
      .size(760, 420);
  for (std::size_t c = 0; c < comps.size(); ++c) {
    const auto& ec = comps[c];
    const index_t k = ec.size(), m = std::min<index_t>(top, k);
    io::Series s;
    s.name = c < names.size() ? names[c] : std::to_string(c);
    s.color = class_color(c);
    s.markers = true;
    s.marker_size = 2.2;
    s.width = 1.4;
    for (index_t r = 0; r < m; ++r) s.x.push_back(static_cast<double>(r + 1)), s.y.push_back(ec.value(r));
    io::Series t = s;
    t.name.clear();
    t.x.clear();
    t.y.clear();
    for (index_t r = 0; r < m; ++r) t.x.push_back(-static_cast<double>(r + 1)), t.y.push_back(ec.value(k - 1 - r));
    p.add(s).add(t);
  }
  p.hline(0.0);
  return p;
}

template <class T>
io::Plot magnitude_plot(const std::vector<Eigencomponents<T>>& comps, const std::vector<std::string>& names,
                        int ranks = 100) {
  io::Plot p;
  p.title("|λ| by rank: a handful of components dominate each class")
      .xlabel("rank by |λ|")
      .ylabel("|λ| (log scale)")
      .logy()
      .size(760, 420);
  for (std::size_t c = 0; c < comps.size(); ++c) {
    const auto& ec = comps[c];
    const auto order = ec.by_magnitude();
    io::Series s;
    s.name = c < names.size() ? names[c] : std::to_string(c);
    s.color = class_color(c);
    s.markers = false;
    s.width = 1.4;
    for (index_t r = 0; r < std::min<index_t>(ranks, ec.size()); ++r)
      s.x.push_back(static_cast<double>(r + 1)), s.y.push_back(std::fabs(static_cast<double>(ec.value(order[r]))));
    p.add(s);
  }
  return p;
}

// x positions of a truncation curve: k itself, "all" one step right of the largest k on a log axis.
inline io::Plot truncation_plot(const std::vector<TruncationPoint>& pts, const std::string& title) {
  io::Plot p;
  p.title(title).xlabel("eigencomponents kept per class (by |λ|)").ylabel("test accuracy (%)").logx().size(640, 400);
  double kmax = 1;
  for (const auto& t : pts)
    if (!t.all) kmax = std::max(kmax, static_cast<double>(t.k));
  const double xall = kmax * 3;
  io::Series s;
  s.name = "truncated model";
  std::vector<std::pair<double, std::string>> ticks;
  double full = NAN;
  for (const auto& t : pts) {
    const double x = t.all ? xall : static_cast<double>(t.k);
    s.x.push_back(x);
    s.y.push_back(100.0 * t.accuracy);
    ticks.emplace_back(x, t.all ? std::string("all") : std::to_string(t.k));
    if (t.all) full = 100.0 * t.accuracy;
  }
  p.add(s);
  if (!std::isnan(full)) p.hline(full, "full model");
  p.xticks(ticks).ylim(0, 100);
  return p;
}

inline io::Plot adversarial_plot(const AdversarialResult& r, const std::string& title) {
  io::Plot p;
  p.title(title).xlabel("L2 norm of the perturbation").ylabel("success rate (% of correct inputs flipped)").size(640, 400);
  const std::vector<std::string> colors = {"#d62728", "#7f7f7f", "#1f77b4"};
  for (std::size_t m = 0; m < r.methods.size(); ++m) {
    io::Series s;
    s.name = r.methods[m] == AttackMethod::eigenvector ? "eigenvector (weights only)"
             : r.methods[m] == AttackMethod::random    ? "random direction"
                                                       : "FGSM (gradient sign)";
    s.color = colors[static_cast<std::size_t>(r.methods[m]) % colors.size()];
    s.x = r.norms;
    for (double v : r.success[m]) s.y.push_back(100.0 * v);
    p.add(s);
  }
  p.ylim(0, 100);
  return p;
}

// An n×n matrix (row-major) as RdBu cells with a symmetric scale.
inline io::Image matrix_image(const std::vector<double>& Q, int n, int cell = 24, double scale = 0) {
  std::vector<float> f(Q.begin(), Q.end());
  io::GridOptions o;
  o.cols = 1;
  o.upscale = cell;
  o.pad = 1;
  o.cmap = io::Colormap::rdbu;
  o.vmax = scale;
  return io::image_grid(f.data(), 1, n, n, o);
}

}  // namespace bilin::interp
