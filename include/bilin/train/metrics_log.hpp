// bilin/train/metrics_log.hpp — the trainers' metrics.jsonl: one JSON object per line, appended,
// and trimmed back to a checkpoint's position on resume.
//
// Contract:
// - append_jsonl(path, line) appends `line` + "\n" with one write(2) on an O_APPEND descriptor
//   (creating the file), so a process killed around it leaves either no line or the whole line
//   in the page cache; only a crash of the machine mid-write can leave a torn last line. Any
//   failure (full disk, read-only folder, file limit) throws bilin::Error("metrics", ...) naming
//   the file and the OS error; a partly written line is undone (the file is truncated back) so
//   the log never ends in half a line written by this call.
// - kept_jsonl(text, key, last) returns the lines of `text` (whole lines, "\n"-terminated) whose
//   integer field `key` is <= last, in order. Lines that are not complete JSON objects with that
//   field (a torn last line, garbage) are dropped, so readers never see them after a resume.
// - trim_jsonl(path, key, last) rewrites `path` atomically with kept_jsonl() of its content (a
//   missing file stays missing): a resumed run first drops the lines logged after its
//   checkpoint (they will be logged again), then appends.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <sys/stat.h>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/json.hpp"

namespace bilin::train {

inline void append_jsonl(const std::string& path, const std::string& line) {
  const std::string text = line + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    throw Error("metrics", msg("cannot open '", path, "' for appending: ", io::detail::errno_text(err)));
  }
  struct stat st {};
  const off_t before = ::fstat(fd, &st) == 0 ? st.st_size : -1;
  // One write(2) in the normal case; a short one (full disk, file-size limit) is continued only
  // to learn the OS error, then undone.
  std::size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  if (err != 0) {
    if (done > 0 && before >= 0) (void)::ftruncate(fd, before);
    ::close(fd);
    throw Error("metrics", msg("cannot append to '", path, "': ", io::detail::errno_text(err)));
  }
  if (::close(fd) != 0) {
    const int e = errno;
    throw Error("metrics", msg("closing '", path, "' failed: ", io::detail::errno_text(e)));
  }
}

inline std::string kept_jsonl(const std::string& text, const std::string& key, std::int64_t last) {
  std::string kept;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) break;  // no newline: a torn last line
    const std::string line = text.substr(at, nl - at);
    at = nl + 1;
    try {
      const json::Value v = json::parse(line);
      const json::Value* f = v.is_object() ? v.find(key) : nullptr;
      if (f && f->as_int() <= last) kept += line + "\n";
    } catch (const Error&) {
      // not a complete JSON line: dropped
    }
  }
  return kept;
}

inline void trim_jsonl(const std::string& path, const std::string& key, std::int64_t last) {
  if (::access(path.c_str(), F_OK) != 0) return;
  const std::string text = io::read_file(path, "metrics");
  const std::string kept = kept_jsonl(text, key, last);
  if (kept != text) io::write_file_atomic(path, kept);
}

}  // namespace bilin::train
