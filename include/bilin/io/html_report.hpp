// bilin/io/html_report.hpp — one self-contained HTML report: headings, text, figures, tables.
//
// Contract:
// - HtmlReport accumulates blocks in call order: section()/subsection() headings, paragraph()
//   text (HTML-escaped), raw_html() (trusted, inserted as is), key_numbers() (a highlighted box
//   of label/value cards), table() (cells that look numeric are right-aligned), and figures:
//   image() (an Image, encoded as PNG), png() (PNG bytes), svg() (SVG text) and linked_image()
//   (a path relative to the report, used as is). Consecutive figures flow side by side when
//   they fit.
// - Image mode inline (default): PNGs become data:image/png;base64 URIs and SVGs are inlined,
//   so the single .html file is complete. Image mode link: each figure is written next to the
//   report under its file name (given, or figure-<n>.png/.svg) and referenced relatively.
//   File names are restricted to [A-Za-z0-9._-] so a figure can never escape the folder.
// - section(heading, id) anchors the heading at id (checked: [A-Za-z0-9_-]); without one, s<n>.
// - html() returns the document; write(path) writes the figures (link mode) and then the
//   report, each atomically. With three or more sections a table of contents is added.
// - Pixel-art figures (pixelated = true, the default for image()) are shown with
//   image-rendering: pixelated so upscaled 28×28 tiles stay crisp in the browser.
// - Tile blocks show many small captioned pictures (Tile: image, display width, caption), always
//   inlined as data: URIs: tile_table() rows of a bold label and groups of tiles, groups after
//   the first set off by a divider line (e.g. a class's positive | negative eigenvectors);
//   tile_strip() one row of tiles; explanation_row() one explained input: its picture, then per
//   class a name, a detail text, the tiles pushing the class up | down and a small note. Each
//   takes an optional intro paragraph. tile_html() is one tile's markup.
// - Every text a caller passes (headings, paragraphs, captions, labels, cells, key numbers)
//   is HTML-escaped; only raw_html() inserts markup as is.
// - Escaping helpers for everything that builds pages: html_escape(s) for text and attribute
//   values (& < > " ' become entities, control characters other than tab/newline are dropped);
//   json_for_script(json) makes a JSON text safe inside <script>…</script>: '<', '>' and '&'
//   become \u003c, \u003e, \u0026 and U+2028/U+2029 become \u2028/\u2029 (in JSON those
//   characters can only stand inside strings, where the escapes mean the same characters), so no
//   "</script>", "<!--" or "<script" can end or re-open the script element.
#pragma once
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "atomic_file.hpp"
#include "base64.hpp"
#include "image.hpp"
#include "png.hpp"
#include "svg.hpp"

namespace bilin::io {

inline std::string html_escape(std::string_view s) { return xml_escape(s); }

inline std::string json_for_script(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' && (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";  // JS line terminators, legal raw in JSON
      i += 2;
    } else out += c;
  }
  return out;
}

// A small picture with a caption, for the tile blocks.
struct Tile {
  Image image;
  int width = 84;  // display width in CSS pixels
  std::string caption;
};
// One row of HtmlReport::tile_table: a label, then groups of tiles (one cell each).
struct TileRow {
  std::string label;
  std::vector<std::vector<Tile>> groups;
};
// One class in HtmlReport::explanation_row.
struct ExplainedClass {
  std::string name, detail;    // shown as "<b>name</b> detail"
  std::vector<Tile> up, down;  // what pushes the class up | down
  std::string note;            // small text under the tiles (optional)
};

// One tile: an inline <figure> with the PNG as a data: URI, pixelated.
inline std::string tile_html(const Image& img, int width_px, const std::string& caption) {
  const auto png = encode_png(img);
  return "<figure style=\"margin:.2em .4em;display:inline-block;text-align:center\"><img class=\"pixel\" "
         "style=\"image-rendering:pixelated;border:1px solid #ddd\" width=\"" +
         std::to_string(width_px) + "\" src=\"data:image/png;base64," + base64_encode(png.data(), png.size()) +
         "\" alt=\"" + html_escape(caption) + "\"><figcaption style=\"font-size:.8em;margin:0\">" +
         html_escape(caption) + "</figcaption></figure>";
}
inline std::string tile_html(const Tile& t) { return tile_html(t.image, t.width, t.caption); }

class HtmlReport {
 public:
  enum class ImageMode { inline_data, link };

  explicit HtmlReport(std::string title, std::string subtitle = "")
      : title_(std::move(title)), subtitle_(std::move(subtitle)) {}

  HtmlReport& image_mode(ImageMode m) { return mode_ = m, *this; }
  ImageMode image_mode() const { return mode_; }

  // id: the heading's anchor (letters, digits, '-', '_'); empty gives "s<n>".
  HtmlReport& section(const std::string& heading, const std::string& anchor = "") {
    const std::string id = anchor.empty() ? "s" + std::to_string(sections_.size() + 1) : checked_anchor(anchor);
    sections_.emplace_back(id, heading);
    return block("<h2 id=\"" + id + "\">" + html_escape(heading) + "</h2>");
  }
  HtmlReport& subsection(const std::string& heading) { return block("<h3>" + html_escape(heading) + "</h3>"); }
  HtmlReport& paragraph(const std::string& text) { return block("<p>" + html_escape(text) + "</p>"); }
  HtmlReport& raw_html(std::string html) { return block(std::move(html)); }

  HtmlReport& key_numbers(const std::vector<std::pair<std::string, std::string>>& items,
                          const std::string& heading = "Key numbers") {
    std::string h = "<div class=\"keynums\">";
    if (!heading.empty()) h += "<div class=\"keyhead\">" + html_escape(heading) + "</div>";
    for (const auto& [k, v] : items)
      h += "<div class=\"keynum\"><div class=\"v\">" + html_escape(v) + "</div><div class=\"k\">" + html_escape(k) +
           "</div></div>";
    return block(h + "</div>");
  }

  HtmlReport& table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                    const std::string& caption = "") {
    std::string h = "<table>";
    if (!caption.empty()) h += "<caption>" + html_escape(caption) + "</caption>";
    if (!header.empty()) {
      h += "<thead><tr>";
      for (const auto& c : header) h += "<th>" + html_escape(c) + "</th>";
      h += "</tr></thead>";
    }
    h += "<tbody>";
    for (const auto& r : rows) {
      h += "<tr>";
      for (const auto& c : r) h += std::string(looks_numeric(c) ? "<td class=\"num\">" : "<td>") + html_escape(c) + "</td>";
      h += "</tr>";
    }
    return block(h + "</tbody></table>");
  }

  // Rows of labelled tile groups (see the contract).
  HtmlReport& tile_table(const std::vector<TileRow>& rows, const std::string& intro = "") {
    std::string h = intro_html(intro) + "<table class=\"tiles\"><tbody>";
    for (const TileRow& r : rows) {
      h += "<tr><td class=\"tilelabel\">" + html_escape(r.label) + "</td>";
      for (std::size_t g = 0; g < r.groups.size(); ++g)
        h += std::string(g == 0 ? "<td>" : "<td class=\"tilegroup\">") + tiles_html(r.groups[g]) + "</td>";
      h += "</tr>";
    }
    return block(h + "</tbody></table>");
  }
  // One row of tiles.
  HtmlReport& tile_strip(const std::vector<Tile>& tiles, const std::string& intro = "") {
    return block(intro_html(intro) + "<div>" + tiles_html(tiles) + "</div>");
  }
  // One explained input: its picture (when given), then each class with what pushes it up | down.
  HtmlReport& explanation_row(const Tile* input, const std::vector<ExplainedClass>& classes,
                              const std::string& intro = "") {
    std::string h = intro_html(intro) + "<div class=\"explain\">";
    if (input) h += tile_html(*input);
    for (const ExplainedClass& c : classes) {
      h += "<span class=\"explainclass\"><b>" + html_escape(c.name) + "</b> " + html_escape(c.detail) + "<br>" +
           tiles_html(c.up) + "<span class=\"divider\"></span>" + tiles_html(c.down);
      if (!c.note.empty()) h += "<br><small>" + html_escape(c.note) + "</small>";
      h += "</span>";
    }
    return block(h + "</div>");
  }

  // PNG bytes as a figure. display_width (CSS pixels, 0 = natural size) scales it in the page.
  HtmlReport& png(std::vector<std::uint8_t> bytes, const std::string& caption, const std::string& file_name = "",
                  int display_width = 0, bool pixelated = false) {
    Figure f;
    f.bytes.assign(bytes.begin(), bytes.end());
    f.is_svg = false;
    f.caption = caption;
    f.file = checked_name(file_name);
    f.width = display_width;
    f.pixelated = pixelated;
    figures_.push_back(std::move(f));
    blocks_.push_back({"", figures_.size() - 1});
    return *this;
  }
  HtmlReport& image(const Image& img, const std::string& caption, const std::string& file_name = "",
                    int display_width = 0, bool pixelated = true) {
    return png(encode_png(img), caption, file_name, display_width, pixelated);
  }
  HtmlReport& svg(std::string svg_text, const std::string& caption, const std::string& file_name = "") {
    Figure f;
    f.bytes = std::move(svg_text);
    f.is_svg = true;
    f.caption = caption;
    f.file = checked_name(file_name);
    figures_.push_back(std::move(f));
    blocks_.push_back({"", figures_.size() - 1});
    return *this;
  }
  HtmlReport& svg(const Plot& plot, const std::string& caption, const std::string& file_name = "") {
    return svg(plot.svg(), caption, file_name);
  }
  // A figure that already exists as a file; `relative_path` is used as the src attribute as is.
  HtmlReport& linked_image(const std::string& relative_path, const std::string& caption, int display_width = 0) {
    return block(figure_html("<img src=\"" + html_escape(relative_path) + "\" alt=\"" + html_escape(caption) + "\"" +
                                 width_attr(display_width) + ">",
                             caption));
  }
  HtmlReport& footer(const std::string& text) { return footer_ = text, *this; }

  std::string html() const {
    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h += "<title>" + html_escape(title_) + "</title>\n<style>\n" + css() + "</style>\n</head>\n<body>\n";
    h += "<h1>" + html_escape(title_) + "</h1>\n";
    if (!subtitle_.empty()) h += "<p class=\"subtitle\">" + html_escape(subtitle_) + "</p>\n";
    if (sections_.size() >= 3) {
      h += "<nav class=\"toc\"><b>Contents</b><ol>";
      for (const auto& [id, name] : sections_) h += "<li><a href=\"#" + id + "\">" + html_escape(name) + "</a></li>";
      h += "</ol></nav>\n";
    }
    for (const auto& b : blocks_) {
      h += b.figure == kNoFigure ? b.html : render_figure(figures_[b.figure], b.figure);
      h += "\n";
    }
    h += "<footer>" + html_escape(footer_) + "</footer>\n</body>\n</html>\n";
    return h;
  }

  void write(const std::string& path) const {
    if (mode_ == ImageMode::link) {
      const std::string dir = detail::parent_dir(path);
      for (std::size_t i = 0; i < figures_.size(); ++i)
        write_file_atomic(dir + "/" + figure_file(figures_[i], i), figures_[i].bytes);
    }
    write_file_atomic(path, html());
  }

  // Number formatting for tables and key numbers: `digits` significant digits, no exponent
  // for ordinary magnitudes.
  static std::string number(double v, int digits = 4) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    const double a = std::abs(v);
    if (a != 0 && (a >= 1e7 || a < 1e-4)) {
      std::snprintf(buf, sizeof buf, "%.*e", std::max(0, digits - 1), v);
    } else {
      const int mag = a == 0 ? 0 : static_cast<int>(std::floor(std::log10(a)));
      std::snprintf(buf, sizeof buf, "%.*f", std::max(0, digits - 1 - mag), v);
    }
    return buf;
  }
  static std::string percent(double fraction, int decimals = 2) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f%%", decimals, fraction * 100.0);
    return buf;
  }

 private:
  static constexpr std::size_t kNoFigure = static_cast<std::size_t>(-1);
  struct Block {
    std::string html;
    std::size_t figure = kNoFigure;
  };
  struct Figure {
    std::string bytes;  // PNG bytes or SVG text
    bool is_svg = false;
    std::string caption, file;
    int width = 0;
    bool pixelated = false;
  };

  HtmlReport& block(std::string html) {
    blocks_.push_back({std::move(html), kNoFigure});
    return *this;
  }

  static std::string intro_html(const std::string& intro) {
    return intro.empty() ? "" : "<p>" + html_escape(intro) + "</p>";
  }
  static std::string tiles_html(const std::vector<Tile>& tiles) {
    std::string h;
    for (const Tile& t : tiles) h += tile_html(t);
    return h;
  }

  static bool looks_numeric(const std::string& c) {
    if (c.empty()) return false;
    std::string t = c;
    if (t.back() == '%') t.pop_back();
    if (t.empty()) return false;
    char* end = nullptr;
    std::strtod(t.c_str(), &end);
    return end == t.c_str() + t.size();
  }

  static std::string checked_anchor(const std::string& id) {
    for (char c : id)
      BILIN_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_', "HtmlReport", "section id '", id,
                  "' may only hold letters, digits, '-' and '_'");
    return id;
  }
  static std::string checked_name(const std::string& name) {
    if (name.empty()) return {};
    for (const char c : name)
      BILIN_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-', "HtmlReport",
                  "figure file name '", name, "' may only contain letters, digits, '.', '_' and '-'");
    BILIN_CHECK(name != "." && name != "..", "HtmlReport", "figure file name '", name, "' is not a file name");
    return name;
  }
  std::string figure_file(const Figure& f, std::size_t index) const {
    return f.file.empty() ? "figure-" + std::to_string(index + 1) + (f.is_svg ? ".svg" : ".png") : f.file;
  }
  static std::string width_attr(int w) { return w > 0 ? " width=\"" + std::to_string(w) + "\"" : ""; }
  static std::string figure_html(const std::string& body, const std::string& caption) {
    return "<figure>" + body + (caption.empty() ? "" : "<figcaption>" + html_escape(caption) + "</figcaption>") +
           "</figure>";
  }
  std::string render_figure(const Figure& f, std::size_t index) const {
    const std::string cls = f.pixelated ? " class=\"pixel\"" : "";
    if (mode_ == ImageMode::link)
      return figure_html("<img src=\"" + html_escape(figure_file(f, index)) + "\" alt=\"" + html_escape(f.caption) +
                             "\"" + cls + width_attr(f.width) + ">",
                         f.caption);
    if (f.is_svg) return figure_html(strip_xml_prolog(f.bytes), f.caption);
    return figure_html("<img src=\"data:image/png;base64," + base64_encode(f.bytes) + "\" alt=\"" +
                           html_escape(f.caption) + "\"" + cls + width_attr(f.width) + ">",
                       f.caption);
  }
  static std::string strip_xml_prolog(const std::string& svg) {
    if (svg.rfind("<?xml", 0) == 0) {
      const auto e = svg.find("?>");
      if (e != std::string::npos) return svg.substr(e + 2);
    }
    return svg;
  }

  static std::string css() {
    return R"(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif;
max-width:1100px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.5;background:#fff}
h1{font-size:1.9em;margin:0 0 .2em}
.subtitle{color:#666;margin-top:0}
h2{border-bottom:2px solid #e5e5e5;padding-bottom:.2em;margin-top:2.2em}
h3{margin-top:1.6em}
p{max-width:52em}
nav.toc{background:#fafafa;border:1px solid #e5e5e5;border-radius:8px;padding:.6em 1.2em;display:inline-block}
nav.toc ol{margin:.3em 0 .2em;padding-left:1.4em}
nav.toc a{color:#1f5fa8;text-decoration:none}
figure{display:inline-block;vertical-align:top;margin:.8em 1.4em .8em 0;max-width:100%}
figure img,figure svg{display:block;max-width:100%;height:auto;border:1px solid #eee}
img.pixel{image-rendering:pixelated;image-rendering:crisp-edges}
figcaption{font-size:.9em;color:#555;max-width:40em;margin-top:.3em}
table{border-collapse:collapse;margin:1em 0;font-size:.95em}
caption{text-align:left;color:#555;font-size:.9em;padding-bottom:.3em}
th,td{padding:.35em .9em;border-bottom:1px solid #e5e5e5;text-align:left}
th{border-bottom:2px solid #ccc;background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even) td{background:#fbfbfb}
.keynums{display:flex;flex-wrap:wrap;gap:.7em;margin:1.2em 0;padding:.9em;background:#f5f8fb;border:1px solid #dde5ee;border-radius:10px}
.keyhead{flex-basis:100%;font-weight:600;color:#345}
.keynum{min-width:9em;padding:.45em .9em;background:#fff;border:1px solid #e3e8ee;border-radius:8px}
.keynum .v{font-size:1.45em;font-weight:600;font-variant-numeric:tabular-nums}
.keynum .k{font-size:.85em;color:#666}
td.tilelabel{font-weight:600;padding-right:.6em}
td.tilegroup{border-left:2px solid #bbb;padding-left:.5em}
div.explain{margin:.6em 0;padding:.4em;border:1px solid #eee;border-radius:6px}
span.explainclass{display:inline-block;vertical-align:top;margin-left:1em}
span.divider{display:inline-block;width:2px;height:70px;background:#bbb;margin:0 .5em}
footer{margin-top:3em;color:#888;font-size:.85em;border-top:1px solid #eee;padding-top:.6em}
)";
  }

  std::string title_, subtitle_;
  std::string footer_ = "Generated by bilin.";
  ImageMode mode_ = ImageMode::inline_data;
  std::vector<std::pair<std::string, std::string>> sections_;
  std::vector<Block> blocks_;
  std::vector<Figure> figures_;
};

}  // namespace bilin::io
