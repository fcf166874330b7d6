// Reports are safe to open (issue 20): hostile strings — a corpus token, a feature label, a path
// or dataset name holding <script>, quotes, &, </svg>, </script> — reach every HTML/SVG/JSON
// builder, and the output must keep them as text. The reference is independent of the escaping
// code: a small scanner lists every tag the output really opens (each '<' followed by a name) and
// every tag must be one the builders themselves write; an entity decoder gives the payload back.
// The browser-level check of whole reports is tests/report_escaping/ (Chromium).
#include <bilin/interp/explorer.hpp>
#include <bilin/io/html_report.hpp>
#include <bilin/io/json.hpp>
#include <bilin/io/svg.hpp>
#include <bilin/io/svg_heatmap.hpp>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

namespace io = bilin::io;

namespace {

const std::string kEscPayload =
    "a<script>window.__pwned=1</script>\"'&amp;</svg></script><img src=x onerror=\"window.__pwned=2\"><!--x";

// Every tag name opened or closed in `s` ("<name", "</name", "<!" comments / doctype as "!").
std::set<std::string> esc_tags(const std::string& s) {
  std::set<std::string> t;
  for (std::size_t p = s.find('<'); p != std::string::npos; p = s.find('<', p + 1)) {
    std::size_t q = p + 1;
    if (q < s.size() && s[q] == '/') ++q;
    if (q < s.size() && s[q] == '!') {
      t.insert("!");
      continue;
    }
    std::size_t e = q;
    while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '-')) ++e;
    t.insert(s.substr(q, e - q));
  }
  return t;
}

// Reverse of the five entities (the test's own decoder).
std::string esc_unescape(const std::string& s) {
  std::string o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      o += s[i];
      continue;
    }
    const std::size_t e = s.find(';', i);
    const std::string ent = s.substr(i, e - i + 1);
    o += ent == "&amp;" ? "&" : ent == "&lt;" ? "<" : ent == "&gt;" ? ">" : ent == "&quot;" ? "\"" : ent == "&#39;" ? "'" : "?";
    i = e;
  }
  return o;
}

void esc_check_tags(const std::string& out, const std::set<std::string>& allowed) {
  for (const auto& t : esc_tags(out)) {
    INFO("tag <" << t << "> in the output");
    CHECK(allowed.count(t) == 1);
  }
}

const std::set<std::string> kSvgTags = {"svg",  "rect", "g",    "text",   "line", "path",
                                        "defs", "clipPath", "title", "circle", "polyline"};

}  // namespace

TEST_CASE("html_escape and json_for_script against an independent decoder", "[io][html]") {
  const std::string e = io::html_escape(kEscPayload);
  for (char c : {'<', '>', '"', '\''}) CHECK(e.find(c) == std::string::npos);
  CHECK(esc_unescape(e) == kEscPayload);
  // control characters are dropped (not allowed in XML), tab and newline kept
  CHECK(io::html_escape(std::string("a\x01\tb\n", 5)) == "a\tb\n");

  // JSON in a <script>: no '<', '>', '&' left, U+2028/2029 escaped, same value after parsing
  bilin::json::Value v = bilin::json::Value::object();
  v["label"] = kEscPayload + "\xE2\x80\xA8|\xE2\x80\xA9";
  v["list"] = bilin::json::Value::array();
  v["list"].push_back(std::string("</script><script>alert(1)</script>"));
  const std::string raw = v.dump();
  const std::string safe = io::json_for_script(raw);
  for (char c : {'<', '>', '&'}) CHECK(safe.find(c) == std::string::npos);
  CHECK(safe.find("\xE2\x80\xA8") == std::string::npos);
  CHECK(safe.find("\xE2\x80\xA9") == std::string::npos);
  CHECK(bilin::json::parse(safe) == v);
  CHECK(io::json_for_script("{\"a\":\"x\"}") == "{\"a\":\"x\"}");
}

TEST_CASE("HtmlReport: hostile text in every block stays text", "[io][html]") {
  io::HtmlReport rep("Report on " + kEscPayload, "dataset " + kEscPayload);
  rep.section("Section " + kEscPayload).subsection(kEscPayload).paragraph("path /tmp/" + kEscPayload);
  rep.section("Two").section("Three");  // three sections: the table of contents repeats the names
  rep.key_numbers({{kEscPayload, kEscPayload}}, kEscPayload);
  rep.table({kEscPayload, "n"}, {{kEscPayload, "1"}}, kEscPayload);
  io::Image img(4, 4, 3, 128);
  rep.image(img, "caption " + kEscPayload);
  rep.tile_strip({{img, 20, kEscPayload}}, kEscPayload);
  rep.tile_table({{kEscPayload, {{{img, 20, kEscPayload}}}}}, kEscPayload);
  rep.explanation_row(nullptr, {{kEscPayload, kEscPayload, {{img, 20, kEscPayload}}, {}, kEscPayload}}, kEscPayload);
  rep.linked_image("figs/" + kEscPayload + ".png", kEscPayload);
  io::Plot p;
  p.title(kEscPayload).xlabel(kEscPayload).ylabel(kEscPayload);
  io::Series s;
  s.name = kEscPayload;
  s.color = "red\" onload=\"window.__pwned=3";
  s.dash = "4\"/><script>x</script>";
  s.x = {0, 1};
  s.y = {1, 2};
  p.add(s);
  rep.svg(p, kEscPayload);
  rep.footer(kEscPayload);
  const std::string h = rep.html();
  std::set<std::string> allowed = {"!",  "html", "head", "meta",  "title", "style",  "body",       "h1",  "p",
                                   "nav", "b",   "ol",   "li",    "a",     "h2",     "h3",         "div", "table",
                                   "caption", "thead", "tr", "th", "tbody", "td",    "figure",     "img", "figcaption",
                                   "span", "br", "small", "footer"};
  allowed.insert(kSvgTags.begin(), kSvgTags.end());
  esc_check_tags(h, allowed);
  CHECK(h.find("<script") == std::string::npos);
  CHECK(h.find("onerror=\"") == std::string::npos);
  CHECK(h.find("onload=\"") == std::string::npos);
  CHECK(h.find(io::html_escape(kEscPayload)) != std::string::npos);
  // exactly one SVG, opened and closed once
  std::size_t opens = 0, closes = 0;
  for (std::size_t q = h.find("<svg"); q != std::string::npos; q = h.find("<svg", q + 1)) ++opens;
  for (std::size_t q = h.find("</svg>"); q != std::string::npos; q = h.find("</svg>", q + 1)) ++closes;
  CHECK(opens == 1);
  CHECK(closes == 1);
}

TEST_CASE("SVG plot and heatmap: hostile labels and colours stay text", "[io][svg]") {
  io::Plot p;
  p.title(kEscPayload).xlabel(kEscPayload).ylabel(kEscPayload).xticks({{0.5, kEscPayload}});
  io::Series s;
  s.name = kEscPayload;
  s.color = "#123\"/><script>window.__pwned=4</script><x a=\"";
  s.x = {0, 1};
  s.y = {1, 2};
  p.add(s);
  const std::string svg = p.svg();
  esc_check_tags(svg, kSvgTags);
  CHECK(svg.find("</svg>") == svg.rfind("</svg>"));

  io::HeatmapOptions o;
  o.title = o.xlabel = o.ylabel = o.value_label = kEscPayload;
  o.row_labels = {kEscPayload, "#2 «not»"};
  o.col_labels = {"b_dec", kEscPayload};
  const std::string hm = io::heatmap_svg({1, -2, 0.5, 0}, 2, 2, o);
  esc_check_tags(hm, kSvgTags);
  CHECK(hm.find("</svg>") == hm.rfind("</svg>"));
  CHECK(hm.find(io::html_escape(kEscPayload)) != std::string::npos);
  CHECK(hm.find("#2 «not»") != std::string::npos);  // ordinary UTF-8 passes unchanged
  CHECK_THROWS_WITH(io::heatmap_svg({1, 2, 3}, 2, 2, {}), Catch::Matchers::Contains("3 values for a 2x2 matrix"));
  io::HeatmapOptions bad;
  bad.row_labels = {"only one"};
  CHECK_THROWS_WITH(io::heatmap_svg({1, 2, 3, 4}, 2, 2, bad), Catch::Matchers::Contains("1 row labels for 2 rows"));
}

TEST_CASE("explorer page: hostile metadata cannot end its <script>", "[interp][explorer]") {
  bilin::json::Value meta = bilin::json::Value::object();
  meta["title"] = kEscPayload;
  meta["classes"] = bilin::json::Value::array();
  meta["classes"].push_back(std::string("</script><script>window.__pwned=5</script>"));
  const std::u16string page = bilin::interp::detail::explorer_page_units(meta.dump(), u"");
  const std::string html = bilin::interp::detail::utf16_to_utf8(page);
  const std::string tpl = bilin::interp::detail::utf16_to_utf8(bilin::interp::detail::explorer_page_units("{}", u""));
  const auto count = [](const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t q = s.find(what); q != std::string::npos; q = s.find(what, q + 1)) ++n;
    return n;
  };
  // the page opens and closes exactly the scripts its template has, and the metadata reads back
  CHECK(count(html, "<script") == count(tpl, "<script"));
  CHECK(count(html, "</script") == count(tpl, "</script"));
  CHECK(count(html, "<!--") == count(tpl, "<!--"));
  const std::string open = "<script id=\"bilin-meta\" type=\"application/json\">";
  const std::size_t a = html.find(open) + open.size();
  CHECK(bilin::json::parse(html.substr(a, html.find("</script>", a) - a)) == meta);
}
