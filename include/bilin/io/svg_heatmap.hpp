// bilin/io/svg_heatmap.hpp — a labelled matrix heatmap as SVG: which entry is which, and what a
// colour means, readable without a table beside it.
//
// Contract:
// - heatmap_svg(values, rows, cols, opt) draws a rows×cols matrix (row-major `values`) as cells on
//   the diverging RdBu map (io::rdbu: negative blue, zero white, positive red) with a symmetric
//   scale ±opt.scale (opt.scale ≤ 0: ±max|value|; NaN cells are grey, as rdbu makes them).
// - Every row and column is labelled (opt.row_labels / opt.col_labels, one per row / column, or
//   the index when empty); the axis titles opt.xlabel / opt.ylabel and the title are drawn, and a
//   colour bar on the right shows −scale, 0 and +scale with opt.value_label under it.
// - All text is XML-escaped (labels come from corpora and SAE contexts). A wrong label count or
//   a value count other than rows×cols is a bilin::Error. Each cell carries a <title> (label of
//   row, label of column, value) so a browser shows it on hover.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "image.hpp"
#include "svg.hpp"

namespace bilin::io {

struct HeatmapOptions {
  std::string title, xlabel, ylabel, value_label = "value";
  std::vector<std::string> row_labels, col_labels;
  double scale = 0;  // > 0: fixed symmetric scale
  int cell = 22;     // pixels per cell
};

inline std::string heatmap_svg(const std::vector<double>& values, int rows, int cols, const HeatmapOptions& opt) {
  using detail::fmt;
  BILIN_CHECK(rows >= 1 && cols >= 1 && values.size() == static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols),
              "heatmap_svg", values.size(), " values for a ", rows, "x", cols, " matrix");
  BILIN_CHECK(opt.row_labels.empty() || opt.row_labels.size() == static_cast<std::size_t>(rows), "heatmap_svg",
              opt.row_labels.size(), " row labels for ", rows, " rows");
  BILIN_CHECK(opt.col_labels.empty() || opt.col_labels.size() == static_cast<std::size_t>(cols), "heatmap_svg",
              opt.col_labels.size(), " column labels for ", cols, " columns");
  double s = opt.scale;
  if (!(s > 0))
    for (double v : values)
      if (std::isfinite(v)) s = std::max(s, std::fabs(v));
  const auto label = [](const std::vector<std::string>& l, int i) {
    return l.empty() ? std::to_string(i) : l[static_cast<std::size_t>(i)];
  };
  std::size_t longest_row = 1, longest_col = 1;
  for (int i = 0; i < rows; ++i) longest_row = std::max(longest_row, label(opt.row_labels, i).size());
  for (int j = 0; j < cols; ++j) longest_col = std::max(longest_col, label(opt.col_labels, j).size());
  const double c = std::max(8, opt.cell), font = 11, char_w = 6.6;
  const double left = 34 + char_w * static_cast<double>(std::min<std::size_t>(longest_row, 24));
  const double top = opt.title.empty() ? 16 : 40;
  const double colh = 12 + char_w * static_cast<double>(std::min<std::size_t>(longest_col, 24));
  const double mw = c * cols, mh = c * rows;
  const double bar_x = left + mw + 26, bar_w = 14, bar_h = std::max(80.0, mh);
  const double W = bar_x + bar_w + 70, H = top + std::max(mh, bar_h) + colh + 28;
  const auto g4 = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", v);
    return std::string(b);
  };
  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(W, 0) + "\" height=\"" + fmt(H, 0) + "\" viewBox=\"0 0 " +
       fmt(W, 0) + " " + fmt(H, 0) + "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"" +
       fmt(font, 0) + "\">\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  if (!opt.title.empty())
    o += "<text x=\"" + fmt(left + mw / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\" "
         "fill=\"#222\">" + xml_escape(opt.title) + "</text>\n";
  const auto hex = [](RGB col) {
    char b[8];
    std::snprintf(b, sizeof b, "#%02x%02x%02x", col.r, col.g, col.b);
    return std::string(b);
  };
  o += "<g>\n";
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const double v = values[static_cast<std::size_t>(i) * cols + j];
      o += "<rect x=\"" + fmt(left + j * c) + "\" y=\"" + fmt(top + i * c) + "\" width=\"" + fmt(c) + "\" height=\"" +
           fmt(c) + "\" fill=\"" + hex(s > 0 ? rdbu(v / s) : RGB{255, 255, 255}) + "\"><title>" +
           xml_escape(label(opt.row_labels, i) + " × " + label(opt.col_labels, j) + ": " + g4(v)) +
           "</title></rect>\n";
    }
  o += "</g>\n<rect x=\"" + fmt(left) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(mw) + "\" height=\"" + fmt(mh) +
       "\" fill=\"none\" stroke=\"#444\"/>\n<g fill=\"#333\">\n";
  for (int i = 0; i < rows; ++i)
    o += "<text x=\"" + fmt(left - 5) + "\" y=\"" + fmt(top + (i + 0.5) * c + 4) + "\" text-anchor=\"end\">" +
         xml_escape(label(opt.row_labels, i)) + "</text>\n";
  for (int j = 0; j < cols; ++j) {
    const double x = left + (j + 0.5) * c + 4, y = top + mh + 6;
    o += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"end\" transform=\"rotate(-90 " + fmt(x) + " " +
         fmt(y) + ")\">" + xml_escape(label(opt.col_labels, j)) + "</text>\n";
  }
  o += "</g>\n";
  if (!opt.xlabel.empty())
    o += "<text x=\"" + fmt(left + mw / 2) + "\" y=\"" + fmt(top + mh + colh + 16) + "\" text-anchor=\"middle\" fill=\"#222\">" +
         xml_escape(opt.xlabel) + "</text>\n";
  if (!opt.ylabel.empty()) {
    const double x = 14, y = top + mh / 2;
    o += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"middle\" fill=\"#222\" transform=\"rotate(-90 " +
         fmt(x) + " " + fmt(y) + ")\">" + xml_escape(opt.ylabel) + "</text>\n";
  }
  // colour bar: +scale at the top, −scale at the bottom
  const int steps = 48;
  for (int k = 0; k < steps; ++k) {
    const double t = 1.0 - 2.0 * (k + 0.5) / steps;
    o += "<rect x=\"" + fmt(bar_x) + "\" y=\"" + fmt(top + k * bar_h / steps) + "\" width=\"" + fmt(bar_w) +
         "\" height=\"" + fmt(bar_h / steps + 0.5) + "\" fill=\"" + hex(rdbu(t)) + "\"/>\n";
  }
  o += "<rect x=\"" + fmt(bar_x) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(bar_w) + "\" height=\"" + fmt(bar_h) +
       "\" fill=\"none\" stroke=\"#444\"/>\n";
  const auto tick = [&](double frac, double v) {
    o += "<text x=\"" + fmt(bar_x + bar_w + 4) + "\" y=\"" + fmt(top + frac * bar_h + 4) + "\" fill=\"#333\">" +
         g4(v) + "</text>\n";
  };
  tick(0, s);
  tick(0.5, 0);
  tick(1, -s);
  o += "<text x=\"" + fmt(bar_x + bar_w / 2) + "\" y=\"" + fmt(top + bar_h + 18) + "\" text-anchor=\"middle\" fill=\"#222\">" +
       xml_escape(opt.value_label) + "</text>\n</svg>\n";
  return o;
}

}  // namespace bilin::io
