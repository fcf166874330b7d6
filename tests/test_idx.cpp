// Tests for bilin/data/idx.hpp: the real MNIST/Fashion-MNIST files (skipped when absent) and
// crafted damaged files, each of which must give a clear error naming the file and offset.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bilin/core/random.hpp>
#include <bilin/data/idx.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;
using bilin::index_t;
namespace data = bilin::data;

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::array<int, 10> class_counts(const bilin::Tensor<std::uint8_t>& labels) {
  std::array<int, 10> c{};
  for (index_t i = 0; i < labels.numel(); ++i) ++c[labels.data()[i]];
  return c;
}

// The header bytes of an unsigned-byte IDX file (big-endian extents).
std::string header(std::uint8_t ndim, const std::vector<std::uint32_t>& dims, std::uint8_t type = 0x08) {
  std::string h{'\0', '\0', static_cast<char>(type), static_cast<char>(ndim)};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xFF);
  return h;
}

using bilin_test::error_of;

// A small, valid MNIST-layout folder: n images of 28x28 and labels 0..9.
void write_fake_mnist(const std::string& dir, int n, bool gz) {
  ::mkdir(dir.c_str(), 0755);
  std::vector<std::uint8_t> px(static_cast<std::size_t>(n) * 784), lab(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i % 256);
  for (int i = 0; i < n; ++i) lab[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 10);
  const std::string ext = gz ? ".gz" : "";
  for (const char* split : {"train", "t10k"}) {
    data::write_idx(dir + "/" + split + "-images-idx3-ubyte" + ext, {n, 28, 28}, px.data());
    data::write_idx(dir + "/" + split + "-labels-idx1-ubyte" + ext, {n}, lab.data());
  }
}

}  // namespace

TEST_CASE("real MNIST: counts, first labels and class counts match the data README", "[idx][data]") {
  const std::string dir = std::string(BILIN_DATA_DIR) + "/mnist";
  if (!exists(dir + "/train-images-idx3-ubyte.gz")) {
    WARN("skipped: " << dir << " has no MNIST files (run data_scripts/fetch_mnist)");
    return;
  }
  const auto d = data::load_mnist(dir);
  CHECK(d.dir == dir);
  CHECK(d.train.images.shape() == bilin::Shape{60000, 28, 28});
  CHECK(d.train.labels.shape() == bilin::Shape{60000});
  CHECK(d.test.images.shape() == bilin::Shape{10000, 28, 28});
  CHECK(d.test.labels.numel() == 10000);
  CHECK(+d.train.labels.data()[0] == 5);  // the famous first training digit
  CHECK(+d.test.labels.data()[0] == 7);
  CHECK(class_counts(d.train.labels) ==
        std::array<int, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
  CHECK(class_counts(d.test.labels) == std::array<int, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  // Pixels: background 0, ink up to 255, and the first image has ink in its middle rows.
  const std::uint8_t* img0 = d.train.images.data();
  CHECK(img0[0] == 0);
  int ink = 0;
  for (int i = 0; i < 784; ++i) ink += img0[i] > 128;
  CHECK(ink > 50);
  // The name lookup finds the same files (through BILIN_DATA_DIR or the checkout's ../shared).
  CHECK_NOTHROW(data::locate_dataset("mnist"));
}

TEST_CASE("real Fashion-MNIST from the Debian package (skipped when absent)", "[idx][data]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!exists(dir + "/train-images-idx3-ubyte.gz")) {
    WARN("skipped: " << dir << " absent (apt-get install -y dataset-fashion-mnist)");
    return;
  }
  const auto d = data::load_mnist(dir);
  CHECK(d.train.size() == 60000);
  CHECK(d.test.size() == 10000);
  CHECK(+d.train.labels.data()[0] == 9);  // ankle boot
  for (int c : class_counts(d.train.labels)) CHECK(c == 6000);
  for (int c : class_counts(d.test.labels)) CHECK(c == 1000);
  CHECK(data::locate_dataset("fmnist").size() > 0);
}

TEST_CASE("write_idx / read_idx round trip, plain and gzip", "[idx]") {
  bilin_test::TempDir td("idx");
  std::vector<std::uint8_t> px(3 * 5 * 4);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 7);
  for (const char* name : {"/x-idx3-ubyte", "/x-idx3-ubyte.gz"}) {
    const std::string p = td.path + name;
    data::write_idx(p, {3, 5, 4}, px.data());
    const auto t = data::read_idx_images(p);
    CHECK(t.shape() == bilin::Shape{3, 5, 4});
    CHECK(t.to_vector() == px);
    CHECK(data::read_idx(p).shape() == bilin::Shape{3, 5, 4});
  }
  // The .gz really is compressed (starts with the gzip magic).
  const std::string gz = bilin::io::read_file(td.path + "/x-idx3-ubyte.gz");
  CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
  // Generic IDX with other ranks.
  const std::string p4 = td.path + "/four";
  data::write_idx(p4, {2, 1, 3, 2}, px.data());
  CHECK(data::read_idx(p4).shape() == bilin::Shape{2, 1, 3, 2});
}

TEST_CASE("truncated IDX files name the file and the byte offset", "[idx][errors]") {
  bilin_test::TempDir td("idx");
  const std::string full = header(3, {2, 28, 28}) + std::string(2 * 784, '\x10');
  SECTION("plain file cut inside the data") {
    const std::string p = td.path + "/cut-images-idx3-ubyte";
    bilin::io::write_file_atomic(p, full.substr(0, 1000));
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains("read_idx: " + p) && Contains("truncated at byte 1000 of 1584 expected") &&
                   Contains("2 x 28 x 28"));
  }
  SECTION("plain file cut inside the header") {
    const std::string p = td.path + "/hdr";
    bilin::io::write_file_atomic(p, full.substr(0, 10));
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains(p) && Contains("truncated at byte 10 of 16 expected for the header"));
  }
  SECTION("plain file cut inside the magic") {
    const std::string p = td.path + "/magic";
    bilin::io::write_file_atomic(p, full.substr(0, 2));
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains("truncated at byte 2 of 4") && Contains("magic"));
  }
  SECTION("empty file") {
    const std::string p = td.path + "/empty";
    bilin::io::write_file_atomic(p, "");
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains(p) && Contains("truncated at byte 0 of 4"));
  }
  SECTION("gzip file whose decompressed content is short") {
    const std::string p = td.path + "/short.gz";
    bilin::io::write_file_atomic(p, data::gzip_bytes(full.substr(0, 700)));
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains(p) && Contains("truncated at decompressed byte 700 of 1584 expected"));
  }
  SECTION("gzip file cut in the middle of the compressed stream") {
    std::string noisy = header(3, {20, 28, 28});
    for (int i = 0; i < 20 * 784; ++i) noisy += static_cast<char>((i * 2654435761u) >> 24);  // incompressible
    const std::string gz = data::gzip_bytes(noisy);
    const std::string p = td.path + "/cut.gz";
    bilin::io::write_file_atomic(p, gz.substr(0, gz.size() / 2));
    const std::string e = error_of([&] { data::read_idx_images(p); });
    CHECK_THAT(e, Contains(p) && Contains("decompressed byte") && Contains("of 15696 expected"));
    CHECK_THAT(e, Contains("unexpected end of file") || Contains("cut short"));
  }
}

TEST_CASE("damaged gzip data (bad CRC) is reported, not silently accepted", "[idx][errors]") {
  bilin_test::TempDir td("idx");
  std::string gz = data::gzip_bytes(header(3, {2, 4, 4}) + std::string(32, '\3'));
  gz[gz.size() - 6] ^= 0x01;  // inside the CRC32 of the gzip trailer
  const std::string p = td.path + "/crc.gz";
  bilin::io::write_file_atomic(p, gz);
  CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
             Contains("read_idx: " + p) && Contains("damaged gzip data at decompressed byte") &&
                 Contains("incorrect data check"));
}

TEST_CASE("wrong magic numbers are reported with the value and offset 0", "[idx][errors]") {
  bilin_test::TempDir td("idx");
  SECTION("a labels file given as images") {
    const std::string p = td.path + "/labels";
    bilin::io::write_file_atomic(p, header(1, {3}) + "abc");
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains("read_idx: " + p) && Contains("bad magic 0x00000801 at offset 0") &&
                   Contains("expected 0x00000803"));
    CHECK_NOTHROW(data::read_idx_labels(p));
  }
  SECTION("an images file given as labels") {
    const std::string p = td.path + "/images";
    bilin::io::write_file_atomic(p, header(3, {1, 1, 1}) + "a");
    CHECK_THAT(error_of([&] { data::read_idx_labels(p); }),
               Contains("bad magic 0x00000803 at offset 0") && Contains("expected 0x00000801"));
  }
  SECTION("not an IDX file at all (a gzip inside a gzip, a text file)") {
    const std::string p = td.path + "/double.gz";
    bilin::io::write_file_atomic(p, data::gzip_bytes(data::gzip_bytes(header(1, {1}) + "x")));
    CHECK_THAT(error_of([&] { data::read_idx(p); }),
               Contains("bad magic 0x1f8b08") && Contains("at offset 0") && Contains("two zero bytes"));
    const std::string t = td.path + "/text.txt";
    bilin::io::write_file_atomic(t, "hello world, not idx");
    CHECK_THAT(error_of([&] { data::read_idx(t); }), Contains("bad magic 0x68656c6c at offset 0"));
  }
  SECTION("unknown and unsupported data types") {
    const std::string p = td.path + "/weird";
    bilin::io::write_file_atomic(p, header(1, {1}, 0x07) + "x");
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains("unknown IDX data type 0x07 at offset 2"));
    bilin::io::write_file_atomic(p, header(1, {1}, 0x0D) + "xxxx");
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains("0x0d (float32)") && Contains("not supported"));
  }
  SECTION("zero dimensions") {
    const std::string p = td.path + "/zero";
    bilin::io::write_file_atomic(p, header(0, {}));
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains("zero dimensions"));
  }
}

TEST_CASE("wrong sizes: extra bytes, absurd dimensions", "[idx][errors]") {
  bilin_test::TempDir td("idx");
  const std::string ok = header(3, {2, 4, 4}) + std::string(32, '\1');
  SECTION("plain file with trailing bytes") {
    const std::string p = td.path + "/long";
    bilin::io::write_file_atomic(p, ok + "xyz");
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains(p) && Contains("file is 51 bytes but the header describes exactly 48") &&
                   Contains("3 extra bytes start at byte 48"));
  }
  SECTION("gzip file with trailing decompressed bytes") {
    const std::string p = td.path + "/long.gz";
    bilin::io::write_file_atomic(p, data::gzip_bytes(ok + std::string(5, '\0')));
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains("decompressed byte 48 should be the end") && Contains("5 more bytes follow"));
  }
  SECTION("dimensions claiming terabytes fail before allocating") {
    const std::string p = td.path + "/huge";
    bilin::io::write_file_atomic(p, header(3, {4000000000u, 60000, 28}) + "x");
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }), Contains("implausible dimensions"));
  }
  SECTION("many large extents do not overflow the size computation") {
    const std::string p = td.path + "/wide";
    bilin::io::write_file_atomic(p, header(6, {65536, 65536, 65536, 65536, 65536, 0}) + "x");
    // a zero extent means 0 data bytes, but the other extents alone would be far beyond the limit
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains("implausible dimensions") && Contains("non-zero extents"));
    bilin::io::write_file_atomic(p, header(5, {65536, 65536, 65536, 65536, 2}) + "x");
    CHECK_THAT(error_of([&] { data::read_idx(p); }), Contains("implausible dimensions"));
  }
  SECTION("zero images is a valid, empty file") {
    const std::string p = td.path + "/none-idx3-ubyte";
    bilin::io::write_file_atomic(p, header(3, {0, 28, 28}));
    CHECK(data::read_idx_images(p).shape() == bilin::Shape{0, 28, 28});
  }
  SECTION("plausible dimensions but a short gzip stream") {
    const std::string p = td.path + "/big.gz";
    // within deflate's maximum ratio for the file's size, so the stream itself is read
    bilin::io::write_file_atomic(p, data::gzip_bytes(header(3, {40, 28, 28}) + std::string(100, '\0')));
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains("truncated at decompressed byte 116 of 31376 expected"));
    // far beyond it: refused from the sizes alone, before inflating
    bilin::io::write_file_atomic(p, data::gzip_bytes(header(3, {60000, 28, 28}) + std::string(100, '\0')));
    CHECK_THAT(error_of([&] { data::read_idx_images(p); }),
               Contains("claims 47040016 decompressed bytes") && Contains("can hold at most"));
  }
}

TEST_CASE("load_mnist checks image size, label range and counts", "[idx][errors]") {
  bilin_test::TempDir td("idx");
  const std::string dir = td.path + "/m";
  write_fake_mnist(dir, 12, true);
  SECTION("a valid small folder loads") {
    const auto d = data::load_mnist(dir);
    CHECK(d.train.size() == 12);
    CHECK(d.test.images.shape() == bilin::Shape{12, 28, 28});
    CHECK(+d.test.labels.data()[11] == 1);
  }
  SECTION("uncompressed files are found too") {
    const std::string raw = td.path + "/raw";
    write_fake_mnist(raw, 3, false);
    CHECK(data::load_mnist(raw).train.size() == 3);
  }
  SECTION("27x28 images") {
    std::vector<std::uint8_t> px(12 * 27 * 28, 0);
    data::write_idx(dir + "/train-images-idx3-ubyte.gz", {12, 27, 28}, px.data());
    CHECK_THAT(error_of([&] { data::load_mnist(dir); }), Contains("load_mnist") && Contains("27x28") &&
                                                             Contains("train-images-idx3-ubyte.gz"));
  }
  SECTION("label 12") {
    std::vector<std::uint8_t> lab(12, 3);
    lab[5] = 12;
    data::write_idx(dir + "/t10k-labels-idx1-ubyte.gz", {12}, lab.data());
    CHECK_THAT(error_of([&] { data::load_mnist(dir); }),
               Contains("t10k-labels-idx1-ubyte.gz: label 12 at byte 13 is outside 0..9"));
  }
  SECTION("image and label counts differ") {
    std::vector<std::uint8_t> lab(11, 3);
    data::write_idx(dir + "/train-labels-idx1-ubyte.gz", {11}, lab.data());
    CHECK_THAT(error_of([&] { data::load_mnist(dir); }), Contains("holds 12 images but") && Contains("11 labels"));
  }
  SECTION("bad split name") {
    CHECK_THAT(error_of([&] { data::load_mnist_split(dir, "validation"); }), Contains("'train' or 'test'"));
  }
}

TEST_CASE("locate_dataset: search order, BILIN_DATA, and errors listing the places tried", "[idx][locate]") {
  bilin_test::TempDir td("idx");
  SECTION("a folder missing a file is named with what is missing") {
    const std::string dir = td.path + "/partial";
    write_fake_mnist(dir, 2, true);
    ::unlink((dir + "/t10k-labels-idx1-ubyte.gz").c_str());
    CHECK_THAT(error_of([&] { data::locate_dataset(dir); }),
               Contains("locate_dataset") && Contains("missing t10k-labels-idx1-ubyte[.gz]"));
  }
  SECTION("BILIN_DATA comes first") {
    write_fake_mnist(td.path + "/mnist", 4, true);
    write_fake_mnist(td.path + "/fashion-mnist", 6, false);
    const char* old = std::getenv("BILIN_DATA");
    const std::string saved = old ? old : "";
    ::setenv("BILIN_DATA", td.path.c_str(), 1);
    const auto paths = data::dataset_search_paths("mnist");
    REQUIRE(!paths.empty());
    CHECK(paths[0] == td.path + "/mnist");
    CHECK(data::load_mnist("mnist").train.size() == 4);
    CHECK(data::locate_dataset("fashion-mnist") == td.path + "/fashion-mnist");
    const auto fpaths = data::dataset_search_paths("fmnist");
    CHECK(fpaths[0] == td.path + "/fmnist");
    CHECK(fpaths[1] == td.path + "/fashion-mnist");
    CHECK(fpaths.back() == "/usr/share/datasets/fashion-mnist");
    if (old) ::setenv("BILIN_DATA", saved.c_str(), 1);
    else ::unsetenv("BILIN_DATA");
  }
  SECTION("the search covers ./data, the executable's folders and the checkout") {
    const auto paths = data::dataset_search_paths("mnist");
    char cwd[4096];
    REQUIRE(::getcwd(cwd, sizeof cwd));
    bool has_cwd = false, has_shared = false;
    for (const auto& p : paths) {
      has_cwd |= p == std::string(cwd) + "/data/mnist";
      has_shared |= p.find("/shared/data/mnist") != std::string::npos;
    }
    CHECK(has_cwd);
    CHECK(has_shared);
  }
  SECTION("an unknown name that is not a folder") {
    CHECK_THAT(error_of([&] { data::locate_dataset("kmnist"); }),
               Contains("'kmnist' is neither a data set name (mnist, fmnist) nor a folder"));
  }
}

TEST_CASE("read_idx on a missing file or a directory", "[idx][errors]") {
  bilin_test::TempDir td("idx");
  CHECK_THAT(error_of([&] { data::read_idx(td.path + "/nope.gz"); }),
             Contains("read_idx: " + td.path + "/nope.gz: cannot open: No such file or directory"));
  CHECK_THAT(error_of([&] { data::read_idx(td.path); }), Contains("is a directory"));
}

TEST_CASE("randomly damaged IDX files (plain and gzip) either load or throw bilin::Error", "[idx][fuzz]") {
  bilin_test::TempDir td("idx");
  std::string idx = header(3, {3, 7, 5});
  for (int i = 0; i < 3 * 35; ++i) idx += static_cast<char>(i * 13);
  const std::string gz = data::gzip_bytes(idx);
  bilin::Generator gen(9);
  const std::string p = td.path + "/f";
  int rejected = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string bad = iter % 2 ? gz : idx;
    if (gen.randint(2)) {
      bad.resize(static_cast<std::size_t>(gen.randint(bad.size())));
    } else {
      bad[static_cast<std::size_t>(gen.randint(bad.size()))] = static_cast<char>(gen.randint(256));
    }
    bilin::io::write_file_atomic(p, bad);
    try {
      data::read_idx_images(p);
    } catch (const bilin::Error& e) {
      ++rejected;
      CHECK(std::string(e.what()).rfind("read_idx: " + p + ": ", 0) == 0);
    }
  }
  CHECK(rejected > 200);
}
