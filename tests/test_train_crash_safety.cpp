// Tests for crash safety (issue 20 part B): every writer the trainers use gives a clear error
// naming the file on a full file system or a read-only folder and leaves the previous file
// byte-identical; the non-finite guard names the step and the parameter (or "loss") and skips
// at most N steps in a row; metrics lines survive a torn tail; SIGINT/SIGTERM set the stop flag
// and a second signal exits at once.
//
// The file-system faults are real: in a forked child that enters a private mount namespace, a
// small tmpfs is mounted (filled up, or remounted read-only), so nothing can leak out of the
// test (the mount dies with the child). Where mounting is not allowed (CI containers without
// CAP_SYS_ADMIN) the child falls back to RLIMIT_FSIZE (write(2) fails with EFBIG) for the full
// disk and to a folder and files without write permission (as user nobody when running as root, since
// root ignores permission bits) for the read-only case. Each child reports which way it went.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bilin/bilin.hpp>
#include <bilin/io/atomic_file.hpp>
#include <bilin/io/html_report.hpp>
#include <bilin/train/checkpoint.hpp>
#include <bilin/train/metrics_log.hpp>
#include <bilin/train/nonfinite.hpp>
#include <bilin/train/sae_file.hpp>
#include <bilin/train/sae_trainer.hpp>
#include <bilin/train/stop_signal.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <string>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;

namespace {

// Runs body() in a forked child and returns what it returned (or why the child died).
std::string crash_in_child(const std::function<std::string()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    try {
      out = body();
    } catch (const std::exception& e) {
      out = std::string("child threw: ") + e.what();
    }
    const char* p = out.data();
    std::size_t n = out.size();
    while (n > 0) {
      const ssize_t w = ::write(fds[1], p, n);
      if (w <= 0) break;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t r;
  while ((r = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(r));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " (child died, status " + std::to_string(status) + ")";
  return out;
}

// In the child: a private mount namespace with a tmpfs of `size` on dir. False when not allowed.
bool crash_mount_tmpfs(const std::string& dir, const char* size) {
  if (::unshare(CLONE_NEWNS) != 0) return false;
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  return ::mount("tmpfs", dir.c_str(), "tmpfs", 0, size) == 0;
}

// One file the trainers write, in two versions (v2 larger than any fallback file-size limit).
struct CrashWriter {
  std::string name, file;
  std::function<void(const std::string& path, int version)> write;
};

std::vector<CrashWriter> crash_writers() {
  using namespace bilin;
  std::vector<CrashWriter> w;
  w.push_back({"write_file_atomic", "report.json", [](const std::string& p, int v) {
                 io::write_file_atomic(p, std::string(v == 1 ? 100 : 20000, v == 1 ? 'a' : 'b'));
               }});
  w.push_back({"save_checkpoint", "checkpoint.safetensors", [](const std::string& p, int v) {
                 Generator gen(static_cast<std::uint64_t>(v));
                 nn::Linear<float> model(64, 32, true, gen);  // > 4 KiB: above the fallback file-size limit
                 optim::AdamW<float> opt(model.parameters(), optim::AdamWOptions{});
                 train::save_checkpoint<float>(p, model, &opt, {{"step", std::to_string(v)}});
               }});
  w.push_back({"save_sae", "sae.safetensors", [](const std::string& p, int v) {
                 Generator gen(static_cast<std::uint64_t>(v));
                 nn::TopKSAE<float> sae(nn::SaeConfig::with_expansion(16, 4, 4), gen);
                 train::save_sae(p, sae, train::SaeInfo{});
               }});
  w.push_back({"HtmlReport::write", "report.html", [](const std::string& p, int v) {
                 io::HtmlReport r("crash test v" + std::to_string(v));
                 r.section("numbers").paragraph(std::string(v == 1 ? 10 : 20000, 'x'));
                 r.write(p);
               }});
  w.push_back({"append_jsonl", "metrics.jsonl", [](const std::string& p, int v) {
                 train::append_jsonl(p, "{\"step\":" + std::to_string(v) + ",\"pad\":\"" +
                                            std::string(v == 1 ? 10 : 9000, 'p') + "\"}");
               }});
  return w;
}

enum class CrashFault { full_disk, read_only };

// Writes v1 of every writer into a fresh dir, makes the file system fail, tries v2 and reports
// per writer: the error text and whether v1 survived byte for byte.
std::string crash_fault_report(const std::string& dir, CrashFault fault) {
  const bool mounted = crash_mount_tmpfs(dir, "size=512k");
  std::string report = mounted ? "mode tmpfs\n" : "mode fallback\n";
  const auto writers = crash_writers();
  std::vector<std::string> v1;
  for (const auto& w : writers) {
    w.write(dir + "/" + w.file, 1);
    v1.push_back(bilin::io::read_file(dir + "/" + w.file));
  }
  if (fault == CrashFault::full_disk) {
    if (mounted) {  // fill it up
      const int fd = ::open((dir + "/filler").c_str(), O_WRONLY | O_CREAT, 0644);
      const std::string chunk(4096, 'f');
      while (::write(fd, chunk.data(), chunk.size()) > 0) {
      }
      ::close(fd);
    } else {
      std::signal(SIGXFSZ, SIG_IGN);
      struct rlimit lim {};
      ::getrlimit(RLIMIT_FSIZE, &lim);
      lim.rlim_cur = 4096;
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return report + "cannot lower RLIMIT_FSIZE\n";
    }
  } else if (mounted) {
    if (::mount("tmpfs", dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      return report + "cannot remount read-only\n";
  } else {
    ::chmod(dir.c_str(), 0555);  // and the files: an append needs no folder write permission
    for (const auto& w : writers) ::chmod((dir + "/" + w.file).c_str(), 0444);
    if (::geteuid() == 0 && ::setuid(65534) != 0) return report + "cannot drop root to make permissions count\n";
  }
  for (std::size_t i = 0; i < writers.size(); ++i) {
    const std::string path = dir + "/" + writers[i].file;
    const std::string err = bilin_test::error_of([&] { writers[i].write(path, 2); });
    const bool intact = bilin::io::read_file(path) == v1[i];
    report += writers[i].name + "|" + path + "|" + (intact ? "intact" : "CHANGED") + "|" + err + "\n";
  }
  return report;
}

std::vector<std::string> crash_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < s.size()) {
    const std::size_t nl = std::min(s.find('\n', at), s.size());
    out.push_back(s.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

void crash_check_fault(CrashFault fault) {
  bilin_test::TempDir td("crash_fault");
  const std::string report = crash_in_child([&] { return crash_fault_report(td.path, fault); });
  ::chmod(td.path.c_str(), 0755);
  INFO(report);
  const auto lines = crash_lines(report);
  REQUIRE(lines.size() == 1 + crash_writers().size());
  const bool mounted = lines[0] == "mode tmpfs";
  WARN("file-system fault via " << (mounted ? "a private tmpfs mount" : "the fallback (no mount allowed)"));
  const char* why = fault == CrashFault::full_disk ? (mounted ? "No space left on device" : "File too large")
                                                   : (mounted ? "Read-only file system" : "Permission denied");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK_THAT(lines[i], Contains("|intact|"));
    const std::string path = td.path + "/" + crash_writers()[i - 1].file;
    const std::string err = lines[i].substr(lines[i].rfind('|') + 1);
    CHECK_THAT(err, Contains(path) && Contains(why));
    CHECK(err != "(no error)");
  }
}

}  // namespace

TEST_CASE("a full file system gives an error naming the file and keeps the previous file", "[crash][fs]") {
  crash_check_fault(CrashFault::full_disk);
}

TEST_CASE("a read-only folder gives an error naming the file and keeps the previous file", "[crash][fs]") {
  crash_check_fault(CrashFault::read_only);
}

TEST_CASE("append_jsonl appends whole lines; kept_jsonl drops a torn tail and later steps", "[crash][metrics]") {
  using namespace bilin::train;
  bilin_test::TempDir td("crash_metrics");
  const std::string p = td.path + "/metrics.jsonl";
  for (int s = 1; s <= 4; ++s) append_jsonl(p, "{\"step\":" + std::to_string(s * 10) + ",\"loss\":1.5}");
  CHECK(bilin_test::count(bilin::io::read_file(p), "\n") == 4);
  // a kill in the middle of a write (or a crash of the machine) leaves a torn last line
  bilin_test::spit(p, bilin::io::read_file(p) + "{\"step\":50,\"lo");
  CHECK(kept_jsonl(bilin::io::read_file(p), "step", 1000) ==
        "{\"step\":10,\"loss\":1.5}\n{\"step\":20,\"loss\":1.5}\n{\"step\":30,\"loss\":1.5}\n{\"step\":40,\"loss\":1.5}\n");
  trim_jsonl(p, "step", 20);  // resumed from the checkpoint at step 20
  CHECK(bilin::io::read_file(p) == "{\"step\":10,\"loss\":1.5}\n{\"step\":20,\"loss\":1.5}\n");
  append_jsonl(p, "{\"step\":30,\"loss\":1.25}");
  CHECK(bilin_test::count(bilin::io::read_file(p), "\n") == 3);
  trim_jsonl(td.path + "/missing.jsonl", "step", 1);  // nothing to trim: no file appears
  CHECK(::access((td.path + "/missing.jsonl").c_str(), F_OK) != 0);
  CHECK_THAT(bilin_test::error_of([&] { append_jsonl(td.path + "/no/such/dir/m.jsonl", "{}"); }),
             Contains(td.path + "/no/such/dir/m.jsonl") && Contains("No such file"));
}

TEST_CASE("the non-finite guard names the step and the first bad parameter, or the loss", "[crash][nonfinite]") {
  using namespace bilin;
  Generator gen(5);
  nn::Linear<float> model(6, 3, true, gen);
  const TensorF x = TensorF::randn({4, 6}, gen);
  const auto backward = [&](const TensorF& in) {
    for (auto& p : model.parameters()) p.zero_grad();
    TensorF loss = mse(model.forward(in), TensorF::zeros({4, 3}));
    const double l = loss.item();
    loss.backward();
    return l;
  };
  const auto names = model.named_parameters();
  REQUIRE(names.size() == 2);

  train::NonFiniteGuard guard({}, "test_train");
  CHECK(guard.check(0, backward(x), names));
  // an Inf input makes the loss non-finite: "loss" is named
  TensorF bad = x.clone();
  bad.data()[7] = std::numeric_limits<float>::infinity();
  const double l = backward(bad);
  REQUIRE_FALSE(std::isfinite(l));
  CHECK_THAT(bilin_test::error_of([&] { guard.check(12, l, names); }),
             Contains("test_train") && Contains("step 12") && Contains("the loss is"));
  // a finite loss with a NaN gradient in the second parameter names that parameter
  const double good = backward(x);
  names[1].second.grad().data()[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THAT(bilin_test::error_of([&] { guard.check(13, good, names); }),
             Contains("step 13") && Contains("parameter '" + names[1].first + "'") && Contains("element 2") &&
                 Contains("last checkpoint is kept"));
  // the test hook poisons the first parameter's gradient at its step only
  train::NonFiniteGuard hooked({0, 21, ""}, "test_train");
  CHECK(hooked.check(20, backward(x), names));
  CHECK_THAT(bilin_test::error_of([&] { hooked.check(21, backward(x), names); }),
             Contains("step 21") && Contains("parameter '" + names[0].first + "'"));
  CHECK_THAT(bilin_test::error_of([&] { train::NonFiniteGuard({0, 1, "nope"}, "t").check(1, backward(x), names); }),
             Contains("no parameter named 'nope'"));

  // skipping: at most 2 in a row; a good step resets the run
  train::NonFiniteGuard skip({2, -1, ""}, "test_train");
  const auto poisoned = [&] {
    const double v = backward(x);
    names[0].second.grad().data()[0] = std::numeric_limits<float>::quiet_NaN();
    return v;
  };
  CHECK_FALSE(skip.check(1, poisoned(), names));
  CHECK_FALSE(skip.check(2, poisoned(), names));
  CHECK(skip.check(3, backward(x), names));
  CHECK_FALSE(skip.check(4, poisoned(), names));
  CHECK_FALSE(skip.check(5, poisoned(), names));
  CHECK(skip.skipped() == 4);
  CHECK_THAT(skip.last_reason(), Contains("step 5"));
  CHECK_THAT(bilin_test::error_of([&] { skip.check(6, poisoned(), names); }),
             Contains("step 6") && Contains("3 non-finite steps in a row") && Contains("allows 2"));
}

TEST_CASE("SIGINT/SIGTERM set the stop flag; a second signal exits with 128 + signal", "[crash][signal]") {
  using namespace bilin::train;
  const std::string out = crash_in_child([] {
    install_stop_handlers("crash_test");
    std::string r = stop_requested() ? "early" : "clear";
    ::raise(SIGTERM);
    r += stop_requested() && stop_signal() == SIGTERM ? " flagged" : " not-flagged";
    try {
      stop_now("step 7", "/x/ckpt.safetensors");
    } catch (const StopRequested& s) {
      r += std::string(" | ") + s.what();
    }
    return r;
  });
  CHECK_THAT(out, Contains("clear flagged") && Contains("stopped by SIGTERM at step 7") &&
                      Contains("checkpoint written to /x/ckpt.safetensors") && Contains("--resume"));

  // the second signal: the child must die with exit code 128 + SIGINT before it can report
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    install_stop_handlers("crash_test");
    ::raise(SIGINT);
    ::raise(SIGINT);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGINT);
  CHECK(kExitStopped != 0);
  CHECK(kExitStopped != 1);
}

TEST_CASE("several SAE checkpoints torn between files resume from one step", "[crash][sae]") {
  using namespace bilin;
  bilin_test::TempDir td("crash_sae");
  const nn::SaeConfig cfg = nn::SaeConfig::with_expansion(8, 2, 2);
  train::SaeTrainOptions o;
  o.steps = 10;
  o.batch = 4;
  Generator gen(3);
  const TensorF x = TensorF::randn({4, 8}, gen);
  train::SaeTrainer a(cfg, o, 1), b(cfg, o, 2);
  std::vector<train::SaeTrainer*> both{&a, &b};
  const std::vector<std::string> paths{td.path + "/a.safetensors", td.path + "/b.safetensors"};
  a.step(x);
  b.step(x);
  train::save_sae_checkpoints(both, paths, {{"fills", "1"}});
  const std::string a1 = bilin::io::read_file(paths[0]), b1 = bilin::io::read_file(paths[1]);
  a.step(x);
  b.step(x);
  train::save_sae_checkpoints(both, paths, {{"fills", "2"}});
  CHECK(bilin::io::read_file(paths[0] + ".prev") == a1);
  // as if killed after the first file of the second checkpoint: a is at step 2, b at step 1
  bilin::io::write_file_atomic(paths[1], b1);

  train::SaeTrainer ra(cfg, o, 1), rb(cfg, o, 2);
  const auto metas = train::load_sae_checkpoints({&ra, &rb}, paths);
  CHECK(ra.steps_done() == 1);
  CHECK(rb.steps_done() == 1);
  CHECK(metas[0].at("fills") == "1");
  CHECK(metas[1].at("fills") == "1");
  // the file that was ahead is replaced by its previous generation, so the next save (and a kill
  // after its first file) again leaves a .prev at the others' step
  CHECK(bilin::io::read_file(paths[0]) == a1);
  CHECK(::access((paths[0] + ".prev").c_str(), F_OK) != 0);
  ra.step(x);
  train::save_sae_checkpoints({&ra, &rb}, paths, {{"fills", "3"}});
  bilin::io::write_file_atomic(paths[1], b1);  // killed before the second file again
  train::SaeTrainer sa(cfg, o, 1), sb(cfg, o, 2);
  train::load_sae_checkpoints({&sa, &sb}, paths);
  CHECK(sa.steps_done() == 1);
  CHECK(sb.steps_done() == 1);
  // without the previous generation the mismatch is a clear error
  train::save_sae_checkpoints({&ra, &rb}, paths, {{"fills", "3"}});
  bilin::io::write_file_atomic(paths[1], b1);
  ::unlink((paths[0] + ".prev").c_str());
  CHECK_THAT(bilin_test::error_of([&] { train::load_sae_checkpoints({&ra, &rb}, paths); }),
             Contains(paths[0] + " is at step 2") && Contains("no " + paths[0] + ".prev"));
}
