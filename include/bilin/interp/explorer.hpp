// bilin/interp/explorer.hpp — the interactive explorer: one offline HTML page in which a learner
// draws a digit and watches the eigencomponents of a bilinear classifier decide.
//
// Contract:
// - explorer_model(model, comps, norm, top_k) gathers what the page computes with, all in pixel
//   space so the page never needs the embedding:
//     wp = W·E, vp = V·E [h, D]  (W·I without embedding), bw, bv [h] (zeros without bias),
//     head [C, h], linear [C, D] (head·E for a residual block, else zeros), head_bias [C],
//   so that logits(x) = head((wp x + bw) ⊙ (vp x + bv)) + linear x + head_bias EXACTLY equals
//   BilinearClassifier::logits (same algebra, one GEMM folded in double); plus, per class, every
//   eigenvalue (descending, as decompose.hpp orders them) and the top_k components of largest
//   |λ| (by_magnitude order) with their pixel-space pictures and offsets, so a component's
//   contribution λ(inputs·x + offset)² is computed exactly as explain.hpp computes it.
// - write_explorer(path, model, comps, options) writes the page atomically and returns what it
//   wrote. The page is UTF-16 (with a byte-order mark) and carries its numbers as a JS string of
//   15-bit code units (U+3000..U+AFFF): 7.5 payload bits per file byte instead of base64's 6. The
//   reason is size: the paper's model (h = 512) has 0.8 M forward weights, which in fp32 alone
//   exceed the 3 MB the page may weigh, and its logits need about 20 bits per weight to stay
//   within 1e-4 of the checkpoint; base64 would leave fewer. Every number is stored as fp32 bit
//   patterns (exact) except wp and vp, which are stored as fp32 when the page fits
//   options.max_bytes that way, else as per-row scaled integers of the largest width in
//   [options.min_bits, 24] that fits (scale fp32 = max|row| / (2^(bits-1) - 1)). If even
//   min_bits does not fit, bilin::Error("write_explorer", ...) names the sizes. The writer then
//   reads its own file back (read_explorer) and measures max |page logits − model.logits| on
//   options.check_inputs (normalized inputs [N, D]); the page shows that figure.
// - explorer_options(images, labels, N, names, norm, source) fills the options from a test set
//   (uint8 images [N, D], MNIST convention): two samples per class (the first ones in order) and
//   the first min(N, 1000) images, normalized, as the exactness check inputs.
// - read_explorer(path) decodes a written page into the numbers the page's script computes with
//   (dequantized exactly as the script does: (integer) · (fp32 scale) in double), for checks.
// - ExplorerModel::logits / contributions compute in double in the same loop order as the page.
// - The page (explorer_page.hpp) has <canvas id="draw">, the logits in #logit-0 … #logit-(C-1),
//   the top-k slider #k and window.bilinExplain(pixels) for scripted checks; see that header.
// - Errors: a model whose input is not image_h × image_w, class names that do not match the
//   classes, top_k outside [1, n], a sample of the wrong size: bilin::Error naming the value.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/html_report.hpp"
#include "../io/json.hpp"
#include "decompose.hpp"
#include "explorer_page.hpp"
#include "quadratic_classifier.hpp"

namespace bilin::interp {

struct ExplorerSample {
  std::vector<std::uint8_t> pixels;  // image_h × image_w, 0 = background, 255 = ink (MNIST convention)
  std::string caption;               // e.g. "test #17 (label 7)"
};

struct ExplorerOptions {
  index_t top_k = 16;                 // components stored per class (largest |λ|); the k slider's range
  std::size_t max_bytes = 3000000;    // the page's size limit
  int min_bits = 16;                  // narrowest integer width allowed for wp / vp
  int image_h = 28, image_w = 28;
  std::string title = "Bilinear MLP explorer";
  std::string source;                 // shown in the page (checkpoint path)
  std::vector<std::string> class_names;  // empty: "0", "1", ...
  std::vector<ExplorerSample> samples;   // test images offered in the page
  InputNormalization norm;            // pixel scaling the model was trained with
  Tensor<float> check_inputs;         // [N, D] normalized inputs for the exactness figure (optional)
};

inline ExplorerOptions explorer_options(const std::uint8_t* images, const std::vector<std::int64_t>& labels, index_t N,
                                        const std::vector<std::string>& names, const InputNormalization& norm,
                                        const std::string& source, int image_h = 28, int image_w = 28) {
  ExplorerOptions o;
  o.class_names = names, o.norm = norm, o.source = source, o.image_h = image_h, o.image_w = image_w;
  const index_t D = static_cast<index_t>(image_h) * image_w, C = static_cast<index_t>(names.size());
  BILIN_CHECK(static_cast<index_t>(labels.size()) >= N, "explorer_options", labels.size(), " labels for ", N, " images");
  for (index_t c = 0; c < C; ++c)
    for (index_t i = 0, taken = 0; i < N && taken < 2; ++i)
      if (labels[i] == c) {
        ++taken;
        o.samples.push_back({std::vector<std::uint8_t>(images + i * D, images + (i + 1) * D),
                             "test #" + std::to_string(i) + " (" + names[c] + ")"});
      }
  const index_t M = std::min<index_t>(N, 1000);
  o.check_inputs = Tensor<float>::empty({M, D});
  for (index_t i = 0; i < M * D; ++i) o.check_inputs.data()[i] = norm.apply(images[i]);
  return o;
}

struct ExplorerModel {
  index_t classes = 0, input_dim = 0, hidden = 0, form_dim = 0, top_k = 0;
  std::vector<double> wp, vp, bw, bv, head, linear, head_bias, values, inputs, offsets;
  std::vector<index_t> component;  // [C, K] index into the class's Eigencomponents

  double eigenvalue(index_t c, index_t k) const { return values[c * form_dim + component[c * top_k + k]]; }

  // Logits for one normalized input x [D], in the page's loop order.
  std::vector<double> logits(const float* x) const {
    const index_t D = input_dim, h = hidden;
    std::vector<double> g(static_cast<std::size_t>(h)), out(static_cast<std::size_t>(classes));
    for (index_t o = 0; o < h; ++o) {
      double a = bw[o], b = bv[o];
      for (index_t j = 0; j < D; ++j) {
        a += wp[o * D + j] * static_cast<double>(x[j]);
        b += vp[o * D + j] * static_cast<double>(x[j]);
      }
      g[o] = a * b;
    }
    for (index_t c = 0; c < classes; ++c) {
      double s = head_bias[c];
      for (index_t o = 0; o < h; ++o) s += head[c * h + o] * g[o];
      for (index_t j = 0; j < D; ++j) s += linear[c * D + j] * static_cast<double>(x[j]);
      out[c] = s;
    }
    return out;
  }
  // Projection inputs·x + offset of stored component k of class c (contribution = λ · p²).
  double projection(index_t c, index_t k, const float* x) const {
    const double* p = inputs.data() + (c * top_k + k) * input_dim;
    double a = offsets[c * top_k + k];
    for (index_t j = 0; j < input_dim; ++j) a += p[j] * static_cast<double>(x[j]);
    return a;
  }
};

inline ExplorerModel explorer_model(const BilinearClassifier<float>& model, const std::vector<Eigencomponents<float>>& comps,
                                    index_t top_k) {
  model.validate("explorer_model");
  const index_t C = model.num_classes(), D = model.input_dim(), d = model.layer_dim(), h = model.hidden_dim(),
                n = model.form_dim();
  BILIN_CHECK(static_cast<index_t>(comps.size()) == C, "explorer_model", "got components for ", comps.size(),
              " classes, the model has ", C);
  BILIN_CHECK(top_k >= 1 && top_k <= n, "explorer_model", "top_k = ", top_k, " is outside [1, ", n, "]");
  ExplorerModel m;
  m.classes = C, m.input_dim = D, m.hidden = h, m.form_dim = n, m.top_k = top_k;
  const auto as_float = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  const auto to_doubles = [](const Tensor<float>& t) {
    const auto v = detail::dense(t).to_vector();
    return std::vector<double>(v.begin(), v.end());
  };
  const std::vector<double> W = to_doubles(model.w), V = to_doubles(model.v), P = to_doubles(model.head);
  // Fold the embedding into the layer in double, then round once to float.
  const auto fold = [&](const std::vector<double>& L) {
    if (!model.embed.defined()) {
      std::vector<double> out(L);
      for (auto& v : out) v = as_float(v);
      return out;
    }
    const std::vector<double> E = to_doubles(model.embed);
    std::vector<double> out(static_cast<std::size_t>(h * D), 0.0), row(static_cast<std::size_t>(D));
    for (index_t o = 0; o < h; ++o) {
      std::fill(row.begin(), row.end(), 0.0);
      for (index_t t = 0; t < d; ++t) {
        const double l = L[o * d + t];
        for (index_t j = 0; j < D; ++j) row[j] += l * E[t * D + j];
      }
      for (index_t j = 0; j < D; ++j) out[o * D + j] = as_float(row[j]);
    }
    return out;
  };
  m.wp = fold(W);
  m.vp = fold(V);
  m.bw = model.bw.defined() ? to_doubles(model.bw) : std::vector<double>(static_cast<std::size_t>(h), 0.0);
  m.bv = model.bv.defined() ? to_doubles(model.bv) : std::vector<double>(static_cast<std::size_t>(h), 0.0);
  m.head = P;
  m.head_bias = model.head_bias.defined() ? to_doubles(model.head_bias) : std::vector<double>(static_cast<std::size_t>(C), 0.0);
  m.linear.assign(static_cast<std::size_t>(C * D), 0.0);
  if (model.residual) {  // logits gain head·z = (head·E)·x
    const std::vector<double> E = model.embed.defined() ? to_doubles(model.embed) : std::vector<double>();
    for (index_t c = 0; c < C; ++c)
      for (index_t j = 0; j < D; ++j) {
        double s = 0;
        if (model.embed.defined())
          for (index_t t = 0; t < d; ++t) s += P[c * h + t] * E[t * D + j];
        else
          s = P[c * h + j];
        m.linear[c * D + j] = as_float(s);
      }
  }
  m.values.reserve(static_cast<std::size_t>(C * n));
  for (index_t c = 0; c < C; ++c) {
    const Eigencomponents<float>& ec = comps[c];
    BILIN_CHECK(ec.size() == n && ec.input_dim() == D, "explorer_model", "class ", c, " has ", ec.size(),
                " components of input size ", ec.input_dim(), "; the page needs the full decomposition (", n,
                " components of size ", D, ")");
    for (index_t i = 0; i < n; ++i) m.values.push_back(ec.value(i));
    const auto order = ec.by_magnitude();
    for (index_t k = 0; k < top_k; ++k) {
      const index_t i = order[k];
      m.component.push_back(i);
      for (index_t j = 0; j < D; ++j) m.inputs.push_back(ec.input(i)[j]);
      m.offsets.push_back(ec.offsets.data()[i]);
    }
  }
  return m;
}

namespace detail {

// UTF-8 → UTF-16 code units; invalid bytes become U+FFFD.
inline void append_utf16(std::u16string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      ok = (c >> 6) == 2;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      out.push_back(u'\uFFFD');
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += static_cast<std::size_t>(len);
  }
}

inline std::string utf16_to_utf8(std::u16string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char32_t cp = s[i];
    if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < s.size()) cp = 0x10000 + ((cp - 0xD800) << 10) + (s[++i] - 0xDC00);
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6)), out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12)), out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18)), out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// Bits, most significant first; finish() packs them 15 per code unit from U+3000 (no surrogates,
// line breaks, quotes or '<' in that range, so the string is a plain JS literal inside <script>).
class BitPacker {
 public:
  void put(std::uint64_t v, int bits) {
    for (int b = bits - 1; b >= 0; --b) bits_.push_back(static_cast<bool>((v >> b) & 1u));
  }
  void put_f32(double v) {
    const float f = static_cast<float>(v);
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    put(u, 32);
  }
  std::size_t units() const { return (bits_.size() + 14) / 15; }
  std::u16string finish() const {
    std::u16string out;
    out.reserve(units());
    for (std::size_t i = 0; i < bits_.size(); i += 15) {
      unsigned v = 0;
      for (std::size_t b = 0; b < 15; ++b) v = (v << 1) | (i + b < bits_.size() && bits_[i + b] ? 1u : 0u);
      out.push_back(static_cast<char16_t>(kExplorerCodeBase + v));
    }
    return out;
  }
  static constexpr unsigned kExplorerCodeBase = 0x3000;

 private:
  std::vector<bool> bits_;
};

class BitReader {
 public:
  explicit BitReader(std::u16string_view units) : units_(units) {}
  std::uint64_t get(int bits) {
    std::uint64_t v = 0;
    for (int b = 0; b < bits; ++b, ++pos_) {
      const std::size_t u = pos_ / 15;
      BILIN_CHECK(u < units_.size(), "read_explorer", "data ends after ", units_.size(), " code units");
      const unsigned word = static_cast<unsigned>(units_[u]) - BitPacker::kExplorerCodeBase;
      BILIN_CHECK(word < 0x8000u, "read_explorer", "code unit ", u, " is outside U+3000..U+AFFF");
      v = (v << 1) | ((word >> (14 - pos_ % 15)) & 1u);
    }
    return v;
  }
  double get_f32() {
    const auto u = static_cast<std::uint32_t>(get(32));
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }

 private:
  std::u16string_view units_;
  std::size_t pos_ = 0;
};

struct ExplorerTensor {
  const char* name;
  std::vector<double> ExplorerModel::*field;
  index_t rows, cols;
  bool quantizable;
};
inline std::vector<ExplorerTensor> explorer_tensors(const ExplorerModel& m) {
  const index_t C = m.classes, D = m.input_dim, h = m.hidden, K = m.top_k;
  return {{"wp", &ExplorerModel::wp, h, D, true},          {"vp", &ExplorerModel::vp, h, D, true},
          {"bw", &ExplorerModel::bw, 1, h, false},         {"bv", &ExplorerModel::bv, 1, h, false},
          {"head", &ExplorerModel::head, C, h, false},     {"linear", &ExplorerModel::linear, C, D, false},
          {"head_bias", &ExplorerModel::head_bias, 1, C, false}, {"values", &ExplorerModel::values, C, m.form_dim, false},
          {"inputs", &ExplorerModel::inputs, C * K, D, false},   {"offsets", &ExplorerModel::offsets, C, K, false}};
}

// bits = 32: fp32 bit patterns; else per row an fp32 scale, then (q + 2^(bits-1)) in `bits` bits.
inline void pack_tensor(BitPacker& p, const std::vector<double>& v, index_t rows, index_t cols, int bits) {
  if (bits == 32) {
    for (double x : v) p.put_f32(x);
    return;
  }
  const double qmax = std::ldexp(1.0, bits - 1) - 1;
  for (index_t r = 0; r < rows; ++r) {
    double amax = 0;
    for (index_t j = 0; j < cols; ++j) amax = std::max(amax, std::fabs(v[r * cols + j]));
    const float scale = static_cast<float>(amax / qmax);
    p.put_f32(scale);
    for (index_t j = 0; j < cols; ++j) {
      const double q = scale > 0 ? std::clamp(std::nearbyint(v[r * cols + j] / scale), -qmax, qmax) : 0.0;
      p.put(static_cast<std::uint64_t>(q + qmax + 1), bits);
    }
  }
}

inline std::vector<double> unpack_tensor(BitReader& r, index_t rows, index_t cols, int bits) {
  std::vector<double> v(static_cast<std::size_t>(rows * cols));
  if (bits == 32) {
    for (auto& x : v) x = r.get_f32();
    return v;
  }
  const double half = std::ldexp(1.0, bits - 1);
  for (index_t row = 0; row < rows; ++row) {
    const double scale = r.get_f32();
    for (index_t j = 0; j < cols; ++j) v[row * cols + j] = (static_cast<double>(r.get(bits)) - half) * scale;
  }
  return v;
}

inline std::u16string explorer_page_units(const std::string& meta_json, const std::u16string& data) {
  const std::string meta = io::json_for_script(meta_json);  // inside <script>: no "</script>", "<!--"
  const std::string_view page = kExplorerPage;
  const std::string_view meta_mark = "/*BILIN_META*/", data_mark = "/*BILIN_DATA*/";
  const std::size_t mp = page.find(meta_mark), dp = page.find(data_mark);
  BILIN_CHECK(mp != std::string_view::npos && dp != std::string_view::npos && mp < dp, "write_explorer",
              "the page template lacks its placeholders");
  std::u16string out;
  out.push_back(u'\uFEFF');
  append_utf16(out, page.substr(0, mp));
  append_utf16(out, meta);
  append_utf16(out, page.substr(mp + meta_mark.size(), dp - mp - meta_mark.size()));
  out += data;
  append_utf16(out, page.substr(dp + data_mark.size()));
  return out;
}

}  // namespace detail

// Encodings tried for wp / vp, widest first: fp32 (32), then integers of 24 … min_bits bits.
inline std::vector<int> widths_for(int min_bits) {
  std::vector<int> w = {32};
  for (int b = 24; b >= min_bits; --b) w.push_back(b);
  return w;
}

struct ExplorerPage {
  ExplorerModel model;
  json::Value meta;
  std::vector<std::vector<std::uint8_t>> samples;
};

inline ExplorerPage read_explorer(const std::string& path) {
  const std::string bytes = io::read_file(path, "read_explorer");
  BILIN_CHECK(bytes.size() >= 2 && bytes.size() % 2 == 0 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
                  static_cast<unsigned char>(bytes[1]) == 0xFE,
              "read_explorer", path, ": not a UTF-16LE page with a byte-order mark");
  std::u16string units((bytes.size() - 2) / 2, u'\0');
  for (std::size_t i = 0; i < units.size(); ++i)
    units[i] = static_cast<char16_t>(static_cast<unsigned char>(bytes[2 + 2 * i]) |
                                     (static_cast<unsigned char>(bytes[3 + 2 * i]) << 8));
  const auto between = [&](std::u16string_view open, std::u16string_view close) {
    const std::size_t a = units.find(open);
    BILIN_CHECK(a != std::u16string::npos, "read_explorer", path, ": marker not found");
    const std::size_t b = units.find(close, a + open.size());
    BILIN_CHECK(b != std::u16string::npos, "read_explorer", path, ": unterminated block");
    return std::u16string_view(units).substr(a + open.size(), b - a - open.size());
  };
  ExplorerPage out;
  out.meta = json::parse(detail::utf16_to_utf8(between(u"<script id=\"bilin-meta\" type=\"application/json\">", u"</script>")));
  detail::BitReader r(between(u"window.BILIN_DATA = \"", u"\""));
  ExplorerModel& m = out.model;
  const json::Value& dims = out.meta.at("dims");
  m.classes = dims.at("classes").as_int(), m.input_dim = dims.at("input").as_int();
  m.hidden = dims.at("hidden").as_int(), m.form_dim = dims.at("form").as_int(), m.top_k = dims.at("top_k").as_int();
  for (const json::Value& c : out.meta.at("components").as_array())
    for (const json::Value& i : c.as_array()) m.component.push_back(i.as_int());
  const auto tensors = detail::explorer_tensors(m);
  const json::Value& listed = out.meta.at("tensors");
  BILIN_CHECK(listed.as_array().size() == tensors.size(), "read_explorer", path, ": expected ", tensors.size(), " tensors");
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const json::Value& e = listed.as_array()[t];
    BILIN_CHECK(e.at("name").as_string() == tensors[t].name && e.at("rows").as_int() == tensors[t].rows &&
                    e.at("cols").as_int() == tensors[t].cols,
                "read_explorer", path, ": tensor ", t, " is not ", tensors[t].name);
    m.*(tensors[t].field) = detail::unpack_tensor(r, tensors[t].rows, tensors[t].cols, static_cast<int>(e.at("bits").as_int()));
  }
  const index_t px = out.meta.at("image").at("h").as_int() * out.meta.at("image").at("w").as_int();
  for (std::size_t s = 0; s < out.meta.at("samples").as_array().size(); ++s) {
    std::vector<std::uint8_t> img(static_cast<std::size_t>(px));
    for (auto& p : img) p = static_cast<std::uint8_t>(r.get(8));
    out.samples.push_back(std::move(img));
  }
  return out;
}

struct ExplorerResult {
  std::string path;
  std::size_t bytes = 0;
  int bits = 32;             // width of wp / vp (32: fp32, exact)
  index_t top_k = 0;
  index_t checked = 0;       // inputs the exactness figure covers
  double max_abs_err = 0;    // max |page logits − model.logits| over them
};

inline ExplorerResult write_explorer(const std::string& path, const BilinearClassifier<float>& model,
                                     const std::vector<Eigencomponents<float>>& comps, const ExplorerOptions& opt = {}) {
  const index_t D = opt.image_h * opt.image_w, C = model.num_classes();
  BILIN_CHECK(opt.image_h > 0 && opt.image_w > 0 && model.input_dim() == D, "write_explorer", "the model reads ",
              model.input_dim(), " inputs; the page draws ", opt.image_h, "x", opt.image_w, " = ", D, " pixels");
  BILIN_CHECK(opt.class_names.empty() || static_cast<index_t>(opt.class_names.size()) == C, "write_explorer",
              opt.class_names.size(), " class names for ", C, " classes");
  BILIN_CHECK(opt.min_bits >= 8 && opt.min_bits <= 24, "write_explorer", "min_bits = ", opt.min_bits,
              " is outside [8, 24]");
  for (std::size_t s = 0; s < opt.samples.size(); ++s)
    BILIN_CHECK(static_cast<index_t>(opt.samples[s].pixels.size()) == D, "write_explorer", "sample ", s, " has ",
                opt.samples[s].pixels.size(), " pixels, expected ", D);
  const ExplorerModel m = explorer_model(model, comps, std::min(opt.top_k, model.form_dim()));
  const auto tensors = detail::explorer_tensors(m);

  json::Value meta = json::Value::object();
  meta["format"] = 1;
  meta["title"] = opt.title;
  meta["source"] = opt.source;
  json::Value names = json::Value::array();
  for (index_t c = 0; c < C; ++c) names.push_back(opt.class_names.empty() ? std::to_string(c) : opt.class_names[c]);
  meta["classes"] = names;
  json::Value image = json::Value::object();
  image["h"] = opt.image_h, image["w"] = opt.image_w;
  meta["image"] = image;
  json::Value norm = json::Value::object();
  norm["mean"] = opt.norm.mean, norm["std"] = opt.norm.std;
  meta["norm"] = norm;
  json::Value dims = json::Value::object();
  dims["classes"] = m.classes, dims["input"] = m.input_dim, dims["hidden"] = m.hidden, dims["form"] = m.form_dim,
  dims["top_k"] = m.top_k;
  meta["dims"] = dims;
  json::Value arch = json::Value::object();
  arch["embed"] = model.embed.defined(), arch["bias"] = model.bw.defined() || model.bv.defined();
  arch["residual"] = model.residual, arch["head_bias"] = model.head_bias.defined();
  meta["model"] = arch;
  json::Value compj = json::Value::array();
  for (index_t c = 0; c < C; ++c) {
    json::Value row = json::Value::array();
    for (index_t k = 0; k < m.top_k; ++k) row.push_back(m.component[c * m.top_k + k]);
    compj.push_back(row);
  }
  meta["components"] = compj;
  json::Value samples = json::Value::array();
  for (const auto& s : opt.samples) samples.push_back(s.caption);
  meta["samples"] = samples;
  const index_t checked = opt.check_inputs.defined() ? opt.check_inputs.size(0) : 0;

  // Widest encoding of wp / vp that fits: fp32, then integers of 24 bits down to min_bits. The
  // page's size follows from the bit count; the template and meta text do not depend on it.
  const auto build = [&](int b, bool pack) {
    detail::BitPacker p;
    std::size_t total = 0;
    json::Value list = json::Value::array();
    for (const auto& t : tensors) {
      const int tb = t.quantizable ? b : 32;
      total += static_cast<std::size_t>(t.rows * t.cols * tb + (tb < 32 ? t.rows * 32 : 0));
      if (pack) detail::pack_tensor(p, m.*(t.field), t.rows, t.cols, tb);
      json::Value e = json::Value::object();
      e["name"] = t.name, e["rows"] = t.rows, e["cols"] = t.cols, e["bits"] = tb;
      list.push_back(e);
    }
    for (const auto& s : opt.samples) {
      total += 8 * s.pixels.size();
      if (pack)
        for (std::uint8_t px : s.pixels) p.put(px, 8);
    }
    meta["tensors"] = list;
    meta["bits"] = b;
    // The exactness figure is measured after writing; reserve its place with a longest number.
    json::Value check = json::Value::object();
    check["inputs"] = checked, check["max_abs_err"] = 1.2345678901234567e-300;
    meta["check"] = check;
    std::u16string units = detail::explorer_page_units(meta.dump(), pack ? p.finish() : std::u16string());
    return std::make_pair(units, 2 * (units.size() + (pack ? 0 : (total + 14) / 15)));
  };
  int bits = 0;
  std::size_t smallest = 0;
  for (int b : widths_for(opt.min_bits)) {
    smallest = build(b, false).second;
    if (smallest <= opt.max_bytes) {
      bits = b;
      break;
    }
  }
  BILIN_CHECK(bits > 0, "write_explorer", "the page needs ", smallest, " bytes even with ", opt.min_bits,
              "-bit weights (hidden ", m.hidden, ", ", m.top_k, " components per class); the limit is ", opt.max_bytes,
              " bytes: lower top_k or raise max_bytes");
  std::u16string page = build(bits, true).first;

  const auto write_units = [&](const std::u16string& units) {
    std::string bytes(2 * units.size(), '\0');
    for (std::size_t i = 0; i < units.size(); ++i) {
      bytes[2 * i] = static_cast<char>(units[i] & 0xFF);
      bytes[2 * i + 1] = static_cast<char>(units[i] >> 8);
    }
    io::write_file_atomic(path, bytes);
    return bytes.size();
  };
  ExplorerResult res;
  res.path = path, res.bits = bits, res.top_k = m.top_k, res.checked = checked;
  res.bytes = write_units(page);
  if (checked > 0) {
    // Read the file back, as the page does, and compare its logits with the model's forward pass.
    const ExplorerModel back = read_explorer(path).model;
    const Tensor<float> X = detail::dense(opt.check_inputs);
    BILIN_CHECK(X.dim() == 2 && X.size(1) == D, "write_explorer", "check inputs must be [N, ", D, "], got ",
                to_string(X.shape()));
    const Tensor<float> ref = model.logits(X);
    for (index_t i = 0; i < checked; ++i) {
      const auto l = back.logits(X.data() + i * D);
      for (index_t c = 0; c < C; ++c)
        res.max_abs_err = std::max(res.max_abs_err, std::fabs(l[c] - static_cast<double>(ref.data()[i * C + c])));
    }
    json::Value check = json::Value::object();
    check["inputs"] = checked, check["max_abs_err"] = res.max_abs_err;
    meta["check"] = check;
    // Same numbers, only the figure changed: the payload is rebuilt identically.
    const std::size_t a = page.find(u"window.BILIN_DATA = \"");
    const std::size_t b = page.find(u'"', a + 21);
    const std::u16string data = page.substr(a + 21, b - a - 21);
    page = detail::explorer_page_units(meta.dump(), data);
    res.bytes = write_units(page);
  }
  return res;
}

}  // namespace bilin::interp
