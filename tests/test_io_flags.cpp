// Tests for bilin/io/flags.hpp: values, switches, defaults, --help, and the errors that name the flag.
#include <bilin/io/flags.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {
// Runs parse() on a command line given as words (argv[0] is the program name).
bool flags_parse(bilin::Flags& f, std::vector<std::string> words) {
  words.insert(words.begin(), "prog");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return f.parse(static_cast<int>(argv.size()), argv.data());
}
bilin::Flags flags_table() {
  bilin::Flags f("prog", "does a thing");
  f.value("lr", "1e-3", "learning rate", "LR").value("steps", "100", "training steps", "N");
  f.value("model", "bilinear", "layer kind").toggle("resume", "continue from the checkpoint");
  return f;
}
}  // namespace

TEST_CASE("flags: defaults, both value spellings, switches, given()", "[io][flags]") {
  auto f = flags_table();
  REQUIRE(flags_parse(f, {"--steps", "7", "--lr=-0.5", "--resume"}));
  CHECK(f.integer("steps") == 7);
  CHECK(f.real("lr") == -0.5);
  CHECK(f.on("resume"));
  CHECK(f.given("steps"));
  CHECK_FALSE(f.given("model"));
  CHECK(f.str("model") == "bilinear");
  CHECK(f.choice("model", {"relu", "bilinear"}) == "bilinear");

  auto g = flags_table();
  REQUIRE(flags_parse(g, {}));
  CHECK_FALSE(g.on("resume"));
  CHECK(g.real("lr") == 1e-3);
  CHECK(g.integer("steps") == 100);
}

TEST_CASE("flags: --help prints every flag with its default and parse() returns false", "[io][flags]") {
  auto f = flags_table();
  const std::string u = f.usage();
  CHECK_THAT(u, Catch::Matchers::Contains("usage: prog"));
  CHECK_THAT(u, Catch::Matchers::Contains("--lr LR"));
  CHECK_THAT(u, Catch::Matchers::Contains("(default 1e-3)"));
  CHECK_THAT(u, Catch::Matchers::Contains("--resume"));
  CHECK_FALSE(flags_parse(f, {"--steps", "3", "--help"}));
}

TEST_CASE("flags: every misuse is an error naming the flag", "[io][flags]") {
  using bilin_test::error_of;
  using Catch::Matchers::Contains;
  auto parse_error = [](std::vector<std::string> words) {
    auto f = flags_table();
    return error_of([&] { flags_parse(f, words); });
  };
  CHECK_THAT(parse_error({"--stesp", "3"}), Contains("unknown flag --stesp") && Contains("did you mean --steps"));
  CHECK_THAT(parse_error({"--zzzzzzzz"}), Contains("unknown flag --zzzzzzzz") && !Contains("did you mean"));
  CHECK_THAT(parse_error({"--steps"}), Contains("--steps needs a value"));
  CHECK_THAT(parse_error({"--steps", "1", "--steps", "2"}), Contains("--steps is given twice"));
  CHECK_THAT(parse_error({"file.txt"}), Contains("unexpected argument 'file.txt'"));
  CHECK_THAT(parse_error({"--resume=yes"}), Contains("--resume is a switch"));

  auto f = flags_table();
  REQUIRE(flags_parse(f, {"--steps", "3x", "--lr", "fast", "--model", "mlp"}));
  CHECK_THAT(error_of([&] { f.integer("steps"); }), Contains("--steps expects an integer, got '3x'"));
  CHECK_THAT(error_of([&] { f.real("lr"); }), Contains("--lr expects a number, got 'fast'"));
  CHECK_THAT(error_of([&] { f.choice("model", {"relu", "bilinear"}); }),
             Contains("--model expects one of relu|bilinear, got 'mlp'"));
  CHECK_THAT(error_of([&] { f.integer("nope"); }), Contains("--nope was never declared"));
  CHECK_THAT(error_of([] { bilin::Flags g("p", "s"); g.value("a", "", "x").toggle("a", "y"); }),
             Contains("declared twice"));
}

TEST_CASE("flags: positional words only when declared, kept in order, listed in --help", "[io][flags]") {
  using bilin_test::error_of;
  using Catch::Matchers::Contains;
  auto f = flags_table();
  f.positional("LABEL=CKPT", "one checkpoint per word");
  REQUIRE(flags_parse(f, {"a=1.st", "--steps", "5", "b=2.st", "--lr", "-2"}));
  CHECK(f.words() == std::vector<std::string>{"a=1.st", "b=2.st"});
  CHECK(f.integer("steps") == 5);
  CHECK(f.real("lr") == -2);
  CHECK_THAT(f.usage(), Contains("usage: prog [flags] LABEL=CKPT...") && Contains("one checkpoint per word"));
  auto g = flags_table();
  g.positional("WORD", "w");
  CHECK_THAT(error_of([&] { flags_parse(g, {"-x"}); }), Contains("unexpected argument '-x'"));
  CHECK(flags_table().words().empty());
}

TEST_CASE("flags: comma-separated lists of words and of numbers", "[io][flags]") {
  using bilin_test::error_of;
  using Catch::Matchers::Contains;
  auto f = flags_table();
  REQUIRE(flags_parse(f, {"--model", "and,,xor,", "--lr", "0.5,1,-2e1"}));
  CHECK(f.list("model") == std::vector<std::string>{"and", "xor"});
  CHECK(f.reals("lr") == std::vector<double>{0.5, 1, -20});
  auto g = flags_table();
  REQUIRE(flags_parse(g, {"--lr", "1,x2", "--steps", "1,,2"}));
  CHECK_THAT(error_of([&] { g.reals("lr"); }), Contains("--lr expects numbers") && Contains("'x2'"));
  CHECK_THAT(error_of([&] { g.reals("steps"); }), Contains("--steps expects numbers") && Contains("bad item ''"));
  CHECK(flags_table().list("model") == std::vector<std::string>{"bilinear"});
}
