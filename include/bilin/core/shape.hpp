// bilin/core/shape.hpp — shapes, strides and NumPy broadcasting.
//
// Contract: Shape is a list of non-negative extents (a scalar has the empty shape and one
// element). Strides are in elements, not bytes. broadcast_shapes follows NumPy: shapes are
// aligned at their last axis, missing leading axes count as 1, and two extents are
// compatible when equal or when one of them is 1; anything else throws bilin::Error naming
// the op and both shapes.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "error.hpp"

namespace bilin {

using index_t = std::int64_t;
using Shape = std::vector<index_t>;
using Strides = std::vector<index_t>;

inline std::string to_string(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

inline index_t numel(const Shape& s) {
  index_t n = 1;
  for (index_t e : s) n *= e;
  return n;
}

// Whether (s, st) walks its elements back to back in row-major order (strides of size-1 axes
// do not matter).
inline bool is_contiguous(const Shape& s, const Strides& st) {
  index_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    if (s[i] != 1 && st[i] != acc) return false;
    acc *= s[i];
  }
  return true;
}

inline Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  index_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// Map a possibly negative axis into [0, ndim); throws with the op name when out of range.
inline int normalize_axis(index_t axis, std::size_t ndim, const char* op) {
  const auto n = static_cast<index_t>(ndim);
  BILIN_CHECK(axis >= -n && axis < n, op, "axis ", axis, " is out of range for a tensor with ", n,
              " dimension", n == 1 ? "" : "s");
  return static_cast<int>(axis < 0 ? axis + n : axis);
}

inline void check_shape(const Shape& s, const char* op) {
  for (index_t e : s) BILIN_CHECK(e >= 0, op, "negative extent in shape ", to_string(s));
}

inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast") {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const index_t ea = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const index_t eb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    BILIN_CHECK(ea == eb || ea == 1 || eb == 1, op, "shapes ", to_string(a), " and ", to_string(b),
                " cannot be broadcast together (axis ", i, ": ", ea, " vs ", eb, ")");
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

// Strides that read a tensor of shape `from` (with strides `st`) as if it had shape `to`:
// broadcast axes get stride 0. Assumes broadcast_shapes(from, to) == to.
inline Strides broadcast_strides(const Shape& from, const Strides& st, const Shape& to) {
  Strides out(to.size(), 0);
  const std::size_t lead = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i) out[lead + i] = from[i] == 1 ? 0 : st[i];
  return out;
}

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << to_string(s); }

}  // namespace bilin
