// Tests for bilin/io/html_report.hpp and base64.hpp: sections, escaping, tables, key numbers,
// inline images that decode back to the same PNG, and the linked-files mode.
#include <sys/stat.h>
#include <unistd.h>

#include <bilin/core/random.hpp>
#include <bilin/io/html_report.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
namespace io = bilin::io;

namespace {

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

io::Image test_image() {
  std::vector<float> v(2 * 28 * 28);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>(i % 28) - 13);
  io::GridOptions o;
  o.cols = 2;
  return io::image_grid(v.data(), 2, 28, 28, o);
}

}  // namespace

TEST_CASE("base64 round trip and strict decoding", "[io][base64]") {
  CHECK(io::base64_encode(std::string("")).empty());
  CHECK(io::base64_encode(std::string("f")) == "Zg==");
  CHECK(io::base64_encode(std::string("fo")) == "Zm8=");
  CHECK(io::base64_encode(std::string("foo")) == "Zm9v");
  CHECK(io::base64_encode(std::string("foobar")) == "Zm9vYmFy");  // RFC 4648 test vectors
  bilin::Generator gen(3);
  for (std::size_t n = 0; n < 70; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(gen.randint(256));
    CHECK(io::base64_decode(io::base64_encode(bytes)) == bytes);
  }
  CHECK_THROWS_WITH(io::base64_decode("Zm9"), Contains("not a multiple of 4"));
  CHECK_THROWS_WITH(io::base64_decode("Zm!v"), Contains("invalid character at offset 2"));
}

TEST_CASE("HTML report: title, contents, sections, escaped text, key numbers, tables", "[io][html]") {
  io::HtmlReport r("MNIST <analysis>", "bilinear & friends");
  r.key_numbers({{"test accuracy", io::HtmlReport::percent(0.97512)}, {"max |err|", io::HtmlReport::number(3.2e-6)}});
  r.section("Eigenvectors").paragraph("Red is positive, blue is negative; 1 < 2 & \"quotes\".");
  r.section("Truncation").table({"k", "accuracy", "comment"},
                                {{"1", "61.20%", "one <eig>"}, {"all", "0.9751", "full"}}, "Accuracy vs k");
  r.section("Adversarial").subsection("Eigenvector directions").raw_html("<p class=\"custom\">raw</p>");
  const std::string h = r.html();
  CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_THAT(h, Contains("<title>MNIST &lt;analysis&gt;</title>") && Contains("<h1>MNIST &lt;analysis&gt;</h1>"));
  CHECK_THAT(h, Contains("bilinear &amp; friends"));
  CHECK_THAT(h, Contains("<nav class=\"toc\">") && Contains("<a href=\"#s2\">Truncation</a>"));
  CHECK_THAT(h, Contains("<h2 id=\"s1\">Eigenvectors</h2>") && Contains("<h2 id=\"s3\">Adversarial</h2>"));
  CHECK_THAT(h, Contains("1 &lt; 2 &amp; &quot;quotes&quot;."));
  CHECK_THAT(h, Contains("<div class=\"v\">97.51%</div><div class=\"k\">test accuracy</div>"));
  CHECK_THAT(h, Contains("<div class=\"v\">3.200e-06</div>"));
  CHECK_THAT(h, Contains("<td class=\"num\">61.20%</td>") && Contains("<td class=\"num\">0.9751</td>") &&
                    Contains("<td>all</td>") && Contains("<td>one &lt;eig&gt;</td>"));
  CHECK_THAT(h, Contains("<caption>Accuracy vs k</caption>"));
  CHECK_THAT(h, Contains("<h3>Eigenvector directions</h3>") && Contains("<p class=\"custom\">raw</p>"));
  CHECK(h.substr(h.size() - 8) == "</html>\n");
  CHECK(io::HtmlReport::number(0.97512) == "0.9751");
  CHECK(io::HtmlReport::number(1234.5678, 3) == "1235");
  CHECK(io::HtmlReport::number(std::nan("")) == "NaN");
}

TEST_CASE("HTML report inlines PNGs (decodable back to the same image) and SVGs", "[io][html]") {
  bilin_test::TempDir td("html");
  const io::Image img = test_image();
  io::Plot plot;
  plot.title("curve").line("a", {1, 2, 3}, {3, 1, 2});
  io::HtmlReport r("inline");
  r.section("Figures").image(img, "Two tiles.", "tiles.png", 300).svg(plot, "A curve.");
  const std::string path = td.path + "/report.html";
  r.write(path);
  const std::string h = io::read_file(path);
  CHECK(h == r.html());
  // Exactly the report file: nothing else written in inline mode.
  CHECK_FALSE(is_file(td.path + "/tiles.png"));
  const std::string key = "src=\"data:image/png;base64,";
  const auto k = h.find(key);
  REQUIRE(k != std::string::npos);
  const std::string b64 = h.substr(k + key.size(), h.find('"', k + key.size()) - k - key.size());
  const auto png = io::base64_decode(b64);
  CHECK(png == io::encode_png(img));
  const io::Image back = io::decode_image(std::string(png.begin(), png.end()), 0, "inline");
  CHECK(back.pixels == img.pixels);
  CHECK_THAT(h, Contains("class=\"pixel\" width=\"300\">") && Contains("<figcaption>Two tiles.</figcaption>"));
  CHECK(bilin_test::count(h, "<svg xmlns") == 1);
  CHECK_THAT(h, Contains("<figcaption>A curve.</figcaption>"));
}

TEST_CASE("HTML report link mode writes figures next to the report", "[io][html]") {
  bilin_test::TempDir td("html");
  io::Plot plot;
  plot.line("a", {0, 1}, {0, 1});
  io::HtmlReport r("linked");
  r.image_mode(io::HtmlReport::ImageMode::link);
  r.image(test_image(), "tiles", "eig_class3.png").svg(plot, "curve").linked_image("existing/dir/pic.png", "old");
  r.write(td.path + "/report.html");
  const std::string h = io::read_file(td.path + "/report.html");
  CHECK(is_file(td.path + "/eig_class3.png"));
  CHECK(is_file(td.path + "/figure-2.svg"));  // unnamed figures are numbered
  CHECK_THAT(h, Contains("<img src=\"eig_class3.png\"") && Contains("<img src=\"figure-2.svg\"") &&
                    Contains("<img src=\"existing/dir/pic.png\""));
  CHECK(h.find("data:image") == std::string::npos);
  CHECK(io::read_image(td.path + "/eig_class3.png").pixels == test_image().pixels);
  // Names that could leave the folder are refused.
  CHECK_THROWS_WITH(r.image(test_image(), "x", "../evil.png"), Contains("may only contain"));
  CHECK_THROWS_WITH(r.image(test_image(), "x", "sub/dir.png"), Contains("may only contain"));
}

namespace {
// The PNGs inlined as data: URIs in `h`, decoded, in document order.
std::vector<io::Image> html_inline_images(const std::string& h) {
  std::vector<io::Image> out;
  const std::string key = "src=\"data:image/png;base64,";
  for (auto k = h.find(key); k != std::string::npos; k = h.find(key, k + 1)) {
    const auto b = k + key.size();
    const auto png = io::base64_decode(h.substr(b, h.find('"', b) - b));
    out.push_back(io::decode_image(std::string(png.begin(), png.end()), 0, "tile"));
  }
  return out;
}
}  // namespace

TEST_CASE("HTML tile blocks: labelled tile table, tile strip, explanation row; all text escaped", "[io][html]") {
  const io::Image img = test_image();
  io::Image other = img;
  for (auto& p : other.pixels) p = static_cast<std::uint8_t>(255 - p);
  io::HtmlReport r("tiles");
  r.tile_table({{"class <3>", {{{img, 84, "λ=1 & up"}, {other, 84, "b"}}, {{img, 60, "neg \"q\""}}}},
                {"row 2", {{{other, 50, "only"}}}}},
               "Rows: <classes>");
  r.tile_strip({{img, 100, "s<1>"}, {other, 100, "s2"}});
  const io::Tile input{other, 112, "input <x>"};
  r.explanation_row(&input, {{"Trouser & co", "logit 1.5 (p < 0.1)", {{img, 70, "+2"}}, {{other, 70, "-1"}}, "top-5 <share>"},
                             {"7", "logit 0.3", {}, {}, ""}});
  r.explanation_row(nullptr, {{"9", "", {{img, 70, "+1"}}, {}, ""}});
  const std::string h = r.html();
  // The table: one row per TileRow, label cell first, later groups set off by the divider class.
  CHECK(bilin_test::count(h, "<table class=\"tiles\">") == 1);
  CHECK(bilin_test::count(h, "<td class=\"tilelabel\">") == 2);
  CHECK_THAT(h, Contains("<p>Rows: &lt;classes&gt;</p><table class=\"tiles\"><tbody><tr><td class=\"tilelabel\">class "
                         "&lt;3&gt;</td><td><figure"));
  CHECK(bilin_test::count(h, "<td class=\"tilegroup\">") == 1);
  CHECK_THAT(h, Contains("<td class=\"tilelabel\">row 2</td><td><figure"));
  // Captions are escaped in the caption and in the alt text; widths are kept.
  CHECK_THAT(h, Contains("alt=\"λ=1 &amp; up\"") && Contains(">λ=1 &amp; up</figcaption>"));
  CHECK_THAT(h, Contains(">neg &quot;q&quot;</figcaption>") && Contains("width=\"60\""));
  CHECK_THAT(h, Contains(">s&lt;1&gt;</figcaption>") && Contains(">input &lt;x&gt;</figcaption>"));
  // The explanation row: input tile, then each class with its up | down tiles and the note.
  CHECK(bilin_test::count(h, "<div class=\"explain\">") == 2);
  CHECK(bilin_test::count(h, "<span class=\"explainclass\">") == 3);
  CHECK_THAT(h, Contains("<b>Trouser &amp; co</b> logit 1.5 (p &lt; 0.1)<br>"));
  CHECK_THAT(h, Contains("<br><small>top-5 &lt;share&gt;</small></span>"));
  CHECK(bilin_test::count(h, "<small>") == 1);  // empty notes leave no element
  CHECK(h.find("<3>") == std::string::npos);
  CHECK(h.find("<x>") == std::string::npos);
  // Every tile is a decodable PNG of the given picture, in call order.
  const auto imgs = html_inline_images(h);
  REQUIRE(imgs.size() == 10);
  const std::vector<const io::Image*> expect = {&img, &other, &img, &other, &img, &other, &other, &img, &other, &img};
  for (std::size_t i = 0; i < imgs.size(); ++i) CHECK(imgs[i].pixels == expect[i]->pixels);
}
