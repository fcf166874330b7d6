// analyze_mnist's decomposition export (interp/decomposition_export.hpp, io/result_bundle.hpp)
// read back by NumPy/PyTorch (tests/decomposition_export_check.py), which checks it against a
// NumPy forward pass of the same model's weights. Skipped with a message when /usr/bin/python3
// has no numpy/torch.
#include <sys/wait.h>
#include <unistd.h>

#include <bilin/core/random.hpp>
#include <bilin/interp/decomposition_export.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "test_support.hpp"

using namespace bilin;

namespace {

TensorF ex_random(Generator& g, Shape s, double scale = 0.5) {
  TensorF t = TensorF::empty(s);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(scale * g.normal());
  return t;
}

int ex_run_check(const std::string& dir) {
  const std::string cmd = "/usr/bin/python3 " BILIN_TEST_SOURCE_DIR "/decomposition_export_check.py " + dir + " > " +
                          dir + "/log.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  UNSCOPED_INFO(bilin_test::slurp(dir + "/log.txt"));
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("the decomposition export reads back in NumPy/PyTorch and reproduces the model", "[interp][python]") {
  if (std::system("/usr/bin/python3 -c 'import numpy, torch' > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: /usr/bin/python3 with numpy and torch is not available");
    return;
  }
  Generator g(3);
  for (bool augmented : {false, true}) {
    const index_t D = 12, d = 6, h = augmented ? 6 : 5, C = 3;
    interp::BilinearClassifier<float> m;
    m.embed = ex_random(g, {d, D});
    m.w = ex_random(g, {h, d});
    m.v = ex_random(g, {h, d});
    m.head = ex_random(g, {C, h});
    std::vector<std::pair<std::string, io::AnyTensor>> weights = {
        {"embed", m.embed}, {"w", m.w}, {"v", m.v}, {"head", m.head}};
    if (augmented) {
      m.bw = ex_random(g, {h});
      m.bv = ex_random(g, {h});
      m.head_bias = ex_random(g, {C});
      m.residual = true;
      weights.insert(weights.end(), {{"bw", m.bw}, {"bv", m.bv}, {"head_bias", m.head_bias}});
      weights.emplace_back("residual", Tensor<std::uint8_t>::from_vector({1}, {1}));
    }
    bilin_test::TempDir dir("decomp_export");
    io::save_safetensors(dir.path + "/model.safetensors", weights);
    const auto comps = interp::decompose_classes(m);
    const auto hs = interp::classifier_hosvd(m, 2);
    json::Value info = json::Value::object();
    info["checkpoint"] = "test";
    const auto [st, js] = interp::export_decomposition(dir.path, m, comps, {"a", "b", "c"}, &hs, info);
    CHECK(st == dir.path + "/decomposition.safetensors");
    CHECK(bilin_test::slurp(js).find("\"checkpoint\": \"test\"") != std::string::npos);
    CHECK(ex_run_check(dir.path) == 0);
  }
}

TEST_CASE("the export refuses mismatched components before writing anything", "[interp]") {
  Generator g(4);
  interp::BilinearClassifier<float> m;
  m.embed = ex_random(g, {4, 9});
  m.w = ex_random(g, {5, 4});
  m.v = ex_random(g, {5, 4});
  m.head = ex_random(g, {2, 5});
  auto comps = interp::decompose_classes(m);
  bilin_test::TempDir dir("decomp_export_bad");
  comps.pop_back();
  CHECK_THAT(bilin_test::error_of([&] { interp::export_decomposition(dir.path, m, comps, {"a", "b"}); }),
             Catch::Contains("1 component sets") && Catch::Contains("2 classes"));
  comps = interp::decompose_classes(m, {2});
  CHECK_THAT(bilin_test::error_of([&] { interp::export_decomposition(dir.path, m, comps, {"a", "b"}); }),
             Catch::Contains("component set 0 has 2 eigenpairs"));
  CHECK(!std::filesystem::exists(dir.path + "/decomposition.json"));
  CHECK(!std::filesystem::exists(dir.path + "/decomposition.safetensors"));
}
