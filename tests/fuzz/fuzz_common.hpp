// tests/fuzz/fuzz_common.hpp — what every libFuzzer harness of bilin shares.
//
// Contract:
// - One binary (bilin_fuzz) holds every harness; BILIN_FUZZ_TARGET=<name> picks the one that runs
//   (fuzz_main.cpp). A harness registers itself with BILIN_FUZZ_TARGET(name) { ... }.
// - A harness asserts the parser's contract, not merely "no crash": for any input the parser
//   either throws bilin::Error or returns a value that survives a write → read round trip. Any
//   other exception (std::bad_alloc, std::out_of_range, ...) or a broken round trip calls
//   abort(), which libFuzzer reports as a crash and saves as a reproducer.
// - MemFile gives a path (/proc/self/fd/N of a memfd) for the readers that take a file name, so
//   a harness exercises the real file-reading code without touching the disk; scratch_dir() is
//   a per-process tmpfs folder for writers that rename into place (write_file_atomic).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "bilin/core/error.hpp"

namespace bilin_fuzz {

using Harness = void (*)(std::string_view input);

inline std::map<std::string, Harness>& registry() {
  static std::map<std::string, Harness> r;
  return r;
}
struct Register {
  Register(const char* name, Harness h) { registry()[name] = h; }
};

#define BILIN_FUZZ_TARGET(name)                                              \
  static void bilin_fuzz_##name(std::string_view input);                     \
  static const ::bilin_fuzz::Register bilin_fuzz_reg_##name(#name, bilin_fuzz_##name); \
  static void bilin_fuzz_##name(std::string_view input)

[[noreturn]] inline void contract_broken(const char* file, int line, const char* what) {
  std::fprintf(stderr, "bilin_fuzz: contract broken at %s:%d: %s\n", file, line, what);
  std::abort();
}
// FUZZ_EXPECT(cond): the parser's promise; abort (a libFuzzer finding) when it does not hold.
#define FUZZ_EXPECT(cond) \
  do {                    \
    if (!(cond)) ::bilin_fuzz::contract_broken(__FILE__, __LINE__, #cond); \
  } while (0)

// Runs f; a bilin::Error is an accepted outcome (returns false), anything else escaping is a
// finding. Returns true when f returned normally.
template <class F>
bool accepts(F&& f) {
  try {
    f();
    return true;
  } catch (const bilin::Error& e) {
    FUZZ_EXPECT(e.what() != nullptr && e.what()[0] != '\0');
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bilin_fuzz: exception that is not a bilin::Error: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "bilin_fuzz: unknown exception\n");
    std::abort();
  }
}

// An in-memory file with a path, rewritten for every input.
class MemFile {
 public:
  MemFile() {
    fd_ = ::memfd_create("bilin-fuzz", 0);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& set(std::string_view bytes) {
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
      std::perror("memfd write");
      std::abort();
    }
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

inline const std::string& scratch_dir() {
  // Heap-held so the exit handler never sees a destroyed string (it is registered while the
  // static is being initialized, so it runs after the static's destructor would).
  static const std::string* dir = [] {
    auto* d = new std::string((std::filesystem::exists("/dev/shm") ? std::string("/dev/shm")
                                                                    : std::filesystem::temp_directory_path().string()) +
                              "/bilin-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return *dir;
}

inline std::string slurp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  FUZZ_EXPECT(f != nullptr);
  std::string out;
  char buf[1 << 14];
  for (std::size_t r; (r = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, r);
  std::fclose(f);
  return out;
}

}  // namespace bilin_fuzz
