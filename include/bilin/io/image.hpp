// bilin/io/image.hpp — 8-bit images in memory: colormaps, tiled grids, resampling, and MNIST-style
// preprocessing of arbitrary pictures. No file I/O here (see png.hpp).
//
// Contract:
// - Image is width × height × channels bytes, row-major, channels interleaved (1 gray, 2 gray +
//   alpha, 3 RGB, 4 RGBA). Row 0 is the top.
// - rdbu(t), t in [-1, 1] (clamped; NaN → mid grey so it cannot pass for zero): matplotlib's
//   "RdBu_r" — the ColorBrewer RdBu anchors, reversed — so negative = blue (t = -1 → #053061),
//   zero = white, positive = red (t = +1 → #67001f), linear interpolation in sRGB between the
//   11 anchors. One deliberate difference: the midpoint is pure white (#ffffff) instead of
//   ColorBrewer's #f7f7f7, so an exactly-zero weight is indistinguishable from the page.
//   gray(t), t in [0, 1]: black → white.
// - image_grid(...) tiles N images of h × w floats into one RGB Image: `cols` tiles per row, each
//   upscaled by an integer factor with nearest-neighbour (so 28×28 pixels stay crisp), `pad`
//   background pixels around tiles and an optional 1-pixel frame. With the RdBu map the scale
//   is symmetric: value v maps to rdbu(v / s) where s = vmax if given, else max |v| of that tile
//   (per_image) or of all tiles (shared); s = 0 draws white. With the gray maps v maps to
//   (v - lo) / (hi - lo) with [lo, hi] = [vmin, vmax] if given, else the tile's or all tiles'
//   min..max.
// - resize_bilinear(...) resamples with pixel centres aligned (PyTorch align_corners=False,
//   no antialiasing). resize(...) is the one to use for photos: per axis it averages the
//   covered source area when shrinking (so thin strokes survive a 10× reduction) and
//   interpolates linearly when enlarging.
// - mnist_style(image) turns any picture of a digit into 28×28 floats in [0, 1] the way MNIST
//   was made: grayscale (alpha composited over white), ink made bright (inverted when the
//   border is lighter than 0.5, unless told), background level (median) subtracted and
//   contrast stretched, cropped to the ink's bounding box, scaled to fit a 20×20 box keeping
//   the aspect ratio (antialiased), then placed in 28×28 so the centre of mass sits on pixel
//   (14, 14) as in MNIST (or the box is centred geometrically when center_of_mass = false). A picture with
//   no contrast throws bilin::Error("mnist_style", ...).
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace bilin::io {

struct RGB {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const RGB&, const RGB&) = default;
};

struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int w, int h, int c, std::uint8_t fill = 0) : width(w), height(h), channels(c) {
    BILIN_CHECK(w >= 0 && h >= 0 && c >= 1 && c <= 4, "Image", "bad geometry ", w, "x", h, "x", c);
    pixels.assign(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * static_cast<std::size_t>(c), fill);
  }
  std::uint8_t* pixel(int x, int y) {
    return pixels.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
                               static_cast<std::size_t>(channels);
  }
  const std::uint8_t* pixel(int x, int y) const { return const_cast<Image*>(this)->pixel(x, y); }
  // Write a colour; gray images get its luminance, alpha channels become opaque.
  void set(int x, int y, RGB c) {
    std::uint8_t* p = pixel(x, y);
    if (channels >= 3) {
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
      if (channels == 4) p[3] = 255;
    } else {
      p[0] = static_cast<std::uint8_t>(std::lround(0.299 * c.r + 0.587 * c.g + 0.114 * c.b));
      if (channels == 2) p[1] = 255;
    }
  }
  RGB rgb(int x, int y) const {
    const std::uint8_t* p = pixel(x, y);
    return channels >= 3 ? RGB{p[0], p[1], p[2]} : RGB{p[0], p[0], p[0]};
  }
};

// ---------------------------------------------------------------------- colormaps
inline RGB rdbu(double t) {
  static constexpr std::array<RGB, 11> anchors = {{{5, 48, 97},
                                                   {33, 102, 172},
                                                   {67, 147, 195},
                                                   {146, 197, 222},
                                                   {209, 229, 240},
                                                   {255, 255, 255},
                                                   {253, 219, 199},
                                                   {244, 165, 130},
                                                   {214, 96, 77},
                                                   {178, 24, 43},
                                                   {103, 0, 31}}};
  if (std::isnan(t)) return {128, 128, 128};
  t = std::clamp(t, -1.0, 1.0);
  const double s = (t + 1.0) * 5.0;  // 0..10
  const int i = std::min(9, static_cast<int>(s));
  const double f = s - i;
  const auto mix = [&](std::uint8_t a, std::uint8_t b) {
    return static_cast<std::uint8_t>(std::lround(a + (static_cast<double>(b) - a) * f));
  };
  return {mix(anchors[i].r, anchors[i + 1].r), mix(anchors[i].g, anchors[i + 1].g), mix(anchors[i].b, anchors[i + 1].b)};
}

inline RGB gray(double t) {
  if (std::isnan(t)) return {255, 0, 255};  // impossible in a gray map, so a NaN is visible
  const auto v = static_cast<std::uint8_t>(std::lround(std::clamp(t, 0.0, 1.0) * 255.0));
  return {v, v, v};
}

enum class Colormap {
  rdbu,          // symmetric diverging: blue < 0 < red, zero white
  gray,          // low black, high white (MNIST digits as usually shown: white ink on black)
  gray_inverted  // low white, high black (ink on paper)
};

inline RGB apply_colormap(Colormap cm, double v, double lo, double hi) {
  if (cm == Colormap::rdbu) return hi > 0 ? rdbu(v / hi) : RGB{255, 255, 255};
  const double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  return gray(cm == Colormap::gray ? t : 1.0 - t);
}

// ---------------------------------------------------------------------- grids
struct GridOptions {
  int cols = 10;             // tiles per row
  int upscale = 4;           // nearest-neighbour factor per pixel
  int pad = 2;               // background pixels between and around tiles
  bool shared_scale = false; // one scale for every tile (else per tile)
  double vmin = 0, vmax = 0; // vmax > 0: fixed scale (rdbu: ±vmax; gray: [vmin, vmax])
  Colormap cmap = Colormap::rdbu;
  bool frame = true;         // 1-pixel frame around each tile (needs pad >= 1)
  RGB background{255, 255, 255};
  RGB frame_color{185, 185, 185};
};

inline Image image_grid(const float* data, int count, int h, int w, const GridOptions& o = {}) {
  BILIN_CHECK(count >= 0 && h > 0 && w > 0, "image_grid", "bad tile geometry: ", count, " tiles of ", h, "x", w);
  BILIN_CHECK(o.cols > 0 && o.upscale > 0 && o.pad >= 0, "image_grid", "cols and upscale must be positive and pad ",
              "non-negative (cols=", o.cols, ", upscale=", o.upscale, ", pad=", o.pad, ")");
  const std::size_t tile = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  const int cols = std::max(1, std::min(o.cols, std::max(count, 1)));
  const int rows = std::max(1, (count + cols - 1) / cols);
  const int th = h * o.upscale, tw = w * o.upscale;
  Image img(cols * tw + (cols + 1) * o.pad, rows * th + (rows + 1) * o.pad, 3);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) img.set(x, y, o.background);

  // Scale of a set of values: symmetric max |v| for rdbu, [min, max] for gray (finite values only).
  const auto range = [&](const float* p, std::size_t n, double& lo, double& hi) {
    lo = std::numeric_limits<double>::infinity(), hi = -lo;
    double amax = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(p[i])) continue;
      lo = std::min(lo, static_cast<double>(p[i]));
      hi = std::max(hi, static_cast<double>(p[i]));
      amax = std::max(amax, std::abs(static_cast<double>(p[i])));
    }
    if (o.cmap == Colormap::rdbu) lo = -amax, hi = amax;
    if (!(lo <= hi)) lo = 0, hi = 0;
  };
  double slo = 0, shi = 0;
  if (o.vmax > 0) {
    slo = o.cmap == Colormap::rdbu ? -o.vmax : o.vmin;
    shi = o.vmax;
  } else if (o.shared_scale) {
    range(data, tile * static_cast<std::size_t>(count), slo, shi);
  }
  for (int k = 0; k < count; ++k) {
    const float* p = data + tile * static_cast<std::size_t>(k);
    double lo = slo, hi = shi;
    if (o.vmax <= 0 && !o.shared_scale) range(p, tile, lo, hi);
    const int x0 = o.pad + (k % cols) * (tw + o.pad), y0 = o.pad + (k / cols) * (th + o.pad);
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < w; ++j) {
        const RGB c = apply_colormap(o.cmap, p[static_cast<std::size_t>(i) * w + j], lo, hi);
        for (int dy = 0; dy < o.upscale; ++dy)
          for (int dx = 0; dx < o.upscale; ++dx) img.set(x0 + j * o.upscale + dx, y0 + i * o.upscale + dy, c);
      }
    if (o.frame && o.pad >= 1) {
      for (int x = x0 - 1; x <= x0 + tw; ++x) img.set(x, y0 - 1, o.frame_color), img.set(x, y0 + th, o.frame_color);
      for (int y = y0 - 1; y <= y0 + th; ++y) img.set(x0 - 1, y, o.frame_color), img.set(x0 + tw, y, o.frame_color);
    }
  }
  return img;
}

inline Image image_grid(const std::vector<std::vector<float>>& images, int h, int w, const GridOptions& o = {}) {
  std::vector<float> flat;
  flat.reserve(images.size() * static_cast<std::size_t>(h) * static_cast<std::size_t>(w));
  for (std::size_t k = 0; k < images.size(); ++k) {
    BILIN_CHECK(images[k].size() == static_cast<std::size_t>(h) * static_cast<std::size_t>(w), "image_grid", "image ",
                k, " has ", images[k].size(), " values, expected ", h, "x", w);
    flat.insert(flat.end(), images[k].begin(), images[k].end());
  }
  return image_grid(flat.data(), static_cast<int>(images.size()), h, w, o);
}

// Any tensor whose elements are N consecutive h × w images ([N,h,w], [N,h*w], [h,w], ...).
template <class T>
Image image_grid(const Tensor<T>& t, int h, int w, const GridOptions& o = {}) {
  BILIN_CHECK(h > 0 && w > 0 && t.numel() % (static_cast<index_t>(h) * w) == 0, "image_grid", "tensor of shape ",
              to_string(t.shape()), " is not a stack of ", h, "x", w, " images");
  const auto v = t.to_vector();
  std::vector<float> f(v.begin(), v.end());
  return image_grid(f.data(), static_cast<int>(t.numel() / (static_cast<index_t>(h) * w)), h, w, o);
}

// Nearest-neighbour enlargement by an integer factor.
inline Image upscale_nearest(const Image& src, int factor) {
  BILIN_CHECK(factor >= 1, "upscale_nearest", "factor must be >= 1, got ", factor);
  Image out(src.width * factor, src.height * factor, src.channels);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      std::copy_n(src.pixel(x / factor, y / factor), src.channels, out.pixel(x, y));
  return out;
}

// ---------------------------------------------------------------------- resampling
namespace detail {
struct Tap {
  int src;
  float w;
};
// Per output index, the source indices and weights along one axis.
inline std::vector<std::vector<Tap>> axis_taps(int n_src, int n_dst, bool area) {
  std::vector<std::vector<Tap>> taps(static_cast<std::size_t>(n_dst));
  const double scale = static_cast<double>(n_src) / n_dst;
  for (int o = 0; o < n_dst; ++o) {
    auto& t = taps[static_cast<std::size_t>(o)];
    if (area && scale > 1.0) {
      const double a = o * scale, b = (o + 1) * scale;
      for (int s = static_cast<int>(std::floor(a)); s < static_cast<int>(std::ceil(b)) && s < n_src; ++s) {
        const double cover = std::min<double>(b, s + 1) - std::max<double>(a, s);
        if (cover > 1e-12) t.push_back({s, static_cast<float>(cover / scale)});
      }
    } else {
      const double x = std::clamp((o + 0.5) * scale - 0.5, 0.0, static_cast<double>(n_src - 1));
      const int x0 = static_cast<int>(std::floor(x));
      const int x1 = std::min(x0 + 1, n_src - 1);
      const double f = x - x0;
      t.push_back({x0, static_cast<float>(1.0 - f)});
      if (x1 != x0 && f > 0) t.push_back({x1, static_cast<float>(f)});
    }
  }
  return taps;
}
inline std::vector<float> resample(const float* src, int sh, int sw, int dh, int dw, bool area) {
  BILIN_CHECK(sh > 0 && sw > 0 && dh > 0 && dw > 0, "resize", "cannot resize ", sh, "x", sw, " to ", dh, "x", dw);
  const auto tx = axis_taps(sw, dw, area), ty = axis_taps(sh, dh, area);
  std::vector<float> tmp(static_cast<std::size_t>(sh) * dw), out(static_cast<std::size_t>(dh) * dw);
  for (int y = 0; y < sh; ++y)
    for (int x = 0; x < dw; ++x) {
      float acc = 0;
      for (const Tap& t : tx[static_cast<std::size_t>(x)]) acc += t.w * src[static_cast<std::size_t>(y) * sw + t.src];
      tmp[static_cast<std::size_t>(y) * dw + x] = acc;
    }
  for (int y = 0; y < dh; ++y)
    for (int x = 0; x < dw; ++x) {
      float acc = 0;
      for (const Tap& t : ty[static_cast<std::size_t>(y)]) acc += t.w * tmp[static_cast<std::size_t>(t.src) * dw + x];
      out[static_cast<std::size_t>(y) * dw + x] = acc;
    }
  return out;
}
}  // namespace detail

inline std::vector<float> resize_bilinear(const float* src, int sh, int sw, int dh, int dw) {
  return detail::resample(src, sh, sw, dh, dw, false);
}
inline std::vector<float> resize(const float* src, int sh, int sw, int dh, int dw) {
  return detail::resample(src, sh, sw, dh, dw, true);
}

// Grayscale floats in [0, 1] (1 = white); alpha is composited over a white background.
inline std::vector<float> to_gray(const Image& img) {
  std::vector<float> out(static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height));
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.pixel(x, y);
      double v = img.channels >= 3 ? (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0 : p[0] / 255.0;
      if (img.channels == 2 || img.channels == 4) {
        const double a = p[img.channels - 1] / 255.0;
        v = a * v + (1.0 - a);
      }
      out[static_cast<std::size_t>(y) * img.width + x] = static_cast<float>(v);
    }
  return out;
}

struct MnistStyleOptions {
  enum class Invert { automatic, yes, no } invert = Invert::automatic;
  bool center_of_mass = true;  // MNIST: centre of mass at the centre; false: centre the box
  int box = 20;                // the digit's longer side after scaling
  int size = 28;               // output is size × size
};

// gray: h × w floats in [0, 1] (1 = white).
inline std::vector<float> mnist_style(const float* gray_px, int h, int w, const MnistStyleOptions& o = {}) {
  BILIN_CHECK(h > 0 && w > 0, "mnist_style", "empty image (", w, "x", h, ")");
  BILIN_CHECK(o.box > 0 && o.box <= o.size, "mnist_style", "box ", o.box, " must be in 1..size (", o.size, ")");
  const std::size_t n = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  std::vector<float> v(gray_px, gray_px + n);
  bool invert = o.invert == MnistStyleOptions::Invert::yes;
  if (o.invert == MnistStyleOptions::Invert::automatic) {
    double border = 0;
    int cnt = 0;
    for (int x = 0; x < w; ++x) border += v[static_cast<std::size_t>(x)] + v[(static_cast<std::size_t>(h) - 1) * w + x], cnt += 2;
    for (int y = 0; y < h; ++y) border += v[static_cast<std::size_t>(y) * w] + v[static_cast<std::size_t>(y) * w + w - 1], cnt += 2;
    invert = border / cnt > 0.5;  // light paper, dark ink
  }
  if (invert)
    for (float& x : v) x = 1.0f - x;
  // The background is the most common level; the median finds it when ink covers < half the picture.
  std::vector<float> sorted = v;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n / 2), sorted.end());
  const float bg = sorted[n / 2];
  const float mx = *std::max_element(v.begin(), v.end());
  BILIN_CHECK(mx - bg > 1e-3f, "mnist_style", "the ", w, "x", h, " image has no visible ink (background level ", bg,
              ", brightest ink ", mx, " after ", invert ? "inverting" : "not inverting", ")");
  for (float& x : v) x = std::clamp((x - bg) / (mx - bg), 0.0f, 1.0f);

  int y0 = h, y1 = -1, x0 = w, x1 = -1;  // bounding box of clear ink
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (v[static_cast<std::size_t>(y) * w + x] > 0.15f) y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
  const int bh = y1 - y0 + 1, bw = x1 - x0 + 1;
  std::vector<float> crop(static_cast<std::size_t>(bh) * bw);
  for (int y = 0; y < bh; ++y)
    for (int x = 0; x < bw; ++x) crop[static_cast<std::size_t>(y) * bw + x] = v[static_cast<std::size_t>(y0 + y) * w + x0 + x];
  const double scale = static_cast<double>(o.box) / std::max(bh, bw);
  const int nh = std::clamp(static_cast<int>(std::lround(bh * scale)), 1, o.box);
  const int nw = std::clamp(static_cast<int>(std::lround(bw * scale)), 1, o.box);
  std::vector<float> digit = resize(crop.data(), bh, bw, nh, nw);

  int oy = (o.size - nh) / 2, ox = (o.size - nw) / 2;
  if (o.center_of_mass) {
    double m = 0, my = 0, mxx = 0;
    for (int y = 0; y < nh; ++y)
      for (int x = 0; x < nw; ++x) {
        const double p = digit[static_cast<std::size_t>(y) * nw + x];
        m += p, my += p * y, mxx += p * x;
      }
    // MNIST puts the centre of mass on pixel index (size/2, size/2) — (14, 14) for 28×28, half a
    // pixel below/right of the geometric centre. Checked against the real test digits.
    if (m > 0) {
      oy = static_cast<int>(std::lround(o.size / 2 - my / m));
      ox = static_cast<int>(std::lround(o.size / 2 - mxx / m));
    }
  }
  std::vector<float> out(static_cast<std::size_t>(o.size) * o.size, 0.0f);
  for (int y = 0; y < nh; ++y)
    for (int x = 0; x < nw; ++x) {
      const int ty = oy + y, tx = ox + x;
      if (ty >= 0 && ty < o.size && tx >= 0 && tx < o.size)
        out[static_cast<std::size_t>(ty) * o.size + tx] = std::clamp(digit[static_cast<std::size_t>(y) * nw + x], 0.0f, 1.0f);
    }
  return out;
}

inline std::vector<float> mnist_style(const Image& img, const MnistStyleOptions& o = {}) {
  const auto g = to_gray(img);
  return mnist_style(g.data(), img.height, img.width, o);
}

}  // namespace bilin::io
