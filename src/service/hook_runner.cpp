#include "poolwatch/service/hook_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "poolwatch/config/config_loader.hpp"

extern char** environ;

namespace poolwatch {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Starts the hook in a process group of its own (so a kill reaches its children too),
// with stdin and stdout /dev/null, stderr poolwatch's and no other descriptor, and the
// signal dispositions poolwatch changed for itself (SIGPIPE ignored) back to the defaults
// and nothing blocked. Returns the pid, or -1 with `error` set.
pid_t spawn_hook(std::vector<std::string>& words, std::string& error) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // Every descriptor poolwatch opens is close-on-exec already; this also keeps from the
  // hook any that poolwatch inherited itself. A descriptor left to the hook lives on in
  // whatever the hook starts (a listener held that way stopped the next start).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    error = std::strerror(rc);
    return -1;
  }
  return pid;
}

// SIGKILL to the hook's process group, then reaps the hook. Blocking, but a killed
// process leaves nothing to wait for.
int kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return decode_status(status);
}

// Polls until the hook exits (its status), `deadline` passes or the wait is cancelled
// (nullopt; `cancelled` tells which). Polling waitpid keeps the hook independent of any
// SIGCHLD handling elsewhere; hooks are rare and short, so a 50 ms tick costs nothing.
// A cancellation signal reaches only the wait pending when it is emitted: one emitted
// after the tick had fired but before it resumed us (the stop and the tick in one turn of
// the loop) reaches none, and only the coroutine's cancellation state remembers it, so the
// state is read every round. Missing that let a stop wait out a hook's whole run.
asio::awaitable<std::optional<int>> wait_for_exit(pid_t pid, Clock::time_point deadline,
                                                  bool& cancelled, std::string& error) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto state = co_await asio::this_coro::cancellation_state;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) co_return decode_status(status);
    if (done < 0 && errno != EINTR) {
      error = std::strerror(errno);
      co_return -1;
    }
    cancelled = state.cancelled() != asio::cancellation_type::none;
    if (cancelled) co_return std::nullopt;
    const auto now = Clock::now();
    if (now >= deadline) co_return std::nullopt;
    tick.expires_after(std::min<Clock::duration>(std::chrono::milliseconds(50), deadline - now));
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      cancelled = true;
      co_return std::nullopt;
    }
  }
}

}  // namespace

asio::awaitable<HookResult> run_transition_hook(std::string command, std::string event,
                                                std::string address, std::string reason,
                                                Seconds timeout) {
  // A cancel must not end this coroutine at its next co_await: the hook still has to be
  // killed and reaped, which takes waits of its own.
  co_await asio::this_coro::throw_if_cancelled(false);
  HookResult result;
  auto words = split_hook_command(command);
  if (words.empty()) {
    result.error = "empty command";
    co_return result;
  }
  words.push_back(std::move(event));
  words.push_back(std::move(address));
  words.push_back(std::move(reason));
  const pid_t pid = spawn_hook(words, result.error);
  if (pid < 0) co_return result;
  result.started = true;

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
  auto status = co_await wait_for_exit(pid, deadline, result.cancelled, result.error);
  if (status) {
    result.exit_status = *status;
    co_return result;
  }
  if (!result.cancelled) {
    result.timed_out = true;
    result.exit_status = kill_and_reap(pid);
    co_return result;
  }
  // Cancelled (poolwatch is stopping): a chance to end cleanly, then no more. The state
  // is cleared so that the grace's wait is ended only by a cancel of its own.
  co_await asio::this_coro::reset_cancellation_state();
  ::kill(-pid, SIGTERM);
  bool cancelled_again = false;
  const auto grace_end = Clock::now() + kHookKillGrace;
  status = co_await wait_for_exit(pid, grace_end, cancelled_again, result.error);
  result.exit_status = status ? *status : kill_and_reap(pid);
  co_return result;
}

}  // namespace poolwatch
