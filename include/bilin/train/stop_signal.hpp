// bilin/train/stop_signal.hpp — SIGINT/SIGTERM turn into "checkpoint, then stop" for the trainers.
//
// Contract:
// - install_stop_handlers(program) installs handlers for SIGINT and SIGTERM. The first signal
//   only sets a flag (and writes one line to stderr: the run stops after the current step);
//   trainers poll stop_requested() between steps, write their checkpoint and throw
//   StopRequested, which the program's main() turns into the exit code kExitStopped after
//   printing its message. A second signal exits at once with 128 + signal number, the shell's
//   convention for "killed by that signal" (the last checkpoint written stays valid: every
//   checkpoint is written atomically).
// - stop_requested() is async-signal-safe to set and cheap to poll; stop_signal() is the number
//   of the signal that asked (0: none). reset_stop_request() clears it (tests).
// - stop_now(what, checkpoint) throws StopRequested whose message names the signal, the
//   position reached and the checkpoint to continue from with --resume.
// - Handlers use SA_RESTART, so a write(2) in progress when the first signal arrives completes
//   instead of failing with EINTR.
// Why a flag and not work in the handler: almost nothing (allocation, file writes through the
// library, OpenMP) is async-signal-safe, and a checkpoint written between steps is a consistent
// state that resumes bit-identically.
#pragma once
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>

namespace bilin::train {

// EX_TEMPFAIL (sysexits.h): the job is incomplete but resumable; run it again with --resume.
inline constexpr int kExitStopped = 75;

class StopRequested : public std::runtime_error {
 public:
  StopRequested(int sig, const std::string& what) : std::runtime_error(what), signal_(sig) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

namespace detail {
inline volatile std::sig_atomic_t g_stop_signal = 0;
inline const char* g_stop_program = "bilin";

inline void write_stderr(const char* s) {
  const ssize_t ignored = ::write(2, s, std::strlen(s));
  (void)ignored;
}

inline void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {
    write_stderr(g_stop_program);
    write_stderr(": second signal, exiting now without a checkpoint (the last one written is intact)\n");
    ::_exit(128 + sig);
  }
  g_stop_signal = sig;
  write_stderr(g_stop_program);
  write_stderr(": signal received, stopping after this step and writing a checkpoint (signal again to exit now)\n");
}
}  // namespace detail

inline void install_stop_handlers(const char* program) {
  detail::g_stop_program = program;
  struct sigaction sa {};
  sa.sa_handler = detail::on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

inline bool stop_requested() { return detail::g_stop_signal != 0; }
inline int stop_signal() { return detail::g_stop_signal; }
inline void reset_stop_request() { detail::g_stop_signal = 0; }

inline const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

[[noreturn]] inline void stop_now(const std::string& where, const std::string& checkpoint) {
  const int sig = stop_signal();
  throw StopRequested(sig, std::string(detail::g_stop_program) + ": stopped by " + signal_name(sig) + " at " + where +
                               "; checkpoint written to " + checkpoint + " (continue with --resume)");
}

}  // namespace bilin::train
