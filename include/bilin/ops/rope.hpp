// bilin/ops/rope.hpp — rotary position embeddings (RoPE), forward and backward.
//
// Contract:
// - RopeTable<T>(d_head, max_positions, base = 10000) holds cos/sin of θ_{p,i} = p · base^(−2i/d_head)
//   for positions p < max_positions and i < d_head/2 (d_head even), computed in double.
// - rope(x, table, rotated = -1, offset = 0): x is [..., T, C]; the position of row t (axis −2)
//   is offset + t. The first `rotated` channels (all when −1; a multiple of d_head) are cut into
//   heads of d_head channels and each head is rotated in the "rotate_half" convention of the
//   official code (and GPT-NeoX / LLaMA-HF): with x = [x1, x2] halves,
//       y1 = x1·cos − x2·sin,   y2 = x2·cos + x1·sin.
//   Channels past `rotated` are copied unchanged, so rope(qkv, table, 2·d_model) rotates the q
//   and k parts of a packed [q | k | v] projection and passes v through.
// - The output is a fresh contiguous tensor; backward applies the inverse (transposed)
//   rotation. Nothing is saved but the table handle.
// - Errors (bilin::Error "rope"): odd d_head, `rotated` not a multiple of d_head or larger than
//   C, offset + T > max_positions.
#pragma once
#include <cmath>
#include <memory>
#include <vector>

#include "../autograd/function.hpp"
#include "../kernels/elementwise.hpp"
#include "views.hpp"

namespace bilin {

template <class T>
class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(index_t d_head, index_t max_positions, double base = 10000.0)
      : d_head_(d_head), max_pos_(max_positions), base_(base) {
    BILIN_CHECK(d_head > 0 && d_head % 2 == 0, "rope", "d_head must be positive and even, got ", d_head);
    BILIN_CHECK(max_positions > 0, "rope", "max_positions must be positive, got ", max_positions);
    const index_t h = d_head / 2;
    auto cs = std::make_shared<std::vector<T>>(static_cast<std::size_t>(2 * max_positions * h));
    for (index_t p = 0; p < max_positions; ++p)
      for (index_t i = 0; i < h; ++i) {
        const double inv_freq = 1.0 / std::pow(base, static_cast<double>(2 * i) / static_cast<double>(d_head));
        const double a = static_cast<double>(p) * inv_freq;
        (*cs)[static_cast<std::size_t>((2 * p) * h + i)] = static_cast<T>(std::cos(a));
        (*cs)[static_cast<std::size_t>((2 * p + 1) * h + i)] = static_cast<T>(std::sin(a));
      }
    cs_ = cs;
  }
  index_t d_head() const { return d_head_; }
  index_t max_positions() const { return max_pos_; }
  double base() const { return base_; }
  bool defined() const { return static_cast<bool>(cs_); }
  // cos and sin of position p: d_head/2 values each.
  const T* cos(index_t p) const { return cs_->data() + (2 * p) * (d_head_ / 2); }
  const T* sin(index_t p) const { return cs_->data() + (2 * p + 1) * (d_head_ / 2); }

 private:
  index_t d_head_ = 0, max_pos_ = 0;
  double base_ = 10000.0;
  std::shared_ptr<const std::vector<T>> cs_;
};

namespace kernels {
// One row of C channels at position p; inverse = true applies the transposed rotation.
template <class T>
void rope_row(const T* x, T* y, index_t C, index_t rotated, const RopeTable<T>& tab, index_t p, bool inverse) {
  const index_t dh = tab.d_head(), h = dh / 2;
  const T* c = tab.cos(p);
  const T* s = tab.sin(p);
  const T sgn = inverse ? T(-1) : T(1);
  for (index_t o = 0; o < rotated; o += dh) {
    const T* x1 = x + o;
    const T* x2 = x1 + h;
    T* y1 = y + o;
    T* y2 = y1 + h;
    for (index_t i = 0; i < h; ++i) {
      const T a = x1[i], b = x2[i], si = sgn * s[i];
      y1[i] = a * c[i] - b * si;
      y2[i] = b * c[i] + a * si;
    }
  }
  for (index_t k = rotated; k < C; ++k) y[k] = x[k];
}

template <class T>
void rope_rows(const T* x, T* y, index_t outer, index_t Tn, index_t C, index_t rotated, const RopeTable<T>& tab,
               index_t offset, bool inverse) {
  const index_t rows = outer * Tn;
  const bool par = rows > 1 && rows * C >= kParallelGrain && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (index_t r = 0; r < rows; ++r) rope_row(x + r * C, y + r * C, C, rotated, tab, offset + r % Tn, inverse);
}
}  // namespace kernels

template <class T>
Tensor<T> rope(const Tensor<T>& x, const RopeTable<T>& table, index_t rotated = -1, index_t offset = 0) {
  BILIN_CHECK(table.defined(), "rope", "the RopeTable is empty (default-constructed)");
  BILIN_CHECK(x.dim() >= 2, "rope", "input must be [..., T, C], got shape ", to_string(x.shape()));
  const index_t Tn = x.size(-2), C = x.size(-1), dh = table.d_head();
  if (rotated < 0) rotated = C;
  BILIN_CHECK(rotated <= C && rotated % dh == 0, "rope", "rotated channels (", rotated,
              ") must be a multiple of d_head = ", dh, " and at most C = ", C, " (input shape ", to_string(x.shape()),
              ")");
  BILIN_CHECK(offset >= 0 && offset + Tn <= table.max_positions(), "rope", "positions ", offset, "..",
              offset + Tn - 1, " exceed the table's ", table.max_positions(), " positions");
  const index_t outer = (Tn * C) != 0 ? x.numel() / (Tn * C) : 0;
  const Tensor<T> xc = x.is_contiguous() ? x.detach() : detail::contiguous_copy(x);
  auto y = Tensor<T>::empty(x.shape());
  kernels::rope_rows(xc.data(), y.data(), outer, Tn, C, rotated, table, offset, false);
  if (!autograd::any_requires_grad<T>({x})) return y;
  return autograd::record(y, "rope", {x}, [table, outer, Tn, C, rotated, offset, xs = x.shape()](const Tensor<T>& g) {
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    auto dx = Tensor<T>::empty(xs);
    kernels::rope_rows(gc.data(), dx.data(), outer, Tn, C, rotated, table, offset, true);
    return std::vector<Tensor<T>>{dx};
  });
}

}  // namespace bilin
