// examples/lm_common.hpp — driver pieces shared by the LM programs (train_tinylm, generate): a
// tiny flag parser, the process restart that sets the runtime environment, the default data
// folder and a clock. The LM's data preparation, checkpoints and training loop are library
// pieces: data/tinystories.hpp, train/lm_checkpoint.hpp, train/lm_trainer.hpp.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <type_traits>
#include <string>
#include <vector>

#include <bilin/core/error.hpp>
#include <bilin/data/tinystories.hpp>
#include <bilin/train/lm_checkpoint.hpp>

namespace lm {

using bilin::index_t;

// --name value / --flag arguments. Unknown names are an error at finish() (typos never pass).
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      BILIN_CHECK(a.rfind("--", 0) == 0, "args", "unexpected argument '", a, "' (options look like --name value)");
      a = a.substr(2);
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        kv_[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        kv_[a] = argv[++i];
      } else {
        kv_[a] = "";  // a bare flag
      }
    }
  }
  bool has(const std::string& k) {
    used_[k] = true;
    return kv_.count(k) > 0;
  }
  std::string str(const std::string& k, const std::string& def) { return has(k) ? kv_[k] : def; }
  long long integer(const std::string& k, long long def) {
    if (!has(k)) return def;
    try {
      std::size_t pos = 0;
      const long long v = std::stoll(kv_[k], &pos);
      if (pos == kv_[k].size()) return v;
    } catch (...) {
    }
    throw bilin::Error("args", bilin::msg("--", k, " expects an integer, got '", kv_[k], "'"));
  }
  double real(const std::string& k, double def) {
    if (!has(k)) return def;
    try {
      std::size_t pos = 0;
      const double v = std::stod(kv_[k], &pos);
      if (pos == kv_[k].size()) return v;
    } catch (...) {
    }
    throw bilin::Error("args", bilin::msg("--", k, " expects a number, got '", kv_[k], "'"));
  }
  bool flag(const std::string& k) {
    if (!has(k)) return false;
    const std::string& v = kv_[k];
    return v.empty() || v == "1" || v == "true" || v == "yes";
  }
  void finish() const {
    for (const auto& [k, v] : kv_)
      BILIN_CHECK(used_.count(k), "args", "unknown option --", k, " (see --help)");
  }

 private:
  std::map<std::string, std::string> kv_;
  std::map<std::string, bool> used_;
};

// Restart the program once with two runtime settings (an environment variable can only take
// effect at process start), unless the user already chose them or set BILIN_NO_REEXEC=1:
// - GLIBC_TUNABLES=glibc.malloc.hugetlb=1: malloc backs large blocks with transparent huge pages
//   (this machine's THP mode is "madvise"). A training step allocates activations of up to 32 MB
//   that glibc maps fresh each time; with 4 KB pages the kernel spent 10–20% of a step faulting
//   them in.
// - GOMP_SPINCOUNT=10000: OpenMP threads spin ~10k iterations at a barrier before sleeping,
//   instead of libgomp's default 300k. On a machine shared with other jobs a spinning thread
//   steals the core from the thread it waits for; with 2 threads under load that cost 3–5× in
//   throughput (measured: 434–757 vs 2322 tokens/s), and it costs nothing measurable when idle.
inline void reexec_with_runtime_env(char** argv) {
  if (std::getenv("BILIN_NO_REEXEC")) return;
  bool changed = false;
  const char* cur = std::getenv("GLIBC_TUNABLES");
  std::string t = cur ? cur : "";
  if (t.find("glibc.malloc.hugetlb") == std::string::npos) {
    t = t.empty() ? "glibc.malloc.hugetlb=1" : t + ":glibc.malloc.hugetlb=1";
    ::setenv("GLIBC_TUNABLES", t.c_str(), 1);
    changed = true;
  }
  if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("GOMP_SPINCOUNT", "10000", 1);
    changed = true;
  }
  if (changed) ::execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline std::string default_data_dir() {
  if (const char* e = std::getenv("BILIN_DATA_DIR")) return std::string(e) + "/tinystories";
#ifdef BILIN_DATA_DIR
  return std::string(BILIN_DATA_DIR) + "/tinystories";
#else
  return "../shared/data/tinystories";
#endif
}

// The library's LM pieces under the names programs used when they lived here.
using bilin::data::collapse_blank_lines;
using bilin::data::LmData;
using bilin::data::prepare_tinystories;
using bilin::train::load_lm_checkpoint;
using bilin::train::read_lm_config;
using bilin::train::save_lm_checkpoint;
using bilin::train::state_crc32;

}  // namespace lm
