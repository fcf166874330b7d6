// Tests for bilin/io/svg.hpp: nice ticks, escaping, non-finite data, well-formed output.
#include <unistd.h>

#include <bilin/io/svg.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
namespace io = bilin::io;

namespace {

// Structural checks that hold for any SVG we emit; xmllint (when installed) checks the rest.
void check_well_formed(const std::string& svg, const std::string& dir) {
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(bilin_test::count(svg, "<g") == bilin_test::count(svg, "</g>"));
  CHECK(bilin_test::count(svg, "<text") == bilin_test::count(svg, "</text>"));
  for (const char* bad : {"nan", "inf", "NaN", "Inf"}) CHECK(svg.find(std::string("\"") + bad) == std::string::npos);
  CHECK(svg.find("=\"-nan") == std::string::npos);
  if (::access("/usr/bin/xmllint", X_OK) == 0) {
    const std::string p = dir + "/check.svg";
    bilin::io::write_file_atomic(p, svg);
    CHECK(std::system(("/usr/bin/xmllint --noout " + p + " 2>/dev/null").c_str()) == 0);
  }
}

}  // namespace

TEST_CASE("nice_ticks picks round steps and widens the range to whole ticks", "[io][svg]") {
  double lo = 0, hi = 0.97;
  auto t = io::nice_ticks(lo, hi);
  CHECK(lo == 0.0);
  CHECK(hi == Approx(1.0));
  CHECK(t.size() == 6);  // 0, 0.2, ..., 1
  CHECK(t[1] == Approx(0.2));
  lo = -3.2, hi = 7.9;
  t = io::nice_ticks(lo, hi);
  CHECK(lo == -4.0);
  CHECK(hi == 8.0);
  CHECK(t[1] - t[0] == Approx(2.0));
  lo = 0.913, hi = 0.982;
  t = io::nice_ticks(lo, hi);
  CHECK(lo == Approx(0.9));
  CHECK(hi == Approx(1.0));
  CHECK(t[1] - t[0] == Approx(0.02));
  lo = 1, hi = 60;
  t = io::nice_ticks(lo, hi);
  CHECK(lo == 0);
  CHECK(hi == 60);
  CHECK(t[1] - t[0] == Approx(10));
  lo = 5, hi = 5;  // degenerate: widened around the value
  t = io::nice_ticks(lo, hi);
  CHECK(lo < 5);
  CHECK(hi > 5);
  for (double v : t) CHECK(std::isfinite(v));
}

TEST_CASE("line plot: labels escaped, legend, custom ticks, log axis, well-formed", "[io][svg]") {
  bilin_test::TempDir td("svg");
  io::Plot p;
  p.title("Accuracy <k> & \"all\" 'eigs'").xlabel("k (kept eigenvectors)").ylabel("test accuracy").logx();
  p.xticks({{1, "1"}, {10, "10"}, {100, "100"}, {512, "all"}});
  p.line("bilinear <MNIST>", {1, 2, 5, 10, 20, 50, 512}, {0.6, 0.8, 0.93, 0.96, 0.97, 0.974, 0.975});
  p.line("noise 0", {1, 2, 5, 10, 20, 50, 512}, {0.5, 0.7, 0.88, 0.93, 0.95, 0.96, 0.9715});
  p.hline(0.975, "full model");
  const std::string svg = p.svg();
  CHECK_THAT(svg, Contains("Accuracy &lt;k&gt; &amp; &quot;all&quot; &#39;eigs&#39;"));
  CHECK_THAT(svg, Contains(">k (kept eigenvectors)</text>") && Contains(">test accuracy</text>"));
  CHECK_THAT(svg, Contains(">bilinear &lt;MNIST&gt;</text>") && Contains(">noise 0</text>") &&
                      Contains(">full model</text>"));
  CHECK_THAT(svg, Contains(">all</text>"));
  CHECK(bilin_test::count(svg, "<path d=\"M") == 2);  // one polyline per line series
  CHECK_THAT(svg, Contains("stroke-dasharray=\"5,4\""));
  check_well_formed(svg, td.path);
  p.write(td.path + "/plot.svg");
  const std::string written = bilin::io::read_file(td.path + "/plot.svg");
  CHECK(written.size() == svg.size());  // same plot; only the clip-path id number may differ
  CHECK_THAT(written, Contains("Accuracy &lt;k&gt;"));
}

TEST_CASE("automatic log ticks are decades (with 2 and 5 on short ranges)", "[io][svg]") {
  io::Plot wide;
  wide.logx().line("a", {1e-3, 1e2}, {1, 2});
  const std::string w = wide.svg();
  for (const char* lab : {">0.001<", ">0.01<", ">0.1<", ">1<", ">10<", ">100<"}) CHECK_THAT(w, Contains(lab));
  io::Plot narrow;
  narrow.logy().line("a", {0, 1}, {3, 40});
  const std::string n = narrow.svg();
  for (const char* lab : {">2<", ">5<", ">10<", ">20<", ">50<"}) CHECK_THAT(n, Contains(lab));
}

TEST_CASE("non-finite and non-positive-on-log data are skipped, never printed", "[io][svg]") {
  bilin_test::TempDir td("svg");
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  io::Plot p;
  p.title("broken data").logy();
  p.line("gaps", {0, 1, 2, 3, 4, 5}, {1, nan, 3, inf, -1, 5});
  p.scatter("pts", {nan, 1, 2}, {1, 0, 4});
  const std::string svg = p.svg();
  check_well_formed(svg, td.path);
  CHECK(bilin_test::count(svg, "M") >= 2);  // the line is broken into pieces at the gaps
  io::Plot empty;
  empty.title("nothing to draw");
  check_well_formed(empty.svg(), td.path);
  io::Plot all_nan;
  all_nan.line("x", {nan}, {nan});
  check_well_formed(all_nan.svg(), td.path);
}

TEST_CASE("stem and bar plots include zero; plots get distinct clip ids", "[io][svg]") {
  bilin_test::TempDir td("svg");
  io::Plot spec;
  spec.title("Eigenvalues of Q(3)").xlabel("rank").ylabel("lambda");
  spec.stem("positive", {0, 1, 2}, {3.0, 1.5, 0.4}, "#b2182b");
  spec.stem("negative", {3, 4}, {-0.2, -0.9}, "#2166ac");
  const std::string s = spec.svg();
  check_well_formed(s, td.path);
  CHECK_THAT(s, Contains(">0</text>"));
  CHECK(bilin_test::count(s, "<line") >= 5 + 2);  // five stems plus axes and ticks
  io::Plot bars;
  bars.title("models").bar("", {0, 1, 2, 3}, {0.98, 0.975, 0.979, 0.981});
  bars.xticks({{0, "bilinear"}, {1, "glu-relu"}, {2, "glu-silu"}, {3, "relu"}});
  const std::string b = bars.svg();
  check_well_formed(b, td.path);
  CHECK(bilin_test::count(b, "<rect") == 3 + 4);  // background, clip, frame + four bars
  CHECK_THAT(b, Contains(">glu-silu</text>"));
  const auto id = [](const std::string& svg) {
    const auto k = svg.find("clipPath id=\"");
    return svg.substr(k, svg.find('"', k + 13) - k);
  };
  CHECK(id(s) != id(b));
}

TEST_CASE("plot input errors", "[io][svg]") {
  io::Plot p;
  CHECK_THROWS_WITH(p.line("bad", {1, 2, 3}, {1, 2}), Contains("series 'bad' has 3 x values but 2 y values"));
}
