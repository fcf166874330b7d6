// Tests for bilin/io/png.hpp and image.hpp: PNG round trips, colormap anchors, grids,
// resampling against closed forms, and MNIST-style preprocessing of arbitrary pictures.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bilin/data/idx.hpp>
#include <bilin/io/png.hpp>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
namespace io = bilin::io;

namespace {

using bilin_test::error_of;

// Centre of mass (row, col) of a size×size image in pixel indices.
std::pair<double, double> center_of_mass(const std::vector<float>& v, int size) {
  double m = 0, r = 0, c = 0;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double p = v[static_cast<std::size_t>(y * size + x)];
      m += p, r += p * y, c += p * x;
    }
  return {r / m, c / m};
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// A BMP built from the format's specification (BITMAPFILEHEADER, BITMAPINFOHEADER, palette of
// BGRA entries, rows padded to 4 bytes, stored bottom-up unless the height is negative).
// `rows` are the stored rows, one palette index per pixel, packed here to `bpp` bits.
std::string bmp_file(int bpp, const std::vector<std::array<std::uint8_t, 3>>& palette_rgb,
                     const std::vector<std::vector<int>>& rows, bool top_down, long offset_adjust = 0) {
  const auto le = [](std::string& s, std::uint32_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  const int w = static_cast<int>(rows[0].size()), h = static_cast<int>(rows.size());
  const int stride = ((w * bpp + 7) / 8 + 3) / 4 * 4;
  std::string pixels;
  for (const auto& row : rows) {
    std::string r(static_cast<std::size_t>(stride), '\0');
    for (int x = 0; x < w; ++x)
      r[static_cast<std::size_t>(x * bpp / 8)] =
          static_cast<char>(r[static_cast<std::size_t>(x * bpp / 8)] | (row[static_cast<std::size_t>(x)] << (8 - bpp - x * bpp % 8)));
    pixels += r;
  }
  const auto offset = static_cast<std::uint32_t>(14 + 40 + 4 * static_cast<long>(palette_rgb.size()) + offset_adjust);
  std::string f = "BM";
  le(f, static_cast<std::uint32_t>(offset + pixels.size()), 4);
  le(f, 0, 4);
  le(f, offset, 4);
  le(f, 40, 4);
  le(f, static_cast<std::uint32_t>(w), 4);
  le(f, static_cast<std::uint32_t>(top_down ? -h : h), 4);
  le(f, 1, 2);
  le(f, static_cast<std::uint32_t>(bpp), 2);
  for (int i = 0; i < 4; ++i) le(f, 0, 4);  // compression (none), image size, resolutions
  le(f, static_cast<std::uint32_t>(palette_rgb.size()), 4);
  le(f, 0, 4);
  for (const auto& c : palette_rgb)
    f += {static_cast<char>(c[2]), static_cast<char>(c[1]), static_cast<char>(c[0]), '\0'};
  if (f.size() > offset) f.resize(offset);  // a negative adjustment cuts into the header
  while (f.size() < offset) f += '\0';
  return f + pixels;
}

// A palette PNG built from the specification: IHDR (colour type 3), PLTE, one IDAT of the
// zlib-compressed rows (filter byte 0, indices packed to `depth` bits from the high end), IEND.
std::string palette_png(int depth, const std::vector<std::array<std::uint8_t, 3>>& palette_rgb,
                        const std::vector<std::vector<int>>& rows) {
  const auto be32 = [](std::string& s, std::uint32_t v) {
    for (int k = 24; k >= 0; k -= 8) s += static_cast<char>((v >> k) & 0xFF);
  };
  const auto chunk = [&](std::string& png, const std::string& type, const std::string& data) {
    be32(png, static_cast<std::uint32_t>(data.size()));
    const std::string body = type + data;
    png += body;
    be32(png, static_cast<std::uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  };
  const int w = static_cast<int>(rows[0].size()), h = static_cast<int>(rows.size());
  std::string raw;
  for (const auto& row : rows) {
    std::string r(static_cast<std::size_t>((w * depth + 7) / 8), '\0');
    for (int x = 0; x < w; ++x)
      r[static_cast<std::size_t>(x * depth / 8)] = static_cast<char>(
          r[static_cast<std::size_t>(x * depth / 8)] | (row[static_cast<std::size_t>(x)] << (8 - depth - x * depth % 8)));
    raw += '\0' + r;
  }
  std::vector<Bytef> z(compressBound(static_cast<uLong>(raw.size())));
  uLongf zn = static_cast<uLongf>(z.size());
  REQUIRE(compress(z.data(), &zn, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size())) == Z_OK);
  std::string ihdr, plte;
  be32(ihdr, static_cast<std::uint32_t>(w));
  be32(ihdr, static_cast<std::uint32_t>(h));
  ihdr += {static_cast<char>(depth), 3, 0, 0, 0};
  for (const auto& c : palette_rgb) plte += {static_cast<char>(c[0]), static_cast<char>(c[1]), static_cast<char>(c[2])};
  std::string png("\x89PNG\r\n\x1a\n", 8);
  chunk(png, "IHDR", ihdr);
  chunk(png, "PLTE", plte);
  chunk(png, "IDAT", std::string(reinterpret_cast<const char*>(z.data()), zn));
  chunk(png, "IEND", "");
  return png;
}

}  // namespace

TEST_CASE("palette BMPs: colours by index, top-down rows, and indices past the palette refused", "[io][bmp]") {
  const std::vector<std::array<std::uint8_t, 3>> pal = {{10, 20, 30}, {200, 100, 50}, {7, 8, 9}};
  // stored bottom-up: the first stored row is the picture's last
  const std::vector<std::vector<int>> stored = {{0, 1, 2, 1, 0}, {2, 2, 0, 1, 1}};
  for (int bpp : {4, 8}) {
    INFO("bpp " << bpp);
    const io::Image up = io::decode_image(bmp_file(bpp, pal, stored, false), 3, "up.bmp");
    REQUIRE(up.width == 5);
    REQUIRE(up.height == 2);
    for (std::size_t y = 0; y < 2; ++y)
      for (std::size_t x = 0; x < 5; ++x)
        for (std::size_t c = 0; c < 3; ++c)
          CHECK(up.pixels[(y * 5 + x) * 3 + c] == pal[static_cast<std::size_t>(stored[1 - y][x])][c]);
    // the same picture stored top-down (negative height)
    const io::Image down = io::decode_image(bmp_file(bpp, pal, {stored[1], stored[0]}, true), 3, "down.bmp");
    CHECK(down.height == 2);
    CHECK(down.pixels == up.pixels);
    // index 3 with a 3-entry palette: stb would read it from uninitialized memory
    CHECK_THAT(error_of([&] { io::decode_image(bmp_file(bpp, pal, {{0, 1, 2, 3, 0}, {0, 0, 0, 0, 0}}, false), 0, "idx.bmp"); }),
               Contains("idx.bmp") && Contains("BMP pixel 3 of stored row 0") && Contains("palette index 3") &&
                   Contains("the palette has 3 entries"));
  }
  const std::vector<std::vector<int>> bits = {{1, 0, 1, 1, 0, 0, 1, 0, 1}};
  const io::Image one = io::decode_image(bmp_file(1, {{0, 0, 0}, {255, 255, 255}}, bits, false), 1, "one.bmp");
  REQUIRE(one.width == 9);
  for (std::size_t x = 0; x < 9; ++x) CHECK(one.pixels[x] == (bits[0][x] ? 255 : 0));
  // a 1-bit BMP whose palette has one entry, and a pixel of index 1
  CHECK_THAT(error_of([&] { io::decode_image(bmp_file(1, {{1, 2, 3}}, bits, false), 0, "short.bmp"); }),
             Contains("BMP pixel 0 of stored row 0") && Contains("palette has 1 entries"));
  // pixel data starting 4 bytes before the header's end: stb counts -1 palette entries and reads
  // every colour from uninitialized memory (found by tests/fuzz)
  CHECK_THAT(error_of([&] { io::decode_image(bmp_file(1, {}, bits, false, -4), 0, "neg.bmp"); }),
             Contains("neg.bmp") && Contains("BMP pixel data at byte 50") && Contains("room for -1 palette entries"));
  // ... also when the compression field is negative, which stb reads as no compression
  std::string negc = bmp_file(8, pal, {{0, 1, 2, 200, 0}}, false);
  negc[33] = static_cast<char>(0xA1);
  CHECK_THAT(error_of([&] { io::decode_image(negc, 0, "negc.bmp"); }), Contains("BMP pixel 3 of stored row 0"));
}

TEST_CASE("PNG write + read round trip for 1 to 4 channels", "[io][png]") {
  bilin_test::TempDir td("png");
  for (int c = 1; c <= 4; ++c) {
    io::Image img(37, 23, c);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>((i * 37) % 256);
    const std::string p = td.path + "/img" + std::to_string(c) + ".png";
    io::write_png(p, img);
    const io::Image back = io::read_image(p);
    CHECK(back.width == 37);
    CHECK(back.height == 23);
    CHECK(back.channels == c);
    CHECK(back.pixels == img.pixels);
  }
  // The bytes really are a PNG.
  const std::string bytes = io::read_file(td.path + "/img1.png");
  CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  // Grayscale read of an RGB picture uses luminance; a gray PNG comes back unchanged.
  const io::Image g = io::read_image_gray(td.path + "/img1.png");
  CHECK(g.channels == 1);
  io::Image rgb(1, 1, 3);
  rgb.pixels = {255, 0, 0};
  io::write_png(td.path + "/red.png", rgb);
  CHECK(+io::read_image_gray(td.path + "/red.png").pixels[0] == 76);  // 0.299 * 255
  // Transparent pixels read as white paper, not black ink.
  io::Image rgba(1, 1, 4);
  rgba.pixels = {0, 0, 0, 0};
  io::write_png(td.path + "/clear.png", rgba);
  CHECK(+io::read_image_gray(td.path + "/clear.png").pixels[0] == 255);
}

TEST_CASE("palette PNGs: colours by index, and an index past a short palette refused", "[io][png]") {
  const std::vector<std::array<std::uint8_t, 3>> pal = {{10, 20, 30}, {200, 100, 50}, {7, 8, 9}};
  const std::vector<std::vector<int>> rows = {{0, 1, 2, 1}, {2, 2, 0, 1}};
  for (int depth : {2, 8}) {
    INFO("depth " << depth);
    const io::Image img = io::decode_image(palette_png(depth, pal, rows), 3, "pal.png");
    REQUIRE(img.width == 4);
    REQUIRE(img.height == 2);
    for (std::size_t y = 0; y < 2; ++y)
      for (std::size_t x = 0; x < 4; ++x)
        for (std::size_t c = 0; c < 3; ++c)
          CHECK(img.pixels[(y * 4 + x) * 3 + c] == pal[static_cast<std::size_t>(rows[y][x])][c]);
    // index 3 at (2, 1) with a 3-entry palette: stb would take its colour from uninitialized memory
    for (int channels : {0, 1, 4})
      CHECK_THAT(error_of([&] { io::decode_image(palette_png(depth, pal, {{0, 1, 2, 1}, {2, 2, 3, 1}}), channels, "idx.png"); }),
                 Contains("idx.png") && Contains("PNG pixel (2, 1) has a palette index past the 3 entries"));
  }
}

TEST_CASE("image read errors name the file and the reason", "[io][png]") {
  bilin_test::TempDir td("png");
  CHECK_THAT(error_of([&] { io::read_image(td.path + "/none.png"); }),
             Contains("read_image: cannot open") && Contains("none.png") && Contains("No such file"));
  io::write_file_atomic(td.path + "/text.png", "this is not a picture");
  CHECK_THAT(error_of([&] { io::read_image(td.path + "/text.png"); }),
             Contains(td.path + "/text.png") && Contains("not a readable PNG, JPEG"));
  io::write_file_atomic(td.path + "/empty.png", "");
  CHECK_THAT(error_of([&] { io::read_image(td.path + "/empty.png"); }), Contains("file is empty"));
  // A PNG cut in half: its IDAT chunk claims more bytes than are left, refused before stb decodes.
  io::Image img(64, 64, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  const auto png = io::encode_png(img);
  io::write_file_atomic(td.path + "/cut.png", std::string(png.begin(), png.begin() + static_cast<long>(png.size() / 2)));
  CHECK_THAT(error_of([&] { io::read_image(td.path + "/cut.png"); }),
             Contains("cut.png") && Contains("PNG chunk 'IDAT'") && Contains("(truncated?)"));
  CHECK_THAT(error_of([&] { io::encode_png(nullptr, 0, 5, 1); }), Contains("at least 1x1"));
  CHECK_THAT(error_of([&] { io::write_png(td.path + "/no/dir/x.png", img); }), Contains("write_file_atomic"));
}

TEST_CASE("RdBu colormap: -max blue, 0 white, +max red, monotone in between", "[io][colormap]") {
  CHECK(io::rdbu(-1.0) == io::RGB{5, 48, 97});    // matplotlib RdBu_r low end #053061
  CHECK(io::rdbu(0.0) == io::RGB{255, 255, 255});  // zero is white
  CHECK(io::rdbu(1.0) == io::RGB{103, 0, 31});     // high end #67001f
  CHECK(io::rdbu(-5.0) == io::rdbu(-1.0));         // clamped
  CHECK(io::rdbu(0.2) == io::RGB{253, 219, 199});  // an anchor: #fddbc7
  const io::RGB nan = io::rdbu(std::nan(""));
  CHECK(nan != io::RGB{255, 255, 255});
  for (double t = -1.0; t < 0.0; t += 0.05) {
    const io::RGB c = io::rdbu(t);
    CHECK(c.b >= c.r);  // bluish below zero
  }
  for (double t = 0.05; t <= 1.0; t += 0.05) {
    const io::RGB c = io::rdbu(t);
    CHECK(c.r >= c.b);  // reddish above zero
  }
  CHECK(io::gray(0.0) == io::RGB{0, 0, 0});
  CHECK(io::gray(1.0) == io::RGB{255, 255, 255});
  CHECK(io::gray(0.5) == io::RGB{128, 128, 128});
}

TEST_CASE("image_grid: geometry, symmetric scales, upscaling, frames", "[io][grid]") {
  // Two 2x3 tiles: tile 0 spans [-2, 2], tile 1 spans [-1, 1].
  const std::vector<float> v = {-2, 0, 2, 1, -1, 0, /* tile 1 */ -1, 0, 1, 0.5f, -0.5f, 0};
  io::GridOptions o;
  o.cols = 2;
  o.upscale = 3;
  o.pad = 2;
  const io::Image per = io::image_grid(v.data(), 2, 2, 3, o);
  CHECK(per.width == 2 * 9 + 3 * 2);
  CHECK(per.height == 6 + 2 * 2);
  CHECK(per.channels == 3);
  const auto tile_px = [&](const io::Image& im, int tile, int r, int c) {  // centre of an upscaled pixel
    return im.rgb(o.pad + tile * (9 + o.pad) + c * 3 + 1, o.pad + r * 3 + 1);
  };
  // Per-image scale: each tile's own extreme reaches the colormap end.
  CHECK(tile_px(per, 0, 0, 0) == io::rdbu(-1));
  CHECK(tile_px(per, 0, 0, 2) == io::rdbu(1));
  CHECK(tile_px(per, 0, 0, 1) == io::RGB{255, 255, 255});
  CHECK(tile_px(per, 1, 0, 0) == io::rdbu(-1));
  CHECK(tile_px(per, 1, 0, 2) == io::rdbu(1));
  // Shared scale: tile 1 only reaches half way.
  o.shared_scale = true;
  const io::Image shared = io::image_grid(v.data(), 2, 2, 3, o);
  CHECK(tile_px(shared, 0, 0, 2) == io::rdbu(1));
  CHECK(tile_px(shared, 1, 0, 2) == io::rdbu(0.5));
  CHECK(tile_px(shared, 1, 1, 1) == io::rdbu(-0.25));
  // Fixed scale and the frame colour just outside a tile.
  o.shared_scale = false;
  o.vmax = 4;
  const io::Image fixed = io::image_grid(v.data(), 2, 2, 3, o);
  CHECK(tile_px(fixed, 0, 0, 2) == io::rdbu(0.5));
  CHECK(fixed.rgb(o.pad - 1, o.pad + 1) == o.frame_color);
  CHECK(fixed.rgb(0, 0) == o.background);
  // Gray map over [0, 1] (MNIST digits) and an all-zero tile (no division by zero).
  io::GridOptions g;
  g.cmap = io::Colormap::gray;
  g.vmin = 0;
  g.vmax = 1;
  g.upscale = 1;
  g.pad = 1;
  const std::vector<float> px = {0, 0.5f, 1, 0};
  const io::Image gi = io::image_grid(px.data(), 1, 2, 2, g);
  CHECK(gi.rgb(1, 1) == io::RGB{0, 0, 0});
  CHECK(gi.rgb(2, 1) == io::RGB{128, 128, 128});
  CHECK(gi.rgb(1, 2) == io::RGB{255, 255, 255});
  const std::vector<float> zeros(9, 0.0f);
  const io::Image z = io::image_grid(zeros.data(), 1, 3, 3, io::GridOptions{});
  CHECK(z.rgb(io::GridOptions{}.pad + 1, io::GridOptions{}.pad + 1) == io::RGB{255, 255, 255});
  // Tensor overload and a count that does not fill the last row.
  const auto t = bilin::Tensor<float>::zeros({5, 4});
  io::GridOptions t3;
  t3.cols = 3;
  t3.upscale = 1;
  t3.pad = 1;
  const io::Image ti = io::image_grid(t, 2, 2, t3);
  CHECK(ti.width == 3 * 2 + 4);
  CHECK(ti.height == 2 * 2 + 3);
  CHECK_THAT(error_of([&] { io::image_grid(t, 3, 3); }), Contains("is not a stack of 3x3 images"));
}

TEST_CASE("resampling: constants stay constant, ramps stay ramps, area averages blocks", "[io][resize]") {
  const std::vector<float> c(6 * 10, 0.75f);
  for (float v : io::resize_bilinear(c.data(), 6, 10, 13, 7)) CHECK(v == Approx(0.75f));
  for (float v : io::resize(c.data(), 6, 10, 2, 3)) CHECK(v == Approx(0.75f));
  // A horizontal ramp f(x) = x sampled at pixel centres stays exact under bilinear 2x enlargement
  // (away from the clamped borders): dst pixel j sits at source coordinate (j + 0.5) / 2 - 0.5.
  std::vector<float> ramp(8);
  for (int i = 0; i < 8; ++i) ramp[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const auto up = io::resize_bilinear(ramp.data(), 1, 8, 1, 16);
  for (int j = 1; j < 15; ++j) CHECK(up[static_cast<std::size_t>(j)] == Approx((j + 0.5) / 2 - 0.5));
  // Area reduction by 2 is the mean of each 2x2 block; by 3 of each 3x3 block.
  std::vector<float> img(6 * 6);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<float>(i * i % 17);
  const auto half = io::resize(img.data(), 6, 6, 3, 3);
  const auto third = io::resize(img.data(), 6, 6, 2, 2);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) {
      double m = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) m += img[static_cast<std::size_t>((2 * y + dy) * 6 + 2 * x + dx)];
      CHECK(half[static_cast<std::size_t>(y * 3 + x)] == Approx(m / 4));
    }
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) {
      double m = 0;
      for (int dy = 0; dy < 3; ++dy)
        for (int dx = 0; dx < 3; ++dx) m += img[static_cast<std::size_t>((3 * y + dy) * 6 + 3 * x + dx)];
      CHECK(third[static_cast<std::size_t>(y * 2 + x)] == Approx(m / 9));
    }
  // Total ink is preserved by area reduction (a thin stroke does not vanish).
  std::vector<float> stroke(100 * 100, 0.0f);
  for (int y = 10; y < 90; ++y) stroke[static_cast<std::size_t>(y * 100 + 47)] = 1.0f;
  const auto small = io::resize(stroke.data(), 100, 100, 10, 10);
  CHECK(std::accumulate(small.begin(), small.end(), 0.0) * 100.0 == Approx(80.0));
}

TEST_CASE("mnist_style: a photo-like picture becomes a centred 28x28 digit", "[io][mnist_style]") {
  // A dark ring ("0") on light paper, 150 high x 200 wide, off centre, with faint noise.
  const int h = 150, w = 200;
  io::Image img(w, h, 3, 235);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dy = (y - 60) / 45.0, dx = (x - 140) / 30.0;
      const double r = std::sqrt(dx * dx + dy * dy);
      const std::uint8_t v = std::abs(r - 1.0) < 0.18 ? 20 : static_cast<std::uint8_t>(230 + (x * 7 + y * 3) % 10);
      img.set(x, y, {v, v, v});
    }
  const auto out = io::mnist_style(img);
  REQUIRE(out.size() == 784);
  const auto [cy, cx] = center_of_mass(out, 28);
  CHECK(cy == Approx(14.0).margin(0.6));
  CHECK(cx == Approx(14.0).margin(0.6));
  // Ink is bright, background is 0, and the digit fits a 20-pixel box (height 20, width ~13).
  int top = 28, bottom = -1, left = 28, right = -1;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      if (out[static_cast<std::size_t>(y * 28 + x)] > 0.1f)
        top = std::min(top, y), bottom = std::max(bottom, y), left = std::min(left, x), right = std::max(right, x);
  CHECK(bottom - top + 1 <= 21);
  CHECK(bottom - top + 1 >= 18);
  CHECK(right - left + 1 <= 15);
  CHECK(out[0] == 0.0f);
  CHECK(*std::max_element(out.begin(), out.end()) > 0.9f);
  // The hole of the ring is empty.
  CHECK(out[14 * 28 + 14] < 0.05f);
  // A blank picture is an error, not a silent all-zero input.
  io::Image blank(50, 40, 1, 200);
  CHECK_THAT(error_of([&] { io::mnist_style(blank); }), Contains("mnist_style") && Contains("no visible ink"));
}

TEST_CASE("mnist_style reproduces a real MNIST digit from an enlarged, inverted copy", "[io][mnist_style]") {
  const std::string dir = std::string(BILIN_DATA_DIR) + "/mnist";
  struct stat st {};
  if (::stat((dir + "/t10k-images-idx3-ubyte.gz").c_str(), &st) != 0) {
    WARN("skipped: no MNIST files in " << dir);
    return;
  }
  const auto imgs = bilin::data::read_idx_images(dir + "/t10k-images-idx3-ubyte.gz");
  bilin_test::TempDir td("png");
  double worst = 1.0;
  for (int k = 0; k < 20; ++k) {
    std::vector<float> digit(784);
    for (int i = 0; i < 784; ++i) digit[static_cast<std::size_t>(i)] = imgs.data()[k * 784 + i] / 255.0f;
    // What a user might hand in: black ink on white paper, 5x larger, saved as PNG.
    io::Image big(140, 140, 1);
    for (int y = 0; y < 140; ++y)
      for (int x = 0; x < 140; ++x)
        big.pixels[static_cast<std::size_t>(y * 140 + x)] =
            static_cast<std::uint8_t>(255 - imgs.data()[k * 784 + (y / 5) * 28 + x / 5]);
    const std::string p = td.path + "/digit.png";
    io::write_png(p, big);
    const auto back = io::mnist_style(io::read_image(p));
    worst = std::min(worst, correlation(back, digit));
  }
  INFO("worst correlation with the original MNIST digit: " << worst);
  CHECK(worst > 0.99);  // same scale, same centre-of-mass convention as MNIST itself
}
