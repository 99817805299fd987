#include "poolwatch/service/hook_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "poolwatch/config/config_loader.hpp"

extern char** environ;

namespace poolwatch {
namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

boost::asio::awaitable<HookResult> run_transition_hook(std::string command, std::string event,
                                                       std::string address, std::string reason,
                                                       Seconds timeout) {
  HookResult result;
  auto words = split_hook_command(command);
  if (words.empty()) {
    result.error = "empty command";
    co_return result;
  }
  words.push_back(std::move(event));
  words.push_back(std::move(address));
  words.push_back(std::move(reason));
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.error = std::strerror(rc);
    co_return result;
  }
  result.started = true;

  // Polling waitpid keeps the hook independent of any SIGCHLD handling elsewhere; hooks
  // are rare and short, so a 50 ms tick costs nothing.
  boost::asio::steady_timer tick(co_await boost::asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_status = decode_status(status);
      co_return result;
    }
    if (done < 0 && errno != EINTR) {
      result.error = std::strerror(errno);
      co_return result;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.timed_out = true;
      result.exit_status = decode_status(status);
      co_return result;
    }
    tick.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await tick.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (ec) {  // cancelled: shutting down; do not leave the child behind unreaped
      ::kill(pid, SIGTERM);
      ::waitpid(pid, &status, 0);
      result.exit_status = decode_status(status);
      co_return result;
    }
  }
}

}  // namespace poolwatch
