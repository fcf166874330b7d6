// bilin/io/atomic_file.hpp — whole-file reads and crash-safe whole-file writes.
//
// Contract:
// - write_file_atomic(path, bytes) either replaces `path` with exactly `bytes` or leaves the
//   old file (if any) untouched. It writes a temporary file in the same directory (so the final
//   rename(2) cannot cross file systems), fsyncs it, renames it over `path`, then fsyncs the
//   directory so the rename itself survives a crash. An existing file's permission bits are
//   kept. On any failure the temporary file is removed and bilin::Error("write_file_atomic",
//   ...) names the path, the step that failed and the OS error text.
// - AtomicFileWriter is the streaming form (append chunks, then commit()); destroying it without
//   commit() discards the temporary file. Use it to write large files without concatenating
//   them in memory first.
// - read_file(path[, op]) returns the file's bytes; bilin::Error(op, ...) (op defaults to
//   "read_file"; callers pass their own name) names the path and the OS error when it cannot be
//   opened or read (missing, a directory, I/O error).
// - POSIX only (open/fsync/rename); bilin targets Linux.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../core/error.hpp"

namespace bilin::io {

namespace detail {
inline std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

inline std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
inline std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
}  // namespace detail

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path) : path_(std::move(path)) {
    BILIN_CHECK(!path_.empty() && path_.back() != '/', "write_file_atomic", "'", path_, "' is not a file path");
    // pid + a process-wide counter keep concurrent writers (threads or processes) apart;
    // O_EXCL makes a collision an error instead of two writers sharing one temp file.
    static std::atomic<unsigned> counter{0};
    tmp_ = detail::parent_dir(path_) + "/." + detail::base_name(path_) + ".tmp." + std::to_string(::getpid()) + "." +
           std::to_string(counter.fetch_add(1));
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      const int err = errno;
      state_ = State::done;
      throw Error("write_file_atomic", msg("'", path_, "': cannot create temporary file '", tmp_,
                                           "': ", detail::errno_text(err)));
    }
    state_ = State::open;
  }
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter() { discard(); }

  void write(const void* data, std::size_t n) {
    BILIN_CHECK(state_ == State::open, "write_file_atomic", "'", path_, "': write after commit or failure");
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail(msg("writing '", tmp_, "'"), w < 0 ? errno : EIO);
      p += w;
      n -= static_cast<std::size_t>(w);
      written_ += static_cast<std::size_t>(w);
    }
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  std::size_t bytes_written() const { return written_; }

  // Make the new content visible under the final name. After this the writer is finished.
  void commit() {
    BILIN_CHECK(state_ == State::open, "write_file_atomic", "'", path_, "': commit after commit or failure");
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) (void)::fchmod(fd_, st.st_mode & 07777);
    if (::fsync(fd_) != 0) fail(msg("syncing '", tmp_, "'"), errno);
    state_ = State::closed;
    if (::close(fd_) != 0) fail(msg("closing '", tmp_, "'"), errno);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail(msg("renaming '", tmp_, "' onto it"), errno);
    state_ = State::done;
    // Persist the directory entry too; failure here cannot undo the rename, so it is ignored.
    const int dfd = ::open(detail::parent_dir(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }

  // Drop the temporary file (no-op after commit()).
  void discard() noexcept {
    if (state_ == State::open) ::close(fd_);
    if (state_ != State::done) ::unlink(tmp_.c_str());
    state_ = State::done;
  }

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  enum class State { open, closed, done };  // closed: fd gone, temp file still on disk

  [[noreturn]] void fail(const std::string& step, int err) {
    discard();
    throw Error("write_file_atomic", msg("'", path_, "': failed ", step, " after ", written_,
                                         " bytes: ", detail::errno_text(err), "; the target was not modified"));
  }

  std::string path_, tmp_;
  int fd_ = -1;
  State state_ = State::done;
  std::size_t written_ = 0;
};

inline void write_file_atomic(const std::string& path, const void* data, std::size_t n) {
  AtomicFileWriter w(path);
  w.write(data, n);
  w.commit();
}
inline void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
inline std::string read_file(const std::string& path, const char* op = "read_file") {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(op, msg("cannot open '", path, "': ", detail::errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(op, msg("'", path, "' is a directory, not a file"));
  }
  std::string out;
  if (st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(op, msg("'", path, "': read failed at byte ", out.size(), ": ", detail::errno_text(err)));
    }
    if (r == 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  ::close(fd);
  return out;
}

}  // namespace bilin::io
