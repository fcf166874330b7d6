// The decomposition is the model, on real data: for a bilinear classifier trained briefly on
// MNIST and on Fashion-MNIST inside the test, every test-set logit computed by the nn module's
// forward pass equals Σ_i λ_i (v_i·h)² over its class's eigencomponents to float tolerance.
// Skips (with a message) when a data set is not installed.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "bilin/bilin.hpp"
#include "bilin/data/idx.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/explain.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/truncation.hpp"
#include "bilin/nn/classifier.hpp"
#include "bilin/optim/adamw.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

bool find_data(const std::string& name, std::string& dir) {
  try {
    dir = data::locate_dataset(name);
    return true;
  } catch (const Error& e) {
    WARN("SKIPPED: " << name << " not installed: " << std::string(e.what()).substr(0, 200));
    return false;
  }
}

TensorF to_float(const Tensor<std::uint8_t>& images, index_t first, index_t count) {
  TensorF x = TensorF::empty({count, 784});
  const std::uint8_t* p = images.data() + first * 784;
  for (index_t i = 0; i < count * 784; ++i) x.data()[i] = static_cast<float>(p[i]) / 255.0f;
  return x;
}

// Trains the default architecture (embed 784→512, bilinear 512→512, head 512→10) for a few AdamW
// steps, then checks the decomposition against the module's own forward pass on all test images.
void check_dataset(const std::string& name, double min_acc) {
  std::string dir;
  if (!find_data(name, dir)) return;
  const data::MnistSplit train = data::load_mnist_split(dir, "train");
  const data::MnistSplit test = data::load_mnist_split(dir, "test");

  nn::ClassifierConfig cfg;
  Generator gen(42);
  nn::ImageClassifier<float> net(cfg, gen);
  optim::AdamWOptions o;
  o.lr = 2e-3;
  o.weight_decay = 0.5;
  optim::AdamW<float> opt(net.parameters(), o);
  const index_t B = 256, steps = 40;
  for (index_t s = 0; s < steps; ++s) {
    const index_t first = (s * B) % (train.size() - B);
    const TensorF x = to_float(train.images, first, B);
    Tensor<std::int64_t> y = Tensor<std::int64_t>::empty({B});
    for (index_t i = 0; i < B; ++i) y.data()[i] = train.labels.data()[first + i];
    TensorF loss = cross_entropy(net.forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }

  const index_t N = test.size();
  const TensorF X = to_float(test.images, 0, N);
  TensorF ref;
  {
    NoGradGuard ng;
    ref = net.forward(X);  // the module itself is the reference
  }
  const BilinearClassifier<float> model = from_module(net);
  const auto comps = decompose_classes(model);
  const ComponentLogits<float> cl(comps, model.layer_inputs(X), 10);
  const Exactness ex = exactness(ref, cl.full());

  std::vector<std::int64_t> labels(static_cast<std::size_t>(N));
  for (index_t i = 0; i < N; ++i) labels[i] = test.labels.data()[i];
  const auto curve = truncation_curve(cl, labels, {10, 0});
  const auto rv = ref.to_vector();
  const auto pred = argmax_rows(std::vector<double>(rv.begin(), rv.end()), N, 10);
  index_t correct = 0;
  for (index_t i = 0; i < N; ++i) correct += pred[i] == labels[i];
  const double acc = static_cast<double>(correct) / static_cast<double>(N);
  std::printf("%s: %lld test images, accuracy after %lld steps %.4f, max |logit - sum| %.3g (max |logit| %.3g, rel %.3g), "
              "top-10 accuracy %.4f\n",
              name.c_str(), static_cast<long long>(N), static_cast<long long>(steps), acc, ex.max_abs_err,
              ex.max_abs_logit, ex.max_rel_err, curve[0].accuracy);
  CAPTURE(name, acc, ex.max_abs_err, ex.max_abs_logit);
  REQUIRE(acc > min_acc);             // a real, trained model — not chance
  REQUIRE(ex.max_rel_err < 2e-5);     // float tolerance over 100k logits
  REQUIRE(curve[1].all);
  REQUIRE(curve[1].accuracy == Approx(acc).margin(1e-3));  // same predictions up to float ties

  // One image, in pixel space: contributions add up to the module's logit.
  const TensorF x0 = X.select(0, 0).contiguous();
  const Explanation e = explain(comps, x0, 10);
  for (const auto& ce : e.classes) REQUIRE(ce.logit == Approx(ref.at({0, ce.cls})).margin(2e-5 * ex.max_abs_logit));
}

}  // namespace

TEST_CASE("decomposition reproduces every MNIST test logit", "[interp][data]") { check_dataset("mnist", 0.85); }

TEST_CASE("decomposition reproduces every Fashion-MNIST test logit", "[interp][data]") {
  check_dataset("fmnist", 0.65);
}
