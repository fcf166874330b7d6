// allreduce_bench — time of one gradient allreduce (train/distributed.hpp: bucketed, in place)
// for bilin's model sizes, run under `mpirun -np N`. Prints one JSON line per size from rank 0:
// parameters, bytes, the median and minimum seconds over --repeats (after 3 warm-up calls), and
// the bus bandwidth 2(N−1)/N · bytes / seconds of the ring-allreduce model (README,
// "Distributed training", turns these into the scaling model).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <bilin/core.hpp>
#include <bilin/io/flags.hpp>
#include <bilin/io/json.hpp>
#include <bilin/train/distributed.hpp>

using namespace bilin;

int main(int argc, char** argv) {
  try {
    Flags f("allreduce_bench", "Time the gradient allreduce for bilin's model sizes (run under mpirun).");
    f.value("params", "930816,6300000,29000000", "parameter counts to time (comma-separated)", "N,...")
        .value("tensors", "12", "split each size into this many tensors (a model's parameter list)", "N")
        .value("repeats", "20", "timed calls per size", "N");
    if (!f.parse(argc, argv)) return 0;
    auto& comm = train::dist::Communicator::world();
    const index_t pieces = f.integer("tensors"), repeats = f.integer("repeats");
    for (const std::string& s : f.list("params")) {
      const index_t n = std::stoll(s);
      std::vector<TensorF> ts;
      for (index_t i = 0; i < pieces; ++i) ts.push_back(TensorF::full({n / pieces + (i < n % pieces)}, 1.0f));
      std::vector<double> times;
      for (index_t r = 0; r < repeats + 3; ++r) {
        comm.barrier();
        const auto t0 = std::chrono::steady_clock::now();
        comm.allreduce_sum(ts);
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r >= 3) times.push_back(comm.sum(dt) / comm.size());  // mean over the ranks
      }
      std::sort(times.begin(), times.end());
      const double med = times[times.size() / 2], bytes = 4.0 * static_cast<double>(n);
      const double busbw = 2.0 * (comm.size() - 1) / comm.size() * bytes / med;
      if (comm.root()) {
        json::Value v = json::Value::object();
        v["ranks"] = comm.size();
        v["params"] = n;
        v["bytes"] = bytes;
        v["median_s"] = med;
        v["min_s"] = times.front();
        v["bus_GBps"] = busbw / 1e9;
        std::printf("%s\n", v.dump().c_str());
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allreduce_bench: error: %s\n", e.what());
    train::dist::Communicator::world().abort(1);
    return 1;
  }
}
