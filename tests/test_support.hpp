// tests/test_support.hpp — small helpers shared by the test programs.
//
// - bilin_test::TempDir dir("name"): a fresh directory /tmp/bilin_test_name_XXXXXX (mkdtemp),
//   removed with everything in it when dir goes out of scope; dir.path is its path.
// - bilin_test::error_of(f): runs f and returns the message of the bilin::Error it throws, or
//   "(no error)" — so a test can assert on what an error message names.
// - bilin_test::slurp(path) / spit(path, bytes): a whole file's bytes, read or (over)written.
// - bilin_test::count(s, what): how often `what` occurs in s (overlaps counted).
// The test files are compiled in unity batches (tests/CMakeLists.txt), so a helper two files
// need lives here rather than twice under one name.
#pragma once
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <bilin/core/error.hpp>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <string>
#include <system_error>

namespace bilin_test {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) {
    std::string tmpl = "/tmp/bilin_test_" + name + "_XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;  // never throw from a destructor; a leftover temp dir is harmless
    std::filesystem::remove_all(path, ec);
  }
};

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const bilin::Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace bilin_test
