// tests/fuzz/fuzz_image.cpp — io/png.hpp decode_image / read_image on any bytes, followed by what
// `explain` does with the picture (io/image.hpp mnist_style, or to_gray + resize). The size
// limit is lowered to 2^20 pixels here so slow giant decodes do not eat the fuzzing time; the
// limit check itself is the code path under test either way.
// Contract: bilin::Error, or an Image with width × height × channels bytes that encode_png
// writes and decode_image reads back pixel for pixel; the MNIST preprocessing then gives 784
// values in [0, 1] or a bilin::Error (a picture without contrast).
#include "bilin/io/png.hpp"

#include <cmath>

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

BILIN_FUZZ_TARGET(image) {
  constexpr std::uint64_t kFuzzMaxPixels = 1 << 20;
  const int channels = input.empty() ? 0 : static_cast<unsigned char>(input.back()) % 5;
  io::Image img;
  if (!accepts([&] { img = io::decode_image(input, channels, "<fuzz>", kFuzzMaxPixels); })) return;
  FUZZ_EXPECT(img.width > 0 && img.height > 0 && img.channels >= 1 && img.channels <= 4);
  FUZZ_EXPECT(channels == 0 || img.channels == channels);
  FUZZ_EXPECT(img.pixels.size() == static_cast<std::size_t>(img.width) * img.height * img.channels);
  // the file-path reader agrees (on a small sample of inputs: it is the same decoder)
  if (input.size() % 7 == 0) {
    static bilin_fuzz::MemFile file;
    io::Image again;
    FUZZ_EXPECT(accepts([&] { again = io::read_image(file.set(input), channels); }));
    FUZZ_EXPECT(again.pixels == img.pixels);
  }
  std::vector<std::uint8_t> png;
  FUZZ_EXPECT(accepts([&] { png = io::encode_png(img); }));
  io::Image back;
  FUZZ_EXPECT(accepts([&] {
    back = io::decode_image(std::string_view(reinterpret_cast<const char*>(png.data()), png.size()), img.channels);
  }));
  FUZZ_EXPECT(back.width == img.width && back.height == img.height && back.channels == img.channels &&
              back.pixels == img.pixels);
  // explain's preprocessing
  std::vector<float> px;
  if (accepts([&] { px = io::mnist_style(img); })) {
    FUZZ_EXPECT(px.size() == 784);
    for (float v : px) FUZZ_EXPECT(v >= 0.0f && v <= 1.0f);
  }
  const std::vector<float> g = io::to_gray(img);
  FUZZ_EXPECT(g.size() == static_cast<std::size_t>(img.width) * img.height);
  const std::vector<float> r = io::resize(g.data(), img.height, img.width, 28, 28);
  FUZZ_EXPECT(r.size() == 784);
  for (float v : r) FUZZ_EXPECT(std::isfinite(v));
}
