// bilin/kernels/elementwise.hpp — raw loops for maps over one, two or three strided operands.
//
// Contract: no autodiff, no allocation of tensors. Operands are (pointer, strides) read with
// the output's shape; broadcasting is expressed by stride 0. Functors are generic callables
// `f(x)` / `f(x, y)` that work on both T and simd::batch<T> so the contiguous inner loop runs
// in SIMD registers and the tail on scalars. Large maps are split across OpenMP threads by
// rows; each output element is written by exactly one thread, so results never depend on the
// thread count.
#pragma once
#include <omp.h>

#include <array>
#include <cstdint>
#include <vector>
#include "../core/simd.hpp"

#include "../core/shape.hpp"

namespace bilin::kernels {

// Below this many elements a map stays on one thread: starting a team costs more.
inline constexpr index_t kParallelGrain = 1 << 15;

// T has a vector path on core/simd.hpp's target.
template <class T>
inline constexpr bool simd_ok = simd::vectorized<T>;

// Merge neighbouring axes that are laid out back to back in every operand, so that contiguous
// tensors become a single long row whatever their rank.
template <std::size_t K>
void coalesce(Shape& shape, std::array<Strides, K>& st) {
  if (shape.size() <= 1) return;
  Shape s2{shape[0]};
  std::array<Strides, K> st2;
  for (std::size_t k = 0; k < K; ++k) st2[k] = {st[k][0]};
  for (std::size_t i = 1; i < shape.size(); ++i) {
    bool merge = true;
    for (std::size_t k = 0; k < K && merge; ++k) merge = st2[k].back() == st[k][i] * shape[i];
    if (shape[i] == 1) continue;  // size-1 axes never matter
    if (s2.back() == 1) {
      s2.back() = shape[i];
      for (std::size_t k = 0; k < K; ++k) st2[k].back() = st[k][i];
      continue;
    }
    if (merge) {
      s2.back() *= shape[i];
      for (std::size_t k = 0; k < K; ++k) st2[k].back() = st[k][i];
    } else {
      s2.push_back(shape[i]);
      for (std::size_t k = 0; k < K; ++k) st2[k].push_back(st[k][i]);
    }
  }
  shape = s2;
  st = st2;
}

// Calls f(offsets, inner_length, inner_strides) for every row (all axes but the last).
template <std::size_t K, class F>
void for_each_row(Shape shape, std::array<Strides, K> st, F&& f) {
  if (numel(shape) == 0) return;
  if (shape.empty()) {
    shape = {1};
    for (auto& s : st) s = {0};
  }
  coalesce<K>(shape, st);
  const std::size_t nd = shape.size();
  const index_t inner = shape[nd - 1];
  std::array<index_t, K> istr;
  for (std::size_t k = 0; k < K; ++k) istr[k] = st[k][nd - 1];
  const index_t rows = numel(shape) / inner;
  auto row_offsets = [&](index_t r) {
    std::array<index_t, K> off{};
    for (std::size_t ax = nd - 1; ax-- > 0;) {
      const index_t i = r % shape[ax];
      r /= shape[ax];
      for (std::size_t k = 0; k < K; ++k) off[k] += i * st[k][ax];
    }
    return off;
  };
  const bool par = rows > 1 && numel(shape) >= kParallelGrain && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (index_t r = 0; r < rows; ++r) f(row_offsets(r), inner, istr);
}

// out[i] = f(a[i]) over contiguous arrays.
template <class T, class F>
void map_contiguous(const T* a, T* out, index_t n, F f) {
  auto body = [&](index_t lo, index_t hi) {
    index_t i = lo;
    if constexpr (simd_ok<T>) {
      using B = simd::batch<T>;
      constexpr index_t W = static_cast<index_t>(B::size);
      for (; i + W <= hi; i += W) f(B::load_unaligned(a + i)).store_unaligned(out + i);
    }
    for (; i < hi; ++i) out[i] = f(a[i]);
  };
  if (n >= kParallelGrain && !omp_in_parallel()) {
#pragma omp parallel
    {
      const index_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      const index_t chunk = (n + nt - 1) / nt;
      body(std::min(n, t * chunk), std::min(n, (t + 1) * chunk));
    }
  } else {
    body(0, n);
  }
}

// out = f(a) with a read through strides (broadcast allowed), out contiguous of `shape`.
template <class T, class F>
void map_unary(const Shape& shape, const T* a, const Strides& sa, T* out, F f) {
  for_each_row<2>(shape, {sa, contiguous_strides(shape)}, [&](auto off, index_t n, auto is) {
    const T* pa = a + off[0];
    T* po = out + off[1];
    if (is[0] == 1) {
      map_contiguous(pa, po, n, f);
    } else {
      for (index_t j = 0; j < n; ++j) po[j] = f(pa[j * is[0]]);
    }
  });
}

// out = f(a, b) with broadcasting through strides; out contiguous of `shape`.
template <class T, class F>
void map_binary(const Shape& shape, const T* a, const Strides& sa, const T* b, const Strides& sb, T* out, F f) {
  for_each_row<3>(shape, {sa, sb, contiguous_strides(shape)}, [&](auto off, index_t n, auto is) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    T* po = out + off[2];
    index_t j = 0;
    if constexpr (simd_ok<T>) {
      using B = simd::batch<T>;
      constexpr index_t W = static_cast<index_t>(B::size);
      if (is[0] == 1 && is[1] == 1) {
        for (; j + W <= n; j += W) f(B::load_unaligned(pa + j), B::load_unaligned(pb + j)).store_unaligned(po + j);
      } else if (is[0] == 1 && is[1] == 0) {
        const B vb(*pb);
        for (; j + W <= n; j += W) f(B::load_unaligned(pa + j), vb).store_unaligned(po + j);
      } else if (is[0] == 0 && is[1] == 1) {
        const B va(*pa);
        for (; j + W <= n; j += W) f(va, B::load_unaligned(pb + j)).store_unaligned(po + j);
      }
    }
    for (; j < n; ++j) po[j] = f(pa[j * is[0]], pb[j * is[1]]);
  });
}

// out = f(a, b, c) elementwise with broadcasting, scalar loop (used by where / backward helpers).
template <class T, class U, class F>
void map_ternary(const Shape& shape, const U* c, const Strides& sc, const T* a, const Strides& sa, const T* b,
                 const Strides& sb, T* out, F f) {
  for_each_row<4>(shape, {sc, sa, sb, contiguous_strides(shape)}, [&](auto off, index_t n, auto is) {
    const U* pc = c + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    T* po = out + off[3];
    for (index_t j = 0; j < n; ++j) po[j] = f(pc[j * is[0]], pa[j * is[1]], pb[j * is[2]]);
  });
}

// Copy a strided array into a contiguous one (or any strided destination).
template <class T>
void strided_copy(const Shape& shape, const T* src, const Strides& ss, T* dst, const Strides& ds) {
  for_each_row<2>(shape, {ss, ds}, [&](auto off, index_t n, auto is) {
    const T* ps = src + off[0];
    T* pd = dst + off[1];
    if (is[0] == 1 && is[1] == 1) {
      std::copy(ps, ps + n, pd);
    } else {
      for (index_t j = 0; j < n; ++j) pd[j * is[1]] = ps[j * is[0]];
    }
  });
}

}  // namespace bilin::kernels
