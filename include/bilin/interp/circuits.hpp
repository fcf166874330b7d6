// bilin/interp/circuits.hpp — circuits between SAE features through a bilinear MLP: the
// official selection heuristics, antipodal output pairs, a negation probe and the per-feature
// pictures of the paper's Fig. 8 / App. N, O.
//
// Contract:
// - quantile(v, q): linear interpolation between order statistics (NumPy's and torch.quantile's
//   default), v must be non-empty.
// - iqr_outliers(values, factor) → (count, largest |value|) of the values outside
//   [q1 − factor·IQR, q3 + factor·IQR]; (0, 0) when none.
// - LatentStats latent_stats(Q_lat [L, L], n_in): for the n_in real latents (the bias latent, if
//   any, is index n_in and is left out), the cross-interactions 2·Q_lat[i,j] (i < j) with IQR
//   factor 4 and the self-interactions Q_lat[i,i] with factor 2 (the official
//   Interactions.outliers): outlier count, largest |outlier| (the ranking score), cross std.
// - antipodal_pairs(decoder [d, n], threshold): pairs (a < b) whose decoder columns have cosine
//   ≤ threshold, most negative first.
// - marked_token(context): the text between « and » of a sae_features.hpp context ("" if none).
//   is_negation(context): the marked token is "not", "never" or "n't" (also "'t" / "t" right
//   after "n" / "n'", which a BPE may split off), case-insensitive, spaces trimmed.
// - analyze_circuits(Q, spec, out_sae, in_sae, X, H, act, out_contexts, opt): for every output
//   feature a (Q [m, d, d] = Q(e_a), spec their spectra by |λ|), Q_lat(a) = D'ᵀQ(e_a)D' with D' the
//   input SAE's decoder plus b_dec (latent_basis.hpp), latent_stats; rankings by_outliers
//   (largest |outlier| first) and by_top2 (|λ₁| + |λ₂| of Q(e_a), largest first); antipodal pairs
//   of the output SAE's decoder (cosine ≤ −0.9); negation features (≥ half of their top contexts
//   on a negation, most first). Then FeatureCircuit pictures for the top opt.top_features by
//   outliers, the top feature by top-2 |λ| and the strongest negation feature (each once): the
//   submatrix of Q_lat over the latents taking part in its 15 largest |interactions| (cross as
//   2·Q_lat, self as Q_lat, bias latent excluded), cross/self values, the top positive/negative
//   eigenvalues and the cosines of those latents' decoder directions with the two eigenvectors,
//   a GOE spectrum at Q(e_a)'s off-diagonal std, and the rank-2 approximation on the active
//   positions (X: MLP inputs, act: active sets of the output SAE) with its Pearson r, overall and
//   on the larger half of the activations.
// - Fig. 8B's overlay: opt.overlay holds named model-space directions (the paper: the 'bad' −
//   'good' unembedding difference and the MLP input at "[BOS] not"); each shown feature projects
//   every one of them on its top ± eigenvectors by cosine (FeatureCircuit::overlay, in order),
//   beside its latents' decoder directions. A direction of the wrong length is a bilin::Error.
#pragma once
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../nn/sae.hpp"
#include "interaction_batch.hpp"
#include "latent_basis.hpp"
#include "lowrank_correlation.hpp"
#include "spectral.hpp"

namespace bilin::interp {

namespace detail {
// The q-quantile of v, reordering v (nth_element) instead of copying it.
inline double quantile_inplace(std::vector<double>& v, double q) {
  BILIN_CHECK(!v.empty(), "quantile", "no values");
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return a + (pos - static_cast<double>(lo)) * (b - a);
}
}  // namespace detail

inline double quantile(std::vector<double> v, double q) { return detail::quantile_inplace(v, q); }

inline std::pair<index_t, double> iqr_outliers(const std::vector<double>& v, double factor) {
  if (v.empty()) return {0, 0.0};
  std::vector<double> w = v;  // one copy for both quartiles
  const double q1 = detail::quantile_inplace(w, 0.25), q3 = detail::quantile_inplace(w, 0.75), iqr = q3 - q1;
  const double lo = q1 - factor * iqr, hi = q3 + factor * iqr;
  index_t c = 0;
  double m = 0;
  for (double x : v)
    if (x < lo || x > hi) ++c, m = std::max(m, std::fabs(x));
  return {c, m};
}

struct LatentStats {
  index_t outliers = 0;
  double outlier_max = 0, cross_std = 0;
};

inline LatentStats latent_stats(const float* Ql, index_t L, index_t n_in, std::vector<double>* cross_out = nullptr,
                                std::vector<double>* self_out = nullptr) {
  std::vector<double> cross, self;
  cross.reserve(static_cast<std::size_t>(n_in * (n_in - 1) / 2));
  for (index_t i = 0; i < n_in; ++i) {
    self.push_back(Ql[i * L + i]);
    for (index_t j = 0; j < i; ++j) cross.push_back(2.0 * Ql[i * L + j]);
  }
  LatentStats s;
  const auto [cc, cm] = iqr_outliers(cross, 4.0);
  const auto [sc, sm] = iqr_outliers(self, 2.0);
  s.outliers = cc + sc;
  s.outlier_max = std::max(cm, sm);
  double mean = 0, sq = 0;
  for (double x : cross) mean += x;
  mean /= std::max<double>(1, static_cast<double>(cross.size()));
  for (double x : cross) sq += (x - mean) * (x - mean);
  s.cross_std = cross.size() > 1 ? std::sqrt(sq / static_cast<double>(cross.size() - 1)) : 0.0;
  if (cross_out) *cross_out = std::move(cross);
  if (self_out) *self_out = std::move(self);
  return s;
}

struct AntipodalPair {
  index_t a = 0, b = 0;
  double cosine = 0;
};

inline std::vector<AntipodalPair> antipodal_pairs(const TensorF& decoder, double threshold = -0.9) {
  BILIN_CHECK(decoder.dim() == 2, "antipodal_pairs", "decoder must be [d, n], got ", to_string(decoder.shape()));
  const TensorF D = decoder.contiguous();
  const index_t d = D.size(0), n = D.size(1);
  std::vector<float> G(static_cast<std::size_t>(n * n));
  kernels::gemm<float>(kernels::Trans::T, kernels::Trans::N, n, n, d, 1.0f, D.data(), n, D.data(), n, 0.0f, G.data(), n);
  std::vector<AntipodalPair> out;
  for (index_t a = 0; a < n; ++a)
    for (index_t b = a + 1; b < n; ++b) {
      const double na = G[a * n + a], nb = G[b * n + b];
      if (!(na > 0 && nb > 0)) continue;
      const double c = G[a * n + b] / std::sqrt(na * nb);
      if (c <= threshold) out.push_back({a, b, c});
    }
  std::sort(out.begin(), out.end(), [](const AntipodalPair& x, const AntipodalPair& y) { return x.cosine < y.cosine; });
  return out;
}

inline std::string marked_token(const std::string& ctx) {
  const std::string open = "\u00ab", close = "\u00bb";
  const auto p = ctx.find(open);
  if (p == std::string::npos) return "";
  const auto q = ctx.find(close, p + open.size());
  if (q == std::string::npos) return "";
  return ctx.substr(p + open.size(), q - p - open.size());
}

inline bool is_negation(const std::string& ctx) {
  auto norm = [](std::string s) {
    std::string o;
    for (char c : s)
      if (!std::isspace(static_cast<unsigned char>(c))) o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  const std::string t = norm(marked_token(ctx));
  if (t == "not" || t == "never" || t == "n't" || t == "nt") return true;
  const auto p = ctx.find("\u00ab");
  const std::string before = p == std::string::npos ? "" : norm(ctx.substr(0, p));
  auto ends = [&](const std::string& s) { return before.size() >= s.size() && before.compare(before.size() - s.size(), s.size(), s) == 0; };
  return (t == "'t" && ends("n")) || (t == "t" && ends("n'"));
}

struct FeatureCircuit {
  index_t feature = 0;
  std::string why;
  double top_pos = 0, top_neg = 0, cross_std = 0;
  std::vector<index_t> sub_features;   // latents of the submatrix (sorted)
  std::vector<float> sub_matrix;       // Q_lat restricted to them, row-major
  double sub_scale = 0;
  std::vector<double> cross_sample, self_values;
  double hist_lo = 0, hist_hi = 0;
  std::vector<std::pair<double, double>> cosines;  // per sub feature: (cos with v+, cos with v−)
  struct Overlay {
    std::string name;
    double cos_pos = 0, cos_neg = 0;
  };
  std::vector<Overlay> overlay;  // opt.overlay's directions, projected the same way
  std::vector<double> goe_values;
  std::vector<double> approx, truth;
  double rank2_r = 0, rank2_r_large = 0;
};

struct CircuitOptions {
  index_t top_features = 4;
  index_t top_interactions = 15;
  double antipodal = -0.9;
  std::uint64_t seed = 0;
  std::vector<std::pair<std::string, std::vector<float>>> overlay;  // named d-vectors for Fig. 8B
};

struct CircuitAnalysis {
  std::vector<index_t> by_outliers, by_top2, outlier_count;
  std::vector<double> outlier_max, top2_sum, cross_std;
  std::vector<AntipodalPair> pairs;
  std::vector<std::pair<index_t, double>> negation;  // (feature, fraction of top contexts)
  std::vector<FeatureCircuit> features;
  double goe_max = 0;  // largest |μ| of the first shown feature's random spectrum
};

namespace detail {
inline FeatureCircuit feature_circuit(index_t a, const std::string& why, const TensorF& Q, const SortedSpectra<float>& spec,
                                      const TensorF& Dp, index_t n_in, const TensorF& X, const ActiveSet& act,
                                      const CircuitOptions& opt) {
  const index_t d = spec.dim(), L = Dp.size(1);
  FeatureCircuit fc;
  fc.feature = a;
  fc.why = why;
  std::vector<float> Ql(static_cast<std::size_t>(L * L)), tmp;
  latent_interactions_into(Q.data() + a * d * d, Dp, Ql.data(), tmp);
  const LatentStats st = latent_stats(Ql.data(), L, n_in, &fc.cross_sample, &fc.self_values);
  fc.cross_std = st.cross_std;
  double big = 0;
  for (double v : fc.cross_sample) big = std::max(big, std::fabs(v));
  for (double v : fc.self_values) big = std::max(big, std::fabs(v));
  fc.hist_lo = -big, fc.hist_hi = big;
  // Every value up to 10^6 (a 4×-wide SAE of d 256 has 5·10^5), so the histogram shows each outlier;
  // beyond that a regular subsample, which keeps the bulk's shape but may drop single outliers.
  if (fc.cross_sample.size() > 1000000) {
    std::vector<double> s;
    const std::size_t step = fc.cross_sample.size() / 1000000 + 1;
    for (std::size_t i = 0; i < fc.cross_sample.size(); i += step) s.push_back(fc.cross_sample[i]);
    fc.cross_sample.swap(s);
  }
  // the largest |interactions| (cross 2·Q_lat, self Q_lat) among the real latents
  std::vector<std::pair<double, std::pair<index_t, index_t>>> top;
  for (index_t i = 0; i < n_in; ++i)
    for (index_t j = 0; j <= i; ++j) {
      const double v = std::fabs((i == j ? 1.0 : 2.0) * Ql[i * L + j]);
      if (static_cast<index_t>(top.size()) < opt.top_interactions || v > top.back().first) {
        top.push_back({v, {i, j}});
        std::sort(top.begin(), top.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
        if (static_cast<index_t>(top.size()) > opt.top_interactions) top.pop_back();
      }
    }
  for (const auto& t : top) fc.sub_features.push_back(t.second.first), fc.sub_features.push_back(t.second.second);
  std::sort(fc.sub_features.begin(), fc.sub_features.end());
  fc.sub_features.erase(std::unique(fc.sub_features.begin(), fc.sub_features.end()), fc.sub_features.end());
  for (index_t i : fc.sub_features)
    for (index_t j : fc.sub_features) {
      fc.sub_matrix.push_back(Ql[i * L + j]);
      fc.sub_scale = std::max(fc.sub_scale, std::fabs(static_cast<double>(Ql[i * L + j])));
    }
  // top ± eigenpairs and the cosines of the latents' decoder directions with them
  const float* lam = spec.vals(a);
  index_t ip = -1, ineg = -1;
  for (index_t i = 0; i < d; ++i) {
    if (lam[i] > 0 && ip < 0) ip = i;
    if (lam[i] < 0 && ineg < 0) ineg = i;
  }
  fc.top_pos = ip >= 0 ? lam[ip] : 0.0;
  fc.top_neg = ineg >= 0 ? lam[ineg] : 0.0;
  // cosines of x (d entries, `stride` apart) with the unit eigenvectors v+ and v−
  const auto cosines = [&](const float* x, index_t stride) {
    double nb = 0, cp = 0, cn = 0;
    for (index_t r = 0; r < d; ++r) {
      const double v = x[r * stride];
      nb += v * v;
      if (ip >= 0) cp += v * spec.vecs(a)[ip * d + r];
      if (ineg >= 0) cn += v * spec.vecs(a)[ineg * d + r];
    }
    nb = std::sqrt(nb);
    return std::pair<double, double>(nb > 0 ? cp / nb : 0.0, nb > 0 ? cn / nb : 0.0);
  };
  for (index_t b : fc.sub_features) fc.cosines.push_back(cosines(Dp.data() + b, L));
  for (const auto& [name, u] : opt.overlay) {
    BILIN_CHECK(static_cast<index_t>(u.size()) == d, "analyze_circuits", "overlay direction '", name, "' has ", u.size(),
                " entries, the layer d = ", d);
    const auto [cp, cn] = cosines(u.data(), 1);
    fc.overlay.push_back({name, cp, cn});
  }
  Generator gen(opt.seed * 7919 + static_cast<std::uint64_t>(a) + 3);
  const TensorF G = goe_matrix<float>(d, offdiag_std(Q.data() + a * d * d, d), gen);
  const SortedSpectra<float> gs = eigh_sorted(G.reshape({1, d, d}), false);
  fc.goe_values = gs.spectrum(0);
  // rank-2 approximation on the active positions
  const index_t N = act.size();
  for (index_t r = 0; r < N; ++r) {
    const float* x = X.data() + act.rows[r] * d;
    double s = 0;
    for (index_t i = 0; i < std::min<index_t>(2, d); ++i) {
      double p = 0;
      for (index_t c = 0; c < d; ++c) p += static_cast<double>(spec.vecs(a)[i * d + c]) * x[c];
      s += lam[i] * p * p;
    }
    fc.approx.push_back(s);
    fc.truth.push_back(act.values[r]);
  }
  fc.rank2_r = pearson(fc.approx.data(), fc.truth.data(), N);
  if (N >= 4) {
    std::vector<double> t = fc.truth;
    std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(N / 2), t.end());
    const double med = t[static_cast<std::size_t>(N / 2)];
    std::vector<double> ax, tx;
    for (index_t r = 0; r < N; ++r)
      if (fc.truth[r] >= med) ax.push_back(fc.approx[r]), tx.push_back(fc.truth[r]);
    fc.rank2_r_large = pearson(ax.data(), tx.data(), static_cast<index_t>(ax.size()));
  }
  return fc;
}
}  // namespace detail

inline CircuitAnalysis analyze_circuits(const TensorF& Q, const SortedSpectra<float>& spec, const nn::TopKSAE<float>& out_sae,
                                        const nn::TopKSAE<float>& in_sae, const TensorF& X,
                                        const std::vector<ActiveSet>& act,
                                        const std::vector<std::vector<std::string>>& out_contexts,
                                        const CircuitOptions& opt = {}) {
  const index_t m = Q.size(0), d = Q.size(1);
  BILIN_CHECK(Q.dim() == 3 && Q.size(2) == d && spec.count() == m && spec.dim() == d, "analyze_circuits",
              "matrices ", to_string(Q.shape()), " and spectra do not match");
  BILIN_CHECK(in_sae.d() == d, "analyze_circuits", "the input SAE's d = ", in_sae.d(), " does not match the layer's d = ", d);
  BILIN_CHECK(out_sae.n_latents() == m && static_cast<index_t>(act.size()) == m, "analyze_circuits",
              "the output SAE has ", out_sae.n_latents(), " latents, the analysis ", m, " matrices");
  BILIN_CHECK(X.dim() == 2 && X.size(1) == d, "analyze_circuits", "inputs must be [N, ", d, "], got ", to_string(X.shape()));
  const TensorF Dp = augmented_decoder(in_sae);
  const index_t n_in = in_sae.n_latents(), L = n_in + 1;
  CircuitAnalysis c;
  c.outlier_count.assign(static_cast<std::size_t>(m), 0);
  c.outlier_max.assign(static_cast<std::size_t>(m), 0.0);
  c.cross_std.assign(static_cast<std::size_t>(m), 0.0);
  c.top2_sum.assign(static_cast<std::size_t>(m), 0.0);
  const TensorF q = Q.contiguous();
#pragma omp parallel
  {
    std::vector<float> Ql(static_cast<std::size_t>(L * L)), tmp;
#pragma omp for schedule(dynamic, 4)
    for (index_t a = 0; a < m; ++a) {
      latent_interactions_into(q.data() + a * d * d, Dp, Ql.data(), tmp);
      const LatentStats s = latent_stats(Ql.data(), L, n_in);
      c.outlier_count[a] = s.outliers;
      c.outlier_max[a] = s.outlier_max;
      c.cross_std[a] = s.cross_std;
    }
  }
  for (index_t a = 0; a < m; ++a) c.top2_sum[a] = std::fabs(spec.vals(a)[0]) + (d > 1 ? std::fabs(spec.vals(a)[1]) : 0.0);
  auto ranked = [m](const std::vector<double>& score) {
    std::vector<index_t> idx(static_cast<std::size_t>(m));
    std::iota(idx.begin(), idx.end(), index_t(0));
    std::stable_sort(idx.begin(), idx.end(), [&](index_t x, index_t y) { return score[x] > score[y]; });
    return idx;
  };
  c.by_outliers = ranked(c.outlier_max);
  c.by_top2 = ranked(c.top2_sum);
  c.pairs = antipodal_pairs(out_sae.decoder(), opt.antipodal);
  for (index_t a = 0; a < m && a < static_cast<index_t>(out_contexts.size()); ++a) {
    const auto& cs = out_contexts[a];
    if (cs.empty()) continue;
    index_t neg = 0;
    for (const auto& s : cs) neg += is_negation(s);
    const double frac = static_cast<double>(neg) / static_cast<double>(cs.size());
    if (frac >= 0.5) c.negation.emplace_back(a, frac);
  }
  std::stable_sort(c.negation.begin(), c.negation.end(), [&](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : act[x.first].size() > act[y.first].size();
  });
  std::vector<std::pair<index_t, std::string>> show;
  auto add = [&](index_t a, const std::string& why) {
    for (auto& s : show)
      if (s.first == a) return void(s.second += "; " + why);
    show.emplace_back(a, why);
  };
  for (index_t i = 0; i < std::min(opt.top_features, m); ++i) add(c.by_outliers[i], "IQR-outlier rank " + std::to_string(i + 1));
  if (m > 0) add(c.by_top2[0], "top-2 |λ| rank 1");
  if (!c.negation.empty()) add(c.negation[0].first, "strongest negation feature");
  const TensorF x = X.contiguous();
  for (const auto& [a, why] : show) c.features.push_back(detail::feature_circuit(a, why, q, spec, Dp, n_in, x, act[a], opt));
  if (!c.features.empty())
    for (double v : c.features[0].goe_values) c.goe_max = std::max(c.goe_max, std::fabs(v));
  return c;
}

}  // namespace bilin::interp
