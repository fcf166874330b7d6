// bilin/core/tensor.hpp — Tensor<T>: a cheap handle to shared storage plus shape/strides.
//
// Contract:
// - Copying a Tensor copies the handle (like a PyTorch tensor variable): both names refer to
//   the same data and the same autograd state. clone() makes a deep copy.
// - Storage is 64-byte aligned. A tensor is (storage, shape, strides, offset); views
//   (reshape of contiguous data, transpose, permute, slice, narrow, select, chunk, split,
//   squeeze, unsqueeze, expand) share storage and never copy.
// - Autodiff state lives on the handle: requires_grad, the node that produced the tensor
//   (grad_fn) and the accumulated gradient (grad()). The view and math functions declared
//   here are defined under ops/ and are differentiable; include <bilin/bilin.hpp>.
// - T is any arithmetic type for storage and views; float and double for math and autodiff.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iomanip>
#include <memory>
#include <new>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "buffer_pool.hpp"
#include "error.hpp"
#include "random.hpp"
#include "shape.hpp"

namespace bilin {

template <class T>
constexpr const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, std::uint16_t>) return "uint16";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
  else return "unknown";
}

// 64-byte aligned, uninitialized buffer (zeroed when asked), from buffer_pool().
template <class T>
class Storage {
 public:
  static constexpr std::size_t kAlign = BufferPool::kAlign;
  explicit Storage(std::size_t n, bool zero = false) : n_(n) {
    ptr_ = static_cast<T*>(buffer_pool().acquire(n * sizeof(T), &capacity_));
    if (zero) std::memset(static_cast<void*>(ptr_), 0, capacity_);
  }
  ~Storage() { buffer_pool().release(ptr_, capacity_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  std::size_t size() const { return n_; }

 private:
  T* ptr_ = nullptr;
  std::size_t n_ = 0, capacity_ = 0;
};

template <class T>
class Tensor;

// One recorded operation of the autograd graph: what produced a tensor and how to send a
// gradient back to its inputs. backward receives dL/d(output) and returns dL/d(input_i) for
// each input (an undefined Tensor for "no gradient"); the engine reduces broadcast gradients
// to each input's shape, so ops never have to.
template <class T>
struct Node {
  const char* name = "";
  std::vector<Tensor<T>> inputs;
  std::function<std::vector<Tensor<T>>(const Tensor<T>&)> backward;
  bool released = false;  // saved state freed after a backward() without retain_graph
};

template <class T>
struct TensorImpl {
  std::shared_ptr<Storage<T>> storage;
  Shape shape;
  Strides strides;
  index_t offset = 0;
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<TensorImpl<T>> grad;
  std::shared_ptr<Node<T>> grad_fn;
};

namespace autograd {
// Whether operations record the graph. Thread-local, like PyTorch's grad mode.
inline bool& grad_mode_flag() {
  thread_local bool enabled = true;
  return enabled;
}
inline bool is_grad_enabled() { return grad_mode_flag(); }
}  // namespace autograd

// Disables graph recording in its scope (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(autograd::grad_mode_flag()) { autograd::grad_mode_flag() = false; }
  ~NoGradGuard() { autograd::grad_mode_flag() = prev_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

template <class T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

  // ------------------------------------------------------------------ factories
  static Tensor empty(const Shape& shape) { return make(shape, false); }
  static Tensor zeros(const Shape& shape) { return make(shape, true); }
  static Tensor full(const Shape& shape, T value) {
    Tensor t = make(shape, false);
    std::fill_n(t.data(), t.numel(), value);
    return t;
  }
  static Tensor ones(const Shape& shape) { return full(shape, T(1)); }
  static Tensor scalar(T value) { return full({}, value); }
  static Tensor arange(T start, T stop, T step = T(1)) {
    BILIN_CHECK(step != T(0), "arange", "step must be non-zero");
    const double n = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
    Tensor t = make({std::max<index_t>(0, static_cast<index_t>(n))}, false);
    for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(start + static_cast<T>(i) * step);
    return t;
  }
  static Tensor arange(index_t n) { return arange(T(0), static_cast<T>(n)); }
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    check_shape(shape, "from_vector");
    BILIN_CHECK(static_cast<index_t>(values.size()) == bilin::numel(shape), "from_vector", values.size(),
                " values cannot fill shape ", to_string(shape), " (", bilin::numel(shape), " elements)");
    Tensor t = make(shape, false);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
  static Tensor from_vector(const std::vector<T>& values) {
    return from_vector(values, {static_cast<index_t>(values.size())});
  }
  // Tensor<float>::from({{1, 2}, {3, 4}}) — nested initializer lists, one or two levels.
  static Tensor from(std::initializer_list<T> v) { return from_vector(std::vector<T>(v)); }
  static Tensor from(std::initializer_list<std::initializer_list<T>> rows) {
    std::vector<T> flat;
    index_t cols = -1;
    for (const auto& r : rows) {
      BILIN_CHECK(cols < 0 || cols == static_cast<index_t>(r.size()), "from", "ragged rows: ", cols, " vs ", r.size());
      cols = static_cast<index_t>(r.size());
      flat.insert(flat.end(), r.begin(), r.end());
    }
    return from_vector(flat, {static_cast<index_t>(rows.size()), std::max<index_t>(cols, 0)});
  }
  static Tensor randn(const Shape& shape, Generator& gen, double mean = 0, double stddev = 1) {
    Tensor t = make(shape, false);
    gen.fill_normal(t.data(), t.numel(), mean, stddev);
    return t;
  }
  static Tensor rand(const Shape& shape, Generator& gen) { return uniform(shape, gen, 0, 1); }
  static Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi) {
    Tensor t = make(shape, false);
    gen.fill_uniform(t.data(), t.numel(), lo, hi);
    return t;
  }

  // ------------------------------------------------------------------ metadata
  bool defined() const { return static_cast<bool>(impl_); }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  index_t offset() const { return impl().offset; }
  index_t dim() const { return static_cast<index_t>(impl().shape.size()); }
  index_t size(index_t axis) const { return shape()[normalize_axis(axis, shape().size(), "size")]; }
  index_t stride(index_t axis) const { return strides()[normalize_axis(axis, shape().size(), "stride")]; }
  index_t numel() const { return bilin::numel(impl().shape); }
  bool is_contiguous() const { return bilin::is_contiguous(shape(), strides()); }
  const std::shared_ptr<Storage<T>>& storage() const { return impl().storage; }
  bool shares_storage_with(const Tensor& o) const { return defined() && o.defined() && storage() == o.storage(); }
  const std::shared_ptr<TensorImpl<T>>& impl_ptr() const { return impl_; }

  // Pointer to element [0,...,0]; with strides() it addresses every element.
  T* data() { return impl().storage->data() + impl().offset; }
  const T* data() const { return impl().storage->data() + impl().offset; }

  // Bounds-checked element access by full index (negative indices count from the end).
  T& at(const std::vector<index_t>& idx) { return data()[linear_offset(idx)]; }
  const T& at(const std::vector<index_t>& idx) const { return data()[linear_offset(idx)]; }
  template <class... I>
  T& operator()(I... i) { return at({static_cast<index_t>(i)...}); }
  template <class... I>
  const T& operator()(I... i) const { return at({static_cast<index_t>(i)...}); }
  T item() const {
    BILIN_CHECK(numel() == 1, "item", "needs a tensor with one element, got shape ", to_string(shape()));
    return *data();
  }
  // All elements in row-major order (works for any strides).
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    std::size_t k = 0;
    for_each_offset([&](index_t off) { out[k++] = data()[off]; });
    return out;
  }

  // Visit the element offsets (relative to data()) in row-major order.
  template <class F>
  void for_each_offset(F&& f) const {
    const auto& s = shape();
    const auto& st = strides();
    const std::size_t nd = s.size();
    if (numel() == 0) return;
    if (nd == 0) {
      f(index_t{0});
      return;
    }
    std::vector<index_t> idx(nd, 0);
    index_t off = 0;
    const index_t inner = s[nd - 1], istride = st[nd - 1];
    while (true) {
      for (index_t j = 0; j < inner; ++j) f(off + j * istride);
      std::size_t ax = nd - 1;
      while (true) {
        if (ax == 0) return;
        --ax;
        off += st[ax];
        if (++idx[ax] < s[ax]) break;
        off -= st[ax] * s[ax];
        idx[ax] = 0;
      }
    }
  }

  // ------------------------------------------------------------------ autograd state
  bool requires_grad() const { return impl().requires_grad; }
  // Mark a leaf as a parameter whose gradient backward() accumulates.
  Tensor& requires_grad_(bool on = true) {
    if (on) {
      BILIN_CHECK(std::is_floating_point_v<T>, "requires_grad_", "only floating-point tensors can require grad (got ",
                  dtype_name<T>(), ")");
    }
    BILIN_CHECK(!impl().grad_fn || on, "requires_grad_", "cannot turn off requires_grad on a non-leaf; use detach()");
    impl().requires_grad = on;
    return *this;
  }
  bool is_leaf() const { return !impl().grad_fn; }
  const std::shared_ptr<Node<T>>& grad_fn() const { return impl().grad_fn; }
  // Used by ops to attach the node that produced this (fresh) tensor.
  void set_history(std::shared_ptr<Node<T>> node) {
    impl().grad_fn = std::move(node);
    impl().requires_grad = true;
  }
  // Keep the gradient of a non-leaf tensor after backward() (leaves always keep theirs).
  Tensor& retain_grad() {
    impl().retains_grad = true;
    return *this;
  }
  // The accumulated gradient; undefined Tensor until backward() reached this tensor.
  Tensor grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
  void set_grad(const Tensor& g) { impl().grad = g.defined() ? g.impl_ : nullptr; }
  void zero_grad() {
    if (impl().grad) {
      Tensor g(impl().grad);
      std::fill_n(g.data(), g.numel(), T(0));  // grads are always contiguous
    }
  }
  // Reverse sweep from this scalar (or with an explicit seed of this tensor's shape).
  void backward(bool retain_graph = false);
  void backward(const Tensor& seed, bool retain_graph = false);
  // Same data, no history, no requires_grad.
  Tensor detach() const {
    auto p = std::make_shared<TensorImpl<T>>();
    p->storage = impl().storage;
    p->shape = impl().shape;
    p->strides = impl().strides;
    p->offset = impl().offset;
    return Tensor(p);
  }

  // ------------------------------------------------------------------ views and copies (ops/views.hpp)
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor flatten(index_t start = 0, index_t end = -1) const;
  Tensor transpose(index_t a, index_t b) const;
  Tensor t() const;
  Tensor permute(const std::vector<index_t>& order) const;
  Tensor slice(index_t axis, index_t start, index_t stop, index_t step = 1) const;
  Tensor narrow(index_t axis, index_t start, index_t length) const;
  Tensor select(index_t axis, index_t index) const;
  std::vector<Tensor> chunk(index_t chunks, index_t axis = 0) const;
  std::vector<Tensor> split(index_t size, index_t axis = 0) const;
  Tensor squeeze() const;
  Tensor squeeze(index_t axis) const;
  Tensor unsqueeze(index_t axis) const;
  Tensor expand(const Shape& shape) const;
  Tensor contiguous() const;
  Tensor clone() const;
  template <class U>
  Tensor<U> to() const;  // element-type conversion (a copy; no gradient)

  // In-place updates of the data (optimizers, initialization). They are not recorded, so they
  // are refused on tensors that take part in a graph while grad mode is on.
  Tensor& fill_(T value);
  Tensor& copy_(const Tensor& src);

 private:
  static Tensor make(const Shape& shape, bool zero) {
    check_shape(shape, "tensor");
    auto p = std::make_shared<TensorImpl<T>>();
    p->storage = std::make_shared<Storage<T>>(static_cast<std::size_t>(bilin::numel(shape)), zero);
    p->shape = shape;
    p->strides = contiguous_strides(shape);
    return Tensor(p);
  }
  TensorImpl<T>& impl() const {
    BILIN_CHECK(impl_, "tensor", "use of an undefined (default-constructed) tensor");
    return *impl_;
  }
  index_t linear_offset(const std::vector<index_t>& idx) const {
    const auto& s = shape();
    BILIN_CHECK(idx.size() == s.size(), "at", "index has ", idx.size(), " coordinates but the tensor has shape ",
                to_string(s));
    index_t off = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      index_t k = idx[i] < 0 ? idx[i] + s[i] : idx[i];
      BILIN_CHECK(k >= 0 && k < s[i], "at", "index ", idx[i], " is out of range for axis ", i, " of shape ",
                  to_string(s));
      off += k * strides()[i];
    }
    return off;
  }

  std::shared_ptr<TensorImpl<T>> impl_;
};

// ---------------------------------------------------------------------- printing
namespace detail {
template <class T>
void print_rec(std::ostream& os, const Tensor<T>& t, std::size_t axis, index_t off, int indent) {
  const auto& s = t.shape();
  const index_t n = s[axis];
  const index_t edge = 3;
  const bool summarize = t.numel() > 1000 && n > 2 * edge;
  os << '[';
  for (index_t i = 0; i < n; ++i) {
    if (summarize && i == edge) {
      os << (axis + 1 == s.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - edge;
    }
    const index_t o = off + i * t.strides()[axis];
    if (axis + 1 == s.size()) {
      if constexpr (std::is_floating_point_v<T>) os << std::setw(10) << std::setprecision(4) << t.data()[o];
      else os << +t.data()[o];
    } else {
      print_rec(os, t, axis + 1, o, indent + 1);
    }
    if (i + 1 < n) os << (axis + 1 == s.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}
}  // namespace detail

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  std::ios state(nullptr);
  state.copyfmt(os);
  os << "Tensor(" << dtype_name<T>() << ", shape=" << to_string(t.shape());
  if (t.requires_grad()) os << ", requires_grad";
  os << ")\n";
  if (t.dim() == 0) {
    os << +*t.data();
  } else if (t.numel() == 0) {
    os << "[]";
  } else {
    detail::print_rec(os, t, 0, 0, 0);
  }
  os.copyfmt(state);
  return os;
}

using TensorF = Tensor<float>;
using TensorD = Tensor<double>;

// Tensors by name, in order: a module's parameters, an optimizer's state, a checkpoint's
// contents (here, below nn/ and optim/, because both speak it).
template <class T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

}  // namespace bilin
