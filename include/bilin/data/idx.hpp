// bilin/data/idx.hpp — IDX files (MNIST, Fashion-MNIST): reading, writing, finding them.
//
// Contract:
// - read_idx(path) reads an unsigned-byte IDX file, plain or gzip (zlib reads plain files
//   transparently, so the extension does not matter), into a Tensor<uint8_t> whose shape is
//   the header's dimensions. The header is big-endian: magic 00 00 <type> <ndim>, then ndim
//   uint32 extents. It validates the two zero bytes, the type code (only 0x08 is supported),
//   ndim, and that the data length is exactly the product of the extents — a short file and a
//   file with bytes past the end are both errors.
// - Size limits, checked on the header before the tensor is allocated: at most 16 GiB of data;
//   a plain file's size must equal header + data exactly; a gzip file cannot hold more than
//   kIdxMaxGzipRatio (1032, deflate's maximum compression ratio) times its compressed size, so a
//   small file claiming 2^31 rows is refused instead of allocating what it claims.
// - read_idx_images(path) additionally requires magic 0x00000803 ([N, rows, cols]) and
//   read_idx_labels(path) 0x00000801 ([N]); the check happens on the header, before any data.
// - Every failure throws bilin::Error("read_idx", ...) whose message starts with the path and
//   gives the byte offset: "/d/x.gz: truncated at byte 16 of 47040016 expected (...)". For gzip
//   files offsets count decompressed bytes and the message says so.
// - write_idx(path, dims, bytes) writes an unsigned-byte IDX file atomically, gzip-compressed
//   when the path ends in ".gz"; gzip_bytes() is the in-memory compressor it uses (tests use
//   both to craft damaged files).
// - locate_dataset(name_or_path) finds the folder holding the four MNIST-layout files
//   (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//   t10k-labels-idx1-ubyte, each optionally .gz). name is "mnist" or "fmnist" (aliases
//   "fashion-mnist", "fashion_mnist"); anything else is taken as a folder path. Search order:
//     1. $BILIN_DATA/<name>
//     2. ./data/<name> (current directory)
//     3. <A>/data/<name> and <A>/../shared/data/<name> for the executable's folder A and its
//        parents (a build tree's data/ folder; a checkout next to shared/)
//     4. $BILIN_DATA_DIR/<name> when the build defines the BILIN_DATA_DIR macro
//     5. <checkout>/data/<name> and <checkout>/../shared/data/<name>, where <checkout> is the
//        source tree this header was compiled from
//     6. /usr/share/datasets/fashion-mnist (fmnist; Debian package dataset-fashion-mnist)
//   where <name> is "mnist", or "fmnist" / "fashion-mnist" for Fashion-MNIST. When nothing is
//   found the error lists every place tried (and what was missing) and the data_scripts
//   command that fetches the data. dataset_search_paths(name) returns that list.
// - load_mnist(name_or_path) loads both splits: images uint8 [N,28,28], labels uint8 [N]; it
//   checks 28x28, equal image/label counts and labels in 0..9. load_mnist_split(dir, "train"
//   | "test") loads one.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"
#include "../io/atomic_file.hpp"

namespace bilin::data {

inline constexpr std::uint64_t kIdxMaxGzipRatio = 1032;

namespace detail {

inline std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

inline std::string hex8(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v & 0xFFu);
  return buf;
}

inline const char* idx_type_name(unsigned code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

// A gzFile that remembers its path and how far it got, so errors can say where.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      throw Error("read_idx", msg(path, ": cannot open: ", io::detail::errno_text(err)));
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw Error("read_idx", msg(path, ": is a directory, not an IDX file"));
      }
      file_size_ = static_cast<std::uint64_t>(st.st_size);
    }
    gz_ = gzdopen(fd, "rb");
    if (!gz_) {
      ::close(fd);
      throw Error("read_idx", msg(path, ": zlib could not open the file (out of memory?)"));
    }
    gzbuffer(gz_, 1 << 17);
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  ~IdxStream() {
    if (gz_) gzclose(gz_);
  }

  // Read up to n bytes; returns how many arrived (fewer only at end of data). A zlib error
  // (corrupt deflate data, bad CRC, truncated gzip member) throws with the offset.
  std::size_t read(void* dst, std::size_t n) {
    std::size_t got = 0;
    auto* p = static_cast<unsigned char*>(dst);
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = gzread(gz_, p + got, chunk);
      if (r < 0) data_error(got);
      if (r == 0) {
        // A gzip file cut short reads as a clean EOF here; zlib flags it as Z_BUF_ERROR.
        int errnum = 0;
        gzerror(gz_, &errnum);
        if (errnum == Z_BUF_ERROR) truncated_gzip_ = true;
        if (errnum != Z_OK && errnum != Z_BUF_ERROR) data_error(got);
        break;
      }
      got += static_cast<std::size_t>(r);
    }
    pos_ += got;
    return got;
  }

  // zlib detects damage (bad deflate data, CRC mismatch) when it decompresses a buffer ahead of
  // what was asked, so the offset is where reading stood when the damage surfaced.
  [[noreturn]] void data_error(std::size_t got) {
    int errnum = 0;
    std::string m = gzerror(gz_, &errnum);
    if (m.rfind("<fd:", 0) == 0 && m.find(": ") != std::string::npos) m = m.substr(m.find(": ") + 2);  // zlib's fd tag
    if (errnum == Z_ERRNO) m = io::detail::errno_text(errno);
    throw Error("read_idx", msg(path_, ": ", compressed() ? "damaged gzip data" : "read error", " at ", offset_word(),
                                " ", pos_ + got, ": ", m.empty() ? "zlib error" : m));
  }

  bool compressed() { return gzdirect(gz_) == 0; }
  std::string offset_word() { return compressed() ? "decompressed byte" : "byte"; }
  std::string eof_note() {
    if (!compressed()) return msg("file is ", file_size_, " bytes");
    return truncated_gzip_ ? "gzip stream cut short: unexpected end of file" : "gzip stream ended";
  }
  std::uint64_t file_size() const { return file_size_; }
  std::uint64_t pos() const { return pos_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile gz_ = nullptr;
  std::uint64_t pos_ = 0;
  std::uint64_t file_size_ = 0;
  bool truncated_gzip_ = false;
};

struct IdxHeader {
  std::uint32_t magic = 0;
  unsigned type = 0;
  Shape dims;
  std::uint64_t header_bytes = 0;
  std::uint64_t data_bytes = 0;
};

inline std::string dims_text(const Shape& d) {
  std::string s;
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s;
}

// expect_magic == 0: any unsigned-byte IDX file.
inline IdxHeader read_idx_header(IdxStream& in, std::uint32_t expect_magic, const char* expect_what) {
  const std::string& path = in.path();
  unsigned char m[4];
  const std::size_t got = in.read(m, 4);
  if (got < 4)
    throw Error("read_idx", msg(path, ": truncated at ", in.offset_word(), " ", got,
                                " of 4 expected for the magic number (", in.eof_note(), ")"));
  IdxHeader h;
  h.magic = (std::uint32_t(m[0]) << 24) | (std::uint32_t(m[1]) << 16) | (std::uint32_t(m[2]) << 8) | m[3];
  h.type = m[2];
  const unsigned ndim = m[3];
  const std::string expected =
      expect_magic ? msg(" (expected ", hex32(expect_magic), ": ", expect_what, ")") : std::string();
  if (m[0] != 0 || m[1] != 0)
    throw Error("read_idx", msg(path, ": bad magic ", hex32(h.magic), " at offset 0: an IDX file starts with two zero bytes",
                                expected.empty() ? " then a type byte and a dimension count" : expected));
  if (!idx_type_name(h.type))
    throw Error("read_idx", msg(path, ": bad magic ", hex32(h.magic), " at offset 0: unknown IDX data type ",
                                hex8(h.type), " at offset 2", expected));
  if (h.type != 0x08)
    throw Error("read_idx", msg(path, ": IDX data type ", hex8(h.type), " (", idx_type_name(h.type),
                                ") at offset 2 is not supported; bilin reads unsigned-byte IDX files (0x08)"));
  if (expect_magic && h.magic != expect_magic)
    throw Error("read_idx", msg(path, ": bad magic ", hex32(h.magic), " at offset 0: a ", ndim, "-dimensional IDX file",
                                expected));
  if (ndim == 0) throw Error("read_idx", msg(path, ": bad magic ", hex32(h.magic), " at offset 0: zero dimensions"));

  h.header_bytes = 4 + 4ull * ndim;
  std::vector<unsigned char> raw(4ull * ndim);
  const std::size_t gd = in.read(raw.data(), raw.size());
  if (gd < raw.size())
    throw Error("read_idx", msg(path, ": truncated at ", in.offset_word(), " ", 4 + gd, " of ", h.header_bytes,
                                " expected for the header of ", ndim, " dimensions (", in.eof_note(), ")"));
  // 16 GiB is far beyond any IDX data set and keeps a corrupted extent from allocating the world.
  constexpr std::uint64_t kLimit = 1ull << 34;
  std::uint64_t total = 1;
  bool zero = false, too_big = false;
  for (unsigned i = 0; i < ndim; ++i) {
    const unsigned char* b = raw.data() + 4 * i;
    const std::uint32_t e = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
    h.dims.push_back(static_cast<index_t>(e));
    if (e == 0) zero = true;
    else if (!too_big && total > kLimit / e) too_big = true;
    else if (!too_big) total *= e;
  }
  // The non-zero extents are bounded even when another extent is zero: the shape's element
  // count is computed in int64 elsewhere and must not overflow.
  if (too_big || total > kLimit)
    throw Error("read_idx", msg(path, ": implausible dimensions ", dims_text(h.dims), " in the header at offset 4 (",
                                zero ? "the non-zero extents multiply to " : "", "more than 16 GiB of data)"));
  if (zero) total = 0;
  h.data_bytes = total;
  return h;
}

inline Tensor<std::uint8_t> read_idx_checked(const std::string& path, std::uint32_t expect_magic,
                                             const char* expect_what) {
  IdxStream in(path);
  const IdxHeader h = read_idx_header(in, expect_magic, expect_what);
  const std::uint64_t expected_total = h.header_bytes + h.data_bytes;
  const std::string layout = msg("header: ", dims_text(h.dims), " unsigned bytes");
  // For a plain file the size is known up front: say exactly how far off it is.
  if (!in.compressed() && in.file_size() != expected_total) {
    if (in.file_size() < expected_total)
      throw Error("read_idx", msg(path, ": truncated at byte ", in.file_size(), " of ", expected_total, " expected (",
                                  layout, ")"));
    throw Error("read_idx", msg(path, ": file is ", in.file_size(), " bytes but the header describes exactly ",
                                expected_total, " (", layout, "); ", in.file_size() - expected_total,
                                " extra bytes start at byte ", expected_total));
  }
  // deflate never expands more than 1032:1 (plus the gzip trailer), so a claim beyond that is a lie.
  if (in.compressed() && expected_total > kIdxMaxGzipRatio * in.file_size() + 64)
    throw Error("read_idx", msg(path, ": header at offset 4 claims ", expected_total, " decompressed bytes (", layout,
                                ") but a ", in.file_size(), "-byte gzip file can hold at most ",
                                kIdxMaxGzipRatio * in.file_size() + 64));
  auto t = Tensor<std::uint8_t>::empty(h.dims);
  const std::size_t got = in.read(t.data(), static_cast<std::size_t>(h.data_bytes));
  if (got < h.data_bytes)
    throw Error("read_idx", msg(path, ": truncated at ", in.offset_word(), " ", h.header_bytes + got, " of ",
                                expected_total, " expected (", layout, "; ", in.eof_note(), ")"));
  unsigned char extra[1 << 14];
  std::uint64_t n_extra = 0;
  for (std::size_t r; (r = in.read(extra, sizeof extra)) > 0;) n_extra += r;
  if (n_extra)
    throw Error("read_idx", msg(path, ": data continues past the expected end: ", in.offset_word(), " ",
                                expected_total, " should be the end (", layout, ") but ", n_extra,
                                " more bytes follow"));
  return t;
}

}  // namespace detail

inline Tensor<std::uint8_t> read_idx(const std::string& path) { return detail::read_idx_checked(path, 0, ""); }

inline Tensor<std::uint8_t> read_idx_images(const std::string& path) {
  return detail::read_idx_checked(path, 0x00000803u, "unsigned-byte images, 3 dimensions");
}

inline Tensor<std::uint8_t> read_idx_labels(const std::string& path) {
  return detail::read_idx_checked(path, 0x00000801u, "unsigned-byte labels, 1 dimension");
}

// gzip-wrapped deflate of `bytes` (level 6, like gzip's default).
inline std::string gzip_bytes(std::string_view bytes, int level = 6) {
  z_stream zs{};
  BILIN_CHECK(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, "gzip_bytes",
              "deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const std::size_t n = zs.total_out;
  deflateEnd(&zs);
  BILIN_CHECK(rc == Z_STREAM_END, "gzip_bytes", "deflate failed with code ", rc);
  out.resize(n);
  return out;
}

inline std::string encode_idx(const Shape& dims, const std::uint8_t* data) {
  BILIN_CHECK(!dims.empty() && dims.size() < 256, "write_idx", "IDX needs 1..255 dimensions, got ", dims.size());
  std::string out;
  out += '\0';
  out += '\0';
  out += '\x08';
  out += static_cast<char>(dims.size());
  for (index_t d : dims) {
    BILIN_CHECK(d >= 0 && d <= 0xFFFFFFFFll, "write_idx", "extent ", d, " does not fit in uint32");
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((static_cast<std::uint64_t>(d) >> s) & 0xFF);
  }
  out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(numel(dims)));
  return out;
}

inline void write_idx(const std::string& path, const Shape& dims, const std::uint8_t* data) {
  std::string bytes = encode_idx(dims, data);
  const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  io::write_file_atomic(path, gz ? gzip_bytes(bytes) : bytes);
}
inline void write_idx(const std::string& path, const Tensor<std::uint8_t>& t) {
  const auto v = t.to_vector();
  write_idx(path, t.shape(), v.data());
}

// ---------------------------------------------------------------------- locating data sets
namespace detail {

inline bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
inline bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

inline constexpr std::array<const char*, 4> kMnistFiles = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

// The file for `stem` in dir (prefers .gz), or "" when neither form exists.
inline std::string find_idx_file(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".gz", ""})
    if (is_file(dir + "/" + stem + ext)) return dir + "/" + stem + ext;
  return {};
}

// "" when dir holds all four files; otherwise what is missing.
inline std::string missing_files(const std::string& dir) {
  if (!is_dir(dir)) return "no such folder";
  std::string miss;
  for (const char* f : kMnistFiles)
    if (find_idx_file(dir, f).empty()) miss += (miss.empty() ? "missing " : ", ") + std::string(f) + "[.gz]";
  return miss;
}

// Folder names a data set goes by; empty when `name` is not a known data set name.
inline std::vector<std::string> dataset_dirnames(const std::string& name) {
  if (name == "mnist" || name == "MNIST") return {"mnist"};
  if (name == "fmnist" || name == "fashion-mnist" || name == "fashion_mnist" || name == "FashionMNIST")
    return {"fmnist", "fashion-mnist"};
  return {};
}

// The source checkout this header belongs to, from its own path (include/bilin/data/idx.hpp).
inline std::string source_checkout() {
  std::string f = __FILE__;
  const auto k = f.rfind("/include/bilin/data/");
  if (f.empty() || f[0] != '/' || k == std::string::npos) return {};
  return f.substr(0, k);
}

inline std::string self_exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, static_cast<std::size_t>(n));
  const auto slash = p.find_last_of('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

// Collapse "a/b/../c" and "./" so the list of places tried reads cleanly (purely textual).
inline std::string tidy_path(const std::string& p) {
  const bool abs = !p.empty() && p[0] == '/';
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= p.size()) {
    const auto j = std::min(p.find('/', i), p.size());
    const std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!abs) parts.push_back(part);
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = abs ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) out += (k ? "/" : "") + parts[k];
  return out.empty() ? "." : out;
}

}  // namespace detail

inline std::vector<std::string> dataset_search_paths(const std::string& name) {
  const auto names = detail::dataset_dirnames(name);
  std::vector<std::string> out;
  const auto add = [&](const std::string& p) {
    const std::string t = detail::tidy_path(p);
    for (const auto& o : out)
      if (o == t) return;
    out.push_back(t);
  };
  const auto add_root = [&](const std::string& root) {
    for (const auto& n : names) add(root + "/" + n);
  };
  if (const char* env = std::getenv("BILIN_DATA"); env && *env) add_root(env);
  {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) add_root(std::string(cwd) + "/data");
  }
  std::string exe = detail::self_exe_dir();
  for (int up = 0; up < 4 && !exe.empty(); ++up) {
    add_root(exe + "/data");
    add_root(exe + "/../shared/data");
    const auto slash = exe.find_last_of('/');
    exe = slash == 0 || slash == std::string::npos ? std::string() : exe.substr(0, slash);
  }
#ifdef BILIN_DATA_DIR
  add_root(BILIN_DATA_DIR);
#endif
  if (const std::string src = detail::source_checkout(); !src.empty()) {
    add_root(src + "/data");
    add_root(src + "/../shared/data");
  }
  if (names.size() > 1) add("/usr/share/datasets/fashion-mnist");
  return out;
}

inline std::string locate_dataset(const std::string& name_or_path) {
  const auto names = detail::dataset_dirnames(name_or_path);
  if (names.empty()) {
    const std::string miss = detail::missing_files(name_or_path);
    if (miss.empty()) return name_or_path;
    throw Error("locate_dataset", msg("'", name_or_path, "' is neither a data set name (mnist, fmnist) nor a folder ",
                                      "with the four IDX files: ", miss));
  }
  const auto paths = dataset_search_paths(name_or_path);
  std::string tried;
  for (const auto& p : paths) {
    const std::string miss = detail::missing_files(p);
    if (miss.empty()) return p;
    tried += "\n  " + p + " (" + miss + ")";
  }
  const bool fashion = names.size() > 1;
  const std::string src = detail::source_checkout();
  const std::string script = (src.empty() ? std::string("data_scripts") : src + "/data_scripts") +
                             (fashion ? "/fetch_fmnist" : "/fetch_mnist");
  throw Error("locate_dataset",
              msg("data set '", name_or_path, "' not found; looked for train-images-idx3-ubyte[.gz], ",
                  "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] in:", tried,
                  "\nFetch it with: ", script, " --dest data/", names[0],
                  fashion ? "   (or: apt-get install -y dataset-fashion-mnist)" : "",
                  "\nor point BILIN_DATA at a folder containing ", names[0], "/."));
}

struct MnistSplit {
  Tensor<std::uint8_t> images;  // [N, 28, 28], 0 = background, 255 = full ink
  Tensor<std::uint8_t> labels;  // [N], 0..9
  index_t size() const { return labels.defined() ? labels.numel() : 0; }
};

struct MnistData {
  std::string dir;  // where the files were found
  MnistSplit train, test;
};

inline MnistSplit load_mnist_split(const std::string& dir, const std::string& split) {
  BILIN_CHECK(split == "train" || split == "test", "load_mnist", "split must be 'train' or 'test', got '", split, "'");
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string img = detail::find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string lab = detail::find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  BILIN_CHECK(!img.empty() && !lab.empty(), "load_mnist", dir, ": ", detail::missing_files(dir));
  MnistSplit s{read_idx_images(img), read_idx_labels(lab)};
  BILIN_CHECK(s.images.size(1) == 28 && s.images.size(2) == 28, "load_mnist", img, ": images are ",
              s.images.size(1), "x", s.images.size(2), " (header at offset 8), MNIST-style data is 28x28");
  BILIN_CHECK(s.images.size(0) == s.labels.size(0), "load_mnist", img, " holds ", s.images.size(0),
              " images but ", lab, " holds ", s.labels.size(0), " labels");
  const std::uint8_t* l = s.labels.data();
  for (index_t i = 0; i < s.labels.numel(); ++i)
    BILIN_CHECK(l[i] <= 9, "load_mnist", lab, ": label ", +l[i], " at byte ", 8 + i, " is outside 0..9");
  return s;
}

inline MnistData load_mnist(const std::string& name_or_path) {
  MnistData d;
  d.dir = locate_dataset(name_or_path);
  d.train = load_mnist_split(d.dir, "train");
  d.test = load_mnist_split(d.dir, "test");
  return d;
}

}  // namespace bilin::data
