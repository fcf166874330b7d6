// bilin/interp/lm_sections.hpp — report sections of analyze_lm for the token-level direct path
// (interp/direct_path.hpp) and the HOSVD read in tokens (interp/lm_hosvd.hpp).
//
// Contract:
// - TokenNamer: token id → its text (the tokenizer's decode of one id). Every name shown goes
//   through token_label(): invalid UTF-8 becomes U+FFFD, a leading space is shown as '·' and
//   newlines as "\n", so "·girl" (a word inside a sentence) and "girl" stay distinguishable.
// - add_direct_path_section(rep, a, name, figure_dir) appends one section: what D is, key
//   numbers (Spearman of D[:, t] with log next-token counts, mean and median, for the MLP path
//   and for MLP + embedding path; top-10 overlap), a histogram of the per-token Spearman (SVG),
//   a scatter of D[:, t] against log counts for the first chosen token that was counted, the
//   preceding / following tables of the chosen tokens, and their token-interaction eigenvectors
//   as token lists. add_hosvd_section(rep, a, name, figure_dir) appends the HOSVD section: the
//   singular-value spectrum (energy share per component, cumulative), and per shown component
//   the tokens its output direction promotes / suppresses and its interaction matrix's top
//   eigenvectors as token lists.
// - With a non-empty figure_dir the SVGs are also written there (direct_path_spearman.svg,
//   direct_path_scatter.svg, hosvd_spectrum.svg), atomically. HTML comes only from
//   io/html_report.hpp blocks and SVG from io/svg.hpp.
// - direct_path_json(a) / hosvd_json(a) give the key figures for a program's summary line.
// - TokenLevel bundles both analyses of one layer for a program: analyze_token_level(model,
//   layer, train_text, encode, name, words) runs analyze_direct_path (chosen tokens: the words
//   that are single tokens) and analyze_lm_hosvd over the same token basis (the
//   DirectPathOptions::interaction_tokens most frequent tokens); add_token_level_sections
//   renders both; token_level_json gives {"direct_path": …, "hosvd": …}; token_level_tensors
//   gives the exportable arrays under a name prefix: direct_path_tokens (I64), direct_path_spearman,
//   direct_path_top10_overlap (F64, per checked token), hosvd_singular_values (F64 [d]),
//   hosvd_directions (F64 [d, d], row k = u_k).
#pragma once
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "../io/html_report.hpp"
#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../io/svg.hpp"
#include "direct_path.hpp"
#include "figures.hpp"
#include "hosvd_sections.hpp"
#include "lm_hosvd.hpp"
#include "sae_features.hpp"

namespace bilin::interp {

using TokenNamer = std::function<std::string(index_t)>;

inline std::string token_label(const TokenNamer& name, index_t t) {
  std::string s = utf8_or_replacement(name(t)), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' && i == 0) out += "\u00b7";
    else if (s[i] == '\n') out += "\\n";
    else out += s[i];
  }
  return out.empty() ? "(empty)" : out;
}

namespace detail {
inline std::string token_list(const TokenNamer& name, const std::vector<TokenScore>& xs, bool values = true) {
  std::string s;
  for (const auto& x : xs) {
    if (!s.empty()) s += "  ";
    s += token_label(name, x.token);
    if (values) s += " (" + fmt_num(x.value, 3) + ")";
  }
  return s;
}
// The k largest / most negative entries of a token-space eigenvector.
inline std::string eigvec_tokens(const TokenNamer& name, const TokenEigen& e, index_t i, index_t k, bool positive) {
  const index_t n = e.vectors.size(1);
  auto top = top_strided(e.vectors.data() + i * n, n, 1, k, positive);
  for (auto& x : top) x.token = e.tokens.empty() ? x.token : e.tokens[static_cast<std::size_t>(x.token)];
  return token_list(name, top, false);
}
inline io::Plot histogram_plot(const std::vector<std::vector<double>>& samples, const std::vector<std::string>& names,
                               double lo, double hi, int bins, const std::string& title, const std::string& xlabel) {
  io::Plot p;
  p.title(title).xlabel(xlabel).ylabel("tokens").size(640, 360);
  const double w = (hi - lo) / bins;
  for (std::size_t s = 0; s < samples.size(); ++s) {
    std::vector<double> x(static_cast<std::size_t>(bins)), y(static_cast<std::size_t>(bins), 0.0);
    for (int b = 0; b < bins; ++b) x[b] = lo + (b + 0.5) * w;
    for (double v : samples[s])
      if (std::isfinite(v)) y[std::clamp(static_cast<int>((v - lo) / w), 0, bins - 1)] += 1;
    io::Series ser;
    ser.name = names[s];
    ser.x = x;
    ser.y = y;
    ser.kind = io::Series::Kind::line;
    ser.markers = false;
    p.add(ser);
  }
  return p;
}
inline void add_plot(io::HtmlReport& rep, const io::Plot& p, const std::string& caption, const std::string& dir,
                     const std::string& file) {
  if (!dir.empty()) p.write(dir + "/" + file);
  rep.svg(p, caption);
}
}  // namespace detail

inline void add_direct_path_section(io::HtmlReport& rep, const DirectPathAnalysis& a, const TokenNamer& name,
                                    const std::string& figure_dir = "") {
  rep.section("Direct path of layer " + std::to_string(a.layer) + ": the MLP on single tokens");
  rep.paragraph(
      "The bigram map D[o, t] = U_o · P((W x_t) ⊙ (V x_t)) runs layer " + std::to_string(a.layer) +
      "'s bilinear MLP on token t's embedding alone (x_t = the embedding through the layer's input norm, as the "
      "MLP sees it) and reads the result through the unembedding U: column t lists what token t predicts "
      "(\"following\"), row o which tokens predict o (\"preceding\"). Attention and the other layers are left out, "
      "so this is the direct path only (Pearce, Dooms & Rigg, arXiv 2406.03947). The direct embedding → "
      "unembedding path U_o · E_t is shown beside it. The check: for the " +
      std::to_string(a.counts.tokens.size()) + " most frequent tokens t of the training text (" +
      std::to_string(a.text_tokens) + " tokens), the Spearman correlation over all " + std::to_string(a.vocab) +
      " outputs o of D[:, t] with log(1 + count of t followed by o).");
  const auto& m = a.agreement_mlp;
  const auto& t = a.agreement_total;
  rep.key_numbers({{"Spearman, MLP path (mean)", fmt_num(m.spearman_mean, 3)},
                   {"Spearman, MLP path (median)", fmt_num(m.spearman_median, 3)},
                   {"Spearman, MLP + embedding path (mean)", fmt_num(t.spearman_mean, 3)},
                   {"top-" + std::to_string(m.k) + " overlap with the counts, MLP path", fmt_pct(m.topk_overlap_mean)},
                   {"top-" + std::to_string(t.k) + " overlap, MLP + embedding", fmt_pct(t.topk_overlap_mean)},
                   {"‖MLP map‖ / ‖embedding map‖", fmt_num(a.embedding_map_norm > 0 ? a.mlp_map_norm / a.embedding_map_norm : 0, 3)}},
                  "Direct path vs next-token counts");
  detail::add_plot(rep,
                   detail::histogram_plot({m.spearman, t.spearman}, {"MLP path", "MLP + embedding path"}, -0.2, 1.0, 24,
                                          "Spearman of D[:, t] with log next-token counts, per token t",
                                          "Spearman correlation"),
                   "One count per frequent token t: how well the direct path ranks what actually follows t.", figure_dir,
                   "direct_path_spearman.svg");
  for (const auto& c : a.chosen) {
    if (c.column.empty()) continue;
    io::Plot p;
    p.title("Token " + token_label(name, c.token) + ": D[:, t] against what follows it in the text")
        .xlabel("log(1 + count of t → o)")
        .ylabel("D[o, t] (MLP path)")
        .size(640, 400);
    p.scatter("outputs o", c.log_counts, c.column);
    detail::add_plot(rep, p,
                     "Each dot is one output token o; Spearman " + fmt_num(c.spearman, 3) +
                         ". Most outputs never follow t (count 0, the left column).",
                     figure_dir, "direct_path_scatter.svg");
    break;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : a.chosen)
    rows.push_back({token_label(name, c.token), detail::token_list(name, c.preceding_mlp),
                    detail::token_list(name, c.following_mlp), detail::token_list(name, c.following_total)});
  if (!rows.empty())
    rep.table({"token t", "preceding: largest D[t, s]", "following: largest D[o, t]", "following, MLP + embedding path"},
              rows, "Preceding and following tokens of chosen tokens through the direct path (values in logits).");
  if (!a.chosen.empty()) {
    rep.subsection("Token interaction matrices");
    rep.paragraph(
        "For an output token o, M_o = X Q(U_o) Xᵀ (X = the normalized token embeddings) says how pairs of input "
        "tokens interact to predict o; its diagonal is row o of D. It has rank ≤ d_model = " + std::to_string(a.d) +
        " and is diagonalized through a thin QR of X (a d×d problem, never the " + std::to_string(a.vocab) + "×" +
        std::to_string(a.vocab) + " matrix). Each eigenvector is listed by its most positive and most negative "
        "tokens: a positive eigenvalue means tokens from the same side raise o together.");
    std::vector<std::vector<std::string>> er;
    for (const auto& c : a.chosen)
      for (index_t i = 0; i < static_cast<index_t>(c.eigen.values.size()); ++i)
        er.push_back({i == 0 ? token_label(name, c.token) : "", fmt_num(c.eigen.values[i], 3),
                      detail::eigvec_tokens(name, c.eigen, i, 8, true), detail::eigvec_tokens(name, c.eigen, i, 8, false)});
    rep.table({"output token o", "λ", "eigenvector: most positive tokens", "most negative tokens"}, er,
              "Top eigenvectors (by |λ|) of the token interaction matrix of each chosen output token.");
  }
  rep.paragraph("Timings: maps " + fmt_num(a.seconds_maps, 3) + " s, count check " + fmt_num(a.seconds_agreement, 3) +
                " s, token eigenvectors " + fmt_num(a.seconds_eigen, 3) + " s.");
}

inline void add_hosvd_section(io::HtmlReport& rep, const LmHosvdAnalysis& a, const TokenNamer& name,
                              const std::string& figure_dir = "") {
  rep.section("HOSVD of layer " + std::to_string(a.layer) + "'s bilinear tensor");
  rep.paragraph(
      "The layer's tensor B [" + std::to_string(a.outputs) + ", " + std::to_string(a.d) + ", " + std::to_string(a.d) +
      "] flattened to " + std::to_string(a.outputs) + " × " + std::to_string(a.d * a.d) +
      " and decomposed by SVD (the paper's §3.3): each component is an output direction u_k (a direction in "
      "the residual stream) with an interaction matrix Q(u_k)/σ_k, found from the " + std::to_string(a.outputs) +
      "×" + std::to_string(a.outputs) + " Gram matrix without forming B. Energy = σ_k² / ‖B‖².");
  const auto& h = a.hosvd;
  detail::add_plot(rep, hosvd_energy_plot(h), "The singular-value spectrum of the flattened tensor.", figure_dir,
                   "hosvd_spectrum.svg");
  double top4 = 0;
  for (index_t k = 0; k < std::min<index_t>(4, h.size()); ++k) top4 += h.energy(k);
  std::vector<std::pair<std::string, std::string>> keys = {{"σ_1", fmt_num(h.size() ? h.singular_values[0] : 0, 4)},
                                                           {"energy in component 1", fmt_pct(h.size() ? h.energy(0) : 0)},
                                                           {"energy in the top 4", fmt_pct(top4)},
                                                           {"seconds", fmt_num(a.seconds, 3)}};
  rep.key_numbers(keys, "HOSVD");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t k = 0; k < a.components.size(); ++k) {
    const auto& c = a.components[k];
    rows.push_back({std::to_string(k + 1), fmt_num(c.sigma, 4), fmt_pct(c.energy), fmt_num(c.effective_rank, 3),
                    detail::token_list(name, c.promotes, false), detail::token_list(name, c.suppresses, false)});
  }
  rep.table({"k", "σ_k", "energy", "effective rank of Q(u_k)", "u_k promotes (logits)", "u_k suppresses"}, rows,
            "The top components' output directions, read through the unembedding.");
  std::vector<std::vector<std::string>> er;
  for (std::size_t k = 0; k < a.components.size(); ++k) {
    const auto& c = a.components[k];
    for (index_t i = 0; i < static_cast<index_t>(c.eigen.values.size()); ++i)
      er.push_back({i == 0 ? std::to_string(k + 1) : "", fmt_num(c.eigen.values[i], 3),
                    detail::eigvec_tokens(name, c.eigen, i, 8, true), detail::eigvec_tokens(name, c.eigen, i, 8, false)});
  }
  rep.table({"k", "λ (token matrix)", "eigenvector: most positive tokens", "most negative tokens"}, er,
            "Each component's interaction matrix on single tokens (X Q(u_k) Xᵀ / σ_k), top eigenvectors by |λ|.");
}

inline json::Value direct_path_json(const DirectPathAnalysis& a) {
  json::Value j = json::Value::object();
  j["layer"] = a.layer;
  j["tokens_checked"] = static_cast<index_t>(a.counts.tokens.size());
  j["spearman_mean"] = a.agreement_mlp.spearman_mean;
  j["spearman_median"] = a.agreement_mlp.spearman_median;
  j["spearman_mean_with_embedding"] = a.agreement_total.spearman_mean;
  j["top10_overlap"] = a.agreement_mlp.topk_overlap_mean;
  j["seconds"] = a.seconds_maps + a.seconds_agreement + a.seconds_eigen;
  return j;
}

inline json::Value hosvd_json(const LmHosvdAnalysis& a, index_t top = 8) {
  json::Value j = json::Value::object();
  j["layer"] = a.layer;
  std::vector<double> s(a.hosvd.singular_values.begin(),
                        a.hosvd.singular_values.begin() + std::min<index_t>(top, a.hosvd.size()));
  j["singular_values"] = json::Value::array_of(s);
  j["energy_top1"] = a.hosvd.size() ? a.hosvd.energy(0) : 0.0;
  j["seconds"] = a.seconds;
  return j;
}

struct TokenLevel {
  DirectPathAnalysis direct;
  LmHosvdAnalysis hosvd;
  TokenNamer name;
};

inline const std::vector<std::string>& default_direct_path_words() {
  static const std::vector<std::string> w = {"girl", "dog", "happy", "not", "said", "park", "game"};
  return w;
}

// `encode` maps text to token ids without special tokens and `name` one id to its text, so any
// tokenizer (bilin's BPE, a Hugging Face tokenizer.json) serves.
inline TokenLevel analyze_token_level(nn::Transformer<float>& model, index_t layer, std::span<const data::token_t> train,
                                      const std::function<std::vector<std::int64_t>(const std::string&)>& encode,
                                      TokenNamer name, const std::vector<std::string>& words = default_direct_path_words(),
                                      const DirectPathOptions& opt = {}) {
  const DirectPathWeights<float> w = direct_path_weights(model, layer);
  TokenLevel t;
  t.direct = analyze_direct_path(w, train, single_token_ids(encode, words), opt);
  t.hosvd = analyze_lm_hosvd(w, token_basis(w.inputs, interaction_token_set(train, w.vocab(), w.d(), opt.interaction_tokens)));
  t.name = std::move(name);
  return t;
}

inline void add_token_level_sections(io::HtmlReport& rep, const TokenLevel& t, const std::string& figure_dir = "") {
  add_direct_path_section(rep, t.direct, t.name, figure_dir);
  add_hosvd_section(rep, t.hosvd, t.name, figure_dir);
}

inline json::Value token_level_json(const TokenLevel& t) {
  json::Value j = json::Value::object();
  j["direct_path"] = direct_path_json(t.direct);
  j["hosvd"] = hosvd_json(t.hosvd);
  return j;
}

inline std::vector<std::pair<std::string, io::AnyTensor>> token_level_tensors(const TokenLevel& t, const std::string& prefix) {
  std::vector<std::pair<std::string, io::AnyTensor>> out;
  const auto& a = t.direct.agreement_mlp;
  const index_t n = static_cast<index_t>(a.tokens.size());
  std::vector<std::int64_t> ids(a.tokens.begin(), a.tokens.end());
  out.emplace_back(prefix + "direct_path_tokens", Tensor<std::int64_t>::from_vector(ids, {n}));
  out.emplace_back(prefix + "direct_path_spearman", Tensor<double>::from_vector(a.spearman, {n}));
  out.emplace_back(prefix + "direct_path_top10_overlap", Tensor<double>::from_vector(a.topk_overlap, {n}));
  const auto& h = t.hosvd.hosvd;
  out.emplace_back(prefix + "hosvd_singular_values", Tensor<double>::from_vector(h.singular_values, {h.size()}));
  out.emplace_back(prefix + "hosvd_directions", h.directions);
  return out;
}

}  // namespace bilin::interp
