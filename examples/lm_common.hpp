// examples/lm_common.hpp — driver pieces shared by the LM programs (train_tinylm, generate,
// train_sae): the process restart that sets the runtime environment, the allocator setting for
// training steps, the default data folder and a clock. The LM's data preparation, checkpoints
// and training loop are library pieces: data/tinystories.hpp, train/lm_checkpoint.hpp,
// train/lm_trainer.hpp.
#pragma once
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <bilin/core/error.hpp>
#include <bilin/data/tinystories.hpp>
#include <bilin/train/lm_checkpoint.hpp>

namespace lm {

using bilin::index_t;

// Restart the program once with two runtime settings (an environment variable can only take
// effect at process start), unless the user already chose them or set BILIN_NO_REEXEC=1:
// - GLIBC_TUNABLES=glibc.malloc.hugetlb=1: malloc backs large blocks with transparent huge pages
//   (under THP mode "madvise" only blocks that ask get them). A step's activations are blocks
//   of up to 32 MB, kept for reuse by the tensor buffer pool (core/buffer_pool.hpp); on huge
//   pages their GEMM packing and elementwise passes miss the TLB far less often.
// - GOMP_SPINCOUNT=10000: OpenMP threads spin ~10k iterations at a barrier before sleeping,
//   instead of libgomp's default 300k. On a machine shared with other jobs a spinning thread
//   steals the core from the thread it waits for, which under load costs several times the
//   throughput; on an idle machine the longer default spin is only slightly faster
//   (bench/compare_torch_lm.py times both).
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

// A training step allocates and frees the same large blocks over and over (activations, logits
// and their gradients). glibc maps every block of 32 MiB or more fresh from the kernel, which
// zero-fills it each time; with mmap off and a high trim threshold, freed blocks stay in the
// heap and the next step reuses them.
inline void keep_freed_blocks_in_heap() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
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
