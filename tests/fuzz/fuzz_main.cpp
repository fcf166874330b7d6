// tests/fuzz/fuzz_main.cpp — libFuzzer entry points: picks the harness named by
// BILIN_FUZZ_TARGET (or by the program name bilin_fuzz_<target>, for a symlink), and with
// BILIN_FUZZ_LIST=1 prints the harness names and exits; BILIN_FUZZ_MAKE_CORPUS=<dir> writes the
// seed corpora there (fuzz_corpus.cpp) and exits.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_common.hpp"

namespace bilin_fuzz {
void make_corpus(const std::string& root_dir);  // fuzz_corpus.cpp
}

namespace {
bilin_fuzz::Harness g_harness = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  auto& r = bilin_fuzz::registry();
  if (const char* l = std::getenv("BILIN_FUZZ_LIST"); l && *l == '1') {
    for (const auto& [name, h] : r) std::printf("%s\n", name.c_str());
    std::exit(0);
  }
  if (const char* dir = std::getenv("BILIN_FUZZ_MAKE_CORPUS"); dir && *dir) {
    bilin_fuzz::make_corpus(dir);
    std::exit(0);
  }
  std::string name;
  if (const char* t = std::getenv("BILIN_FUZZ_TARGET")) name = t;
  if (name.empty() && argc && *argc > 0) {
    const std::string prog = (*argv)[0];
    const auto k = prog.rfind("bilin_fuzz_");
    if (k != std::string::npos) name = prog.substr(k + 11);
  }
  const auto it = r.find(name);
  if (it == r.end()) {
    std::fprintf(stderr, "bilin_fuzz: set BILIN_FUZZ_TARGET to one of:");
    for (const auto& [n, h] : r) std::fprintf(stderr, " %s", n.c_str());
    std::fprintf(stderr, " (got '%s')\n", name.c_str());
    std::exit(2);
  }
  g_harness = it->second;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  g_harness(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
