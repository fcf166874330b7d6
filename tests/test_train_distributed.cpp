// Data parallelism pieces that run in one process (issue 21): core/partition.hpp, the loader's
// shards, and train/distributed.hpp's serial group (this executable is built without MPI; the
// multi-rank behaviour is tested under mpirun by tests/mpi/mpi_check.sh).
#include <bilin/bilin.hpp>
#include <bilin/core/partition.hpp>
#include <bilin/data/loader.hpp>
#include <bilin/train/distributed.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

using namespace bilin;

namespace {

data::ImageDataset dist_toy_images(index_t n) {
  auto img = Tensor<std::uint8_t>::empty({n, 16});
  auto lab = Tensor<std::int64_t>::empty({n});
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < 16; ++j) img.data()[i * 16 + j] = static_cast<std::uint8_t>((i * 13 + j * 5) % 256);
    lab.data()[i] = i % 10;
  }
  return data::ImageDataset::from_tensors(img, lab, 4, 4);
}

}  // namespace

TEST_CASE("part_range: contiguous parts covering every item once, sizes differing by at most one", "[distributed]") {
  for (index_t n : {0, 1, 5, 12, 512, 2049})
    for (index_t parts : {1, 2, 3, 4, 7}) {
      index_t next = 0, smallest = n, largest = 0;
      for (index_t p = 0; p < parts; ++p) {
        const auto [lo, hi] = part_range(n, p, parts);
        CHECK(lo == next);  // contiguous, in order
        next = hi;
        smallest = std::min(smallest, hi - lo);
        largest = std::max(largest, hi - lo);
      }
      CHECK(next == n);
      CHECK(largest - smallest <= 1);
      CHECK(largest == (n + parts - 1) / parts);
    }
  CHECK(part_range(10, 0, 3) == std::pair<index_t, index_t>{0, 4});  // the remainder goes to the first parts
  CHECK(part_range(10, 2, 3) == std::pair<index_t, index_t>{7, 10});
  CHECK_THROWS_WITH(part_range(10, 3, 3), Catch::Contains("part 3 of 3"));
  CHECK_THROWS_WITH(train::dist::shard_range(2, 0, 3), Catch::Contains("a batch of 2 rows cannot be split over 3 ranks"));
}

TEST_CASE("loader parts: the parts of a batch are the whole batch's rows, noise and augmentation included",
          "[distributed]") {
  data::LoaderOptions lo;
  lo.batch_size = 10;
  lo.seed = 5;
  lo.augment.noise_std = 0.3;
  lo.augment.noise_p = 0.5;
  lo.augment.max_shift = 1;
  const auto ds = dist_toy_images(37);
  data::DataLoader whole(ds, lo);
  whole.start_epoch(2);
  std::vector<data::DataLoader> parts;
  for (index_t p = 0; p < 3; ++p) {
    parts.emplace_back(ds, lo);
    parts.back().set_part(p, 3);
    parts.back().start_epoch(2);
  }
  data::Batch full, piece;
  int batches = 0;
  while (whole.next(full)) {
    index_t row = 0;
    for (auto& part : parts) {
      REQUIRE(part.next(piece));
      const index_t n = piece.size();
      CHECK(std::memcmp(piece.x.data(), full.x.data() + row * 16, static_cast<std::size_t>(n * 16) * sizeof(float)) == 0);
      CHECK(std::memcmp(piece.y.data(), full.y.data() + row, static_cast<std::size_t>(n) * sizeof(std::int64_t)) == 0);
      row += n;
    }
    CHECK(row == full.size());
    ++batches;
  }
  CHECK(batches == 3);
  for (auto& part : parts) CHECK_FALSE(part.next(piece));
  CHECK_THROWS_WITH(parts[0].set_part(3, 3), Catch::Contains("part 3 of 3"));
}

TEST_CASE("distributed without MPI: a serial group of one whose collectives leave data alone", "[distributed]") {
  auto& comm = train::dist::Communicator::world();
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  CHECK(comm.root());
  CHECK_FALSE(train::dist::built_with_mpi());
  TensorF a = TensorF::full({3, 5}, 1.5f), b = TensorF::full({7}, -2.0f);
  comm.allreduce_sum({a, b}, 16);
  CHECK(a.data()[14] == 1.5f);
  CHECK(b.data()[6] == -2.0f);
  std::string s = "abc";
  comm.broadcast(s);
  CHECK(s == "abc");
  CHECK(comm.sum(2.5) == 2.5);
  comm.abort(1);  // returns in a group of one

  // gradient averaging with one rank touches nothing (a serial run stays bit-identical)
  train::dist::DataParallel dp;
  TensorF w = TensorF::full({4}, 1.0f);
  w.requires_grad_();
  w.set_grad(TensorF::full({4}, 0.25f));
  dp.average_gradients({w}, 3, 12);
  CHECK(w.grad().data()[0] == 0.25f);
  CHECK(dp.shard(12) == std::pair<index_t, index_t>{0, 12});
  char prog[] = "p", x[] = "--lr", y[] = "1";
  char* argv[] = {prog, x, y};
  dp.check_same_flags("p", 3, argv);  // nothing to compare against
}

TEST_CASE("distributed: flag comparison names the first flag that differs", "[distributed]") {
  using DP = train::dist::DataParallel;
  const auto root = DP::split_flags("--lr\n1e-3\n--batch=16\n--resume\n--out\nd\n");
  CHECK(root.at("--lr") == "1e-3");
  CHECK(root.at("--batch") == "16");
  CHECK(root.at("--resume") == "(switch)");
  CHECK(DP::first_flag_difference(root, DP::split_flags("--batch\n16\n--lr=1e-3\n--resume\n--out\nd\n")).empty());
  CHECK(DP::first_flag_difference(root, DP::split_flags("--lr\n2e-3\n--batch=16\n--resume\n--out\nd\n")) ==
        "has --lr 2e-3 but rank 0 has --lr 1e-3");
  CHECK(DP::first_flag_difference(root, DP::split_flags("--lr\n1e-3\n--batch=16\n--out\nd\n")) ==
        "lacks --resume (rank 0 has --resume (switch))");
  CHECK(DP::first_flag_difference(root, DP::split_flags("--lr\n1e-3\n--batch=16\n--resume\n--out\nd\n--seed\n3\n")) ==
        "has --seed 3 that rank 0 lacks");
}
