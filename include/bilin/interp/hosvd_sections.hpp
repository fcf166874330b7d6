// bilin/interp/hosvd_sections.hpp — pictures and the report section of a HOSVD (interp/hosvd.hpp).
//
// Contract:
// - hosvd_energy_plot(h, max_k): SVG line plot of σ_k²/‖B‖² and its cumulative sum against k
//   (the first max_k components, log x axis).
// - add_classifier_hosvd_section(rep, hs, names, figure_dir) appends the image-model HOSVD
//   section (the paper's App. D, Figs 17–18): the energy plot, a table of the output
//   directions u_k over the classes, and per shown component the eigenvectors of Q(u_k)/σ_k with
//   the most positive (4) and most negative (3) eigenvalues as RdBu pixel tiles, like the
//   per-class eigenvector section. With a non-empty figure_dir the plot is also written there
//   as hosvd_spectrum.svg. HTML only through io/html_report.hpp blocks.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "../io/html_report.hpp"
#include "../io/svg.hpp"
#include "figures.hpp"
#include "hosvd.hpp"

namespace bilin::interp {

inline io::Plot hosvd_energy_plot(const Hosvd& h, index_t max_k = 256) {
  std::vector<double> x, e, cum;
  double run = 0;
  for (index_t k = 0; k < std::min(max_k, h.size()); ++k) {
    run += h.energy(k);
    x.push_back(static_cast<double>(k + 1));
    e.push_back(h.energy(k));
    cum.push_back(run);
  }
  io::Plot p;
  p.title("HOSVD: share of the tensor per component").xlabel("component k").ylabel("share of ‖B‖²").size(640, 380);
  p.logx();
  p.line("σ_k² / ‖B‖²", x, e).line("cumulative", x, cum);
  return p;
}

inline void add_classifier_hosvd_section(io::HtmlReport& rep, const ClassifierHosvd<float>& hs,
                                         const std::vector<std::string>& names, const std::string& figure_dir = "") {
  const Hosvd& h = hs.hosvd;
  const index_t C = h.outputs();
  rep.section("HOSVD: output directions shared by the classes");
  rep.paragraph(
      "The higher-order SVD of the paper's §3.3 and App. D: the model's " + std::to_string(C) +
      " per-class interaction matrices, flattened into a " + std::to_string(C) +
      " × n² matrix, decomposed by SVD. Component k is an output direction u_k (a weighting of the classes) "
      "with its own interaction matrix Q(u_k)/σ_k, whose eigenvectors are pictures like the per-class ones. "
      "Where the per-class features show digit parts, the top HOSVD components mix classes and, in the paper's "
      "MNIST model, separate vertical from horizontal strokes.");
  const io::Plot p = hosvd_energy_plot(h);
  if (!figure_dir.empty()) p.write(figure_dir + "/hosvd_spectrum.svg");
  rep.svg(p, "Share of the flattened tensor's squared norm per HOSVD component.");
  std::vector<std::string> header = {"k", "σ_k", "energy"};
  for (index_t c = 0; c < C; ++c) header.push_back("u_k[" + (c < static_cast<index_t>(names.size()) ? names[c] : std::to_string(c)) + "]");
  std::vector<std::vector<std::string>> rows;
  for (index_t k = 0; k < h.size(); ++k) {
    std::vector<std::string> r = {std::to_string(k + 1), fmt_num(h.singular_values[k], 4), fmt_pct(h.energy(k))};
    for (index_t c = 0; c < C; ++c) r.push_back(fmt_num(h.directions.data()[k * C + c], 2));
    rows.push_back(std::move(r));
  }
  rep.table(header, rows, "Singular values and output directions (rows are unit vectors over the classes).");
  std::vector<io::TileRow> tiles;
  for (std::size_t k = 0; k < hs.components.size(); ++k) {
    const auto& ec = hs.components[k];
    io::TileRow row{"component " + std::to_string(k + 1) + " (" + fmt_pct(h.energy(static_cast<index_t>(k))) + ")",
                    {{}, {}}};
    for (index_t i : ec.top_positive(4)) row.groups[0].push_back({component_tile(ec, i), 84, "λ=" + fmt_num(ec.value(i), 3)});
    for (index_t i : ec.top_negative(3)) row.groups[1].push_back({component_tile(ec, i), 84, "λ=" + fmt_num(ec.value(i), 3)});
    tiles.push_back(std::move(row));
  }
  rep.tile_table(tiles,
                 "Per component: the eigenvectors of Q(u_k)/σ_k with the most positive eigenvalues (left) and the most "
                 "negative (right), in pixel space (red positive, blue negative, white zero).");
}

}  // namespace bilin::interp
