// bilin/interp/direct_path.hpp — the token-level direct path of one bilinear MLP in a language
// model: the bigram map, token interaction matrices and a check against next-token counts.
//
// Contract (Pearce, Dooms, Rigg, arXiv 2406.03947 §4, with the correct quadratic form; see
// ../shared/PAPER-LM.md §2.6):
// - DirectPathWeights<T> holds one layer's pieces (direct_path_weights copies them from a
//   Transformer<float>):
//     embed   [Vc, d]  token embeddings E (wte)
//     inputs  [Vc, d]  x_t = what the layer's MLP sees for token t alone: its input norm n2
//                      applied to E_t (weightless RMSNorm: E_t/rms(E_t)); the attention and
//                      earlier layers are left out, which is what makes this the DIRECT path
//     W, V    [h, d]   the bilinear halves (up.weight rows 0..h−1 and h..2h−1), P [d, h] (down)
//     unembed [Vc, d]  lm_head rows, times the final norm's weight when that norm is affine
//                      (a per-position scale of the final norm is not a weight and is left out)
//   Only a bias-free bilinear MLP qualifies: a GLU/ReLU MLP or biases throw bilin::Error
//   (lm_mlp.hpp's bilinear_mlp) saying that Q(u) is exact only for bilinear layers.
// - mlp_token_outputs(w) = P((W x_t) ⊙ (V x_t)) for every token, [Vc, d] (three GEMMs).
// - bigram_map(w): D[o, t] = U_o · P((W x_t) ⊙ (V x_t)), [Vc (outputs o), Vc (inputs t)];
//   embedding_map(w): the direct embedding → unembedding path U_o · E_t, same layout.
//   Column D[:, t] is what token t predicts ("following t"), row D[o, :] which tokens predict o
//   ("preceding o"): following(D, t, k) / preceding(D, o, k), largest first (ties: lower id).
// - Token interaction matrices: M_u = X Q(u) Xᵀ [Vc, Vc] with X = inputs, so that
//   M_u[t, t] = uᵀ MLP(x_t) (for u = U_o: the bigram map's D[o, t]) and M_u[s, t] is the
//   interaction of tokens s and t. It has rank ≤ d and is never formed: token_basis(X) is the
//   thin QR X = Z R (linalg/qr.hpp) and token_interaction_eigen(basis, Q, k) diagonalizes the
//   d×d matrix R Q Rᵀ = S Λ Sᵀ, so M_u = (Z S) Λ (Z S)ᵀ. It returns the k eigenpairs of largest
//   |λ| (|λ| descending), eigenvectors as rows [k, Vc] of unit norm, each signed so that its
//   largest-magnitude entry is positive; the other Vc − d eigenvalues of M_u are exactly 0.
//   token_basis(X, tokens) restricts M_u to a token subset (rows of X; e.g. the most frequent
//   tokens of the text, interaction_token_set(text, Vc, d, n)); TokenEigen::tokens names the columns.
// - Next-token statistics: next_token_counts(text, Vc, top_n) counts, for the top_n most
//   frequent tokens t of the text (as predecessors; ties: lower id), how often each token
//   follows t. direct_path_agreement(D, counts, k) gives per token t the Spearman correlation
//   (interp/correlation.hpp, tie-corrected) of D[:, t] with log(1 + count(t → o)) over all o,
//   and the overlap of the two top-k sets (|∩|/k); with mean and median over the tokens whose
//   correlation is defined.
// - analyze_direct_path(w, text, chosen, opt) runs all of the above for a set of chosen tokens
//   (tables, token-interaction eigenvectors of their unembedding directions, and D[:, t] beside
//   the log counts when t is among the counted tokens) and returns it with timings;
//   interp/lm_sections.hpp renders it. single_token_ids(encode, words) picks the chosen
//   tokens from words.
// - Shapes are checked; errors (bilin::Error, op "direct_path") name the bad layer, shape,
//   token id or text length.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <vector>

#include "../autograd/engine.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../data/bpe.hpp"
#include "../kernels/gemm.hpp"
#include "../linalg/eigh.hpp"
#include "../linalg/qr.hpp"
#include "../nn/transformer.hpp"
#include "bilinear_tensor.hpp"
#include "correlation.hpp"
#include "lm_mlp.hpp"

namespace bilin::interp {

template <class T>
struct DirectPathWeights {
  index_t layer = 0;
  Tensor<T> embed, inputs;  // [Vc, d]
  Tensor<T> W, V;           // [h, d]
  Tensor<T> P;              // [d, h]
  Tensor<T> unembed;        // [Vc, d]

  index_t vocab() const { return embed.size(0); }
  index_t d() const { return embed.size(1); }
  index_t hidden() const { return W.size(0); }

  void validate() const {
    BILIN_CHECK(embed.defined() && embed.dim() == 2, "direct_path", "embedding must be [vocab, d]");
    const index_t Vc = embed.size(0), dd = embed.size(1);
    BILIN_CHECK(inputs.defined() && inputs.shape() == embed.shape(), "direct_path", "MLP inputs must be ",
                to_string(embed.shape()), ", got ", inputs.defined() ? to_string(inputs.shape()) : "none");
    BILIN_CHECK(W.defined() && V.defined() && W.dim() == 2 && W.shape() == V.shape() && W.size(1) == dd,
                "direct_path", "W and V must be [h, ", dd, "]");
    BILIN_CHECK(P.defined() && P.dim() == 2 && P.size(0) == dd && P.size(1) == W.size(0), "direct_path",
                "P must be [", dd, ", ", W.size(0), "], got ", P.defined() ? to_string(P.shape()) : "none");
    BILIN_CHECK(unembed.defined() && unembed.dim() == 2 && unembed.size(1) == dd && unembed.size(0) == Vc,
                "direct_path", "unembedding must be [", Vc, ", ", dd, "], got ",
                unembed.defined() ? to_string(unembed.shape()) : "none");
  }
};

// The weights of layer `layer` of a bias-free bilinear-MLP transformer (lm_mlp.hpp's
// bilinear_mlp and unembedding_directions, whose checks name a GLU/ReLU MLP or biases).
inline DirectPathWeights<float> direct_path_weights(nn::Transformer<float>& model, index_t layer) {
  const LayerMlp mlp = bilinear_mlp(model, layer);
  NoGradGuard ng;
  DirectPathWeights<float> w;
  w.layer = layer;
  w.embed = model.transformer->wte->weight.contiguous().clone();
  w.inputs = model.block(static_cast<std::size_t>(layer)).n2->forward(w.embed).contiguous();
  w.W = mlp.W;
  w.V = mlp.V;
  w.P = mlp.P;
  std::vector<index_t> all(static_cast<std::size_t>(model.config().vocab));
  std::iota(all.begin(), all.end(), index_t(0));
  w.unembed = unembedding_directions(model, all);
  w.validate();
  return w;
}

// P((W x_t) ⊙ (V x_t)) for every token: [Vc, d].
template <class T>
Tensor<T> mlp_token_outputs(const DirectPathWeights<T>& w) {
  w.validate();
  using kernels::Trans;
  const index_t Vc = w.vocab(), dd = w.d(), h = w.hidden();
  Tensor<T> a = Tensor<T>::empty({Vc, h}), b = Tensor<T>::empty({Vc, h});
  kernels::gemm<T>(Trans::N, Trans::T, Vc, h, dd, T(1), w.inputs.data(), dd, w.W.data(), dd, T(0), a.data(), h);
  kernels::gemm<T>(Trans::N, Trans::T, Vc, h, dd, T(1), w.inputs.data(), dd, w.V.data(), dd, T(0), b.data(), h);
  for (index_t i = 0; i < Vc * h; ++i) a.data()[i] *= b.data()[i];
  Tensor<T> m = Tensor<T>::empty({Vc, dd});
  kernels::gemm<T>(Trans::N, Trans::T, Vc, dd, h, T(1), a.data(), h, w.P.data(), h, T(0), m.data(), dd);
  return m;
}

namespace detail {
// U · Xᵀ for token-space X [Vc, d]: [Vc, Vc], entry [o, t] = U_o · X_t.
template <class T>
Tensor<T> unembed_products(const Tensor<T>& U, const Tensor<T>& X) {
  const index_t Vo = U.size(0), Vt = X.size(0), dd = U.size(1);
  Tensor<T> D = Tensor<T>::empty({Vo, Vt});
  kernels::gemm<T>(kernels::Trans::N, kernels::Trans::T, Vo, Vt, dd, T(1), U.data(), dd, X.data(), dd, T(0), D.data(),
                   Vt);
  return D;
}
}  // namespace detail

template <class T>
Tensor<T> bigram_map(const DirectPathWeights<T>& w) {
  return detail::unembed_products(w.unembed, mlp_token_outputs(w));
}

template <class T>
Tensor<T> embedding_map(const DirectPathWeights<T>& w) {
  w.validate();
  return detail::unembed_products(w.unembed, w.embed);
}

struct TokenScore {
  index_t token = 0;
  double value = 0;
};

namespace detail {
template <class T>
std::vector<TokenScore> top_strided(const T* p, index_t n, index_t stride, index_t k, bool largest) {
  std::vector<TokenScore> all(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) all[i] = {i, static_cast<double>(p[i * stride])};
  k = std::min(k, n);
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [largest](const TokenScore& a, const TokenScore& b) {
    if (a.value != b.value) return largest ? a.value > b.value : a.value < b.value;
    return a.token < b.token;
  });
  all.resize(static_cast<std::size_t>(k));
  return all;
}
template <class T>
void check_square_map(const Tensor<T>& D, index_t tok, const char* which) {
  BILIN_CHECK(D.defined() && D.dim() == 2 && D.size(0) == D.size(1) && D.is_contiguous(), "direct_path",
              "expected a contiguous square [vocab, vocab] map, got ", D.defined() ? to_string(D.shape()) : "none");
  BILIN_CHECK(tok >= 0 && tok < D.size(0), "direct_path", which, " token id ", tok, " is outside [0, ", D.size(0), ")");
}
}  // namespace detail

// What token t predicts: the largest (or, largest = false, most negative) entries of D[:, t].
template <class T>
std::vector<TokenScore> following(const Tensor<T>& D, index_t t, index_t k, bool largest = true) {
  detail::check_square_map(D, t, "input");
  return detail::top_strided(D.data() + t, D.size(0), D.size(1), k, largest);
}
// Which tokens predict o: the largest entries of D[o, :].
template <class T>
std::vector<TokenScore> preceding(const Tensor<T>& D, index_t o, index_t k, bool largest = true) {
  detail::check_square_map(D, o, "output");
  return detail::top_strided(D.data() + o * D.size(1), D.size(1), 1, k, largest);
}

// ----------------------------------------------------------------- token interaction matrices

struct TokenEigen {
  std::vector<double> values;  // [k], |λ| descending
  Tensor<double> vectors;      // [k, n] unit rows over the basis tokens
  std::vector<index_t> tokens; // [n] token id of each column
};

// The thin QR of the normalized embeddings of a set of tokens (all tokens when `tokens` is empty).
struct TokenBasis {
  linalg::ThinQR qr;
  std::vector<index_t> tokens;  // row r of the basis is token tokens[r]
};

template <class T>
TokenBasis token_basis(const Tensor<T>& inputs, std::vector<index_t> tokens = {}) {
  BILIN_CHECK(inputs.defined() && inputs.dim() == 2, "direct_path", "token inputs must be [vocab, d]");
  const index_t Vc = inputs.size(0), dd = inputs.size(1);
  if (tokens.empty()) {
    tokens.resize(static_cast<std::size_t>(Vc));
    std::iota(tokens.begin(), tokens.end(), index_t(0));
  }
  BILIN_CHECK(static_cast<index_t>(tokens.size()) >= dd, "direct_path", "a token basis needs at least d = ", dd,
              " tokens, got ", tokens.size());
  const Tensor<T> x = inputs.contiguous();
  Tensor<T> sub = Tensor<T>::empty({static_cast<index_t>(tokens.size()), dd});
  for (std::size_t r = 0; r < tokens.size(); ++r) {
    BILIN_CHECK(tokens[r] >= 0 && tokens[r] < Vc, "direct_path", "basis token id ", tokens[r], " is outside [0, ", Vc,
                ")");
    std::copy_n(x.data() + tokens[r] * dd, dd, sub.data() + static_cast<index_t>(r) * dd);
  }
  return {linalg::thin_qr(sub), std::move(tokens)};
}

// Top-k (by |λ|) eigenpairs of M = X Q Xᵀ through the d×d matrix R Q Rᵀ; Q [d, d] symmetric.
template <class T>
TokenEigen token_interaction_eigen(const TokenBasis& tb, const Tensor<T>& Q, index_t k) {
  const linalg::ThinQR& basis = tb.qr;
  const index_t Vc = basis.q.size(0), dd = basis.q.size(1);
  BILIN_CHECK(Q.defined() && Q.dim() == 2 && Q.size(0) == dd && Q.size(1) == dd, "direct_path",
              "interaction matrix must be [", dd, ", ", dd, "], got ", Q.defined() ? to_string(Q.shape()) : "none");
  BILIN_CHECK(k >= 1 && k <= dd, "direct_path", "k = ", k, " eigenpairs requested, the token basis has rank ", dd);
  const Tensor<T> qc = Q.contiguous();
  Tensor<double> q = Tensor<double>::empty({dd, dd});
  for (index_t i = 0; i < dd * dd; ++i) q.data()[i] = static_cast<double>(qc.data()[i]);
  using kernels::Trans;
  const double* R = basis.r.data();
  Tensor<double> rq = Tensor<double>::empty({dd, dd}), s = Tensor<double>::empty({dd, dd});
  kernels::gemm<double>(Trans::N, Trans::N, dd, dd, dd, 1.0, R, dd, q.data(), dd, 0.0, rq.data(), dd);
  kernels::gemm<double>(Trans::N, Trans::T, dd, dd, dd, 1.0, rq.data(), dd, R, dd, 0.0, s.data(), dd);
  for (index_t i = 0; i < dd; ++i)  // exact symmetry for eigh
    for (index_t j = i + 1; j < dd; ++j) {
      const double v = 0.5 * (s.data()[i * dd + j] + s.data()[j * dd + i]);
      s.data()[i * dd + j] = s.data()[j * dd + i] = v;
    }
  linalg::EighOptions o;
  o.method = linalg::EighMethod::tridiagonal;
  if (k < dd) o.subset = linalg::EighSubset::largest_magnitude, o.k = k;
  const auto r = linalg::eigh(s, o);
  const index_t got = r.values.numel();
  std::vector<index_t> order(static_cast<std::size_t>(got));
  std::iota(order.begin(), order.end(), index_t(0));
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
    return std::fabs(r.values.data()[a]) > std::fabs(r.values.data()[b]);
  });
  // Selected eigenvectors of the small problem as rows, then Z S (rows: S_iᵀ Zᵀ).
  Tensor<double> sel = Tensor<double>::empty({got, dd});
  TokenEigen out;
  out.tokens = tb.tokens;
  for (index_t i = 0; i < got; ++i) {
    out.values.push_back(r.values.data()[order[i]]);
    for (index_t j = 0; j < dd; ++j) sel.data()[i * dd + j] = r.vectors.data()[j * got + order[i]];
  }
  out.vectors = Tensor<double>::empty({got, Vc});
  kernels::gemm<double>(Trans::N, Trans::T, got, Vc, dd, 1.0, sel.data(), dd, basis.q.data(), dd, 0.0,
                        out.vectors.data(), Vc);
  for (index_t i = 0; i < got; ++i) {
    double* v = out.vectors.data() + i * Vc;
    index_t arg = 0;
    for (index_t t = 1; t < Vc; ++t)
      if (std::fabs(v[t]) > std::fabs(v[arg])) arg = t;
    if (v[arg] < 0)
      for (index_t t = 0; t < Vc; ++t) v[t] = -v[t];
  }
  return out;
}

// Row o of the unembedding: the output direction of token o in the residual stream.
template <class T>
Tensor<T> unembed_direction(const DirectPathWeights<T>& w, index_t o) {
  BILIN_CHECK(o >= 0 && o < w.vocab(), "direct_path", "output token id ", o, " is outside [0, ", w.vocab(), ")");
  return w.unembed.narrow(0, o, 1).reshape({w.d()}).contiguous().clone();
}

// ----------------------------------------------------------------- next-token statistics

struct NextTokenCounts {
  index_t vocab = 0;
  std::vector<index_t> tokens;          // the top_n most frequent predecessors, most frequent first
  std::vector<std::uint64_t> frequency;  // their counts as predecessors
  std::vector<std::uint32_t> counts;     // [tokens.size(), vocab]: counts[i·vocab + o] = #(tokens[i] → o)
  std::uint64_t pairs = 0;               // adjacent pairs in the text
};

// Token ids by decreasing frequency in the text (ties: lower id), the first n that occur.
inline std::vector<index_t> most_frequent_tokens(std::span<const data::token_t> text, index_t vocab, index_t n) {
  std::vector<std::uint64_t> freq(static_cast<std::size_t>(vocab), 0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    BILIN_CHECK(static_cast<index_t>(text[i]) < vocab, "direct_path", "token id ", text[i], " at position ", i,
                " is outside the model's vocabulary of ", vocab);
    ++freq[text[i]];
  }
  std::vector<index_t> order(static_cast<std::size_t>(vocab));
  std::iota(order.begin(), order.end(), index_t(0));
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return freq[a] > freq[b]; });
  while (!order.empty() && freq[order.back()] == 0) order.pop_back();
  if (static_cast<index_t>(order.size()) > n) order.resize(static_cast<std::size_t>(n));
  return order;
}

// The token set of the interaction matrices: the max(n, d) most frequent tokens of the text, or
// the whole vocabulary (empty result) when n = 0 or the text has fewer than d distinct tokens
// (a thin QR needs at least d rows).
inline std::vector<index_t> interaction_token_set(std::span<const data::token_t> text, index_t vocab, index_t d,
                                                  index_t n) {
  if (n <= 0) return {};
  auto t = most_frequent_tokens(text, vocab, std::max(n, d));
  if (static_cast<index_t>(t.size()) < d) t.clear();
  return t;
}

inline NextTokenCounts next_token_counts(std::span<const data::token_t> text, index_t vocab, index_t top_n) {
  BILIN_CHECK(vocab >= 1 && top_n >= 1, "direct_path", "vocab and top_n must be positive, got ", vocab, " and ", top_n);
  BILIN_CHECK(text.size() >= 2, "direct_path", "the text has ", text.size(),
              " tokens; next-token statistics need at least 2");
  std::vector<std::uint64_t> freq(static_cast<std::size_t>(vocab), 0);
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    BILIN_CHECK(static_cast<index_t>(text[i]) < vocab, "direct_path", "token id ", text[i], " at position ", i,
                " is outside the model's vocabulary of ", vocab);
    ++freq[text[i]];
  }
  BILIN_CHECK(static_cast<index_t>(text.back()) < vocab, "direct_path", "token id ", text.back(), " at position ",
              text.size() - 1, " is outside the model's vocabulary of ", vocab);
  NextTokenCounts c;
  c.vocab = vocab;
  c.pairs = text.size() - 1;
  std::vector<index_t> order(static_cast<std::size_t>(vocab));
  std::iota(order.begin(), order.end(), index_t(0));
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return freq[a] > freq[b]; });
  std::vector<index_t> slot(static_cast<std::size_t>(vocab), -1);
  for (index_t i = 0; i < std::min(top_n, vocab) && freq[order[i]] > 0; ++i) {
    slot[order[i]] = i;
    c.tokens.push_back(order[i]);
    c.frequency.push_back(freq[order[i]]);
  }
  c.counts.assign(c.tokens.size() * static_cast<std::size_t>(vocab), 0);
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const index_t s = slot[text[i]];
    if (s >= 0) ++c.counts[static_cast<std::size_t>(s * vocab + text[i + 1])];
  }
  return c;
}

struct DirectPathAgreement {
  std::vector<index_t> tokens;
  std::vector<double> spearman, topk_overlap;  // per token (NaN spearman: constant column)
  index_t k = 10;
  double spearman_mean = 0, spearman_median = 0, topk_overlap_mean = 0;
  index_t defined = 0;  // tokens with a defined correlation
};

template <class T>
DirectPathAgreement direct_path_agreement(const Tensor<T>& D, const NextTokenCounts& c, index_t k = 10) {
  BILIN_CHECK(D.defined() && D.dim() == 2 && D.size(0) == c.vocab && D.size(1) == c.vocab && D.is_contiguous(),
              "direct_path", "the map must be a contiguous [", c.vocab, ", ", c.vocab, "] tensor, got ",
              D.defined() ? to_string(D.shape()) : "none");
  BILIN_CHECK(k >= 1 && k <= c.vocab, "direct_path", "top-k overlap needs 1 <= k <= vocab, got ", k);
  const index_t Vc = c.vocab, n = static_cast<index_t>(c.tokens.size());
  DirectPathAgreement a;
  a.k = k;
  a.tokens = c.tokens;
  a.spearman.resize(static_cast<std::size_t>(n));
  a.topk_overlap.resize(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(dynamic, 8)
  for (index_t i = 0; i < n; ++i) {
    const index_t t = c.tokens[i];
    std::vector<double> col(static_cast<std::size_t>(Vc)), lc(static_cast<std::size_t>(Vc));
    for (index_t o = 0; o < Vc; ++o) {
      col[o] = static_cast<double>(D.data()[o * Vc + t]);
      lc[o] = std::log1p(static_cast<double>(c.counts[static_cast<std::size_t>(i * Vc + o)]));
    }
    a.spearman[i] = spearman(col, lc);
    const auto top_d = detail::top_strided(col.data(), Vc, 1, k, true);
    const auto top_c = detail::top_strided(lc.data(), Vc, 1, k, true);
    index_t hit = 0;
    for (const auto& x : top_d)
      for (const auto& y : top_c) hit += x.token == y.token;
    a.topk_overlap[i] = static_cast<double>(hit) / static_cast<double>(k);
  }
  std::vector<double> ok;
  double ov = 0;
  for (index_t i = 0; i < n; ++i) {
    ov += a.topk_overlap[i];
    if (!std::isnan(a.spearman[i])) ok.push_back(a.spearman[i]);
  }
  a.defined = static_cast<index_t>(ok.size());
  if (!ok.empty()) {
    a.spearman_mean = std::accumulate(ok.begin(), ok.end(), 0.0) / static_cast<double>(ok.size());
    std::sort(ok.begin(), ok.end());
    const std::size_t m = ok.size();
    a.spearman_median = m % 2 ? ok[m / 2] : 0.5 * (ok[m / 2 - 1] + ok[m / 2]);
  }
  if (n > 0) a.topk_overlap_mean = ov / static_cast<double>(n);
  return a;
}

// ----------------------------------------------------------------- the whole analysis

struct DirectPathOptions {
  index_t top_tokens = 500;  // most frequent tokens checked against next-token counts
  index_t table_k = 10;      // rows of the preceding / following tables
  index_t eigen_k = 4;       // token-interaction eigenvectors per chosen token
  index_t list_k = 8;        // tokens listed per eigenvector side
  // Token interaction matrices over the this many most frequent tokens of the text (0: the whole
  // vocabulary). Rare tokens' embeddings are barely trained, yet normalized to the same norm as
  // common ones, and would fill the eigenvector lists.
  index_t interaction_tokens = 1000;
};

struct ChosenTokenAnalysis {
  index_t token = 0;
  std::vector<TokenScore> following_mlp, preceding_mlp, following_total;
  TokenEigen eigen;  // of M_{U_token}
  // When the token is among the counted ones: D[:, token] and log(1 + count(token → o)).
  std::vector<double> column, log_counts;
  double spearman = std::numeric_limits<double>::quiet_NaN();
};

struct DirectPathAnalysis {
  index_t layer = 0, vocab = 0, d = 0;
  DirectPathAgreement agreement_mlp, agreement_total;  // D, and D + the embedding path
  NextTokenCounts counts;
  std::vector<ChosenTokenAnalysis> chosen;
  double mlp_map_norm = 0, embedding_map_norm = 0;  // Frobenius norms of the two maps
  double seconds_maps = 0, seconds_agreement = 0, seconds_eigen = 0;
  std::uint64_t text_tokens = 0;
};

template <class T>
DirectPathAnalysis analyze_direct_path(const DirectPathWeights<T>& w, std::span<const data::token_t> text,
                                       const std::vector<index_t>& chosen, const DirectPathOptions& opt = {}) {
  using Clock = std::chrono::steady_clock;
  const auto secs = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  w.validate();
  const index_t Vc = w.vocab();
  for (index_t t : chosen)
    BILIN_CHECK(t >= 0 && t < Vc, "direct_path", "chosen token id ", t, " is outside [0, ", Vc, ")");
  DirectPathAnalysis a;
  a.layer = w.layer;
  a.vocab = Vc;
  a.d = w.d();
  a.text_tokens = text.size();
  auto t0 = Clock::now();
  const Tensor<T> D = bigram_map(w);
  Tensor<T> total = embedding_map(w);
  double ss_mlp = 0, ss_emb = 0;
  for (index_t i = 0; i < total.numel(); ++i) {
    const double e = total.data()[i], m = D.data()[i];
    ss_emb += e * e, ss_mlp += m * m;
    total.data()[i] += D.data()[i];
  }
  a.embedding_map_norm = std::sqrt(ss_emb);
  a.mlp_map_norm = std::sqrt(ss_mlp);
  a.seconds_maps = secs(t0);
  t0 = Clock::now();
  a.counts = next_token_counts(text, Vc, opt.top_tokens);
  a.agreement_mlp = direct_path_agreement(D, a.counts);
  a.agreement_total = direct_path_agreement(total, a.counts);
  a.seconds_agreement = secs(t0);
  t0 = Clock::now();
  const TokenBasis basis = token_basis(w.inputs, interaction_token_set(text, Vc, w.d(), opt.interaction_tokens));
  for (index_t t : chosen) {
    ChosenTokenAnalysis c;
    c.token = t;
    c.following_mlp = following(D, t, opt.table_k);
    c.preceding_mlp = preceding(D, t, opt.table_k);
    c.following_total = following(total, t, opt.table_k);
    const Tensor<T> Q = interaction_matrix(w.W, w.V, w.P, unembed_direction(w, t));
    c.eigen = token_interaction_eigen(basis, Q, std::min(opt.eigen_k, w.d()));
    const auto it = std::find(a.counts.tokens.begin(), a.counts.tokens.end(), t);
    if (it != a.counts.tokens.end()) {
      const std::size_t i = static_cast<std::size_t>(it - a.counts.tokens.begin());
      for (index_t o = 0; o < Vc; ++o) {
        c.column.push_back(static_cast<double>(D.data()[o * Vc + t]));
        c.log_counts.push_back(std::log1p(static_cast<double>(a.counts.counts[i * static_cast<std::size_t>(Vc) + o])));
      }
      c.spearman = a.agreement_mlp.spearman[i];
    }
    a.chosen.push_back(std::move(c));
  }
  a.seconds_eigen = secs(t0);
  return a;
}

// Token ids of words that `encode` (text → token ids, no special tokens; any tokenizer) maps to
// ONE token, trying " word" (the form inside a sentence) before "word"; words that take several
// tokens are skipped.
template <class Encode>
std::vector<index_t> single_token_ids(Encode&& encode, const std::vector<std::string>& words) {
  std::vector<index_t> out;
  for (const auto& w : words)
    for (const std::string& form : {" " + w, w}) {
      const auto ids = encode(form);
      if (ids.size() == 1) {
        out.push_back(static_cast<index_t>(ids[0]));
        break;
      }
    }
  return out;
}

}  // namespace bilin::interp
