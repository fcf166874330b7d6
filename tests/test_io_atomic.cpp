// Tests for bilin/io/atomic_file.hpp: whole-file writes that either fully happen or leave the
// old file alone, and reads with clear errors.
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bilin/io/atomic_file.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_support.hpp"

using Catch::Matchers::Contains;

namespace {

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

TEST_CASE("write_file_atomic writes, overwrites and leaves no temporary file", "[io][atomic]") {
  bilin_test::TempDir td("io_atomic");
  const std::string p = td.path + "/out.bin";
  bilin::io::write_file_atomic(p, std::string("hello"));
  CHECK(bilin::io::read_file(p) == "hello");
  std::string big(3'000'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  bilin::io::write_file_atomic(p, big);
  CHECK(bilin::io::read_file(p) == big);
  bilin::io::write_file_atomic(p, std::vector<std::uint8_t>{});  // empty file is fine
  CHECK(bilin::io::read_file(p).empty());
  CHECK(list_dir(td.path) == std::vector<std::string>{"out.bin"});
}

TEST_CASE("write_file_atomic keeps the permission bits of the file it replaces", "[io][atomic]") {
  bilin_test::TempDir td("io_atomic");
  const std::string p = td.path + "/script.sh";
  bilin::io::write_file_atomic(p, "#!/bin/sh\n");
  REQUIRE(::chmod(p.c_str(), 0750) == 0);
  bilin::io::write_file_atomic(p, "#!/bin/sh\necho hi\n");
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
}

TEST_CASE("write_file_atomic failures name the path and remove the temporary file", "[io][atomic]") {
  bilin_test::TempDir td("io_atomic");
  SECTION("missing parent folder") {
    const std::string p = td.path + "/no/such/dir/file.txt";
    REQUIRE_THROWS_WITH(bilin::io::write_file_atomic(p, "x"),
                        Contains("write_file_atomic") && Contains(p) && Contains("No such file or directory"));
  }
  SECTION("target is a directory: rename fails after the data was written") {
    const std::string p = td.path + "/adir";
    REQUIRE(::mkdir(p.c_str(), 0755) == 0);
    REQUIRE_THROWS_WITH(bilin::io::write_file_atomic(p, std::string(1000, 'x')),
                        Contains(p) && Contains("renaming") && Contains("after 1000 bytes"));
    CHECK(list_dir(td.path) == std::vector<std::string>{"adir"});
    CHECK(list_dir(p).empty());
  }
  SECTION("a path ending in '/' is rejected") {
    REQUIRE_THROWS_WITH(bilin::io::write_file_atomic(td.path + "/", "x"), Contains("not a file path"));
  }
}

TEST_CASE("a write that fails midway does not clobber the old file", "[io][atomic]") {
  bilin_test::TempDir td("io_atomic");
  const std::string p = td.path + "/model.safetensors";
  const std::string old_content = "old content that must survive";
  bilin::io::write_file_atomic(p, old_content);

  // Make write(2) fail with EFBIG after 4 KiB by lowering the soft file-size limit (the hard
  // limit stays, so it can be restored), and ignore SIGXFSZ so the failure is an error code.
  struct rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit low = saved;
  low.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &low) == 0);
  std::string error;
  try {
    bilin::io::write_file_atomic(p, std::string(100'000, 'n'));
  } catch (const bilin::Error& e) {
    error = e.what();
  }
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, old_handler);

  CHECK_THAT(error, Contains("write_file_atomic") && Contains(p) && Contains("writing") &&
                        Contains("the target was not modified"));
  CHECK(bilin::io::read_file(p) == old_content);
  CHECK(list_dir(td.path) == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("AtomicFileWriter streams chunks and discards without commit", "[io][atomic]") {
  bilin_test::TempDir td("io_atomic");
  const std::string p = td.path + "/stream.txt";
  {
    bilin::io::AtomicFileWriter w(p);
    w.write("abc");
    w.write("def");
    CHECK(w.bytes_written() == 6);
    CHECK(list_dir(td.path).size() == 1);  // only the temporary file so far
    CHECK(list_dir(td.path)[0] != "stream.txt");
    w.commit();
    CHECK_THROWS_WITH(w.write("more"), Contains("after commit"));
  }
  CHECK(bilin::io::read_file(p) == "abcdef");
  {
    bilin::io::AtomicFileWriter w(p);
    w.write("this never lands");
  }  // destroyed without commit
  CHECK(bilin::io::read_file(p) == "abcdef");
  CHECK(list_dir(td.path) == std::vector<std::string>{"stream.txt"});
}

TEST_CASE("read_file errors name the file and the reason", "[io][atomic]") {
  bilin_test::TempDir td("io_atomic");
  REQUIRE_THROWS_WITH(bilin::io::read_file(td.path + "/missing.bin"),
                      Contains("read_file") && Contains("missing.bin") && Contains("No such file"));
  REQUIRE_THROWS_WITH(bilin::io::read_file(td.path), Contains("is a directory"));
  REQUIRE_THROWS_WITH(bilin::io::read_file(td.path + "/x", "load_thing"), Contains("load_thing: cannot open"));
}
