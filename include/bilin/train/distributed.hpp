// bilin/train/distributed.hpp — data-parallel training over MPI, optional at build time.
//
// Contract:
// - Communicator::world() is the process group of the run. Built with BILIN_WITH_MPI=1 (the
//   CMake target bilin::mpi sets it and links MPI when find_package(MPI) found one) its first
//   call initializes MPI (MPI_THREAD_FUNNELED: only the main thread talks to MPI, OpenMP teams
//   compute) and MPI is finalized at exit; a program started without mpirun is a group of one
//   (MPI's singleton start). Without BILIN_WITH_MPI the same interface is a serial group of
//   one: rank 0 of 1, every collective a no-op that leaves its data as it is. No MPI type
//   appears in the interface, so code that includes this header compiles the same either way
//   (every translation unit of one program must agree on BILIN_WITH_MPI).
// - Collectives (all ranks call them in the same order with the same sizes): barrier(),
//   broadcast of bytes / a string / tensors from a root, sum-allreduce of doubles / int64s and
//   of a list of float tensors. The tensor list is flattened into buckets of bucket_bytes
//   (PyTorch DDP's default 25 MiB) so that many small tensors cost few messages and a large one
//   is not copied: a contiguous tensor at least one bucket in size is reduced in place.
//   Results are bit-identical on every rank and between runs with the same rank count (MPI's
//   reduction order depends only on the group size and message length).
// - allgather_parts(data, items, item_floats): data holds `items` items of item_floats floats;
//   each rank has filled its part core/partition.hpp's part_range(items, rank, size) and after
//   the call every rank holds all of them (the work of a loop split over the ranks, gathered).
// - abort(code) ends every rank of the job (MPI_Abort): a program calls it when it fails on
//   one rank, so the others do not wait forever in a collective. A rank that dies (a signal)
//   makes mpirun end the whole job by OpenMPI's default error handling.
// - DataParallel is gradient averaging the way PyTorch's DistributedDataParallel does it:
//   broadcast_parameters() copies rank 0's parameters to all ranks at the start (and after a
//   resume, so every rank starts from identical bits whatever it read); shard(rows) gives the
//   rows [begin, end) of a global batch this rank takes — contiguous blocks, the first
//   rows % size ranks one row more (the remainder rule; rows < size is an error naming the
//   batch); average_gradients(params, local_rows, global_rows) turns each rank's gradient of
//   its shard's mean loss into the gradient of the global batch's mean loss (weights
//   local_rows / global_rows, then a bucketed sum-allreduce), so a step equals a one-process
//   step on the whole batch up to floating-point summation order. A parameter without a
//   gradient on this rank but with one elsewhere gets a zero gradient first. With one rank
//   every call returns at once and touches nothing: a serial run is bit-identical to one
//   built without MPI.
// - check_same_flags(program, argc, argv): every rank compares its command line to rank 0's
//   and all ranks throw bilin::Error naming the first flag that differs (and on which rank).
// Why not overlap the allreduce with the backward sweep: on one machine the ranks' collectives
// run on the same cores the backward uses, so overlapping cannot hide them (README,
// "Distributed training", has the measured share of the step).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
// only MPI's C API: keep the deprecated C++ bindings (and their warnings) out
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#endif

#include "../core/error.hpp"
#include "../core/partition.hpp"
#include "../core/tensor.hpp"

namespace bilin::train::dist {

inline constexpr std::size_t kDefaultBucketBytes = std::size_t{25} << 20;

// True when this program was built with MPI (BILIN_WITH_MPI=1).
inline constexpr bool built_with_mpi() {
#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
  return true;
#else
  return false;
#endif
}

class Communicator {
 public:
  static Communicator& world() {
    static Communicator c;
    return c;
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  // Seconds spent inside collectives so far (for throughput reports).
  double comm_seconds() const { return comm_seconds_; }

  void barrier() {
#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
    if (size_ > 1) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#endif
  }
  void broadcast(void* data, std::size_t bytes, int from = 0) {
#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
    if (size_ <= 1) return;
    Timer t(comm_seconds_);
    auto* p = static_cast<char*>(data);
    while (bytes > 0) {  // MPI counts are int
      const int n = static_cast<int>(std::min<std::size_t>(bytes, kMaxCount));
      check(MPI_Bcast(p, n, MPI_BYTE, from, MPI_COMM_WORLD), "broadcast");
      p += n;
      bytes -= static_cast<std::size_t>(n);
    }
#else
    (void)data, (void)bytes, (void)from;
#endif
  }
  void broadcast(std::string& s, int from = 0) {
    if (size_ <= 1) return;
    std::uint64_t n = s.size();
    broadcast(&n, sizeof n, from);
    s.resize(static_cast<std::size_t>(n));
    broadcast(s.data(), s.size(), from);
  }
  template <class T>
  void broadcast(Tensor<T>& t, int from = 0) {
    BILIN_CHECK(t.is_contiguous(), "broadcast", "tensor of shape ", to_string(t.shape()), " is not contiguous");
    broadcast(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T), from);
  }

  void allreduce_sum(double* v, std::size_t n) { reduce_impl(v, n, 0); }
  void allreduce_sum(std::int64_t* v, std::size_t n) { reduce_impl(v, n, 1); }
  void allreduce_sum(float* v, std::size_t n) { reduce_impl(v, n, 2); }
  double sum(double v) {
    allreduce_sum(&v, 1);
    return v;
  }
  std::int64_t sum(std::int64_t v) {
    allreduce_sum(&v, 1);
    return v;
  }
  std::int64_t min(std::int64_t v) {
    reduce_impl(&v, 1, 1, true);
    return v;
  }

  // Sum-allreduce of every tensor of the list in place (see the contract for the buckets).
  void allreduce_sum(const std::vector<Tensor<float>>& tensors, std::size_t bucket_bytes = kDefaultBucketBytes) {
    if (size_ <= 1) return;
    const std::size_t cap = std::max<std::size_t>(1, bucket_bytes / sizeof(float));
    std::vector<std::pair<float*, std::size_t>> pending;  // pieces of the current bucket
    std::size_t filled = 0;
    auto flush = [&] {
      if (pending.empty()) return;
      bucket_.resize(filled);
      std::size_t at = 0;
      for (auto [p, n] : pending) std::memcpy(bucket_.data() + (at += n) - n, p, n * sizeof(float));
      allreduce_sum(bucket_.data(), filled);
      at = 0;
      for (auto [p, n] : pending) std::memcpy(p, bucket_.data() + (at += n) - n, n * sizeof(float));
      pending.clear();
      filled = 0;
    };
    for (auto t : tensors) {  // handles: the data is shared
      BILIN_CHECK(t.is_contiguous(), "allreduce", "tensor of shape ", to_string(t.shape()), " is not contiguous");
      const auto n = static_cast<std::size_t>(t.numel());
      if (n >= cap) {  // a whole bucket by itself: reduce it where it lies
        allreduce_sum(t.data(), n);
        continue;
      }
      if (filled + n > cap) flush();
      pending.emplace_back(t.data(), n);
      filled += n;
    }
    flush();
  }

  void allgather_parts(float* data, index_t items, index_t item_floats) {
#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
    if (size_ <= 1 || items == 0) return;
    BILIN_CHECK(items < (index_t{1} << 31) && item_floats < (index_t{1} << 31), "allgather", items, " items of ",
                item_floats, " floats exceed MPI's int counts");
    Timer t(comm_seconds_);
    MPI_Datatype item;  // one item as one MPI element, so counts stay small
    check(MPI_Type_contiguous(static_cast<int>(item_floats), MPI_FLOAT, &item), "allgather");
    check(MPI_Type_commit(&item), "allgather");
    std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      const auto [lo, hi] = part_range(items, r, size_);
      counts[static_cast<std::size_t>(r)] = static_cast<int>(hi - lo);
      displs[static_cast<std::size_t>(r)] = static_cast<int>(lo);
    }
    const int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(), item,
                                  MPI_COMM_WORLD);
    MPI_Type_free(&item);
    check(rc, "allgather");
#else
    (void)data, (void)items, (void)item_floats;
#endif
  }

  // Ends every rank of the job with this exit code; returns only in a group of one.
  void abort(int code) {
#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
    if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#else
    (void)code;
#endif
  }

 private:
  static constexpr std::size_t kMaxCount = std::size_t{1} << 30;
  struct Timer {
    double& acc;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    explicit Timer(double& a) : acc(a) {}
    ~Timer() { acc += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
  };

#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
  Communicator() {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      std::atexit([] {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
      });
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  static void check(int rc, const char* what) {
    if (rc != MPI_SUCCESS) throw Error("mpi", std::string(what) + " failed (MPI error code " + std::to_string(rc) + ")");
  }
#else
  Communicator() = default;
#endif

  // kind: 0 double, 1 int64, 2 float; the minimum instead of the sum when `minimum`
  void reduce_impl(void* v, std::size_t n, int kind, bool minimum = false) {
#if defined(BILIN_WITH_MPI) && BILIN_WITH_MPI
    if (size_ <= 1) return;
    Timer t(comm_seconds_);
    const MPI_Datatype type = kind == 0 ? MPI_DOUBLE : kind == 1 ? MPI_INT64_T : MPI_FLOAT;
    const std::size_t elem = kind == 2 ? 4 : 8;
    auto* p = static_cast<char*>(v);
    while (n > 0) {
      const int m = static_cast<int>(std::min(n, kMaxCount));
      check(MPI_Allreduce(MPI_IN_PLACE, p, m, type, minimum ? MPI_MIN : MPI_SUM, MPI_COMM_WORLD), "allreduce");
      p += static_cast<std::size_t>(m) * elem;
      n -= static_cast<std::size_t>(m);
    }
#else
    (void)v, (void)n, (void)kind, (void)minimum;
#endif
  }

  int rank_ = 0, size_ = 1;
  double comm_seconds_ = 0;
  std::vector<float> bucket_;
};

// The rows [begin, end) of a batch of `rows` that rank `rank` of `size` takes (remainder rule:
// the first rows % size ranks take one row more).
inline std::pair<index_t, index_t> shard_range(index_t rows, int rank, int size) {
  BILIN_CHECK(rows >= size, "data parallel", "a batch of ", rows, " rows cannot be split over ", size,
              " ranks (every rank needs at least one row): use --batch >= ", size);
  return part_range(rows, rank, size);
}

class DataParallel {
 public:
  explicit DataParallel(Communicator& comm = Communicator::world()) : comm_(&comm) {}

  Communicator& comm() const { return *comm_; }
  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }
  bool root() const { return comm_->root(); }
  bool parallel() const { return comm_->size() > 1; }

  std::pair<index_t, index_t> shard(index_t rows) const { return shard_range(rows, rank(), size()); }

  void broadcast_parameters(const std::vector<Tensor<float>>& params) const {
    if (!parallel()) return;
    for (auto t : params) comm_->broadcast(t);
  }

  void average_gradients(const std::vector<Tensor<float>>& params, index_t local_rows, index_t global_rows,
                         std::size_t bucket_bytes = kDefaultBucketBytes) const {
    if (!parallel()) return;
    // which parameters have a gradient anywhere
    std::vector<std::int64_t> has(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) has[i] = params[i].grad().defined() ? 1 : 0;
    comm_->allreduce_sum(has.data(), has.size());
    std::vector<Tensor<float>> grads;
    grads.reserve(params.size());
    const float w = static_cast<float>(static_cast<double>(local_rows) / static_cast<double>(global_rows));
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!has[i]) continue;
      Tensor<float> p = params[i];
      Tensor<float> g = p.grad();
      if (!g.defined()) {
        g = Tensor<float>::zeros(p.shape());
        p.set_grad(g);
      }
      float* d = g.data();
      const index_t n = g.numel();
#pragma omp parallel for simd schedule(static) if (n >= (1 << 16))
      for (index_t j = 0; j < n; ++j) d[j] *= w;
      grads.push_back(g);
    }
    comm_->allreduce_sum(grads, bucket_bytes);
  }

  // Whether any rank says yes: collective decisions (stop on a signal) must be taken on every
  // rank at the same step, or the others would wait in the next allreduce.
  bool any(bool v) const { return parallel() ? comm_->sum(static_cast<std::int64_t>(v)) > 0 : v; }

  // Sum over ranks of per-rank values (loss sums, counts); identity with one rank.
  double sum(double v) const { return comm_->sum(v); }
  std::int64_t sum(std::int64_t v) const { return comm_->sum(v); }

  // See the contract. argv[0] (the program path) is not compared.
  void check_same_flags(const std::string& program, int argc, char** argv) const {
    if (!parallel()) return;
    std::string mine;
    for (int i = 1; i < argc; ++i) mine += std::string(argv[i]) + '\n';
    std::string theirs = mine;
    comm_->broadcast(theirs, 0);
    const std::string diff = first_flag_difference(split_flags(theirs), split_flags(mine));
    // every rank learns the lowest rank that differs, so all throw the same error
    const int first = static_cast<int>(comm_->min(diff.empty() ? std::int64_t{size()} : std::int64_t{rank()}));
    if (first == size()) return;
    std::string msg = diff;
    comm_->broadcast(msg, first);
    throw Error(program, "the ranks were started with different flags: rank " + std::to_string(first) + " " + msg +
                             " (every rank must get the same command line)");
  }

  // name → value of a command line as check_same_flags() sees it ("--a=1" and "--a 1" alike).
  static std::map<std::string, std::string> split_flags(const std::string& lines) {
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < lines.size()) {
      const std::size_t nl = lines.find('\n', at);
      words.push_back(lines.substr(at, nl - at));
      at = nl == std::string::npos ? lines.size() : nl + 1;
    }
    std::map<std::string, std::string> m;
    for (std::size_t i = 0; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w.rfind("--", 0) != 0) {
        m["(word " + std::to_string(i) + ")"] = w;
        continue;
      }
      const std::size_t eq = w.find('=');
      if (eq != std::string::npos) {
        m[w.substr(0, eq)] = w.substr(eq + 1);
      } else if (i + 1 < words.size() && words[i + 1].rfind("--", 0) != 0) {
        m[w] = words[++i];
      } else {
        m[w] = "(switch)";
      }
    }
    return m;
  }
  static std::string first_flag_difference(const std::map<std::string, std::string>& root,
                                           const std::map<std::string, std::string>& mine) {
    for (const auto& [k, v] : root) {
      const auto it = mine.find(k);
      if (it == mine.end()) return "lacks " + k + " (rank 0 has " + k + " " + v + ")";
      if (it->second != v) return "has " + k + " " + it->second + " but rank 0 has " + k + " " + v;
    }
    for (const auto& [k, v] : mine)
      if (!root.count(k)) return "has " + k + " " + v + " that rank 0 lacks";
    return "";
  }

 private:
  Communicator* comm_;
};

}  // namespace bilin::train::dist
