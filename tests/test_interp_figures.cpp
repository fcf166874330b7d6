// Pictures of the analyses: colour conventions (RdBu, zero = white, symmetric scale), grid
// geometry, and plots that always carry their labels and never print NaN.
#include <catch2/catch.hpp>

#include "bilin/bilin.hpp"
#include "bilin/interp/figures.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

Eigencomponents<float> fake_components(index_t k, int h, int w) {
  Eigencomponents<float> ec;
  ec.values = TensorF::empty({k});
  ec.vectors = TensorF::zeros({k, 2});
  ec.inputs = TensorF::zeros({k, static_cast<index_t>(h * w)});
  ec.offsets = TensorF::zeros({k});
  for (index_t i = 0; i < k; ++i) {
    ec.values.data()[i] = static_cast<float>(k / 2 - i) + 0.5f;  // descending, both signs
    ec.inputs.data()[i * h * w + i % (h * w)] = 1.0f;            // one hot pixel per picture
  }
  return ec;
}

}  // namespace

TEST_CASE("eigenvector grid: one row per class, zero is white, positive is red", "[interp][figures]") {
  std::vector<Eigencomponents<float>> comps = {fake_components(6, 4, 5), fake_components(6, 4, 5)};
  const io::Image img = eigenvector_grid(comps, 2, 1, 4, 5, 3);
  // 3 tiles per row of 5·3 px, pad 2: width 3·15 + 4·2; 2 rows of 4·3 px.
  REQUIRE(img.width == 3 * 15 + 4 * 2);
  REQUIRE(img.height == 2 * 12 + 3 * 2);
  // Tile (0,0) shows component 0: its hot pixel (0,0) is red, the rest white.
  const io::RGB hot = img.rgb(2, 2), cold = img.rgb(2 + 3 * 2, 2 + 3 * 2);
  REQUIRE(hot.r > 100);
  REQUIRE(hot.b < 60);
  REQUIRE(cold == io::RGB{255, 255, 255});
  // Missing components (no such sign) stay white: ask for more negatives than exist.
  const io::Image wide = eigenvector_grid(comps, 1, 5, 4, 5, 1);
  REQUIRE(wide.width > img.width / 3);
}

TEST_CASE("matrix image uses a symmetric RdBu scale", "[interp][figures]") {
  const io::Image m = matrix_image({0.0, 0.5, 0.5, -1.0}, 2, 4);
  REQUIRE(m.width == 2 * 4 + 2);
  REQUIRE(m.rgb(1, 1) == io::RGB{255, 255, 255});  // Q[0,0] = 0 → white
  const io::RGB neg = m.rgb(1 + 4 + 1, 1 + 4 + 1);  // Q[1,1] = −1 = −max → darkest blue
  REQUIRE(neg == io::rdbu(-1.0));
  const io::RGB half = m.rgb(1 + 4 + 1, 1);          // Q[0,1] = ½ → half red
  REQUIRE(half == io::rdbu(0.5));
}

TEST_CASE("plots carry titles and axis labels and skip NaN", "[interp][figures]") {
  std::vector<Eigencomponents<float>> comps = {fake_components(30, 2, 2)};
  const std::string sp = spectrum_plot(comps, {"zero"}, 10).svg();
  REQUIRE(sp.find("eigenvalue") != std::string::npos);
  REQUIRE(sp.find("rank") != std::string::npos);
  const std::string mp = magnitude_plot(comps, {"zero"}, 20).svg();
  REQUIRE(mp.find("|λ|") != std::string::npos);
  std::vector<TruncationPoint> pts = {{1, false, 0.2, 0.2}, {10, false, 0.9, 0.95}, {0, true, 0.97, 1.0}};
  const std::string tp = truncation_plot(pts, "trunc").svg();
  REQUIRE(tp.find(">all<") != std::string::npos);
  REQUIRE(tp.find("test accuracy") != std::string::npos);
  AdversarialResult r;
  r.norms = {1, 2};
  r.methods = {AttackMethod::eigenvector, AttackMethod::random, AttackMethod::fgsm};
  r.success = {{0.1, NAN}, {0, 0}, {0.2, 0.5}};
  const std::string ap = adversarial_plot(r, "adv").svg();
  REQUIRE(ap.find("FGSM") != std::string::npos);
  REQUIRE(ap.find("L2 norm") != std::string::npos);
  for (const std::string* s : {&sp, &mp, &tp, &ap}) REQUIRE(s->find("nan") == std::string::npos);
}

TEST_CASE("tiles and composed pictures", "[interp][figures]") {
  const std::vector<float> px(784, 0.5f);
  const io::Image g = gray_tile(px.data(), 28, 28, 2);
  REQUIRE(g.width == 28 * 2 + 2);
  const std::string h = tile_html(g, 60, "a <b> & c");
  REQUIRE(h.find("data:image/png;base64,iVBORw0KGgo") != std::string::npos);  // a PNG signature
  REQUIRE(h.find("a &lt;b&gt; &amp; c") != std::string::npos);
  const io::Image c = compose({{g, g}, {g}}, 4);
  REQUIRE(c.width == 4 + 2 * (g.width + 4));
  REQUIRE(c.height == 4 + 2 * (g.height + 4));
}
