#include "support/fake_director.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/line_buffer.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/director/director_protocol.hpp"
#include "support/fake_director_state.hpp"

namespace poolwatch::testing {

namespace asio = boost::asio;
using asio::awaitable;
using Direction = FakeDirector::Event::Direction;

namespace {

// The director reads requests through a 1024-byte stream buffer, LF included.
constexpr std::size_t kMaxRequest = director::kMaxRequestLine - 1;
// How much of an "endless" line is sent at most, should the client never hang up.
constexpr std::size_t kEndlessLineCap = 64 * 1024 * 1024;

void log_director_failure(std::exception_ptr error) {
  if (error) spdlog::error("fake director: coroutine failed: {}", exception_message(error));
}

}  // namespace

struct Connection {
  explicit Connection(asio::io_context& io, std::size_t connection_id)
      : socket(io), id(connection_id) {}
  asio::local::stream_protocol::socket socket;
  std::size_t id;
  LineBuffer lines{kMaxRequest};
  bool handshaken = false;
  bool answered_ring_sync_timeout = false;
  bool drop_next_line = false;
};

// The io thread and everything that lives on it.
struct FakeDirector::Server {
  Server(std::string path, std::shared_ptr<State> shared)
      : socket_path(std::move(path)), state(std::move(shared)) {}

  std::string socket_path;
  std::shared_ptr<State> state;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::optional<asio::local::stream_protocol::acceptor> acceptor;
  std::vector<std::weak_ptr<Connection>> connections;
  std::size_t next_connection_id = 1;
  std::thread thread;

  // Runs `job` on the io thread and waits for it.
  template <typename Job>
  void run_on_io(Job job) {
    std::packaged_task<void()> task(std::move(job));
    auto done = task.get_future();
    asio::post(io, std::move(task));
    done.get();
  }

  void listen() {
    ::unlink(socket_path.c_str());
    acceptor.emplace(io, asio::local::stream_protocol::endpoint(socket_path));
    asio::co_spawn(io, accept_loop(), log_director_failure);
  }

  void stop() {
    if (acceptor) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
      acceptor.reset();
    }
    for (auto& weak : connections)
      if (auto connection = weak.lock()) close(*connection);
    connections.clear();
    ::unlink(socket_path.c_str());
  }

  static void close(Connection& connection) {
    boost::system::error_code ignored;
    connection.socket.close(ignored);
  }

  awaitable<void> accept_loop() {
    for (;;) {
      if (!acceptor) co_return;
      auto connection = std::make_shared<Connection>(io, next_connection_id);
      auto [ec] = co_await acceptor->async_accept(connection->socket, use_tuple);
      if (ec) co_return;  // closed by stop()
      ++next_connection_id;
      std::erase_if(connections, [](const auto& weak) { return weak.expired(); });
      connections.push_back(connection);
      {
        std::lock_guard lock(state->mutex);
        ++state->accepted;
        ++state->open;
        state->changed.notify_all();
      }
      asio::co_spawn(io, serve(connection), log_director_failure);
    }
  }

  awaitable<bool> send_line(Connection& connection, std::string line) {
    std::string wire = line + "\n";
    state->record(Direction::sent, connection.id, std::move(line), false);
    auto [ec, size] = co_await asio::async_write(connection.socket, asio::buffer(wire), use_tuple);
    co_return !ec;
  }

  // The next request line, or nullopt when the connection is over (EOF, error, or a
  // line longer than the director accepts).
  awaitable<std::optional<std::string>> read_line(Connection& connection) {
    std::array<char, 4096> chunk;
    for (;;) {
      if (auto line = connection.lines.next_line()) co_return line;
      auto [ec, size] = co_await connection.socket.async_read_some(asio::buffer(chunk), use_tuple);
      if (ec) co_return std::nullopt;
      if (connection.lines.feed({chunk.data(), size}) == LineBuffer::Status::line_too_long)
        co_return std::nullopt;
    }
  }

  awaitable<void> serve(std::shared_ptr<Connection> connection) {
    co_await converse(*connection);
    close(*connection);
    std::lock_guard lock(state->mutex);
    --state->open;
    state->changed.notify_all();
  }

  awaitable<void> converse(Connection& connection) {
    std::optional<std::string> greeting;
    {
      std::lock_guard lock(state->mutex);
      greeting = state->greeting;
    }
    if (greeting && !co_await send_line(connection, *greeting)) co_return;

    for (;;) {
      auto line = co_await read_line(connection);
      if (!line) co_return;
      const bool is_handshake = !connection.handshaken;
      state->record(Direction::received, connection.id, *line, !is_handshake);
      if (is_handshake) {
        // Like version_string_verify(): a bad or missing handshake closes silently.
        if (director::version_line_error(*line)) co_return;
        connection.handshaken = true;
        continue;
      }
      if (connection.drop_next_line) {
        // Dovecot bug A: the line read while a reply was held back is thrown away.
        connection.drop_next_line = false;
        continue;
      }
      if (connection.answered_ring_sync_timeout) {
        // Dovecot bug B: the director process asserts and dies here.
        std::lock_guard lock(state->mutex);
        ++state->ring_sync_reuses;
        co_return;
      }

      std::optional<DirectorFault> fault;
      std::chrono::milliseconds delay{0};
      {
        std::lock_guard lock(state->mutex);
        fault = state->faults.take(*line);
        delay = state->reply_delay;
      }
      using Kind = DirectorFault::Kind;
      const auto kind = fault ? std::optional<Kind>(fault->kind) : std::nullopt;
      if (kind == Kind::ignore) continue;
      if (kind == Kind::close_connection) co_return;
      if (kind == Kind::endless_line) {
        co_await send_endless_line(connection);
        co_return;
      }
      auto answer = reply_to(*line, fault);
      if (!answer) co_return;  // malformed: the director closes without a word
      auto& reply = *answer;
      if (delay.count() > 0) {
        asio::steady_timer hold(io, delay);
        co_await hold.async_wait(use_tuple);
      }
      note_pipelining(connection, delay);
      if (kind == Kind::stop_reading) {
        co_await answer_deaf(connection, std::move(reply));
        co_return;
      }
      if (kind == Kind::close_after || kind == Kind::stall_after) {
        const bool sent = co_await send_cut(connection, reply, fault->bytes);
        if (!sent || kind == Kind::close_after) co_return;
        continue;  // stalled: the connection stays open, with nothing more said
      }
      for (auto& reply_line : reply)
        if (!co_await send_line(connection, std::move(reply_line))) co_return;
      if (reply.size() == 1 && reply[0] == "Ring sync timed out")
        connection.answered_ring_sync_timeout = true;
      if (state->locked([](State& s) { return s.close_after_every_reply; })) co_return;
    }
  }

  // The fault's reply lines, or else what the command does; nullopt where the director
  // closes without a word.
  std::optional<std::vector<std::string>> reply_to(const std::string& line,
                                                   const std::optional<DirectorFault>& fault) {
    if (fault && fault->kind == DirectorFault::Kind::reply_with)
      return std::vector<std::string>{fault->line};
    if (fault && fault->kind == DirectorFault::Kind::reply_lines) return fault->lines;
    return state->locked([&line](State& s) { return s.execute(line); });
  }

  // A line already waiting when a reply is about to go out was pipelined.
  void note_pipelining(Connection& connection, std::chrono::milliseconds delay) {
    boost::system::error_code ec;
    if (connection.lines.has_line() || connection.socket.available(ec) > 0) {
      std::lock_guard lock(state->mutex);
      ++state->pipelined;
      connection.drop_next_line = delay.count() > 0;
    }
  }

  // The first `bytes` bytes of the reply, LFs included; recorded as one event.
  awaitable<bool> send_cut(Connection& connection, const std::vector<std::string>& reply,
                           std::size_t bytes) {
    std::string wire;
    for (const auto& reply_line : reply) {
      wire.append(reply_line);
      wire.push_back('\n');
    }
    const auto cut = std::min(bytes, wire.size());
    state->record(Direction::sent, connection.id, fmt::format("<{} of {} bytes>", cut, wire.size()),
                  false);
    auto [ec, size] =
        co_await asio::async_write(connection.socket, asio::buffer(wire.data(), cut), use_tuple);
    co_return !ec;
  }

  // Stops reading before the reply goes out, so the client cannot write its next command
  // before the shutdown; then holds the connection until the fake is torn down.
  awaitable<void> answer_deaf(Connection& connection, std::vector<std::string> reply) {
    boost::system::error_code ignored;
    connection.socket.shutdown(asio::socket_base::shutdown_receive, ignored);
    for (auto& reply_line : reply)
      if (!co_await send_line(connection, std::move(reply_line))) co_return;
    asio::steady_timer hold(io, std::chrono::hours(1));
    co_await hold.async_wait(use_tuple);
  }

  awaitable<void> send_endless_line(Connection& connection) {
    const std::string chunk(16 * 1024, 'x');
    state->record(Direction::sent, connection.id, "<endless line>", false);
    for (std::size_t sent = 0; sent < kEndlessLineCap; sent += chunk.size()) {
      auto [ec, size] =
          co_await asio::async_write(connection.socket, asio::buffer(chunk), use_tuple);
      if (ec) co_return;
    }
  }
};

FakeDirector::FakeDirector(std::vector<HostEntry> hosts) : state_(std::make_shared<State>()) {
  std::string pattern = (std::filesystem::temp_directory_path() / "fake-director-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("fake director: mkdtemp failed");
  dir_ = pattern;
  socket_path_ = dir_ + "/director-admin";
  state_->hosts = std::move(hosts);
  server_ = std::make_unique<Server>(socket_path_, state_);
  server_->listen();
  server_->thread = std::thread([server = server_.get()] { server->io.run(); });
}

FakeDirector::~FakeDirector() {
  server_->run_on_io([server = server_.get()] { server->stop(); });
  server_->work.reset();
  server_->io.stop();
  server_->thread.join();
  server_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

DirectorConfig FakeDirector::client_config() const {
  DirectorConfig config;
  config.socket = socket_path_;
  config.connect_timeout = Seconds{5};
  config.command_timeout = Seconds{5};
  config.reconnect_initial = Seconds{0.05};
  config.reconnect_max = Seconds{0.2};
  return config;
}

void FakeDirector::stop_listening() {
  server_->run_on_io([server = server_.get()] { server->stop(); });
}

void FakeDirector::start_listening() {
  server_->run_on_io([server = server_.get()] {
    if (!server->acceptor) server->listen();
  });
}

}  // namespace poolwatch::testing
