// bilin/interp/lm_figures.hpp — the pictures of the language-model analysis (analyze_lm):
// correlation curves, histograms, spectra against a random matrix, scatter plots.
//
// Contract (all return io::Plot, SVG line/bar/scatter plots with labelled axes):
// - histogram(values, lo, hi, bins) → counts per bin (values outside [lo, hi] go to the end
//   bins; NaN is skipped); histogram_plot(series, lo, hi, bins, …) overlays several named
//   distributions as lines over bin centres (log-count y with log_y, zero counts skipped there,
//   every non-empty bin dotted so a lone outlier bin stays visible); with `fraction` each series is
//   divided by its own size, so populations of different sizes (1024 features, 32 GOE samples)
//   compare.
// - curve_plot(x, named y series, …) plain lines with markers.
// - spectrum_vs_random_plot(λ, μ, top): the `top` largest-|λ| eigenvalues of a matrix against
//   those of a random symmetric matrix of the same entry scale, by rank (stems).
// - scatter_plot(x, y, …) with an optional y = x reference line.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../io/svg.hpp"

namespace bilin::interp {

inline std::vector<double> histogram(const std::vector<double>& v, double lo, double hi, int bins) {
  std::vector<double> c(static_cast<std::size_t>(std::max(1, bins)), 0.0);
  for (double x : v) {
    if (std::isnan(x)) continue;
    int b = static_cast<int>(std::floor((x - lo) / (hi - lo) * bins));
    b = std::clamp(b, 0, bins - 1);
    c[static_cast<std::size_t>(b)] += 1;
  }
  return c;
}

inline io::Plot histogram_plot(const std::vector<std::pair<std::string, std::vector<double>>>& series, double lo,
                               double hi, int bins, const std::string& title, const std::string& xlabel,
                               bool log_y = false, bool fraction = false) {
  io::Plot p;
  p.title(title).xlabel(xlabel).ylabel(std::string(fraction ? "fraction" : "count") + (log_y ? " (log)" : "")).size(520, 320);
  if (log_y) p.logy();
  std::vector<double> centres;
  for (int b = 0; b < bins; ++b) centres.push_back(lo + (b + 0.5) * (hi - lo) / bins);
  for (const auto& [name, v] : series) {
    io::Series s;
    s.name = name;
    s.x = centres;
    s.y = histogram(v, lo, hi, bins);
    if (fraction) {
      double total = 0;
      for (double c : s.y) total += c;
      if (total > 0)
        for (double& c : s.y) c /= total;
    }
    s.kind = series.size() == 1 ? io::Series::Kind::bar : io::Series::Kind::line;
    // on a log axis empty bins break the line, so a lone outlier bin would be invisible without a dot
    s.markers = log_y;
    s.marker_size = 2.2;
    p.add(s);
  }
  return p;
}

inline io::Plot curve_plot(const std::vector<double>& x, const std::vector<std::pair<std::string, std::vector<double>>>& ys,
                           const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  io::Plot p;
  p.title(title).xlabel(xlabel).ylabel(ylabel).size(560, 340);
  for (const auto& [name, y] : ys) p.line(name, x, y);
  return p;
}

inline io::Plot spectrum_vs_random_plot(const std::vector<double>& lam, const std::vector<double>& mu, std::size_t top,
                                        const std::string& title) {
  auto by_mag = [](std::vector<double> v) {
    std::stable_sort(v.begin(), v.end(), [](double a, double b) { return std::fabs(a) > std::fabs(b); });
    return v;
  };
  const auto l = by_mag(lam), m = by_mag(mu);
  std::vector<double> x, yl, ym;
  for (std::size_t i = 0; i < std::min({top, l.size(), m.size()}); ++i) {
    x.push_back(static_cast<double>(i + 1));
    yl.push_back(l[i]);
    ym.push_back(m[i]);
  }
  io::Plot p;
  p.title(title).xlabel("rank by |λ|").ylabel("eigenvalue").size(520, 320);
  p.stem("this feature's Q", x, yl);
  p.stem("random symmetric (same entry std)", x, ym, "#999999");
  return p;
}

inline io::Plot scatter_plot(const std::vector<double>& x, const std::vector<double>& y, const std::string& title,
                             const std::string& xlabel, const std::string& ylabel) {
  io::Plot p;
  p.title(title).xlabel(xlabel).ylabel(ylabel).size(420, 360);
  io::Series s;
  s.x = x;
  s.y = y;
  s.kind = io::Series::Kind::scatter;
  s.marker_size = 2.0;
  p.add(s);
  return p;
}

}  // namespace bilin::interp
