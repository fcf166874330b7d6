// bench/compare_gemm.cpp — bilin's GEMM against OpenBLAS (cblas_sgemm) and Eigen, same run.
//
// What it does: for each shape and thread count it times bilin::kernels::gemm<float>, OpenBLAS
// and Eigen on the same matrices, interleaved round by round (the library order rotates every
// round), and reports the median of --reps rounds (default 9, at least 7) as GFLOP/s = 2MNK/t.
// It also measures the fp32 FMA peak in this program for each thread count (bench/gemm_peak.hpp)
// so "fraction of peak" compares against this machine at this moment.
//
// OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads, so one process cannot try two
// dispatches. The program therefore starts itself twice as a child server
// (`compare_gemm --openblas-server`): one with the environment as given, one with
// OPENBLAS_CORETYPE removed. The parent asks a child to time one call at a time over a pipe,
// which keeps the OpenBLAS timings interleaved with bilin's and Eigen's; the comparison uses
// the faster of the two dispatches (both are printed).
//
// Fairness on 2 cores: idle worker threads of every library keep spinning after a call
// (OpenBLAS's sched_yield loop for ~2^28 cycles, libgomp's spin-wait for bilin and Eigen) and
// would steal a core from whatever is timed next: measured here, OpenBLAS's 2-thread time
// looked like its 1-thread time when it ran right after bilin. So in multi-threaded rows every
// library is followed by a 300 ms pause, and each sample is a warm-up call immediately followed
// by the timed call, so each library is timed with its own thread pool awake (as in a
// training loop), never paying for waking it.
//
// Output: a table, and with --json one JSON object per line per (shape, threads):
//   {"shape":"MxNxK","op":"NN","threads":T,"bilin_gflops":…,"openblas_gflops":…,
//    "openblas_core":"…","eigen_gflops":…,"peak_gflops":…, ratios and both dispatches}
// Options: --json, --reps N, --threads 1,2, --shape MxNxK[:AB] (repeatable; AB in {N,T}²),
//          --more (adds square 256, 512, 2048 and the op(B)=T backward shape),
//          --precision bf16 (bilin's bf16 GEMM beside its fp32 one and the bf16 peaks; see run_bf16):
//   {"precision":"bf16","shape":…,"op":…,"threads":T,"backend":"amx"|"avx512bf16"|"portable",
//    "bilin_gflops":…,"bilin_fp32_gflops":…,"peak_gflops": the chosen backend's instruction peak,
//    "avx512bf16_gflops","avx512bf16_peak_gflops","amx_peak_gflops","amx_kernel_l1_gflops" (the
//    AMX micro-kernel alone on L1-resident panels, gemm_peak.hpp; 0 without AMX),"fp32_peak_gflops",…}
#include <bilin/core/random.hpp>
#include <bilin/kernels/gemm.hpp>
#include <bilin/kernels/gemm_bf16.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cblas.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "gemm_peak.hpp"

#include <omp.h>

extern char** environ;

namespace {

using bilin::index_t;
using bilin::kernels::Trans;

struct Case {
  index_t M, N, K;
  Trans ta, tb;
  std::string shape() const { return std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K); }
  std::string op() const { return std::string(ta == Trans::N ? "N" : "T") + (tb == Trans::N ? "N" : "T"); }
  double flops() const { return 2.0 * double(M) * double(N) * double(K); }
  index_t lda() const { return ta == Trans::N ? K : M; }
  index_t ldb() const { return tb == Trans::N ? N : K; }
};

// Same matrices in parent and children: filled from a seed derived from the shape.
struct Operands {
  Case c{};
  std::vector<float> A, B, C;
  void prepare(const Case& cs) {
    if (!A.empty() && cs.M == c.M && cs.N == c.N && cs.K == c.K && cs.ta == c.ta && cs.tb == c.tb) return;
    c = cs;
    bilin::Generator g(static_cast<std::uint64_t>(cs.M * 1000003 + cs.N * 1009 + cs.K));
    A.resize(static_cast<std::size_t>(cs.M * cs.K));
    B.resize(static_cast<std::size_t>(cs.K * cs.N));
    C.assign(static_cast<std::size_t>(cs.M * cs.N), 0.0f);
    for (auto& x : A) x = static_cast<float>(g.uniform(-1, 1));
    for (auto& x : B) x = static_cast<float>(g.uniform(-1, 1));
  }
  double checksum() const {
    double s = 0;
    for (float x : C) s += x;
    return s;
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double time_openblas(Operands& o, int threads) {
  openblas_set_num_threads(threads);
  const Case& c = o.c;
  auto call = [&] {
    cblas_sgemm(CblasRowMajor, c.ta == Trans::N ? CblasNoTrans : CblasTrans, c.tb == Trans::N ? CblasNoTrans : CblasTrans,
                int(c.M), int(c.N), int(c.K), 1.0f, o.A.data(), int(c.lda()), o.B.data(), int(c.ldb()), 0.0f,
                o.C.data(), int(c.N));
  };
  call();  // warm: wakes the thread pool
  const auto t0 = std::chrono::steady_clock::now();
  call();
  return seconds_since(t0);
}

double time_bilin(Operands& o, int threads) {
  omp_set_num_threads(threads);
  const Case& c = o.c;
  auto call = [&] {
    bilin::kernels::gemm<float>(c.ta, c.tb, c.M, c.N, c.K, 1.0f, o.A.data(), c.lda(), o.B.data(), c.ldb(), 0.0f,
                                o.C.data(), c.N);
  };
  call();  // warm: wakes the thread pool
  const auto t0 = std::chrono::steady_clock::now();
  call();
  return seconds_since(t0);
}

double time_eigen(Operands& o, int threads) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::setNbThreads(threads);
  const Case& c = o.c;
  Eigen::Map<const Mat> A(o.A.data(), c.ta == Trans::N ? c.M : c.K, c.ta == Trans::N ? c.K : c.M);
  Eigen::Map<const Mat> B(o.B.data(), c.tb == Trans::N ? c.K : c.N, c.tb == Trans::N ? c.N : c.K);
  Eigen::Map<Mat> C(o.C.data(), c.M, c.N);
  auto call = [&] {
    if (c.ta == Trans::N && c.tb == Trans::N) C.noalias() = A * B;
    else if (c.ta == Trans::T && c.tb == Trans::N) C.noalias() = A.transpose() * B;
    else if (c.ta == Trans::N) C.noalias() = A * B.transpose();
    else C.noalias() = A.transpose() * B.transpose();
  };
  call();  // warm: wakes the thread pool
  const auto t0 = std::chrono::steady_clock::now();
  call();
  return seconds_since(t0);
}

double time_bilin_bf16(Operands& o, int threads, bilin::kernels::Bf16Backend be) {
  omp_set_num_threads(threads);
  const Case& c = o.c;
  auto call = [&] {
    bilin::kernels::gemm_bf16_on(be, c.ta, c.tb, c.M, c.N, c.K, 1.0f, o.A.data(), c.lda(), o.B.data(), c.ldb(), 0.0f,
                                 o.C.data(), c.N);
  };
  call();
  const auto t0 = std::chrono::steady_clock::now();
  call();
  return seconds_since(t0);
}

// ---------------------------------------------------------------- child server
// Protocol (one line each way): "run M N K ta tb threads" -> "<seconds> <checksum>".
int openblas_server() {
  Operands o;
  std::printf("ready %s\n", openblas_get_corename());
  std::fflush(stdout);
  char line[256];
  while (std::fgets(line, sizeof line, stdin)) {
    long long M, N, K;
    char ta, tb;
    int threads;
    if (std::sscanf(line, "run %lld %lld %lld %c %c %d", &M, &N, &K, &ta, &tb, &threads) != 6) break;
    o.prepare(Case{M, N, K, ta == 'T' ? Trans::T : Trans::N, tb == 'T' ? Trans::T : Trans::N});
    const double s = time_openblas(o, threads);
    std::printf("%.9e %.17g\n", s, o.checksum());
    std::fflush(stdout);
  }
  return 0;
}

class Child {
 public:
  Child(const std::string& exe, bool unset_coretype) {
    std::vector<char*> env;
    for (char** e = environ; *e; ++e)
      if (!(unset_coretype && std::strncmp(*e, "OPENBLAS_CORETYPE=", 18) == 0)) env.push_back(*e);
    env.push_back(nullptr);
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) throw std::runtime_error("compare_gemm: pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    posix_spawn_file_actions_addclose(&fa, to_child[1]);
    posix_spawn_file_actions_addclose(&fa, from_child[0]);
    std::string mode = "--openblas-server";
    char* argv[] = {const_cast<char*>(exe.c_str()), mode.data(), nullptr};
    if (posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv, env.data()) != 0)
      throw std::runtime_error("compare_gemm: cannot start child " + exe);
    posix_spawn_file_actions_destroy(&fa);
    close(to_child[0]);
    close(from_child[1]);
    in_ = fdopen(to_child[1], "w");
    out_ = fdopen(from_child[0], "r");
    char line[256] = {0}, core[128] = {0};
    if (!std::fgets(line, sizeof line, out_) || std::sscanf(line, "ready %127s", core) != 1)
      throw std::runtime_error("compare_gemm: child did not start");
    core_ = core;
  }
  ~Child() {
    std::fclose(in_);
    std::fclose(out_);
    int status;
    waitpid(pid_, &status, 0);
  }
  const std::string& core() const { return core_; }
  double time(const Case& c, int threads, double* checksum) {
    std::fprintf(in_, "run %lld %lld %lld %c %c %d\n", (long long)c.M, (long long)c.N, (long long)c.K,
                 c.ta == Trans::T ? 'T' : 'N', c.tb == Trans::T ? 'T' : 'N', threads);
    std::fflush(in_);
    char line[256];
    double s = 0, sum = 0;
    if (!std::fgets(line, sizeof line, out_) || std::sscanf(line, "%lf %lf", &s, &sum) != 2)
      throw std::runtime_error("compare_gemm: child stopped answering");
    if (checksum) *checksum = sum;
    return s;
  }

 private:
  pid_t pid_ = 0;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
  std::string core_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Case parse_shape(const std::string& s) {
  long long M, N, K;
  char a = 'N', b = 'N';
  const int got = std::sscanf(s.c_str(), "%lldx%lldx%lld:%c%c", &M, &N, &K, &a, &b);
  if (got != 3 && got != 5) throw std::runtime_error("compare_gemm: bad --shape '" + s + "' (want MxNxK[:AB])");
  return Case{M, N, K, a == 'T' ? Trans::T : Trans::N, b == 'T' ? Trans::T : Trans::N};
}

// --precision bf16: bilin's bf16 GEMM (the backend gemm_bf16 picks), the AVX512-BF16 kernel
// when that is not the one picked, and bilin's fp32 GEMM on the same operands, interleaved;
// the fp32, vdpbf16ps and AMX peaks measured in the same run. Debian's OpenBLAS 0.3.21 is
// built without sbgemm, so there is no BLAS peer here (bench/compare_torch_gemm.py times
// PyTorch's bf16 matmul).
int run_bf16(const std::vector<Case>& cases, const std::vector<int>& thread_counts, int reps, bool json) {
  using bilin::kernels::Bf16Backend;
  const Bf16Backend main_be = bilin::kernels::bf16_backend();
  const bool extra_avx = main_be != Bf16Backend::avx512bf16 && bilin::kernels::bf16_backend_available(Bf16Backend::avx512bf16);
  struct Peaks {
    double fp32, dot, amx, amx_kernel;
  };
  auto measure_peaks = [&](int t) {
    return Peaks{bilin_bench::fma_peak_gflops(t), bilin_bench::bf16_dot_peak_gflops(t), bilin_bench::amx_peak_gflops(t),
                 bilin_bench::amx_kernel_gflops(t)};
  };
  std::vector<Peaks> peak;
  for (int t : thread_counts) peak.push_back(measure_peaks(t));
  struct Row {
    Case c;
    int threads;
    double bf16, fp32, avx;
  };
  std::vector<Row> rows;
  Operands o;
  for (const Case& c : cases)
    for (int threads : thread_counts) {
      o.prepare(c);
      time_bilin(o, threads);
      time_bilin_bf16(o, threads, main_be);
      if (extra_avx) time_bilin_bf16(o, threads, Bf16Backend::avx512bf16);
      std::vector<double> t16, t32, tav;
      for (int r = 0; r < reps; ++r)
        for (int k = 0; k < 3; ++k) switch ((r + k) % 3) {
            case 0: t16.push_back(time_bilin_bf16(o, threads, main_be)); break;
            case 1: t32.push_back(time_bilin(o, threads)); break;
            default:
              if (extra_avx) tav.push_back(time_bilin_bf16(o, threads, Bf16Backend::avx512bf16));
          }
      rows.push_back({c, threads, c.flops() / median(t16) * 1e-9, c.flops() / median(t32) * 1e-9,
                      extra_avx ? c.flops() / median(tav) * 1e-9 : 0.0});
    }
  for (std::size_t t = 0; t < thread_counts.size(); ++t) {
    const Peaks p = measure_peaks(thread_counts[t]);
    peak[t] = {std::max(peak[t].fp32, p.fp32), std::max(peak[t].dot, p.dot), std::max(peak[t].amx, p.amx),
               std::max(peak[t].amx_kernel, p.amx_kernel)};
  }
  // The peak of the instruction the chosen backend runs on.
  auto backend_peak = [&](Bf16Backend be, const Peaks& p) {
    return be == Bf16Backend::amx ? p.amx : be == Bf16Backend::avx512bf16 ? p.dot : p.fp32;
  };
  std::printf("compare_gemm: bf16 operands, fp32 accumulation; median of %d interleaved rounds; backend %s; "
              "no OpenBLAS sbgemm in this OpenBLAS\n",
              reps, bilin::kernels::bf16_backend_name(main_be));
  std::printf("%-16s %-3s %2s %9s %9s %8s %9s %9s %9s %8s %9s %8s %8s\n", "shape MxNxK", "op", "T", "bf16", "fp32",
              "bf16/32", "peak", "%peak", "amxkernL1", "%kern", "avx512bf", "%dotpk", "fp32pk");
  for (const Row& r : rows) {
    const std::size_t ti = std::find(thread_counts.begin(), thread_counts.end(), r.threads) - thread_counts.begin();
    const Peaks& p = peak[ti];
    const double bp = backend_peak(main_be, p);
    const bool amx = main_be == Bf16Backend::amx && p.amx_kernel > 0;
    std::printf("%-16s %-3s %2d %9.1f %9.1f %8.2f %9.1f %8.1f%% %9.1f %8.1f%% %9.1f %7.1f%% %8.1f\n",
                r.c.shape().c_str(), r.c.op().c_str(), r.threads, r.bf16, r.fp32, r.bf16 / r.fp32, bp,
                100.0 * r.bf16 / bp, amx ? p.amx_kernel : 0.0, amx ? 100.0 * r.bf16 / p.amx_kernel : 0.0,
                extra_avx ? r.avx : r.bf16, p.dot > 0 ? 100.0 * (extra_avx ? r.avx : r.bf16) / p.dot : 0.0, p.fp32);
  }
  if (json)
    for (const Row& r : rows) {
      const std::size_t ti = std::find(thread_counts.begin(), thread_counts.end(), r.threads) - thread_counts.begin();
      const Peaks& p = peak[ti];
      const double bp = backend_peak(main_be, p);
      const double avx = extra_avx ? r.avx : main_be == Bf16Backend::avx512bf16 ? r.bf16 : 0.0;
      std::printf("{\"precision\": \"bf16\", \"shape\": \"%s\", \"op\": \"%s\", \"threads\": %d, \"backend\": \"%s\", "
                  "\"bilin_gflops\": %.2f, \"bilin_fp32_gflops\": %.2f, \"bf16_over_fp32\": %.4f, "
                  "\"peak_gflops\": %.2f, \"bilin_peak_fraction\": %.4f, \"avx512bf16_gflops\": %.2f, "
                  "\"avx512bf16_peak_gflops\": %.2f, \"avx512bf16_peak_fraction\": %.4f, \"amx_peak_gflops\": %.2f, "
                  "\"amx_kernel_l1_gflops\": %.2f, \"fp32_peak_gflops\": %.2f, \"openblas_sbgemm\": null, "
                  "\"reps\": %d}\n",
                  r.c.shape().c_str(), r.c.op().c_str(), r.threads, bilin::kernels::bf16_backend_name(main_be), r.bf16,
                  r.fp32, r.bf16 / r.fp32, bp, r.bf16 / bp, avx, p.dot, p.dot > 0 ? avx / p.dot : 0.0, p.amx, p.amx_kernel,
                  p.fp32, reps);
    }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--openblas-server") == 0) return openblas_server();
  bool json = false, more = false, bf16 = false;
  int reps = 9;
  std::vector<int> thread_counts = {1, 2};
  std::vector<Case> cases;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") json = true;
    else if (a == "--more") more = true;
    else if (a == "--precision" && i + 1 < argc) {
      const std::string p = argv[++i];
      if (p != "fp32" && p != "bf16") {
        std::fprintf(stderr, "compare_gemm: --precision must be fp32 or bf16, got '%s'\n", p.c_str());
        return 2;
      }
      bf16 = p == "bf16";
    }
    else if (a == "--reps" && i + 1 < argc) reps = std::max(7, std::atoi(argv[++i]));
    else if (a == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      for (const char* p = argv[++i]; *p;) {
        thread_counts.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p == ',') ++p;
      }
    } else if (a == "--shape" && i + 1 < argc) cases.push_back(parse_shape(argv[++i]));
    else {
      std::fprintf(stderr, "usage: compare_gemm [--json] [--reps N>=7] [--threads 1,2] [--shape MxNxK[:AB]]... [--more] [--precision fp32|bf16]\n");
      return 2;
    }
  }
  if (cases.empty()) {
    // 1024³, then the MNIST training shapes: forward 2048×784·784×512, hidden 2048×512·512×1024,
    // and the weight gradient Xᵀ·dY = (2048×1024)ᵀ·(2048×512).
    cases = {{1024, 1024, 1024, Trans::N, Trans::N},
             {2048, 512, 784, Trans::N, Trans::N},
             {2048, 1024, 512, Trans::N, Trans::N},
             {1024, 512, 2048, Trans::T, Trans::N}};
    if (more) {
      cases.push_back({256, 256, 256, Trans::N, Trans::N});
      cases.push_back({512, 512, 512, Trans::N, Trans::N});
      cases.push_back({2048, 2048, 2048, Trans::N, Trans::N});
      cases.push_back({2048, 784, 512, Trans::N, Trans::T});  // input gradient dY·Wᵀ
    }
  }

  if (bf16) return run_bf16(cases, thread_counts, reps, json);

  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    std::fprintf(stderr, "compare_gemm: cannot find own executable\n");
    return 1;
  }
  exe[n] = 0;
  const char* env_core = std::getenv("OPENBLAS_CORETYPE");
  Child ob_env(exe, false), ob_unset(exe, true);
  openblas_set_num_threads(1);  // the parent's own OpenBLAS copy stays idle

  std::vector<double> peak(thread_counts.size());
  for (std::size_t t = 0; t < thread_counts.size(); ++t) peak[t] = bilin_bench::fma_peak_gflops(thread_counts[t]);

  struct Row {
    Case c;
    int threads;
    double bilin, ob_env, ob_unset, eigen;
    double max_rel_diff;
  };
  std::vector<Row> rows;
  Operands o;
  for (const Case& c : cases)
    for (int threads : thread_counts) {
      o.prepare(c);
      // Warm-up: page in buffers, start thread pools, grow bilin's packing buffers.
      time_bilin(o, threads);
      time_eigen(o, threads);
      ob_env.time(c, threads, nullptr);
      ob_unset.time(c, threads, nullptr);
      std::vector<double> tb, te, t1, t2;
      double sum_bilin = 0, sum_eigen = 0, sum1 = 0, sum2 = 0;
      const auto settle = [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(threads > 1 ? 300 : 2));
      };
      for (int r = 0; r < reps; ++r)
        for (int k = 0; k < 4; ++k) switch ((r + k) % 4) {
            case 0: tb.push_back(time_bilin(o, threads)); sum_bilin = o.checksum(); settle(); break;
            case 1: t1.push_back(ob_env.time(c, threads, &sum1)); settle(); break;
            case 2: te.push_back(time_eigen(o, threads)); sum_eigen = o.checksum(); settle(); break;
            default: t2.push_back(ob_unset.time(c, threads, &sum2)); settle(); break;
          }
      const double scale = std::max(1.0, std::abs(sum_eigen));
      const double diff = std::max({std::abs(sum_bilin - sum_eigen), std::abs(sum_bilin - sum1),
                                    std::abs(sum_bilin - sum2)}) / scale;
      rows.push_back({c, threads, c.flops() / median(tb) * 1e-9, c.flops() / median(t1) * 1e-9,
                      c.flops() / median(t2) * 1e-9, c.flops() / median(te) * 1e-9, diff});
    }
  // Peak again at the end; keep the best seen (the machine's capability, not a lucky dip).
  for (std::size_t t = 0; t < thread_counts.size(); ++t)
    peak[t] = std::max(peak[t], bilin_bench::fma_peak_gflops(thread_counts[t]));

  std::printf("compare_gemm: fp32, median of %d interleaved rounds; OpenBLAS as given (OPENBLAS_CORETYPE=%s -> %s) "
              "and unset (-> %s)\n",
              reps, env_core ? env_core : "<unset>", ob_env.core().c_str(), ob_unset.core().c_str());
  std::printf("%-16s %-3s %2s %9s %10s %10s %9s %8s %9s %9s %7s\n", "shape MxNxK", "op", "T", "bilin", "OB(env)",
              "OB(unset)", "Eigen", "peak", "bilin/OB", "bilin/Eig", "%peak");
  for (const Row& r : rows) {
    const std::size_t ti = std::find(thread_counts.begin(), thread_counts.end(), r.threads) - thread_counts.begin();
    const double ob = std::max(r.ob_env, r.ob_unset);
    std::printf("%-16s %-3s %2d %9.1f %10.1f %10.1f %9.1f %8.1f %9.3f %9.3f %6.1f%%%s\n", r.c.shape().c_str(),
                r.c.op().c_str(), r.threads, r.bilin, r.ob_env, r.ob_unset, r.eigen, peak[ti], r.bilin / ob,
                r.bilin / r.eigen, 100.0 * r.bilin / peak[ti], r.max_rel_diff > 1e-3 ? "  RESULTS DIFFER" : "");
  }
  for (const Row& r : rows)
    if (r.threads == 2)
      for (const Row& s : rows)
        if (s.threads == 1 && s.c.shape() == r.c.shape() && s.c.op() == r.c.op())
          std::printf("bilin 2-thread speedup %s %s: %.2fx\n", r.c.shape().c_str(), r.c.op().c_str(), r.bilin / s.bilin);
  if (json)
    for (const Row& r : rows) {
      const std::size_t ti = std::find(thread_counts.begin(), thread_counts.end(), r.threads) - thread_counts.begin();
      const bool unset_faster = r.ob_unset > r.ob_env;
      const double ob = std::max(r.ob_env, r.ob_unset);
      std::printf("{\"shape\": \"%s\", \"op\": \"%s\", \"threads\": %d, \"bilin_gflops\": %.2f, \"openblas_gflops\": %.2f, "
                  "\"openblas_core\": \"%s\", \"eigen_gflops\": %.2f, \"peak_gflops\": %.2f, "
                  "\"bilin_over_openblas\": %.4f, \"bilin_over_eigen\": %.4f, \"bilin_peak_fraction\": %.4f, "
                  "\"openblas_env_gflops\": %.2f, \"openblas_env_core\": \"%s\", \"openblas_unset_gflops\": %.2f, "
                  "\"openblas_unset_core\": \"%s\", \"reps\": %d}\n",
                  r.c.shape().c_str(), r.c.op().c_str(), r.threads, r.bilin, ob,
                  (unset_faster ? ob_unset : ob_env).core().c_str(), r.eigen, peak[ti], r.bilin / ob, r.bilin / r.eigen,
                  r.bilin / peak[ti], r.ob_env, ob_env.core().c_str(), r.ob_unset, ob_unset.core().c_str(), reps);
    }
  return 0;
}
