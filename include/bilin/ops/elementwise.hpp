// bilin/ops/elementwise.hpp — differentiable elementwise math with NumPy broadcasting.
//
// Contract: binary ops (+ − × ÷, pow, maximum, minimum) broadcast their operands by NumPy
// rules and return a fresh contiguous tensor; scalars mix with tensors on either side.
// Unary ops: neg exp log sqrt rsqrt pow(x, p) abs tanh sigmoid relu gelu(tanh | erf form) silu
// square clamp. Each op's forward and backward sit side by side; backward functors read the
// saved input or output and run as one fused SIMD pass. Derivatives at kinks follow PyTorch:
// relu'(0) = 0, abs'(0) = 0, clamp passes the gradient where lo ≤ x ≤ hi.
// Comparisons (gt lt ge le eq ne) return Tensor<uint8_t> masks; where/masked_fill take them.
#pragma once
#include <cmath>
#include <limits>
#include <type_traits>

#include "../autograd/function.hpp"
#include "../autograd/untracked.hpp"
#include "../kernels/elementwise.hpp"
#include "views.hpp"

namespace bilin {

namespace detail {
template <class V>
constexpr bool is_scalar_v = std::is_arithmetic_v<V>;

// select(cond, a, b) for scalars and batches alike
template <class V>
V vselect_pos(const V& x, const V& a, const V& b) {  // x > 0 ? a : b
  if constexpr (is_scalar_v<V>) return x > V(0) ? a : b;
  else return xsimd::select(x > V(0), a, b);
}
template <class V, class S>
V vconst(S s) {
  if constexpr (is_scalar_v<V>) return static_cast<V>(s);
  else return V(static_cast<typename V::value_type>(s));
}
}  // namespace detail

// ---------------------------------------------------------------- unary functors
// Each has fwd(x) and bwd(g, s) where s is the saved input (save_output = false) or output.
namespace fn {
struct Neg {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const { return -x; }
  template <class V> V bwd(V g, V) const { return -g; }
};
struct Exp {
  static constexpr bool save_output = true;
  template <class V> V fwd(V x) const { return xsimd::exp(x); }
  template <class V> V bwd(V g, V y) const { return g * y; }
};
struct Log {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const { return xsimd::log(x); }
  template <class V> V bwd(V g, V x) const { return g / x; }
};
struct Sqrt {
  static constexpr bool save_output = true;
  template <class V> V fwd(V x) const { return xsimd::sqrt(x); }
  template <class V> V bwd(V g, V y) const { return g * detail::vconst<V>(0.5) / y; }
};
struct Rsqrt {
  static constexpr bool save_output = true;
  template <class V> V fwd(V x) const { return detail::vconst<V>(1) / xsimd::sqrt(x); }
  template <class V> V bwd(V g, V y) const { return g * detail::vconst<V>(-0.5) * y * y * y; }
};
struct Square {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const { return x * x; }
  template <class V> V bwd(V g, V x) const { return detail::vconst<V>(2) * g * x; }
};
struct Abs {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const { return xsimd::abs(x); }
  template <class V> V bwd(V g, V x) const {
    return detail::vselect_pos(x, g, detail::vselect_pos(-x, -g, detail::vconst<V>(0)));
  }
};
struct Tanh {
  static constexpr bool save_output = true;
  template <class V> V fwd(V x) const { return xsimd::tanh(x); }
  template <class V> V bwd(V g, V y) const { return g * (detail::vconst<V>(1) - y * y); }
};
struct Sigmoid {
  static constexpr bool save_output = true;
  template <class V> V fwd(V x) const { return detail::vconst<V>(1) / (detail::vconst<V>(1) + xsimd::exp(-x)); }
  template <class V> V bwd(V g, V y) const { return g * y * (detail::vconst<V>(1) - y); }
};
struct Relu {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const { return detail::vselect_pos(x, x, detail::vconst<V>(0)); }
  template <class V> V bwd(V g, V x) const { return detail::vselect_pos(x, g, detail::vconst<V>(0)); }
};
struct Silu {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const { return x / (detail::vconst<V>(1) + xsimd::exp(-x)); }
  template <class V> V bwd(V g, V x) const {
    const V s = detail::vconst<V>(1) / (detail::vconst<V>(1) + xsimd::exp(-x));
    return g * s * (detail::vconst<V>(1) + x * (detail::vconst<V>(1) - s));
  }
};
// gelu(x) = x Φ(x) with Φ the normal CDF (exact, "none" in PyTorch's naming)
struct GeluErf {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const {
    return detail::vconst<V>(0.5) * x * (detail::vconst<V>(1) + xsimd::erf(x * detail::vconst<V>(0.70710678118654752440)));
  }
  template <class V> V bwd(V g, V x) const {
    const V cdf = detail::vconst<V>(0.5) * (detail::vconst<V>(1) + xsimd::erf(x * detail::vconst<V>(0.70710678118654752440)));
    const V pdf = detail::vconst<V>(0.39894228040143267794) * xsimd::exp(detail::vconst<V>(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
};
// gelu's tanh approximation 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))
struct GeluTanh {
  static constexpr bool save_output = false;
  template <class V> V fwd(V x) const {
    const V u = detail::vconst<V>(0.79788456080286535588) * (x + detail::vconst<V>(0.044715) * x * x * x);
    return detail::vconst<V>(0.5) * x * (detail::vconst<V>(1) + xsimd::tanh(u));
  }
  template <class V> V bwd(V g, V x) const {
    const V k = detail::vconst<V>(0.79788456080286535588);
    const V u = k * (x + detail::vconst<V>(0.044715) * x * x * x);
    const V t = xsimd::tanh(u);
    const V du = k * (detail::vconst<V>(1) + detail::vconst<V>(3 * 0.044715) * x * x);
    return g * (detail::vconst<V>(0.5) * (detail::vconst<V>(1) + t) +
                detail::vconst<V>(0.5) * x * (detail::vconst<V>(1) - t * t) * du);
  }
};
template <class T>
struct PowScalar {
  static constexpr bool save_output = false;
  T p;
  template <class V> V fwd(V x) const {
    if (p == T(2)) return x * x;
    if (p == T(1)) return x;
    return xsimd::pow(x, detail::vconst<V>(p));
  }
  template <class V> V bwd(V g, V x) const {
    if (p == T(2)) return detail::vconst<V>(2) * g * x;
    if (p == T(1)) return g;
    return g * detail::vconst<V>(p) * xsimd::pow(x, detail::vconst<V>(p - 1));
  }
};
}  // namespace fn

namespace detail {
// out = F.fwd(x); backward = F.bwd(g, saved) fused in one pass.
template <class T, class F>
Tensor<T> unary(const Tensor<T>& x, const char* name, F f) {
  static_assert(std::is_floating_point_v<T>, "math ops need float or double");
  auto out = Tensor<T>::empty(x.shape());
  kernels::map_unary(x.shape(), x.data(), x.strides(), out.data(), [f](auto v) { return f.fwd(v); });
  if (!autograd::any_requires_grad<T>({x})) return out;
  const Tensor<T> saved = F::save_output ? out.detach() : x.detach();
  return autograd::record(out, name, {x}, [f, saved](const Tensor<T>& g) {
    auto gx = Tensor<T>::empty(g.shape());
    kernels::map_binary(g.shape(), g.data(), g.strides(), saved.data(), saved.strides(), gx.data(),
                        [f](auto a, auto s) { return f.bwd(a, s); });
    return std::vector<Tensor<T>>{gx};
  });
}

}  // namespace detail

template <class T> Tensor<T> neg(const Tensor<T>& x) { return detail::unary(x, "neg", fn::Neg{}); }
template <class T> Tensor<T> exp(const Tensor<T>& x) { return detail::unary(x, "exp", fn::Exp{}); }
template <class T> Tensor<T> log(const Tensor<T>& x) { return detail::unary(x, "log", fn::Log{}); }
template <class T> Tensor<T> sqrt(const Tensor<T>& x) { return detail::unary(x, "sqrt", fn::Sqrt{}); }
template <class T> Tensor<T> rsqrt(const Tensor<T>& x) { return detail::unary(x, "rsqrt", fn::Rsqrt{}); }
template <class T> Tensor<T> square(const Tensor<T>& x) { return detail::unary(x, "square", fn::Square{}); }
template <class T> Tensor<T> abs(const Tensor<T>& x) { return detail::unary(x, "abs", fn::Abs{}); }
template <class T> Tensor<T> tanh(const Tensor<T>& x) { return detail::unary(x, "tanh", fn::Tanh{}); }
template <class T> Tensor<T> sigmoid(const Tensor<T>& x) { return detail::unary(x, "sigmoid", fn::Sigmoid{}); }
template <class T> Tensor<T> relu(const Tensor<T>& x) { return detail::unary(x, "relu", fn::Relu{}); }
template <class T> Tensor<T> silu(const Tensor<T>& x) { return detail::unary(x, "silu", fn::Silu{}); }
enum class GeluApprox { None, Tanh };
template <class T>
Tensor<T> gelu(const Tensor<T>& x, GeluApprox approx = GeluApprox::None) {
  return approx == GeluApprox::Tanh ? detail::unary(x, "gelu_tanh", fn::GeluTanh{}) : detail::unary(x, "gelu", fn::GeluErf{});
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> pow(const Tensor<T>& x, S p) {
  return detail::unary(x, "pow", fn::PowScalar<T>{static_cast<T>(p)});
}

// ---------------------------------------------------------------- binary ops
template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  auto out = detail::zip(a, b, "add", [](auto x, auto y) { return x + y; });
  return autograd::record(out, "add", {a, b}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g, g}; });
}
template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  auto out = detail::zip(a, b, "sub", [](auto x, auto y) { return x - y; });
  return autograd::record(out, "sub", {a, b}, [nb = b.requires_grad()](const Tensor<T>& g) {
    return std::vector<Tensor<T>>{g, nb ? neg(g) : Tensor<T>()};
  });
}
template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  auto out = detail::zip(a, b, "mul", [](auto x, auto y) { return x * y; });
  if (!autograd::any_requires_grad<T>({a, b})) return out;
  const Tensor<T> sa = a.detach(), sb = b.detach();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return autograd::record(out, "mul", {a, b}, [sa, sb, ga, gb](const Tensor<T>& g) {
    auto m = [](auto x, auto y) { return x * y; };
    return std::vector<Tensor<T>>{ga ? detail::zip(g, sb, "mul", m) : Tensor<T>(),
                                  gb ? detail::zip(g, sa, "mul", m) : Tensor<T>()};
  });
}
template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  auto out = detail::zip(a, b, "div", [](auto x, auto y) { return x / y; });
  if (!autograd::any_requires_grad<T>({a, b})) return out;
  const Tensor<T> sb = b.detach(), so = out.detach();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return autograd::record(out, "div", {a, b}, [sb, so, ga, gb](const Tensor<T>& g) {
    Tensor<T> gA = detail::zip(g, sb, "div", [](auto x, auto y) { return x / y; });
    Tensor<T> gB;
    // d(a/b)/db = −(a/b)/b = −out/b
    if (gb) gB = neg(detail::zip(gA, so, "div", [](auto x, auto y) { return x * y; }));
    return std::vector<Tensor<T>>{ga ? gA : Tensor<T>(), gB};
  });
}
template <class T>
Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b) {
  auto out = detail::zip(a, b, "pow", [](auto x, auto y) { return xsimd::pow(x, y); });
  if (!autograd::any_requires_grad<T>({a, b})) return out;
  const Tensor<T> sa = a.detach(), sb = b.detach(), so = out.detach();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return autograd::record(out, "pow", {a, b}, [sa, sb, so, ga, gb](const Tensor<T>& g) {
    NoGradGuard ng;
    Tensor<T> gA, gB;
    if (ga) gA = mul(g, mul(sb, pow(sa, sub(sb, Tensor<T>::scalar(1)))));
    if (gb) gB = mul(g, mul(so, log(sa)));
    return std::vector<Tensor<T>>{gA, gB};
  });
}
// Elementwise max/min; the gradient goes to a where a ≥ b (max) and to b otherwise.
template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
  auto out = detail::zip(a, b, "maximum", [](auto x, auto y) { return xsimd::max(x, y); });
  if (!autograd::any_requires_grad<T>({a, b})) return out;
  const Tensor<T> sa = a.detach(), sb = b.detach();
  return autograd::record(out, "maximum", {a, b}, [sa, sb](const Tensor<T>& g) {
    const Shape s = g.shape();
    auto ga = Tensor<T>::empty(s), gb = Tensor<T>::empty(s);
    std::vector<T> av = sa.expand(s).to_vector(), bv = sb.expand(s).to_vector(), gv = g.to_vector();
    for (std::size_t i = 0; i < gv.size(); ++i) {
      const bool first = av[i] >= bv[i];
      ga.data()[i] = first ? gv[i] : T(0);
      gb.data()[i] = first ? T(0) : gv[i];
    }
    return std::vector<Tensor<T>>{ga, gb};
  });
}
template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return neg(maximum(neg(a), neg(b)));
}

// Scalars on either side convert to T (so x * 2.0 works for float tensors).
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> as_scalar_tensor(S s) {
  return Tensor<T>::scalar(static_cast<T>(s));
}

#define BILIN_BINARY_OPERATOR(OP, FN)                                                                     \
  template <class T>                                                                                      \
  Tensor<T> operator OP(const Tensor<T>& a, const Tensor<T>& b) { return FN(a, b); }                     \
  template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>                          \
  Tensor<T> operator OP(const Tensor<T>& a, S s) { return FN(a, as_scalar_tensor<T>(s)); }                \
  template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>                          \
  Tensor<T> operator OP(S s, const Tensor<T>& b) { return FN(as_scalar_tensor<T>(s), b); }
BILIN_BINARY_OPERATOR(+, add)
BILIN_BINARY_OPERATOR(-, sub)
BILIN_BINARY_OPERATOR(*, mul)
BILIN_BINARY_OPERATOR(/, div)
#undef BILIN_BINARY_OPERATOR
template <class T>
Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }

// ---------------------------------------------------------------- comparisons, where, clamp
using Mask = Tensor<std::uint8_t>;
namespace detail {
template <class T, class F>
Mask compare(const Tensor<T>& a, const Tensor<T>& b, const char* name, F f) {
  const Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  auto sa = broadcast_strides(a.shape(), a.strides(), s), sb = broadcast_strides(b.shape(), b.strides(), s);
  Mask out = Mask::empty(s);
  std::uint8_t* o = out.data();
  kernels::for_each_row<3>(s, {sa, sb, contiguous_strides(s)}, [&](auto off, index_t n, auto is) {
    for (index_t j = 0; j < n; ++j) o[off[2] + j] = f(a.data()[off[0] + j * is[0]], b.data()[off[1] + j * is[1]]) ? 1 : 0;
  });
  return out;
}
}  // namespace detail
#define BILIN_COMPARISON(NAME, EXPR)                                                                       \
  template <class T>                                                                                       \
  Mask NAME(const Tensor<T>& a, const Tensor<T>& b) {                                                      \
    return detail::compare(a, b, #NAME, [](T x, T y) { return EXPR; });                                   \
  }                                                                                                        \
  template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>                           \
  Mask NAME(const Tensor<T>& a, S s) { return NAME(a, Tensor<T>::scalar(static_cast<T>(s))); }
BILIN_COMPARISON(gt, x > y)
BILIN_COMPARISON(lt, x < y)
BILIN_COMPARISON(ge, x >= y)
BILIN_COMPARISON(le, x <= y)
BILIN_COMPARISON(eq, x == y)
BILIN_COMPARISON(ne, x != y)
#undef BILIN_COMPARISON

// where(cond, a, b): a where cond is non-zero, b elsewhere; all three broadcast together.
template <class T>
Tensor<T> where(const Mask& cond, const Tensor<T>& a, const Tensor<T>& b) {
  const Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  auto out = Tensor<T>::empty(s);
  kernels::map_ternary(s, cond.data(), broadcast_strides(cond.shape(), cond.strides(), s), a.data(),
                       broadcast_strides(a.shape(), a.strides(), s), b.data(),
                       broadcast_strides(b.shape(), b.strides(), s), out.data(),
                       [](std::uint8_t c, T x, T y) { return c ? x : y; });
  return autograd::record(out, "where", {a, b}, [cond](const Tensor<T>& g) {
    NoGradGuard ng;
    auto z = Tensor<T>::scalar(T(0));
    return std::vector<Tensor<T>>{where(cond, g, z), where(cond, z, g)};
  });
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> masked_fill(const Tensor<T>& x, const Mask& mask, S value) {
  return where(mask, Tensor<T>::scalar(static_cast<T>(value)), x);
}

// clamp(x, lo, hi); pass ±infinity for a one-sided clamp.
template <class T>
Tensor<T> clamp(const Tensor<T>& x, T lo, T hi) {
  BILIN_CHECK(!(lo > hi), "clamp", "lower bound ", lo, " exceeds upper bound ", hi);
  auto out = Tensor<T>::empty(x.shape());
  kernels::map_unary(x.shape(), x.data(), x.strides(), out.data(), [lo, hi](auto v) {
    using V = decltype(v);
    return xsimd::min(xsimd::max(v, detail::vconst<V>(lo)), detail::vconst<V>(hi));
  });
  if (!autograd::any_requires_grad<T>({x})) return out;
  const Tensor<T> sx = x.detach();
  return autograd::record(out, "clamp", {x}, [sx, lo, hi](const Tensor<T>& g) {
    auto gx = Tensor<T>::empty(g.shape());
    kernels::map_binary(g.shape(), g.data(), g.strides(), sx.data(), sx.strides(), gx.data(), [lo, hi](auto a, auto v) {
      using V = decltype(v);
      if constexpr (detail::is_scalar_v<V>) return (v >= lo && v <= hi) ? a : V(0);
      else return xsimd::select((v >= V(lo)) & (v <= V(hi)), a, V(0));
    });
    return std::vector<Tensor<T>>{gx};
  });
}

}  // namespace bilin
