// The training loop is reproducible: the same config gives bit-identical parameters, and
// stopping after N steps, saving, loading into a fresh trainer and running M more steps gives
// exactly the parameters of an uninterrupted N+M-step run (optimizer state, LR schedule
// position, data order, noise and shift streams all restored).
#include <unistd.h>

#include <bilin/train/classifier_trainer.hpp>
#include <catch2/catch.hpp>

#include "classifier_support.hpp"
#include "test_support.hpp"

using namespace bilin;

namespace {

using bilin_test::quadrant_images;
using bilin_test::quadrant_config;
using bilin_test::run_classifier_steps;

std::vector<std::vector<float>> params(train::ClassifierTrainer& t) {
  std::vector<std::vector<float>> out;
  for (auto& p : t.model().parameters()) out.push_back(p.to_vector());
  return out;
}

}  // namespace

TEST_CASE("training is bit-identical for the same seed, and for 1 vs 2 threads", "[train]") {
  const auto train_set = quadrant_images(300, 1), test_set = quadrant_images(100, 2);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    train::ClassifierTrainer t(quadrant_config(), train_set, test_set);
    run_classifier_steps(t, 20);
    omp_set_num_threads(saved);
    return params(t);
  };
  const auto a = run(2);
  CHECK(a == run(2));
  CHECK(a == run(1));
  auto other = quadrant_config();
  other.seed = 43;
  train::ClassifierTrainer t(other, train_set, test_set);
  run_classifier_steps(t, 20);
  CHECK(params(t) != a);
}

TEST_CASE("resume from a checkpoint continues bit-identically", "[train]") {
  const auto train_set = quadrant_images(300, 1), test_set = quadrant_images(100, 2);
  const bilin_test::TempDir tmp("resume");
  const std::string dir = tmp.path;

  // 300 samples / batch 32 = 9 steps per epoch; N = 13 stops mid-epoch 1, M = 12 crosses into epoch 2
  for (const auto& [schedule, optimizer] :
       std::vector<std::pair<std::string, std::string>>{{"cosine", "adamw"}, {"cosine-step", "sgd"}}) {
    CAPTURE(schedule, optimizer);
    const int N = 13, M = 12;
    train::ClassifierTrainer full(quadrant_config(schedule, optimizer), train_set, test_set);
    run_classifier_steps(full, N + M);

    train::ClassifierTrainer first(quadrant_config(schedule, optimizer), train_set, test_set);
    run_classifier_steps(first, N);
    const std::string path = dir + "/ck_" + optimizer + ".safetensors";
    first.save(path);
    auto resumed = train::ClassifierTrainer::resume(path, train_set, test_set);
    CHECK(resumed->optimizer().steps() == N);
    CHECK(resumed->epoch() == 1);
    CHECK(resumed->loader().position().batch == N - 9);
    CHECK(resumed->epoch_stats().loss_sum == first.epoch_stats().loss_sum);
    CHECK(resumed->current_lr() == first.current_lr());
    run_classifier_steps(*resumed, M);

    CHECK(params(*resumed) == params(full));
    CHECK(resumed->epoch_stats().loss_sum == full.epoch_stats().loss_sum);
    CHECK(resumed->epoch_stats().acc_sum == full.epoch_stats().acc_sum);
    CHECK(resumed->optimizer().steps() == full.optimizer().steps());
    const auto ea = resumed->evaluate_test(), eb = full.evaluate_test();
    CHECK(ea.loss == eb.loss);
    CHECK(ea.acc == eb.acc);
  }
  // a checkpoint without training metadata is refused with a clear message
  train::ClassifierTrainer t(quadrant_config(), train_set, test_set);
  t.save_model(dir + "/model.safetensors");
  CHECK_THROWS_WITH(train::ClassifierTrainer::resume(dir + "/model.safetensors", train_set, test_set),
                    Catch::Matchers::Contains("no optimizer state") || Catch::Matchers::Contains("train.epoch"));
}

TEST_CASE("training on synthetic data learns (the loop really optimizes)", "[train]") {
  const auto train_set = quadrant_images(300, 1), test_set = quadrant_images(200, 2);
  auto c = quadrant_config();
  c.noise = 0;
  c.shift = 0;
  c.epochs = 30;
  c.weight_decay = 0.01;
  train::ClassifierTrainer t(c, train_set, test_set);
  const auto before = t.evaluate_test();
  for (int e = 0; e < c.epochs; ++e) {
    t.begin_epoch(e);
    while (t.step()) {
    }
  }
  const auto after = t.evaluate_test();
  CHECK(after.loss < before.loss);
  CHECK(after.acc > 0.9);  // chance is 0.25
}
