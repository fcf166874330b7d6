// bilin/kernels/columns.hpp — per-column operations on a row-major [rows, cols] matrix.
//
// Contract:
// - normalize_columns(W, rows, cols): every column scaled to unit L2 norm (sums in double);
//   an all-zero column stays zero.
// - remove_column_components(G, W, rows, cols): G[:, j] −= (G[:, j] · ŵ_j) ŵ_j with
//   ŵ_j = W[:, j] / ‖W[:, j]‖, i.e. the part of each column of G parallel to the same column of
//   W is removed (the official SAE's ConstrainedAdam does this to the decoder's gradient, so a
//   step cannot change a unit column's length to first order). Zero columns of W leave G alone.
// Both walk the matrix row by row (column sums accumulated across rows), which keeps the
// access pattern contiguous for the [d, n] decoder layout.
#pragma once
#include <cmath>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"

namespace bilin::kernels {

namespace columns_detail {
template <class T>
std::vector<double> column_dots(const T* A, const T* B, index_t rows, index_t cols) {
  std::vector<double> s(static_cast<std::size_t>(cols), 0.0);
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) s[static_cast<std::size_t>(j)] += static_cast<double>(A[i * cols + j]) * B[i * cols + j];
  return s;
}
}  // namespace columns_detail

template <class T>
void normalize_columns(T* W, index_t rows, index_t cols) {
  const std::vector<double> ss = columns_detail::column_dots(W, W, rows, cols);
  std::vector<T> inv(static_cast<std::size_t>(cols));
  for (std::size_t j = 0; j < inv.size(); ++j) inv[j] = ss[j] > 0 ? static_cast<T>(1.0 / std::sqrt(ss[j])) : T(1);
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) W[i * cols + j] *= inv[static_cast<std::size_t>(j)];
}

template <class T>
void remove_column_components(T* G, const T* W, index_t rows, index_t cols) {
  const std::vector<double> ww = columns_detail::column_dots(W, W, rows, cols);
  const std::vector<double> gw = columns_detail::column_dots(G, W, rows, cols);
  std::vector<T> c(static_cast<std::size_t>(cols));  // (G·w)/‖w‖² = (G·ŵ)/‖w‖
  for (std::size_t j = 0; j < c.size(); ++j) c[j] = ww[j] > 0 ? static_cast<T>(gw[j] / ww[j]) : T(0);
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) G[i * cols + j] -= c[static_cast<std::size_t>(j)] * W[i * cols + j];
}

}  // namespace bilin::kernels
