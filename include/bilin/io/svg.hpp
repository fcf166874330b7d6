// bilin/io/svg.hpp — standalone SVG plots: lines, scatter, stems (spectra), bars, reference lines.
//
// Contract:
// - Plot collects Series and renders one self-contained SVG document (svg()) or writes it
//   atomically (write(path)). The same string can be inlined into HTML.
// - Axes get "nice" ticks (steps 1, 2, 5 or 2.5 × 10^k, at most 7 per axis, the step whose
//   widened range fits the data tightest) or decade ticks on a log axis (with 2 and 5 in between when the range is short).
//   Custom ticks (value, label) replace the automatic ones on an axis, e.g. to label the last
//   point of a truncation curve "all".
// - Series kinds: line (optionally with markers), scatter, stem (a vertical line from 0 to each
//   value with a dot: eigenvalue spectra), bar (bars from 0, width 80% of the smallest x
//   spacing), hline (a horizontal reference line at y[0] across the plot). Colours default to
//   matplotlib's tab10 cycle. Stems and bars always include 0 in the y range.
// - Points that are NaN or infinite, or not positive on a log axis, are skipped (a line breaks
//   there), so the output never contains "nan"/"inf". With no drawable data at all, empty axes
//   over [0, 1] are drawn.
// - All text (title, labels, legend, tick labels) is XML-escaped. The legend (series with a
//   non-empty name) goes in the plot corner with the fewest data points under it.
// - Each rendered SVG uses a fresh clip-path id, so several plots can be inlined in one page.
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "atomic_file.hpp"

namespace bilin::io {

struct Series {
  enum class Kind { line, scatter, stem, bar, hline };
  std::string name;  // legend label; empty = not in the legend
  std::vector<double> x, y;
  Kind kind = Kind::line;
  std::string color;     // any CSS colour; empty = next colour of the cycle
  bool markers = true;   // dots on the points of a line
  double width = 2.0;    // stroke width
  std::string dash;      // SVG stroke-dasharray, e.g. "6,4"
  double marker_size = 3.5;
};

struct PlotOptions {
  std::string title, xlabel, ylabel;
  int width = 640, height = 400;
  bool logx = false, logy = false;
  std::optional<double> xmin, xmax, ymin, ymax;  // fixed limits (otherwise from the data)
  bool legend = true;
  bool grid = true;
  std::vector<std::pair<double, std::string>> xticks, yticks;  // custom ticks replace automatic ones
};

inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text; drop them.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') out += c;
    }
  }
  return out;
}

// Tick positions for [lo, hi]: multiples of a nice step; `lo`/`hi` are widened to whole steps.
inline std::vector<double> nice_ticks(double& lo, double& hi, int target = 6) {
  if (!(hi > lo)) {
    const double d = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= d, hi += d;
  }
  // Among steps {1, 2, 5, 2.5} × 10^k near range/target, take the one whose widened range fits
  // the data tightest with at most target + 1 ticks (earlier candidates win ties).
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 0, best_lo = lo, best_hi = hi, best_span = std::numeric_limits<double>::infinity();
  for (double scale : {mag, 10 * mag})
    for (double m : {1.0, 2.0, 5.0, 2.5}) {
      const double st = m * scale;
      const double a = std::floor(lo / st + 1e-9) * st, b = std::ceil(hi / st - 1e-9) * st;
      const double n = std::round((b - a) / st) + 1;
      if (n > target + 1 || b - a >= best_span * (1 - 1e-9)) continue;
      step = st, best_lo = a, best_hi = b, best_span = b - a;
    }
  if (step == 0) {  // cannot happen for finite input; keep a sane fallback
    step = 10 * mag;
    best_lo = std::floor(lo / step) * step, best_hi = std::ceil(hi / step) * step;
  }
  lo = best_lo;
  hi = best_hi;
  std::vector<double> t;
  for (double v = lo; v <= hi + step * 1e-6; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

namespace detail {

inline std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s == "-0" || s.rfind("-0.", 0) == 0) {
    bool all_zero = true;
    for (char c : s.substr(1))
      if (c != '0' && c != '.') all_zero = false;
    if (all_zero) s = s.substr(1);
  }
  return s;
}

// Tick label for a value on a linear axis whose ticks are `step` apart.
inline std::string tick_label(double v, double step) {
  const double a = std::max(std::abs(v), step);
  if (a >= 1e6 || (a < 1e-3 && v != 0)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
  }
  int dec = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  // 2.5-steps need one more digit than their magnitude suggests.
  if (std::abs(step / std::pow(10.0, -dec) - std::round(step / std::pow(10.0, -dec))) > 1e-6) ++dec;
  return fmt(v, std::min(dec, 8));
}

inline std::string log_tick_label(double v) {
  const double e = std::log10(v);
  if (e >= -3 && e <= 5) {
    const int dec = std::max(0, static_cast<int>(-std::floor(e + 1e-9)));
    return fmt(v, dec);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0e", v);
  return buf;
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double px0 = 0, px1 = 1;  // pixel positions of lo and hi
  double map(double v) const {
    const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
    const double t = ((log ? std::log10(v) : v) - a) / (b - a);
    return px0 + t * (px1 - px0);
  }
  bool valid(double v) const { return std::isfinite(v) && (!log || v > 0); }
};

// Ticks (value, label) and the final axis range.
inline std::vector<std::pair<double, std::string>> make_ticks(double& lo, double& hi, bool log,
                                                              const std::optional<double>& fix_lo,
                                                              const std::optional<double>& fix_hi,
                                                              const std::vector<std::pair<double, std::string>>& custom) {
  std::vector<std::pair<double, std::string>> out;
  if (log) {
    if (!(hi > lo)) lo /= 10, hi *= 10;
    double elo = std::floor(std::log10(lo) + 1e-9), ehi = std::ceil(std::log10(hi) - 1e-9);
    if (ehi <= elo) ehi = elo + 1;
    if (!fix_lo) lo = std::pow(10.0, elo);
    if (!fix_hi) hi = std::pow(10.0, ehi);
    const bool fine = (ehi - elo) <= 2;
    for (double e = elo; e <= ehi; ++e)
      for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.emplace_back(v, log_tick_label(v));
      }
  } else {
    double a = lo, b = hi;
    const auto t = nice_ticks(a, b);
    const double step = t.size() > 1 ? t[1] - t[0] : 1.0;
    if (!fix_lo) lo = a;
    if (!fix_hi) hi = b;
    for (double v : t)
      if (v >= lo - step * 1e-6 && v <= hi + step * 1e-6) out.emplace_back(v, tick_label(v, step));
  }
  if (!custom.empty()) {
    out.clear();
    for (const auto& c : custom)
      if (std::isfinite(c.first) && (!log || c.first > 0)) out.push_back(c);
  }
  return out;
}

inline double text_width(const std::string& s, double font_px) { return 0.6 * font_px * static_cast<double>(s.size()); }

}  // namespace detail

class Plot {
 public:
  explicit Plot(PlotOptions o = {}) : o_(std::move(o)) {}

  PlotOptions& options() { return o_; }
  Plot& add(Series s) {
    BILIN_CHECK(s.kind == Series::Kind::hline || s.x.size() == s.y.size(), "plot", "series '", s.name, "' has ",
                s.x.size(), " x values but ", s.y.size(), " y values");
    BILIN_CHECK(s.kind != Series::Kind::hline || s.y.size() == 1, "plot", "hline '", s.name, "' needs exactly one y");
    series_.push_back(std::move(s));
    return *this;
  }
  Plot& line(std::string name, std::vector<double> x, std::vector<double> y, std::string color = "") {
    return add(make(Series::Kind::line, std::move(name), std::move(x), std::move(y), std::move(color)));
  }
  Plot& scatter(std::string name, std::vector<double> x, std::vector<double> y, std::string color = "") {
    return add(make(Series::Kind::scatter, std::move(name), std::move(x), std::move(y), std::move(color)));
  }
  Plot& stem(std::string name, std::vector<double> x, std::vector<double> y, std::string color = "") {
    return add(make(Series::Kind::stem, std::move(name), std::move(x), std::move(y), std::move(color)));
  }
  Plot& bar(std::string name, std::vector<double> x, std::vector<double> y, std::string color = "") {
    return add(make(Series::Kind::bar, std::move(name), std::move(x), std::move(y), std::move(color)));
  }
  Plot& hline(double y, std::string name = "", std::string color = "#555555", std::string dash = "5,4") {
    Series s = make(Series::Kind::hline, std::move(name), {}, {y}, std::move(color));
    s.dash = std::move(dash);
    s.width = 1.5;
    return add(std::move(s));
  }

  // Chainable setters for the options (an alternative to filling PlotOptions).
  Plot& title(std::string t) { return o_.title = std::move(t), *this; }
  Plot& xlabel(std::string t) { return o_.xlabel = std::move(t), *this; }
  Plot& ylabel(std::string t) { return o_.ylabel = std::move(t), *this; }
  Plot& size(int w, int h) { return o_.width = w, o_.height = h, *this; }
  Plot& logx(bool on = true) { return o_.logx = on, *this; }
  Plot& logy(bool on = true) { return o_.logy = on, *this; }
  Plot& xlim(double lo, double hi) { return o_.xmin = lo, o_.xmax = hi, *this; }
  Plot& ylim(double lo, double hi) { return o_.ymin = lo, o_.ymax = hi, *this; }
  Plot& xticks(std::vector<std::pair<double, std::string>> t) { return o_.xticks = std::move(t), *this; }
  Plot& yticks(std::vector<std::pair<double, std::string>> t) { return o_.yticks = std::move(t), *this; }
  Plot& legend(bool on) { return o_.legend = on, *this; }
  Plot& grid(bool on) { return o_.grid = on, *this; }

  std::string svg() const;
  void write(const std::string& path) const { write_file_atomic(path, svg()); }

 private:
  static Series make(Series::Kind kind, std::string name, std::vector<double> x, std::vector<double> y,
                     std::string color) {
    Series s;
    s.kind = kind;
    s.name = std::move(name);
    s.x = std::move(x);
    s.y = std::move(y);
    s.color = std::move(color);
    return s;
  }

  // The axes, their ticks and the plot frame in pixels: what every drawing step needs.
  struct Frame {
    detail::Axis ax, ay;
    std::vector<std::pair<double, std::string>> xt, yt;
    double W = 0, H = 0, left = 0, top = 0, pw = 0, ph = 0;
    double min_dx = 1;  // smallest x spacing of bar series (bar width)
    double font = 12;
    std::vector<std::string> colors;  // one per series
    std::string clip_id;
  };
  Frame frame() const;
  std::string axes_svg(const Frame& f) const;
  std::string series_svg(const Frame& f, std::size_t k, std::vector<std::pair<double, double>>& drawn) const;
  std::string legend_svg(const Frame& f, const std::vector<std::pair<double, double>>& drawn) const;

  PlotOptions o_;
  std::vector<Series> series_;
};

// Data ranges (with the axes' ticks widening them) and the layout of the frame.
inline Plot::Frame Plot::frame() const {
  static constexpr std::array<const char*, 10> palette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  static std::atomic<unsigned> plot_counter{0};
  Frame f;
  f.clip_id = "bilin-plot-clip-" + std::to_string(plot_counter.fetch_add(1));
  f.W = std::max(120, o_.width), f.H = std::max(100, o_.height);
  detail::Axis& ax = f.ax;
  detail::Axis& ay = f.ay;
  ax.log = o_.logx, ay.log = o_.logy;
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  double min_dx = std::numeric_limits<double>::infinity();
  bool want_zero_y = false;
  for (const auto& s : series_) {
    if (s.kind == Series::Kind::hline) {
      if (ay.valid(s.y[0])) ylo = std::min(ylo, s.y[0]), yhi = std::max(yhi, s.y[0]);
      continue;
    }
    if (s.kind == Series::Kind::stem || s.kind == Series::Kind::bar) want_zero_y = true;
    std::vector<double> xs;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!ax.valid(s.x[i]) || !ay.valid(s.y[i])) continue;
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      xs.push_back(s.x[i]);
    }
    if (s.kind == Series::Kind::bar) {
      std::sort(xs.begin(), xs.end());
      for (std::size_t i = 1; i < xs.size(); ++i)
        if (xs[i] > xs[i - 1]) min_dx = std::min(min_dx, xs[i] - xs[i - 1]);
    }
  }
  if (!(xlo <= xhi)) xlo = ax.log ? 1 : 0, xhi = ax.log ? 10 : 1;
  if (!(ylo <= yhi)) ylo = ay.log ? 1 : 0, yhi = ay.log ? 10 : 1;
  if (want_zero_y && !ay.log) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);
  if (!std::isfinite(min_dx)) min_dx = 1.0;
  bool has_bars = false;
  for (const auto& s : series_) has_bars |= s.kind == Series::Kind::bar;
  if (has_bars && !ax.log) xlo -= 0.5 * min_dx, xhi += 0.5 * min_dx;
  if (o_.xmin) xlo = *o_.xmin;
  if (o_.xmax) xhi = *o_.xmax;
  if (o_.ymin) ylo = *o_.ymin;
  if (o_.ymax) yhi = *o_.ymax;
  f.xt = detail::make_ticks(xlo, xhi, ax.log, o_.xmin, o_.xmax, o_.xticks);
  f.yt = detail::make_ticks(ylo, yhi, ay.log, o_.ymin, o_.ymax, o_.yticks);
  ax.lo = xlo, ax.hi = xhi, ay.lo = ylo, ay.hi = yhi;
  if (!(ax.hi > ax.lo)) ax.hi = ax.lo + 1;
  if (!(ay.hi > ay.lo)) ay.hi = ay.lo + 1;

  // layout
  const double font = f.font;
  double ytick_w = 0;
  for (const auto& t : f.yt) ytick_w = std::max(ytick_w, detail::text_width(t.second, font));
  const double left = 12 + (o_.ylabel.empty() ? 0 : 22) + ytick_w + 8;
  const double right = 18;
  const double top = o_.title.empty() ? 14 : 38;
  const double bottom = 26 + (o_.xlabel.empty() ? 0 : 22);
  const double pw = std::max(20.0, f.W - left - right), ph = std::max(20.0, f.H - top - bottom);
  ax.px0 = left, ax.px1 = left + pw;
  ay.px0 = top + ph, ay.px1 = top;

  f.left = left, f.top = top, f.pw = pw, f.ph = ph;
  f.min_dx = min_dx;
  std::size_t next = 0;
  // escaped once here: a colour is inserted into attributes as is below
  for (const auto& ser : series_) f.colors.push_back(xml_escape(!ser.color.empty() ? ser.color : palette[next++ % palette.size()]));
  return f;
}

// The document head, frame, grid, ticks, title and axis labels.
inline std::string Plot::axes_svg(const Frame& f) const {
  using detail::fmt;
  const detail::Axis &ax = f.ax, &ay = f.ay;
  const double W = f.W, H = f.H, left = f.left, top = f.top, pw = f.pw, ph = f.ph;
  const double font = f.font, title_font = 15;
  const auto& xt = f.xt;
  const auto& yt = f.yt;
  const std::string& clip_id = f.clip_id;
  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(W, 0) + "\" height=\"" + fmt(H, 0) +
       "\" viewBox=\"0 0 " + fmt(W, 0) + " " + fmt(H, 0) +
       "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"" + fmt(font, 0) + "\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  // The clip region reaches a few pixels past the frame so markers sitting on an axis limit stay whole.
  const double cpad = 7;
  s += "<defs><clipPath id=\"" + clip_id + "\"><rect x=\"" + fmt(left - cpad) + "\" y=\"" + fmt(top - cpad) +
       "\" width=\"" + fmt(pw + 2 * cpad) + "\" height=\"" + fmt(ph + 2 * cpad) + "\"/></clipPath></defs>\n";
  if (!o_.title.empty())
    s += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt(24) + "\" text-anchor=\"middle\" font-size=\"" +
         fmt(title_font, 0) + "\" font-weight=\"bold\" fill=\"#222\">" + xml_escape(o_.title) + "</text>\n";

  // grid + ticks
  s += "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  if (o_.grid) {
    for (const auto& t : xt)
      s += "<line x1=\"" + fmt(ax.map(t.first)) + "\" y1=\"" + fmt(top) + "\" x2=\"" + fmt(ax.map(t.first)) +
           "\" y2=\"" + fmt(top + ph) + "\"/>\n";
    for (const auto& t : yt)
      s += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(ay.map(t.first)) + "\" x2=\"" + fmt(left + pw) + "\" y2=\"" +
           fmt(ay.map(t.first)) + "\"/>\n";
  }
  s += "</g>\n";
  if (!ay.log && ay.lo < 0 && ay.hi > 0)
    s += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(ay.map(0)) + "\" x2=\"" + fmt(left + pw) + "\" y2=\"" +
         fmt(ay.map(0)) + "\" stroke=\"#999\" stroke-width=\"1\"/>\n";
  s += "<rect x=\"" + fmt(left) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(pw) + "\" height=\"" + fmt(ph) +
       "\" fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>\n";
  s += "<g fill=\"#333\">\n";
  for (const auto& t : xt) {
    const double x = ax.map(t.first);
    s += "<line x1=\"" + fmt(x) + "\" y1=\"" + fmt(top + ph) + "\" x2=\"" + fmt(x) + "\" y2=\"" + fmt(top + ph + 5) +
         "\" stroke=\"#444\"/>";
    s += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(top + ph + 18) + "\" text-anchor=\"middle\">" +
         xml_escape(t.second) + "</text>\n";
  }
  for (const auto& t : yt) {
    const double y = ay.map(t.first);
    s += "<line x1=\"" + fmt(left - 5) + "\" y1=\"" + fmt(y) + "\" x2=\"" + fmt(left) + "\" y2=\"" + fmt(y) +
         "\" stroke=\"#444\"/>";
    s += "<text x=\"" + fmt(left - 8) + "\" y=\"" + fmt(y + 4) + "\" text-anchor=\"end\">" + xml_escape(t.second) +
         "</text>\n";
  }
  s += "</g>\n";
  if (!o_.xlabel.empty())
    s += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt(H - 10) + "\" text-anchor=\"middle\" fill=\"#222\">" +
         xml_escape(o_.xlabel) + "</text>\n";
  if (!o_.ylabel.empty()) {
    const double x = 16, y = top + ph / 2;
    s += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"middle\" fill=\"#222\" transform=\"rotate(-90 " +
         fmt(x) + " " + fmt(y) + ")\">" + xml_escape(o_.ylabel) + "</text>\n";
  }

  return s;
}

// One series, clipped to the frame; records where its ink lands in `drawn` (for the legend).
inline std::string Plot::series_svg(const Frame& f, std::size_t k, std::vector<std::pair<double, double>>& drawn) const {
  using detail::fmt;
  const detail::Axis &ax = f.ax, &ay = f.ay;
  const double left = f.left, pw = f.pw;
  const double y0 = ay.log ? ay.px0 : ay.map(std::clamp(0.0, ay.lo, ay.hi));
  const double min_dx = f.min_dx;
  std::string s;
  const Series& ser = series_[k];
  const std::string& c = f.colors[k];
  const std::string dash = ser.dash.empty() ? "" : " stroke-dasharray=\"" + xml_escape(ser.dash) + "\"";
  if (ser.kind == Series::Kind::hline) {
    if (!ay.valid(ser.y[0])) return s;
    const double y = ay.map(ser.y[0]);
    s += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(y) + "\" x2=\"" + fmt(left + pw) + "\" y2=\"" + fmt(y) +
         "\" stroke=\"" + xml_escape(c) + "\" stroke-width=\"" + fmt(ser.width) + "\"" + dash + "/>\n";
    return s;
  }
  std::vector<std::pair<double, double>> pts;
  std::string path;
  bool pen_down = false;
  for (std::size_t i = 0; i < ser.x.size(); ++i) {
    if (!ax.valid(ser.x[i]) || !ay.valid(ser.y[i])) {
      pen_down = false;
      continue;
    }
    const double px = ax.map(ser.x[i]), py = ay.map(ser.y[i]);
    pts.emplace_back(px, py);
    path += (pen_down ? "L" : "M") + fmt(px) + " " + fmt(py);
    pen_down = true;
  }
  // Remember where ink lands (points, and samples along segments/stems/bars every few
  // pixels) so the legend can avoid it.
  const auto sample = [&](double ax0, double ay0, double ax1, double ay1) {
    const int n = 1 + static_cast<int>(std::hypot(ax1 - ax0, ay1 - ay0) / 4.0);
    for (int i = 0; i <= n && n < 4000; ++i)
      drawn.emplace_back(ax0 + (ax1 - ax0) * i / n, ay0 + (ay1 - ay0) * i / n);
  };
  drawn.insert(drawn.end(), pts.begin(), pts.end());
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (ser.kind == Series::Kind::line && i > 0) sample(pts[i - 1].first, pts[i - 1].second, pts[i].first, pts[i].second);
    if (ser.kind == Series::Kind::stem || ser.kind == Series::Kind::bar) sample(pts[i].first, y0, pts[i].first, pts[i].second);
  }
  const std::string col = xml_escape(c);
  switch (ser.kind) {
    case Series::Kind::line:
      if (!path.empty())
        s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + col + "\" stroke-width=\"" + fmt(ser.width) +
             "\" stroke-linejoin=\"round\"" + dash + "/>\n";
      if (ser.markers)
        for (const auto& p : pts)
          s += "<circle cx=\"" + fmt(p.first) + "\" cy=\"" + fmt(p.second) + "\" r=\"" + fmt(ser.marker_size) +
               "\" fill=\"" + col + "\"/>";
      break;
    case Series::Kind::scatter:
      for (const auto& p : pts)
        s += "<circle cx=\"" + fmt(p.first) + "\" cy=\"" + fmt(p.second) + "\" r=\"" + fmt(ser.marker_size) +
             "\" fill=\"" + col + "\" fill-opacity=\"0.8\"/>";
      break;
    case Series::Kind::stem:
      for (const auto& p : pts)
        s += "<line x1=\"" + fmt(p.first) + "\" y1=\"" + fmt(y0) + "\" x2=\"" + fmt(p.first) + "\" y2=\"" +
             fmt(p.second) + "\" stroke=\"" + col + "\" stroke-width=\"" + fmt(std::min(ser.width, 1.5)) +
             "\"/><circle cx=\"" + fmt(p.first) + "\" cy=\"" + fmt(p.second) + "\" r=\"" +
             fmt(std::min(ser.marker_size, 2.5)) + "\" fill=\"" + col + "\"/>";
      break;
    case Series::Kind::bar: {
      const double bw = std::max(1.0, 0.8 * std::abs(ax.map(ax.lo + min_dx) - ax.map(ax.lo)));
      for (const auto& p : pts)
        s += "<rect x=\"" + fmt(p.first - bw / 2) + "\" y=\"" + fmt(std::min(p.second, y0)) + "\" width=\"" +
             fmt(bw) + "\" height=\"" + fmt(std::abs(y0 - p.second)) + "\" fill=\"" + col + "\"/>";
      break;
    }
    case Series::Kind::hline: break;
  }
  s += "\n";
  return s;
}

// The legend (series with a name), in the corner with the fewest drawn points under it.
inline std::string Plot::legend_svg(const Frame& f, const std::vector<std::pair<double, double>>& drawn) const {
  using detail::fmt;
  const double left = f.left, top = f.top, pw = f.pw, ph = f.ph;
  const double font = f.font;
  std::string s;
  std::vector<std::size_t> entries;
  for (std::size_t k = 0; k < series_.size(); ++k)
    if (!series_[k].name.empty()) entries.push_back(k);
  if (o_.legend && !entries.empty()) {
    double tw = 0;
    for (std::size_t k : entries) tw = std::max(tw, detail::text_width(series_[k].name, font));
    const double lw = tw + 44, lh = 8 + 18.0 * static_cast<double>(entries.size());
    const std::array<std::pair<double, double>, 4> corners = {{{left + pw - lw - 8, top + 8},
                                                               {left + 8, top + 8},
                                                               {left + pw - lw - 8, top + ph - lh - 8},
                                                               {left + 8, top + ph - lh - 8}}};
    std::size_t best = 0, best_n = std::numeric_limits<std::size_t>::max();
    for (std::size_t c = 0; c < corners.size(); ++c) {
      std::size_t n = 0;
      for (const auto& p : drawn)
        if (p.first >= corners[c].first - 10 && p.first <= corners[c].first + lw + 10 &&
            p.second >= corners[c].second - 10 && p.second <= corners[c].second + lh + 10)
          ++n;
      if (n < best_n) best_n = n, best = c;
    }
    const double lx = corners[best].first, ly = corners[best].second;
    s += "<g>\n<rect x=\"" + fmt(lx) + "\" y=\"" + fmt(ly) + "\" width=\"" + fmt(lw) + "\" height=\"" + fmt(lh) +
         "\" rx=\"4\" fill=\"#ffffff\" fill-opacity=\"0.88\" stroke=\"#bbbbbb\"/>\n";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Series& ser = series_[entries[i]];
      const std::string col = xml_escape(f.colors[entries[i]]);
      const double cy = ly + 4 + 18.0 * static_cast<double>(i) + 9;
      const double sx = lx + 8;
      const std::string dash = ser.dash.empty() ? "" : " stroke-dasharray=\"" + xml_escape(ser.dash) + "\"";
      switch (ser.kind) {
        case Series::Kind::line:
        case Series::Kind::hline:
          s += "<line x1=\"" + fmt(sx) + "\" y1=\"" + fmt(cy) + "\" x2=\"" + fmt(sx + 24) + "\" y2=\"" + fmt(cy) +
               "\" stroke=\"" + col + "\" stroke-width=\"" + fmt(ser.width) + "\"" + dash + "/>";
          if (ser.kind == Series::Kind::line && ser.markers)
            s += "<circle cx=\"" + fmt(sx + 12) + "\" cy=\"" + fmt(cy) + "\" r=\"" + fmt(ser.marker_size) +
                 "\" fill=\"" + col + "\"/>";
          break;
        case Series::Kind::scatter:
          s += "<circle cx=\"" + fmt(sx + 12) + "\" cy=\"" + fmt(cy) + "\" r=\"" + fmt(ser.marker_size) + "\" fill=\"" +
               col + "\"/>";
          break;
        case Series::Kind::stem:
          s += "<line x1=\"" + fmt(sx + 12) + "\" y1=\"" + fmt(cy + 6) + "\" x2=\"" + fmt(sx + 12) + "\" y2=\"" +
               fmt(cy - 4) + "\" stroke=\"" + col + "\" stroke-width=\"1.5\"/><circle cx=\"" + fmt(sx + 12) +
               "\" cy=\"" + fmt(cy - 4) + "\" r=\"2.5\" fill=\"" + col + "\"/>";
          break;
        case Series::Kind::bar:
          s += "<rect x=\"" + fmt(sx + 6) + "\" y=\"" + fmt(cy - 6) + "\" width=\"12\" height=\"12\" fill=\"" + col +
               "\"/>";
          break;
      }
      s += "<text x=\"" + fmt(sx + 32) + "\" y=\"" + fmt(cy + 4) + "\" fill=\"#222\">" + xml_escape(ser.name) +
           "</text>\n";
    }
    s += "</g>\n";
  }
  return s;
}

inline std::string Plot::svg() const {
  const Frame f = frame();
  std::string s = axes_svg(f);
  std::vector<std::pair<double, double>> drawn;  // pixel positions of ink, for legend placement
  s += "<g clip-path=\"url(#" + f.clip_id + ")\">\n";
  for (std::size_t k = 0; k < series_.size(); ++k) s += series_svg(f, k, drawn);
  s += "</g>\n";
  s += legend_svg(f, drawn);
  s += "</svg>\n";
  return s;
}

}  // namespace bilin::io
