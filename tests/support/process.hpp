// Child processes for tests: spawn with arguments and environment, read output, stop by PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hydra::test {

/// A child process. The destructor kills it (SIGKILL) if it is still running.
class Process {
 public:
  /// Starts `argv[0]` (looked up in PATH) with `argv`; `env` entries are added to the environment.
  /// stdout (and stderr, when `merge_stderr`) are captured into a pipe read by
  /// `read_line`/`output`. stdin is /dev/null unless `pipe_stdin`, then `write_line` feeds it.
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
          bool merge_stderr = false, std::string cwd = {}, bool pipe_stdin = false);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  /// Reads one line of output, waiting at most `timeout`; nullopt on timeout or end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Waits for a line containing `needle`; returns it, or nullopt on timeout/end of output.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);
  /// Writes `line` and a newline to the child's stdin (needs `pipe_stdin`); false on failure.
  bool write_line(const std::string& line);
  /// Closes the child's stdin (end of input).
  void close_stdin();
  /// Sends a signal.
  void signal(int sig);
  /// Waits for exit at most `timeout`; returns the exit status (128+signal when killed) or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// Everything read so far plus what remains until end of output (waits at most `timeout`).
  std::string output(std::chrono::milliseconds timeout);
  bool running();

 private:
  bool fill(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  std::string buffer_;
  std::string consumed_;
  std::optional<int> status_;
};

/// Runs a command to completion (at most `timeout`) and returns {exit status, stdout+stderr}.
std::pair<int, std::string> run_command(
    std::vector<std::string> argv, std::map<std::string, std::string> env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60), std::string cwd = {});

/// A free TCP port on 127.0.0.1 (bound then released).
unsigned short free_port();

}  // namespace hydra::test
