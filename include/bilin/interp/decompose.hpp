// bilin/interp/decompose.hpp — eigendecomposition of interaction matrices: the features of a
// bilinear layer for an output direction, projected back to the model's input (pixel) space.
//
// Contract:
// - Eigencomponents<T> for one output direction u with Q = Q(u) (quadratic_classifier.hpp):
//     values   [k]     eigenvalues, sorted DESCENDING (most positive first, most negative last)
//     vectors  [k, n]  row i = unit eigenvector v_i of values[i] in the layer's input space z̃
//     inputs   [k, D]  the part of v_i that acts on the model input x: embedᵀ·v_i[:d] (= v_i[:d]
//                      without embedding) — what the pictures show
//     offsets  [k]     v_i[d], the weight of the constant input for augmented forms, else 0
//   so that, for every input x with layer input z̃,   uᵀ logits(x) = Σ_i λ_i (v_i·z̃)²
//   = Σ_i λ_i (inputs_i·x + offsets_i)²   (exact for the full decomposition; truncation.hpp).
// - Sign convention (an eigenvector is only defined up to sign; (v·z̃)² does not care): each
//   component is flipped so that its input-space picture has a positive third moment
//   (Σ_p inputs[i,p]³ > 0): the picture's dominant, large-magnitude lobe is positive (red in RdBu
//   pictures) — for image features that is the stroke, not the faint background, which a plain
//   sum would let decide. When the third moment is ≈ 0 (|Σp³| ≤ 1e-9·Σ|p|³) the entry of largest
//   magnitude is made positive instead (ties: lowest index). vectors, inputs and offsets flip
//   together.
// - DecomposeOptions: top_k = 0 computes all n eigenpairs with the dense solver (linalg::eigh);
//   top_k = k > 0 keeps the k of largest |λ| — matrix-free Lanczos on interaction_operator(u)
//   when matrix_free is set or n ≥ linalg::kLanczosMinDim (2000), else the dense solver's
//   largest_magnitude subset.
//   use_double (default) runs the solver in double on the float matrix (better orthogonality);
//   the result is converted back to T.
// - by_magnitude() lists component indices by decreasing |λ| (ties: lower index), the order used
//   for truncation and for "top" features.
// - decompose_classes(model) decomposes every one-hot class direction; OpenMP runs classes in
//   parallel when available.
// - component_projections(ec, Z) = Z · vectorsᵀ for layer inputs Z [N, n] → [N, k].
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../kernels/gemm.hpp"
#include "../linalg/eigh.hpp"
#include "../linalg/lanczos.hpp"
#include "quadratic_classifier.hpp"

namespace bilin::interp {

struct DecomposeOptions {
  index_t top_k = 0;          // 0: all eigenpairs
  bool matrix_free = false;   // force Lanczos on the operator for top_k > 0
  bool use_double = true;     // solve in double
  double tol = 0;             // Lanczos tolerance (0: solver default)
  std::uint64_t seed = 0;     // Lanczos start vector
};

template <class T>
struct Eigencomponents {
  Tensor<T> values;   // [k]
  Tensor<T> vectors;  // [k, n]
  Tensor<T> inputs;   // [k, D]
  Tensor<T> offsets;  // [k]
  index_t lanczos_matvecs = 0;  // 0 for the dense solver

  index_t size() const { return values.defined() ? values.numel() : 0; }
  index_t form_dim() const { return vectors.size(1); }
  index_t input_dim() const { return inputs.size(1); }
  T value(index_t i) const { return values.data()[i]; }
  const T* input(index_t i) const { return inputs.data() + i * input_dim(); }
  const T* vector(index_t i) const { return vectors.data() + i * form_dim(); }

  std::vector<index_t> by_magnitude() const {
    std::vector<index_t> idx(static_cast<std::size_t>(size()));
    std::iota(idx.begin(), idx.end(), index_t(0));
    const T* v = values.data();
    std::stable_sort(idx.begin(), idx.end(), [v](index_t a, index_t b) { return std::fabs(v[a]) > std::fabs(v[b]); });
    return idx;
  }
  // Indices of the k most positive (descending) / most negative (ascending) eigenvalues, only
  // those with the right sign.
  std::vector<index_t> top_positive(index_t k) const {
    std::vector<index_t> out;
    for (index_t i = 0; i < size() && static_cast<index_t>(out.size()) < k; ++i)
      if (values.data()[i] > T(0)) out.push_back(i);
    return out;
  }
  std::vector<index_t> top_negative(index_t k) const {
    std::vector<index_t> out;
    for (index_t i = size() - 1; i >= 0 && static_cast<index_t>(out.size()) < k; --i)
      if (values.data()[i] < T(0)) out.push_back(i);
    return out;
  }
};

namespace detail {

// From eigenpairs (values ascending or any order, vectors as COLUMNS of an n × k buffer in
// double) to sorted, sign-normalized components with input-space pictures.
template <class T>
Eigencomponents<T> assemble_components(const std::vector<double>& vals, const std::vector<double>& vecs_cols,
                                       index_t n, const Tensor<T>& embed, index_t d) {
  const index_t k = static_cast<index_t>(vals.size());
  std::vector<index_t> order(static_cast<std::size_t>(k));
  std::iota(order.begin(), order.end(), index_t(0));
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return vals[a] > vals[b]; });

  Eigencomponents<T> ec;
  ec.values = Tensor<T>::empty({k});
  ec.vectors = Tensor<T>::empty({k, n});
  for (index_t r = 0; r < k; ++r) {
    const index_t c = order[r];
    ec.values.data()[r] = static_cast<T>(vals[c]);
    for (index_t j = 0; j < n; ++j) ec.vectors.data()[r * n + j] = static_cast<T>(vecs_cols[j * k + c]);
  }
  const index_t D = embed.defined() ? embed.size(1) : d;
  ec.inputs = Tensor<T>::empty({k, D});
  if (embed.defined()) {
    const Tensor<T> E = dense(embed);
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, k, D, d, T(1), ec.vectors.data(), n, E.data(), D, T(0),
                     ec.inputs.data(), D);
  } else {
    for (index_t r = 0; r < k; ++r) std::copy_n(ec.vectors.data() + r * n, d, ec.inputs.data() + r * D);
  }
  ec.offsets = Tensor<T>::zeros({k});
  if (n > d)
    for (index_t r = 0; r < k; ++r) ec.offsets.data()[r] = ec.vectors.data()[r * n + d];

  for (index_t r = 0; r < k; ++r) {
    const T* p = ec.inputs.data() + r * D;
    double m3 = 0, a3 = 0, best = -1;
    index_t arg = 0;
    for (index_t j = 0; j < D; ++j) {
      const double x = static_cast<double>(p[j]);
      m3 += x * x * x;
      a3 += std::fabs(x * x * x);
      if (std::fabs(x) > best) best = std::fabs(x), arg = j;
    }
    const bool flip = std::fabs(m3) > 1e-9 * a3 ? m3 < 0 : p[arg] < 0;
    if (!flip) continue;
    for (index_t j = 0; j < n; ++j) ec.vectors.data()[r * n + j] = -ec.vectors.data()[r * n + j];
    for (index_t j = 0; j < D; ++j) ec.inputs.data()[r * D + j] = -ec.inputs.data()[r * D + j];
    ec.offsets.data()[r] = -ec.offsets.data()[r];
  }
  return ec;
}

template <class S>
void solve_dense(const std::vector<S>& q, index_t n, index_t top_k, std::vector<double>& vals,
                 std::vector<double>& vecs) {
  linalg::EighOptions o;
  o.method = linalg::EighMethod::tridiagonal;
  if (top_k > 0 && top_k < n) {
    o.subset = linalg::EighSubset::largest_magnitude;
    o.k = top_k;
  }
  const Tensor<S> Q = Tensor<S>::from_vector(q, {n, n});
  const linalg::EighResult<S> r = linalg::eigh(Q, o);
  const index_t k = r.values.numel();
  vals.resize(static_cast<std::size_t>(k));
  for (index_t i = 0; i < k; ++i) vals[i] = static_cast<double>(r.values.data()[i]);
  vecs.resize(static_cast<std::size_t>(n * k));
  for (index_t i = 0; i < n * k; ++i) vecs[i] = static_cast<double>(r.vectors.data()[i]);
}

}  // namespace detail

// Decompose a given symmetric form matrix Q [n, n] whose first d coordinates are the embedding
// output (embed [d, D], or undefined when the layer reads the input directly).
template <class T>
Eigencomponents<T> decompose_form(const Tensor<T>& Q, const Tensor<T>& embed, index_t d, const DecomposeOptions& opt = {}) {
  BILIN_CHECK(Q.defined() && Q.dim() == 2 && Q.size(0) == Q.size(1), "decompose", "expected a square matrix, got ",
              Q.defined() ? to_string(Q.shape()) : "none");
  const index_t n = Q.size(0);
  BILIN_CHECK(d >= 1 && (d == n || d + 1 == n), "decompose", "layer width ", d, " does not match the form size ", n,
              " (n = d, or d + 1 with a constant input)");
  BILIN_CHECK(!embed.defined() || (embed.dim() == 2 && embed.size(0) == d), "decompose", "embedding must be [", d,
              ", D], got ", embed.defined() ? to_string(embed.shape()) : "none");
  BILIN_CHECK(opt.top_k >= 0 && opt.top_k <= n, "decompose", "top_k = ", opt.top_k, " is outside [0, ", n, "]");
  const auto q = detail::dense(Q).to_vector();
  std::vector<double> vals, vecs;
  if (opt.use_double || std::is_same_v<T, double>) {
    detail::solve_dense(std::vector<double>(q.begin(), q.end()), n, opt.top_k, vals, vecs);
  } else {
    detail::solve_dense(std::vector<T>(q.begin(), q.end()), n, opt.top_k, vals, vecs);
  }
  return detail::assemble_components(vals, vecs, n, embed, d);
}

template <class T>
Eigencomponents<T> decompose_direction(const BilinearClassifier<T>& model, const Tensor<T>& u,
                                       const DecomposeOptions& opt = {}) {
  const index_t n = model.form_dim(), d = model.layer_dim();
  const bool lanczos = opt.top_k > 0 && opt.top_k < n && (opt.matrix_free || n >= linalg::kLanczosMinDim);
  if (!lanczos) return decompose_form(model.interaction(u), model.embed, d, opt);
  const InteractionOperator<T> op = model.interaction_operator(u);
  linalg::LanczosOptions lo;
  lo.k = opt.top_k;
  lo.which = linalg::Which::largest_magnitude;
  lo.tol = opt.tol;
  lo.seed = opt.seed;
  lo.residuals = false;
  const linalg::LanczosResult<T> r = linalg::lanczos<T>(op, n, lo);
  const index_t k = r.values.numel();
  std::vector<double> vals(static_cast<std::size_t>(k)), vecs(static_cast<std::size_t>(n * k));
  for (index_t i = 0; i < k; ++i) vals[i] = static_cast<double>(r.values.data()[i]);
  for (index_t i = 0; i < n * k; ++i) vecs[i] = static_cast<double>(r.vectors.data()[i]);
  Eigencomponents<T> ec = detail::assemble_components(vals, vecs, n, model.embed, d);
  ec.lanczos_matvecs = r.matvecs;
  return ec;
}

template <class T>
Tensor<T> class_direction(index_t num_classes, index_t c) {
  BILIN_CHECK(c >= 0 && c < num_classes, "class_direction", "class ", c, " is outside [0, ", num_classes, ")");
  Tensor<T> u = Tensor<T>::zeros({num_classes});
  u.data()[c] = T(1);
  return u;
}

template <class T>
std::vector<Eigencomponents<T>> decompose_classes(const BilinearClassifier<T>& model, const DecomposeOptions& opt = {}) {
  model.validate("decompose_classes");
  const index_t C = model.num_classes();
  // Forming Q uses the threaded GEMM; the solves are independent and run one class per thread.
  std::vector<Tensor<T>> forms(static_cast<std::size_t>(C));
  const index_t n = model.form_dim();
  const bool lanczos = opt.top_k > 0 && opt.top_k < n && (opt.matrix_free || n >= linalg::kLanczosMinDim);
  std::vector<Eigencomponents<T>> out(static_cast<std::size_t>(C));
  if (lanczos) {
    for (index_t c = 0; c < C; ++c) out[c] = decompose_direction(model, class_direction<T>(C, c), opt);
    return out;
  }
  for (index_t c = 0; c < C; ++c) forms[c] = model.interaction(class_direction<T>(C, c));
  std::vector<std::string> errors(static_cast<std::size_t>(C));
#pragma omp parallel for schedule(dynamic, 1)
  for (index_t c = 0; c < C; ++c) {
    try {
      out[c] = decompose_form(forms[c], model.embed, model.layer_dim(), opt);
    } catch (const std::exception& e) {
      errors[c] = e.what();
    }
  }
  for (index_t c = 0; c < C; ++c)
    BILIN_CHECK(errors[c].empty(), "decompose_classes", "class ", c, ": ", errors[c]);
  return out;
}

template <class T>
Tensor<T> component_projections(const Eigencomponents<T>& ec, const Tensor<T>& Z) {
  BILIN_CHECK(Z.defined() && Z.dim() == 2 && Z.size(1) == ec.form_dim(), "component_projections",
              "layer inputs must be [N, ", ec.form_dim(), "], got ", Z.defined() ? to_string(Z.shape()) : "none");
  const Tensor<T> z = detail::dense(Z);
  const index_t N = z.size(0), n = z.size(1), k = ec.size();
  Tensor<T> out = Tensor<T>::empty({N, k});
  kernels::gemm<T>(kernels::Trans::N, kernels::Trans::T, N, k, n, T(1), z.data(), n, ec.vectors.data(), n, T(0),
                   out.data(), k);
  return out;
}

}  // namespace bilin::interp
