// tests/test_support.hpp — small helpers shared by the test programs.
//
// - bilin_test::TempDir dir("name"): a fresh directory /tmp/bilin_test_name_XXXXXX (mkdtemp),
//   removed with everything in it when dir goes out of scope; dir.path is its path.
// - bilin_test::error_of(f): runs f and returns the message of the bilin::Error it throws, or
//   "(no error)" — so a test can assert on what an error message names.
#pragma once
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <bilin/core/error.hpp>
#include <filesystem>
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

}  // namespace bilin_test
