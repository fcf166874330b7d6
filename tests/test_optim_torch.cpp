// Cross-check of the optimizers, clipping and the cosine schedule against PyTorch itself
// (Debian's /usr/bin/python3 with python3-torch). Skipped with a message when torch is absent.
#include <bilin/bilin.hpp>
#include <bilin/optim/adamw.hpp>
#include <bilin/optim/clip.hpp>
#include <bilin/optim/schedule.hpp>
#include <bilin/optim/sgd.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

using namespace bilin;

namespace {

const char* kOptimScript = R"PY(
import sys
try:
    import torch
except Exception as e:
    print("SKIP cannot import torch:", e); sys.exit(0)
torch.set_default_dtype(torch.float32)
P0 = [0.5, -1.0, 2.0, 0.0, -0.25]
G = [[0.1, -0.2, 0.3, 0.05, 0.0], [-0.05, 0.4, 0.0, -0.3, 1.5], [0.2, 0.2, -0.1, 0.0, -0.7]]
def run(make):
    p = torch.nn.Parameter(torch.tensor(P0))
    opt = make([p])
    for g in G:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().tolist()
cases = {
  "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
  "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1),
  "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
  "sgd_mom": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01),
  "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05),
}
for name, make in cases.items():
    print(name, " ".join("%.9g" % v for v in run(make)))
a = torch.nn.Parameter(torch.zeros(3)); b = torch.nn.Parameter(torch.zeros(2))
a.grad = torch.tensor([3.0, 0.0, 4.0]); b.grad = torch.tensor([0.0, 12.0])
total = torch.nn.utils.clip_grad_norm_([a, b], 6.5)
print("clip", "%.9g" % float(total), " ".join("%.9g" % v for v in a.grad.tolist() + b.grad.tolist()))
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.AdamW([p], lr=1e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
lrs = []
for e in range(20):
    lrs.append(opt.param_groups[0]["lr"])
    opt.step(); sched.step()
print("cosine", " ".join("%.17g" % v for v in lrs))
)PY";

std::map<std::string, std::vector<double>> run_torch(std::string& skip) {
  const std::string path = "/tmp/bilin_test_optim_torch.py";
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fputs(kOptimScript, f);
  std::fclose(f);
  std::map<std::string, std::vector<double>> out;
  FILE* p = ::popen(("/usr/bin/python3 " + path + " 2>&1").c_str(), "r");
  if (!p) {
    skip = "cannot run /usr/bin/python3";
    return out;
  }
  char buf[4096];
  std::string text;
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  const int rc = ::pclose(p);
  std::remove(path.c_str());
  if (rc != 0 || text.rfind("SKIP", 0) == 0) {
    skip = text.empty() ? "python3 failed" : text;
    return out;
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    double v;
    while (ls >> v) out[key].push_back(v);
  }
  return out;
}

const std::vector<float> kTorchP0 = {0.5f, -1.0f, 2.0f, 0.0f, -0.25f};
const std::vector<std::vector<float>> kTorchG = {{0.1f, -0.2f, 0.3f, 0.05f, 0.0f}, {-0.05f, 0.4f, 0.0f, -0.3f, 1.5f},
                                            {0.2f, 0.2f, -0.1f, 0.0f, -0.7f}};

template <class Make>
std::vector<float> run_bilin(Make make) {
  auto p = TensorF::from_vector(kTorchP0);
  p.requires_grad_(true);
  auto opt = make(std::vector<TensorF>{p});
  for (const auto& g : kTorchG) {
    p.set_grad(TensorF::from_vector(g));
    opt->step();
  }
  return p.to_vector();
}

}  // namespace

TEST_CASE("optimizers, clipping and cosine schedule match PyTorch 1.13", "[optim][torch]") {
  std::string skip;
  const auto ref = run_torch(skip);
  if (!skip.empty()) {
    WARN("skipped: PyTorch not available (" << skip << ")");
    return;
  }
  auto adam = [](bool decoupled) {
    return [decoupled](std::vector<TensorF> ps) {
      optim::AdamWOptions o;
      o.lr = 0.01;
      o.weight_decay = 0.1;
      o.decoupled = decoupled;
      return std::make_unique<optim::AdamW<float>>(ps, o);
    };
  };
  auto sgd = [](optim::SGDOptions o) {
    return [o](std::vector<TensorF> ps) { return std::make_unique<optim::SGD<float>>(ps, o); };
  };
  const std::map<std::string, std::vector<float>> mine = {
      {"adamw", run_bilin(adam(true))},
      {"adam", run_bilin(adam(false))},
      {"sgd", run_bilin(sgd({0.1, 0, 0, 0, false}))},
      {"sgd_mom", run_bilin(sgd({0.1, 0.9, 0.3, 0.01, false}))},
      {"sgd_nesterov", run_bilin(sgd({0.1, 0.8, 0, 0.05, true}))},
  };
  for (const auto& [name, v] : mine) {
    CAPTURE(name);
    REQUIRE(ref.count(name));
    REQUIRE(ref.at(name).size() == v.size());
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(ref.at(name)[i]).epsilon(1e-6).margin(1e-7));
  }

  auto a = TensorF::zeros({3}), b = TensorF::zeros({2});
  a.requires_grad_(true);
  b.requires_grad_(true);
  a.set_grad(TensorF::from({3.f, 0.f, 4.f}));
  b.set_grad(TensorF::from({0.f, 12.f}));
  const double total = optim::clip_grad_norm<float>({a, b}, 6.5);
  const auto& c = ref.at("clip");
  CHECK(total == Approx(c[0]));
  std::vector<float> g = a.grad().to_vector();
  for (float x : b.grad().to_vector()) g.push_back(x);
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(c[1 + i]).epsilon(1e-6).margin(1e-7));

  const auto sched = optim::LrSchedule::cosine(1e-3, 20);
  const auto& lrs = ref.at("cosine");
  REQUIRE(lrs.size() == 20);
  for (std::size_t e = 0; e < lrs.size(); ++e) CHECK(sched.at(static_cast<std::int64_t>(e)) == Approx(lrs[e]).epsilon(1e-12).margin(1e-18));
}
