// A short real training run: the paper's architecture (narrower) on the first 2000 MNIST
// training images must reach a sensible test accuracy on 1000 test images. Skipped with a
// message when the MNIST files are not found (data/idx.hpp's search order).
#include <bilin/data/idx.hpp>
#include <bilin/train/classifier_trainer.hpp>
#include <catch2/catch.hpp>

using namespace bilin;

TEST_CASE("paper architecture learns MNIST from a 2000-image subset", "[train][mnist]") {
  data::MnistData mnist;
  try {
    mnist = data::load_mnist("mnist");
  } catch (const Error& e) {
    WARN("skipped: MNIST not found (" << e.what() << ")");
    return;
  }
  const auto train_set = data::ImageDataset::from_mnist(mnist.train).subset(0, 2000);
  const auto test_set = data::ImageDataset::from_mnist(mnist.test).subset(0, 1000);
  auto c = train::TrainConfig::paper_recipe();
  c.model.d_hidden = 128;
  c.batch = 100;
  c.epochs = 6;
  c.lr = 3e-3;
  c.weight_decay = 0.1;
  train::ClassifierTrainer t(c, train_set, test_set);
  const auto before = t.evaluate_test();
  for (int e = 0; e < c.epochs; ++e) {
    t.begin_epoch(e);
    while (t.step()) {
    }
  }
  const auto after = t.evaluate_test();
  INFO("test accuracy " << before.acc << " -> " << after.acc << ", loss " << before.loss << " -> " << after.loss);
  CHECK(before.acc < 0.3);
  CHECK(after.acc > 0.85);
  CHECK(after.loss < 0.6);
  CHECK(t.optimizer().steps() == 6 * 20);
}
