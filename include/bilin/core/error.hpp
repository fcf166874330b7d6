// bilin/core/error.hpp — the one exception type bilin throws.
//
// Contract: every user-facing failure (bad shape, bad axis, bad file, bad option) throws
// bilin::Error whose what() starts with the name of the operation that failed, followed by
// the offending shapes / values / file and byte offset. Nothing in bilin aborts on bad input.
#pragma once
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bilin {

class Error : public std::runtime_error {
 public:
  Error(std::string op, const std::string& message)
      : std::runtime_error(op + ": " + message), op_(std::move(op)) {}
  // The operation that failed ("matmul", "read_idx", ...), for callers that want to branch.
  const std::string& op() const noexcept { return op_; }

 private:
  std::string op_;
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <class A, class... R>
void append_all(std::ostringstream& os, const A& a, const R&... r) {
  os << a;
  append_all(os, r...);
}
}  // namespace detail

// Concatenate anything streamable into a message: msg("got ", n, " values").
template <class... A>
std::string msg(const A&... a) {
  std::ostringstream os;
  detail::append_all(os, a...);
  return os.str();
}

// Throw bilin::Error(op, pieces...) unless cond holds.
#define BILIN_CHECK(cond, op, ...)                                   \
  do {                                                               \
    if (!(cond)) throw ::bilin::Error((op), ::bilin::msg(__VA_ARGS__)); \
  } while (0)

}  // namespace bilin
