// bilin/io/safetensors.hpp — checkpoints in the safetensors format (PyTorch/NumPy interop).
//
// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian uint64 N, then
// N bytes of JSON header, then the data section. The header maps each tensor name to
// {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets relative to the data
// section) plus an optional "__metadata__" object of string → string. Data is little-endian,
// row-major.
//
// Contract:
// - AnyTensor holds one of Tensor<float|double|int64_t|int32_t|uint16_t|uint8_t> (file dtypes
//   F32 F64 I64 I32 U16 U8). Any of those Tensor types converts to it implicitly.
//   get<T>() returns the tensor as Tensor<T>: the same handle when the type matches, otherwise
//   a converted copy — integer or floating → floating always; integer → integer only when every
//   value fits; floating → integer never (that would silently truncate). Refusals throw
//   bilin::Error naming the tensor, both dtypes and the offending element.
// - save_safetensors(path, [(name, tensor)...], metadata) writes the tensors in the given order
//   (data section laid out in that order, header keys in that order, "__metadata__" first),
//   pads the header with spaces so the data section starts at a multiple of 8 bytes, and writes
//   atomically (write_file_atomic). Non-contiguous tensors are written in row-major order.
//   Names must be non-empty, unique and not "__metadata__".
// - load_safetensors(path) → TensorMap (ordered by data offset, which is the save order for
//   bilin files). Every byte of the file is accounted for: header length vs file size, JSON
//   syntax (error gives the file byte offset), header structure, known dtype, non-negative
//   integer shape, data_offsets inside the data section, shape product × dtype size equal to
//   the offset span, and tensors tiling the data section exactly (no gaps, no overlap, nothing
//   after the last tensor). Failures throw bilin::Error("load_safetensors", "<path>: ...").
// - Size limits, checked before anything is allocated: the header length must fit in the file
//   and be at most kMaxSafetensorsHeaderBytes (100 MB, the reference implementation's limit);
//   every tensor's shape × dtype size must equal its data_offsets span inside the file, so a
//   header claiming a 1 TB tensor in a small file is an error naming the tensor and the offsets.
// - Loading also accepts F16, BF16 (→ float), BOOL (→ uint8), I8, I16 (→ int32), U32, U64
//   (→ int64; U64 values above INT64_MAX are an error) so PyTorch checkpoints in those dtypes
//   load; AnyTensor::file_dtype() keeps the dtype that was in the file. Saving writes the six
//   native dtypes only.
// - read_checkpoint_metadata(path) reads only the header's "__metadata__" (cheap for large
//   files); errors name the file and the byte offset.
// - SafetensorsReader(path) reads and checks only the header (the same checks as
//   load_safetensors) and then copies one tensor at a time straight from the file into caller
//   memory: read_into<T>(name, dst) for a floating T widens F16/BF16 (and converts F32/F64) on
//   the way, so loading a large model costs one copy of its weights, not a file image plus
//   decoded tensors plus the model's own parameters.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"
#include "atomic_file.hpp"
#include "json.hpp"

namespace bilin::io {

inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

template <class T>
inline constexpr bool is_safetensors_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::uint8_t>;

template <class T>
constexpr const char* safetensors_dtype() {
  static_assert(is_safetensors_type_v<T>, "no safetensors dtype for this element type");
  if constexpr (std::is_same_v<T, float>) return "F32";
  else if constexpr (std::is_same_v<T, double>) return "F64";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "I32";
  else if constexpr (std::is_same_v<T, std::uint16_t>) return "U16";
  else return "U8";
}

class AnyTensor {
 public:
  using Variant = std::variant<Tensor<float>, Tensor<double>, Tensor<std::int64_t>, Tensor<std::int32_t>,
                               Tensor<std::uint16_t>, Tensor<std::uint8_t>>;

  AnyTensor() = default;
  template <class T, std::enable_if_t<is_safetensors_type_v<T>, int> = 0>
  AnyTensor(Tensor<T> t) : v_(std::move(t)) {}
  AnyTensor(Variant v, std::string file_dtype) : v_(std::move(v)), file_dtype_(std::move(file_dtype)) {}

  // dtype this tensor is written as ("F32", ...).
  const char* dtype() const {
    return std::visit([](const auto& t) { return safetensors_dtype<typename std::decay_t<decltype(t)>::value_type>(); },
                      v_);
  }
  // dtype it had in the file it came from (differs from dtype() for F16, BF16, BOOL, I8, ...).
  std::string file_dtype() const { return file_dtype_.empty() ? std::string(dtype()) : file_dtype_; }
  const Shape& shape() const {
    return std::visit([](const auto& t) -> const Shape& { return t.shape(); }, v_);
  }
  index_t numel() const { return bilin::numel(shape()); }
  bool defined() const {
    return std::visit([](const auto& t) { return t.defined(); }, v_);
  }
  template <class T>
  bool holds() const {
    return std::holds_alternative<Tensor<T>>(v_);
  }
  const Variant& variant() const { return v_; }

  // As Tensor<T>, converting when needed (see the contract at the top of the file).
  template <class T>
  Tensor<T> get(std::string_view name = "tensor") const {
    static_assert(std::is_arithmetic_v<T>, "get<T>: T must be arithmetic");
    if (const auto* same = std::get_if<Tensor<T>>(&v_)) return *same;
    return std::visit([&](const auto& src) { return convert<T>(src, name); }, v_);
  }

 private:
  template <class T, class S>
  Tensor<T> convert(const Tensor<S>& src, std::string_view name) const {
    const char* to = dtype_name<T>();
    if constexpr (std::is_integral_v<T> && std::is_floating_point_v<S>) {
      throw Error("safetensors", msg("tensor '", name, "' holds ", file_dtype(), "; refusing to convert it to ", to,
                                     " (that would truncate)"));
    } else {
      const auto v = src.to_vector();
      std::vector<T> out(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        if constexpr (std::is_integral_v<T>) {
          // Both integral here: check the value survives the round trip.
          const bool fits = std::in_range<T>(v[i]);
          if (!fits)
            throw Error("safetensors", msg("tensor '", name, "' (", file_dtype(), "): element ", i, " = ", +v[i],
                                           " does not fit in ", to));
        }
        out[i] = static_cast<T>(v[i]);
      }
      return Tensor<T>::from_vector(out, src.shape());
    }
  }

  Variant v_;
  std::string file_dtype_;
};

// Named tensors in a fixed order, plus the file's string metadata.
class TensorMap {
 public:
  using Entry = std::pair<std::string, AnyTensor>;

  void insert(std::string name, AnyTensor t) {
    BILIN_CHECK(!contains(name), "safetensors", "duplicate tensor name '", name, "'");
    index_[name] = entries_.size();
    entries_.emplace_back(std::move(name), std::move(t));
  }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const AnyTensor& at(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) {
      std::string some;
      for (std::size_t i = 0; i < entries_.size() && i < 12; ++i) some += (i ? ", " : "") + entries_[i].first;
      if (entries_.size() > 12) some += ", ...";
      throw Error("safetensors", msg(source_.empty() ? "" : source_ + ": ", "no tensor named '", name, "' (",
                                     entries_.size(), " tensors: ", some.empty() ? "none" : some, ")"));
    }
    return entries_[it->second].second;
  }
  template <class T>
  Tensor<T> get(const std::string& name) const {
    return at(name).template get<T>(name);
  }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  const std::vector<Entry>& entries() const { return entries_; }

  std::map<std::string, std::string> metadata;
  // Where the map was loaded from (for error messages); empty for in-memory maps.
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
  std::string source_;
};

namespace detail {

struct DtypeInfo {
  const char* name;
  std::size_t size;
};
inline const DtypeInfo* find_dtype(std::string_view name) {
  static const DtypeInfo table[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
                                    {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}};
  for (const auto& d : table)
    if (name == d.name) return &d;
  return nullptr;
}

template <class T>
T load_le(const unsigned char* p) {
  using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
            std::conditional_t<sizeof(T) == 2, std::uint16_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
  U u = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) u |= static_cast<U>(static_cast<U>(p[i]) << (8 * i));
  return std::bit_cast<T>(u);
}

template <class T>
void store_le(unsigned char* p, T v) {
  using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
            std::conditional_t<sizeof(T) == 2, std::uint16_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
  const U u = std::bit_cast<U>(v);
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<unsigned char>(u >> (8 * i));
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

// Decode n little-endian elements of file type S into a fresh Tensor<T>.
template <class T, class S, class F>
Tensor<T> decode_as(const unsigned char* p, const Shape& shape, F&& conv) {
  auto t = Tensor<T>::empty(shape);
  T* out = t.data();
  const index_t n = bilin::numel(shape);
  if constexpr (std::is_same_v<T, S> && std::endian::native == std::endian::little) {
    if (n) std::memcpy(out, p, static_cast<std::size_t>(n) * sizeof(T));
  } else {
    for (index_t i = 0; i < n; ++i) out[i] = conv(load_le<S>(p + static_cast<std::size_t>(i) * sizeof(S)));
  }
  return t;
}

template <class T>
void append_tensor_bytes(AtomicFileWriter& w, const Tensor<T>& t) {
  if (t.numel() == 0) return;
  if constexpr (std::endian::native == std::endian::little) {
    if (t.is_contiguous()) {
      w.write(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
      return;
    }
  }
  const auto v = t.to_vector();
  std::vector<unsigned char> buf(v.size() * sizeof(T));
  for (std::size_t i = 0; i < v.size(); ++i) store_le(buf.data() + i * sizeof(T), v[i]);
  w.write(buf.data(), buf.size());
}

template <class... A>
[[noreturn]] void load_fail(const std::string& source, const A&... pieces) {
  throw Error("load_safetensors", msg(source, ": ", pieces...));
}

inline std::string shape_json(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  out += ']';
  return out;
}

}  // namespace detail

// Build the padded JSON header for these tensors (exposed for tests and tools).
inline std::string safetensors_header(const std::vector<std::pair<std::string, AnyTensor>>& tensors,
                                      const std::map<std::string, std::string>& metadata = {}) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    json::Value m = json::Value::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h += "\"__metadata__\":" + m.dump();
    first = false;
  }
  std::uint64_t off = 0;
  std::unordered_map<std::string, int> seen;
  for (const auto& [name, t] : tensors) {
    BILIN_CHECK(!name.empty(), "save_safetensors", "tensor names must be non-empty");
    BILIN_CHECK(name != "__metadata__", "save_safetensors", "'__metadata__' is reserved and cannot name a tensor");
    BILIN_CHECK(seen[name]++ == 0, "save_safetensors", "duplicate tensor name '", name, "'");
    BILIN_CHECK(t.defined(), "save_safetensors", "tensor '", name, "' is undefined");
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * detail::find_dtype(t.dtype())->size;
    h += std::string(first ? "" : ",") + json::quote(name) + ":{\"dtype\":\"" + t.dtype() +
         "\",\"shape\":" + detail::shape_json(t.shape()) + ",\"data_offsets\":[" + std::to_string(off) + "," +
         std::to_string(off + bytes) + "]}";
    first = false;
    off += bytes;
  }
  h += "}";
  // Pad so the data section starts 8-byte aligned, as the reference implementation does.
  while ((8 + h.size()) % 8 != 0) h += ' ';
  return h;
}

inline void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, AnyTensor>>& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  const std::string header = safetensors_header(tensors, metadata);
  AtomicFileWriter w(path);
  unsigned char len[8];
  detail::store_le<std::uint64_t>(len, header.size());
  w.write(len, 8);
  w.write(header);
  for (const auto& entry : tensors)
    std::visit([&](const auto& t) { detail::append_tensor_bytes(w, t); }, entry.second.variant());
  w.commit();
}

inline void save_safetensors(const std::string& path, const TensorMap& map) {
  save_safetensors(path, map.entries(), map.metadata);
}

namespace detail {

// The header of a safetensors file image: its JSON and where the data section lies.
struct SafetensorsHeader {
  json::Value json;
  std::uint64_t data_start = 0, data_size = 0;
};
inline SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& source) {
  const auto fail = [&](const auto&... pieces) { load_fail(source, pieces...); };
  const std::uint64_t size = bytes.size();
  if (size < 8) fail("file is ", size, " bytes, too short for the 8-byte header length");
  const std::uint64_t n = load_le<std::uint64_t>(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (n > size - 8)
    fail("header length ", n, " (bytes 0-7) runs past the end of the file (", size, " bytes, so at most ", size - 8,
         " header bytes)");
  if (n < 2) fail("header length ", n, " (bytes 0-7) is too small for a JSON object");
  if (n > kMaxSafetensorsHeaderBytes)
    fail("header length ", n, " (bytes 0-7) exceeds the ", kMaxSafetensorsHeaderBytes, "-byte limit");
  const std::string_view header = bytes.substr(8, n);
  if (header[0] != '{') fail("header at byte 8 does not start with '{'");
  SafetensorsHeader h;
  try {
    h.json = json::parse(header);
  } catch (const json::ParseError& e) {
    fail("invalid JSON header at file byte ", 8 + e.offset(), ": ", e.reason());
  }
  h.data_start = 8 + n;
  h.data_size = size - h.data_start;
  return h;
}

// A tensor's byte range in the data section.
struct SafetensorsSpan {
  std::uint64_t begin, end;
  std::size_t entry;
};

// Checks one tensor entry of the header (dtype, shape, offsets inside the data section, size
// matching the shape) and returns its byte range.
inline SafetensorsSpan check_safetensors_entry(const std::string& name, const json::Value& info,
                                               const SafetensorsHeader& hdr, std::size_t entry,
                                               const std::string& source) {
  const auto fail = [&](const auto&... pieces) { load_fail(source, pieces...); };
  const std::uint64_t data_start = hdr.data_start, data_size = hdr.data_size;
  if (!info.is_object()) fail("entry for tensor '", name, "' must be an object, got ", info.type_name());
  const json::Value* dt = info.find("dtype");
  const json::Value* sh = info.find("shape");
  const json::Value* of = info.find("data_offsets");
  if (!dt || !sh || !of) fail("tensor '", name, "' needs dtype, shape and data_offsets");
  if (!dt->is_string()) fail("tensor '", name, "': dtype must be a string");
  const DtypeInfo* dinfo = find_dtype(dt->as_string());
  if (!dinfo)
    fail("tensor '", name, "': unknown or unsupported dtype '", dt->as_string(),
         "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL)");
  if (!sh->is_array()) fail("tensor '", name, "': shape must be an array");
  if (!of->is_array() || of->size() != 2 || !of->at(0).is_int() || !of->at(1).is_int())
    fail("tensor '", name, "': data_offsets must be [begin, end] integers");
  Shape shape;
  // Element count, saturating: no file can hold 2^60 elements, and count * 8 must not wrap.
  constexpr std::uint64_t kLimit = 1ull << 60;
  std::uint64_t count = 1;
  bool zero = false, too_big = false;
  for (const auto& e : sh->as_array()) {
    if (!e.is_int() || e.as_int() < 0) fail("tensor '", name, "': shape ", sh->dump(), " must hold non-negative integers");
    const auto x = static_cast<std::uint64_t>(e.as_int());
    shape.push_back(e.as_int());
    if (x == 0) zero = true;
    else if (!too_big && count > kLimit / x) too_big = true;
    else if (!too_big) count *= x;
  }
  // Checked even when an extent is zero: the element count of the other extents is computed in
  // int64 elsewhere and must not overflow.
  if (too_big) fail("tensor '", name, "': shape ", sh->dump(), " is too large");
  if (zero) count = 0;
  const std::int64_t b = of->at(0).as_int(), e = of->at(1).as_int();
  if (b < 0 || e < b) fail("tensor '", name, "': data_offsets [", b, ", ", e, "] are not an increasing pair");
  if (static_cast<std::uint64_t>(e) > data_size)
    fail("tensor '", name, "': data_offsets [", b, ", ", e, "] run past the data section (", data_size,
         " bytes starting at file byte ", data_start, "; the tensor would end at file byte ", data_start + e, ")");
  const std::uint64_t need = count * dinfo->size;
  if (need != static_cast<std::uint64_t>(e - b))
    fail("tensor '", name, "': shape ", shape_json(shape), " of ", dinfo->name, " (", dinfo->size,
         " bytes each) needs ", need, " bytes but data_offsets [", b, ", ", e,
         "] span ", e - b);
  return {static_cast<std::uint64_t>(b), static_cast<std::uint64_t>(e), entry};
}

// The spans ordered by offset; throws unless they tile the data section exactly (no overlap,
// no gap, nothing after the last tensor).
inline std::vector<std::size_t> check_safetensors_tiling(const std::vector<SafetensorsSpan>& spans,
                                                         const std::vector<std::pair<std::string, json::Value>>& entries,
                                                         const SafetensorsHeader& hdr, std::uint64_t size,
                                                         const std::string& source) {
  const auto fail = [&](const auto&... pieces) { load_fail(source, pieces...); };
  const std::uint64_t data_start = hdr.data_start, data_size = hdr.data_size;
  std::vector<std::size_t> order(spans.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return spans[a].begin != spans[b].begin ? spans[a].begin < spans[b].begin : spans[a].end < spans[b].end;
  });
  std::uint64_t cursor = 0;
  const std::string* prev = nullptr;
  for (std::size_t k : order) {
    const SafetensorsSpan& s = spans[k];
    if (s.begin < cursor)
      fail("tensor '", entries[s.entry].first, "' (data_offsets [", s.begin, ", ", s.end, "]) overlaps tensor '", *prev,
           "' which ends at ", cursor);
    if (s.begin > cursor)
      fail("gap in the data section: bytes [", cursor, ", ", s.begin, ") (file bytes ", data_start + cursor, "-",
           data_start + s.begin, ") belong to no tensor, before tensor '", entries[s.entry].first, "'");
    cursor = s.end;
    prev = &entries[s.entry].first;
  }
  if (cursor != data_size)
    fail("the tensors cover ", cursor, " bytes but the data section has ", data_size, " (file is ", size,
         " bytes; ", data_size - cursor, " unexplained bytes at the end starting at file byte ", data_start + cursor, ")");

  return order;
}

// The tensor at p as the native type its file dtype converts to.
inline AnyTensor::Variant decode_safetensors_tensor(const std::string& name, const json::Value& info,
                                                   const unsigned char* p, const std::string& source) {
  const auto fail = [&](const auto&... pieces) { load_fail(source, pieces...); };
  const std::string dt = info.at("dtype").as_string();
  Shape shape;
  for (const auto& e : info.at("shape").as_array()) shape.push_back(e.as_int());
  const auto id = [](auto v) { return v; };
  AnyTensor::Variant v;
  if (dt == "F32") v = decode_as<float, float>(p, shape, id);
  else if (dt == "F64") v = decode_as<double, double>(p, shape, id);
  else if (dt == "I64") v = decode_as<std::int64_t, std::int64_t>(p, shape, id);
  else if (dt == "I32") v = decode_as<std::int32_t, std::int32_t>(p, shape, id);
  else if (dt == "U16") v = decode_as<std::uint16_t, std::uint16_t>(p, shape, id);
  else if (dt == "U8") v = decode_as<std::uint8_t, std::uint8_t>(p, shape, id);
  else if (dt == "BOOL") v = decode_as<std::uint8_t, std::uint8_t>(p, shape, id);
  else if (dt == "I16") v = decode_as<std::int32_t, std::int16_t>(p, shape, id);
  else if (dt == "I8") v = decode_as<std::int32_t, std::int8_t>(p, shape, id);
  else if (dt == "U32") v = decode_as<std::int64_t, std::uint32_t>(p, shape, id);
  else if (dt == "F16") v = decode_as<float, std::uint16_t>(p, shape, half_to_float);
  else if (dt == "BF16")
    v = decode_as<float, std::uint16_t>(p, shape, [](std::uint16_t u) {
      return std::bit_cast<float>(static_cast<std::uint32_t>(u) << 16);
    });
  else if (dt == "U64") {
    const index_t cnt = bilin::numel(shape);
    for (index_t i = 0; i < cnt; ++i) {
      const auto u = load_le<std::uint64_t>(p + 8 * i);
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail("tensor '", name, "' (U64): element ", i, " = ", u, " does not fit in int64");
    }
    v = decode_as<std::int64_t, std::uint64_t>(p, shape, [](std::uint64_t u) { return static_cast<std::int64_t>(u); });
  }
  return v;
}

}  // namespace detail

// Parse a whole safetensors file image; `source` names it in errors.
inline TensorMap decode_safetensors(std::string_view bytes, const std::string& source) {
  const detail::SafetensorsHeader hdr = detail::parse_safetensors_header(bytes, source);
  TensorMap out;
  out.set_source(source);
  std::vector<detail::SafetensorsSpan> spans;
  std::vector<std::pair<std::string, json::Value>> entries;
  std::unordered_map<std::string, int> seen;
  for (const auto& [name, info] : hdr.json.as_object()) {
    if (seen[name]++) detail::load_fail(source, "duplicate key '", name, "' in the header");
    if (name == "__metadata__") {
      if (!info.is_object()) detail::load_fail(source, "__metadata__ must be an object of strings, got ", info.type_name());
      for (const auto& [k, v] : info.as_object()) {
        if (!v.is_string()) detail::load_fail(source, "__metadata__ value for '", k, "' must be a string, got ", v.type_name());
        out.metadata[k] = v.as_string();
      }
      continue;
    }
    spans.push_back(detail::check_safetensors_entry(name, info, hdr, entries.size(), source));
    entries.emplace_back(name, info);
  }
  const auto order = detail::check_safetensors_tiling(spans, entries, hdr, bytes.size(), source);
  const auto* base = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t k : order) {
    const auto& [name, info] = entries[k];
    const unsigned char* p = base + hdr.data_start + spans[k].begin;
    out.insert(name, AnyTensor(detail::decode_safetensors_tensor(name, info, p, source), info.at("dtype").as_string()));
  }
  return out;
}

inline TensorMap load_safetensors(const std::string& path) {
  const std::string bytes = read_file(path, "load_safetensors");
  return decode_safetensors(bytes, path);
}

// The string metadata of a safetensors file, from its header alone.
inline std::map<std::string, std::string> read_checkpoint_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BILIN_CHECK(in.good(), "read_checkpoint_metadata", path, ": cannot open file");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char len[8] = {};
  BILIN_CHECK(size >= 8 && in.read(reinterpret_cast<char*>(len), 8), "read_checkpoint_metadata", path,
              ": file of ", size, " bytes is too short for a safetensors header (8-byte length at offset 0)");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | len[i];
  BILIN_CHECK(n <= size - 8, "read_checkpoint_metadata", path, ": header length ", n, " (offset 0) exceeds the ",
              size - 8, " bytes after it");
  BILIN_CHECK(n <= kMaxSafetensorsHeaderBytes, "read_checkpoint_metadata", path, ": header length ", n,
              " (offset 0) exceeds the ", kMaxSafetensorsHeaderBytes, "-byte limit");
  std::string header(static_cast<std::size_t>(n), '\0');
  BILIN_CHECK(static_cast<bool>(in.read(header.data(), static_cast<std::streamsize>(n))), "read_checkpoint_metadata",
              path, ": could not read the ", n, "-byte header at offset 8");
  json::Value h;
  try {
    h = json::parse(header);
  } catch (const json::ParseError& e) {
    throw Error("read_checkpoint_metadata", msg(path, ": header JSON is invalid at file byte ", 8 + e.offset(), ": ",
                                                e.reason()));
  }
  std::map<std::string, std::string> out;
  if (const json::Value* m = h.is_object() ? h.find("__metadata__") : nullptr) {
    BILIN_CHECK(m->is_object(), "read_checkpoint_metadata", path, ": __metadata__ is not an object");
    for (const auto& [k, v] : m->as_object()) {
      BILIN_CHECK(v.is_string(), "read_checkpoint_metadata", path, ": metadata '", k, "' is not a string");
      out[k] = v.as_string();
    }
  }
  return out;
}

// A safetensors file read tensor by tensor into memory the caller owns.
class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    const auto fail = [&](const auto&... pieces) { detail::load_fail(path_, pieces...); };
    if (!in_.good()) fail("cannot open file");
    in_.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(in_.tellg());
    in_.seekg(0);
    unsigned char len[8] = {};
    if (size < 8 || !in_.read(reinterpret_cast<char*>(len), 8))
      fail("file is ", size, " bytes, too short for the 8-byte header length");
    const std::uint64_t n = detail::load_le<std::uint64_t>(len);
    if (n > size - 8)
      fail("header length ", n, " (bytes 0-7) runs past the end of the file (", size, " bytes)");
    if (n > kMaxSafetensorsHeaderBytes)
      fail("header length ", n, " (bytes 0-7) exceeds the ", kMaxSafetensorsHeaderBytes, "-byte limit");
    std::string head(8 + static_cast<std::size_t>(n), '\0');
    std::memcpy(head.data(), len, 8);
    if (!in_.read(head.data() + 8, static_cast<std::streamsize>(n))) fail("could not read the ", n, "-byte header");
    // parse_safetensors_header wants the file's size: give it the header and account for the rest.
    detail::SafetensorsHeader hdr = detail::parse_safetensors_header(head, path_);
    hdr.data_size = size - hdr.data_start;
    std::vector<detail::SafetensorsSpan> spans;
    for (const auto& [name, info] : hdr.json.as_object()) {
      if (name == "__metadata__") {
        if (!info.is_object()) fail("__metadata__ must be an object of strings, got ", info.type_name());
        for (const auto& [k, v] : info.as_object()) {
          if (!v.is_string()) fail("__metadata__ value for '", k, "' must be a string, got ", v.type_name());
          metadata[k] = v.as_string();
        }
        continue;
      }
      if (index_.count(name)) fail("duplicate key '", name, "' in the header");
      spans.push_back(detail::check_safetensors_entry(name, info, hdr, entries_.size(), path_));
      index_[name] = entries_.size();
      entries_.emplace_back(name, info);
    }
    detail::check_safetensors_tiling(spans, entries_, hdr, size, path_);
    for (const auto& s : spans) {
      Entry e;
      e.begin = hdr.data_start + s.begin;
      e.bytes = s.end - s.begin;
      e.dtype = entries_[s.entry].second.at("dtype").as_string();
      for (const auto& d : entries_[s.entry].second.at("shape").as_array()) e.shape.push_back(d.as_int());
      info_.push_back(std::move(e));
    }
  }

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.first);
    return out;
  }
  const Shape& shape(const std::string& name) const { return entry(name).shape; }
  const std::string& dtype(const std::string& name) const { return entry(name).dtype; }

  // Copies tensor `name` (shape(name).numel() elements) into dst, converting floating dtypes to T.
  template <class T>
  void read_into(const std::string& name, T* dst) {
    static_assert(std::is_floating_point_v<T>, "read_into: T must be floating");
    const Entry& e = entry(name);
    // the dtype is checked before the copy loop, so an empty integer tensor is refused too
    if (e.dtype != "F32" && e.dtype != "F64" && e.dtype != "BF16" && e.dtype != "F16")
      detail::load_fail(path_, "tensor '", name, "' has dtype ", e.dtype, "; expected a floating dtype (F32, BF16, F16, F64)");
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(e.begin));
    const std::size_t esize = detail::find_dtype(e.dtype)->size, n = e.bytes / esize;
    constexpr std::size_t kChunk = 1 << 16;
    std::vector<unsigned char> buf(std::min(e.bytes, static_cast<std::uint64_t>(kChunk * 8)));
    for (std::size_t done = 0; done < n;) {
      const std::size_t m = std::min(n - done, buf.size() / esize);
      if (!in_.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(m * esize)))
        detail::load_fail(path_, "could not read tensor '", name, "' (", e.bytes, " bytes at file byte ", e.begin, ")");
      const unsigned char* p = buf.data();
      T* out = dst + done;
      if (e.dtype == "F32") for (std::size_t i = 0; i < m; ++i) out[i] = static_cast<T>(detail::load_le<float>(p + 4 * i));
      else if (e.dtype == "F64") for (std::size_t i = 0; i < m; ++i) out[i] = static_cast<T>(detail::load_le<double>(p + 8 * i));
      else if (e.dtype == "BF16")
        for (std::size_t i = 0; i < m; ++i)
          out[i] = static_cast<T>(std::bit_cast<float>(static_cast<std::uint32_t>(detail::load_le<std::uint16_t>(p + 2 * i)) << 16));
      else if (e.dtype == "F16")
        for (std::size_t i = 0; i < m; ++i) out[i] = static_cast<T>(detail::half_to_float(detail::load_le<std::uint16_t>(p + 2 * i)));
      else
        detail::load_fail(path_, "tensor '", name, "' has dtype ", e.dtype, "; expected a floating dtype (F32, BF16, F16, F64)");
      done += m;
    }
  }

  std::map<std::string, std::string> metadata;

 private:
  struct Entry {
    std::uint64_t begin = 0, bytes = 0;
    std::string dtype;
    Shape shape;
  };
  const Entry& entry(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) detail::load_fail(path_, "no tensor named '", name, "'");
    return info_[it->second];
  }

  std::string path_;
  std::ifstream in_;
  std::vector<std::pair<std::string, json::Value>> entries_;
  std::vector<Entry> info_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace bilin::io
