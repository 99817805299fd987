// Self-test of the real-Dovecot lab (tests/e2e/lab + support/dovecot_lab): what the
// other e2e suites rely on must hold, or their failures would mean nothing.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/common/line_buffer.hpp"
#include "support/dovecot_lab.hpp"

namespace poolwatch::test {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using namespace std::string_view_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Guards against a hang of the lab; real answers come in milliseconds.
constexpr auto kConnectTimeout = 5s;
constexpr auto kReplyTimeout = 10s;

// A blocking line client with deadlines: each operation runs the private io_context
// until it completes or its time is up, then cancels it.
class LineClient {
 public:
  boost::system::error_code connect(const std::string& address, unsigned short port) {
    boost::system::error_code result = asio::error::timed_out;
    bool done = false;
    socket_.async_connect(tcp::endpoint(asio::ip::make_address(address), port),
                          [&](const boost::system::error_code& ec) {
                            result = ec;
                            done = true;
                          });
    run_until(done, kConnectTimeout);
    return result;
  }

  // The next line without CRLF; nullopt on timeout, EOF, error or an overlong line.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = kReplyTimeout) {
    while (!lines_.has_line()) {
      boost::system::error_code read_error = asio::error::timed_out;
      std::size_t received = 0;
      bool done = false;
      socket_.async_read_some(asio::buffer(chunk_),
                              [&](const boost::system::error_code& ec, std::size_t n) {
                                read_error = ec;
                                received = n;
                                done = true;
                              });
      if (!run_until(done, timeout) || read_error) return std::nullopt;
      if (lines_.feed(std::string_view(chunk_.data(), received)) != LineBuffer::Status::ok) {
        return std::nullopt;
      }
    }
    return lines_.next_line();
  }

  // The first line that starts with prefix (skipping untagged or continuation lines).
  std::optional<std::string> read_line_starting_with(std::string_view prefix) {
    for (int lines = 0; lines < 100; ++lines) {
      auto line = read_line();
      if (!line || line->rfind(prefix, 0) == 0) return line;
    }
    return std::nullopt;
  }

  bool write(std::string_view data) {
    boost::system::error_code write_error = asio::error::timed_out;
    bool done = false;
    asio::async_write(socket_, asio::buffer(data),
                      [&](const boost::system::error_code& ec, std::size_t) {
                        write_error = ec;
                        done = true;
                      });
    return run_until(done, kReplyTimeout) && !write_error;
  }

 private:
  bool run_until(const bool& done, std::chrono::milliseconds timeout) {
    io_.restart();
    io_.run_for(timeout);
    if (done) return true;
    socket_.cancel();
    io_.restart();
    io_.run();  // lets the cancelled handler run before its captures go away
    return false;
  }

  asio::io_context io_;
  tcp::socket socket_{io_};
  LineBuffer lines_{4096};
  std::array<char, 1024> chunk_{};
};

std::string greeting(const std::string& address, unsigned short port) {
  LineClient client;
  if (const auto ec = client.connect(address, port)) return "connect: " + ec.message();
  return client.read_line().value_or("<no greeting>");
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned int group = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size())
      group |= static_cast<unsigned int>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    encoded += kAlphabet[(group >> 18) & 63];
    encoded += kAlphabet[(group >> 12) & 63];
    encoded += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    encoded += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return encoded;
}

// Sends one tagged IMAP command after the greeting; returns its tagged reply.
std::string imap_command(const std::string& address, const std::string& command) {
  LineClient client;
  if (const auto ec = client.connect(address, 143)) return "connect: " + ec.message();
  // A greeting may be preceded by "* OK Waiting for authentication process to respond..".
  auto line = client.read_line_starting_with("* OK [CAPABILITY");
  if (!line) return "<no greeting>";
  if (!client.write("a " + command + "\r\n")) return "<write failed>";
  return client.read_line_starting_with("a ").value_or("<no reply>");
}

std::string imap_login(const std::string& address, const std::string& user,
                       const std::string& password) {
  return imap_command(address, fmt::format("LOGIN \"{}\" \"{}\"", user, password));
}

// USER/PASS on POP3; returns the reply to PASS.
std::string pop3_login(const std::string& address, const std::string& user,
                       const std::string& password) {
  LineClient client;
  if (const auto ec = client.connect(address, 110)) return "connect: " + ec.message();
  if (!client.read_line_starting_with("+OK")) return "<no greeting>";
  if (!client.write("USER " + user + "\r\n") || !client.read_line()) return "<USER failed>";
  if (!client.write("PASS " + password + "\r\n")) return "<write failed>";
  return client.read_line().value_or("<no reply>");
}

// LHLO, MAIL FROM, RCPT TO on LMTP; returns the reply to RCPT.
std::string lmtp_rcpt(const std::string& address, const std::string& recipient) {
  LineClient client;
  if (const auto ec = client.connect(address, 24)) return "connect: " + ec.message();
  if (!client.read_line_starting_with("220")) return "<no greeting>";
  if (!client.write("LHLO selftest.lab.test\r\n") || !client.read_line_starting_with("250 ")) {
    return "<LHLO failed>";
  }
  if (!client.write("MAIL FROM:<>\r\n") || !client.read_line()) return "<MAIL failed>";
  if (!client.write("RCPT TO:<" + recipient + ">\r\n")) return "<write failed>";
  return client.read_line().value_or("<no reply>");
}

std::pair<int, std::string> openssl_verify(const DovecotLab& lab, const std::string& address,
                                           unsigned short port, const std::string& starttls,
                                           const std::string& expected_ip) {
  return DovecotLab::run(
      fmt::format("timeout 20 openssl s_client -brief -connect {}:{} {} -CAfile {} -verify_ip {} "
                  "-verify_return_error",
                  address, port, starttls.empty() ? "" : "-starttls " + starttls,
                  DovecotLab::shell_quote(lab.ca_file()), expected_ip));
}

TEST(DovecotLabSelfTest, DirectorListsBackendsWhichAnswerEveryProtocolWithVerifiableTls) {
  const auto lab = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
  const std::vector<std::string> expected{"127.0.1.1", "127.0.1.2", "127.0.1.3"};
  ASSERT_EQ(lab->backend_addresses(), expected);
  EXPECT_EQ(lab->director_address(), "127.0.0.10");
  EXPECT_TRUE(std::filesystem::exists(lab->admin_socket()));
  EXPECT_TRUE(std::filesystem::exists(lab->ca_file()));

  const std::map<std::string, std::string> all_up{
      {"127.0.1.1", "up"}, {"127.0.1.2", "up"}, {"127.0.1.3", "up"}};
  EXPECT_EQ(parse_director_status(lab->director_status()), all_up);

  for (const auto& address : lab->backend_addresses()) {
    SCOPED_TRACE(address);
    EXPECT_THAT(greeting(address, 143), StartsWith("* OK"));
    EXPECT_THAT(greeting(address, 110), StartsWith("+OK"));
    EXPECT_THAT(greeting(address, 24), StartsWith("220 "));
    for (const unsigned short port :
         {static_cast<unsigned short>(993), static_cast<unsigned short>(995)}) {
      const auto [code, output] = openssl_verify(*lab, address, port, "", address);
      EXPECT_EQ(code, 0) << port << ": " << output;
      EXPECT_THAT(output, HasSubstr("Verification: OK")) << port;
    }
  }
  for (const auto& [port, starttls] : std::vector<std::pair<unsigned short, std::string>>{
           {143, "imap"}, {110, "pop3"}, {24, "lmtp"}}) {
    const auto [code, output] = openssl_verify(*lab, "127.0.1.1", port, starttls, "127.0.1.1");
    EXPECT_EQ(code, 0) << starttls << ": " << output;
  }
  // The verification is real: backend 1's certificate is not valid for backend 2's IP.
  const auto [wrong_ip_code, wrong_ip_output] =
      openssl_verify(*lab, "127.0.1.1", 993, "", "127.0.1.2");
  EXPECT_NE(wrong_ip_code, 0) << wrong_ip_output;

  EXPECT_THAT(greeting(lab->director_address(), 143), StartsWith("* OK"));
  EXPECT_THAT(greeting(lab->director_address(), 110), StartsWith("+OK"));
  EXPECT_THAT(greeting(lab->director_address(), 24), StartsWith("220 "));

  // A second lab cannot take the same addresses; up.sh says so instead of half-starting.
  const std::string second_dir = lab->dir() + "-second";
  const auto [busy_code, busy_output] = DovecotLab::run(fmt::format(
      "{}/up.sh -d {}", DovecotLab::scripts_dir(), DovecotLab::shell_quote(second_dir)));
  EXPECT_NE(busy_code, 0);
  EXPECT_THAT(busy_output, HasSubstr("already in use"));
  EXPECT_FALSE(std::filesystem::exists(second_dir));

  const auto [down_code, down_output] = DovecotLab::run(fmt::format(
      "doveadm -c {}/etc/director.conf director down -a {} 127.0.1.2",
      DovecotLab::shell_quote(lab->dir()), DovecotLab::shell_quote(lab->admin_socket())));
  ASSERT_EQ(down_code, 0) << down_output;
  const std::map<std::string, std::string> one_down{
      {"127.0.1.1", "up"}, {"127.0.1.2", "down"}, {"127.0.1.3", "up"}};
  EXPECT_EQ(parse_director_status(lab->director_status()), one_down);
}

TEST(DovecotLabSelfTest, BackendsCheckPasswordsAndKnowTheirOwnProbeUser) {
  const auto lab = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
  for (const auto& address : lab->backend_addresses()) {
    SCOPED_TRACE(address);
    EXPECT_THAT(imap_login(address, "probe", "probepass"), StartsWith("a OK"));
    EXPECT_THAT(imap_login(address, "probe", "wrongpass"),
                StartsWith("a NO [AUTHENTICATIONFAILED]"));
    EXPECT_THAT(pop3_login(address, "probe", "probepass"), StartsWith("+OK Logged in"));
  }
  EXPECT_THAT(imap_login("127.0.1.2", "probe-127.0.1.2", "probepass"), StartsWith("a OK"));
  EXPECT_THAT(imap_login("127.0.1.1", "probe-127.0.1.2", "probepass"), StartsWith("a NO"));
  EXPECT_THAT(imap_login("127.0.1.1", "user1@example.org", "userpass"), StartsWith("a OK"));

  // Master user: separator form and SASL PLAIN with an authorization identity.
  EXPECT_THAT(imap_login("127.0.1.1", "probe*master", "masterpass"), StartsWith("a OK"));
  EXPECT_THAT(imap_login("127.0.1.1", "probe*master", "probepass"), StartsWith("a NO"));
  const std::string plain = base64("user2\0master\0masterpass"sv);
  EXPECT_THAT(imap_command("127.0.1.1", "AUTHENTICATE PLAIN " + plain), StartsWith("a OK"));

  EXPECT_THAT(lmtp_rcpt("127.0.1.1", "probe-127.0.1.1@lab.test"), StartsWith("250 "));
  EXPECT_THAT(lmtp_rcpt("127.0.1.2", "probe-127.0.1.1@lab.test"), StartsWith("550 "));

  // Through the director, which proxies to whichever backend it picks for the user.
  EXPECT_THAT(imap_login(lab->director_address(), "user3", "userpass"), StartsWith("a OK"));
  EXPECT_THAT(pop3_login(lab->director_address(), "user4", "userpass"),
              StartsWith("+OK Logged in"));
  EXPECT_THAT(lmtp_rcpt(lab->director_address(), "user5@lab.test"), StartsWith("250 "));
}

TEST(DovecotLabSelfTest, FaultsAreWhatClientsSee) {
  const auto lab = DovecotLab::start({.backends = 3, .fast_auth_failures = true});

  lab->fault(2, "stop");
  {
    LineClient client;
    EXPECT_EQ(client.connect("127.0.1.2", 143), asio::error::connection_refused);
  }
  EXPECT_THAT(greeting("127.0.1.1", 143), StartsWith("* OK"));
  lab->fault(2, "start");
  EXPECT_THAT(greeting("127.0.1.2", 143), StartsWith("* OK"));

  lab->fault(3, "kill");
  {
    LineClient client;
    EXPECT_EQ(client.connect("127.0.1.3", 24), asio::error::connection_refused);
  }
  lab->fault(3, "start");
  EXPECT_THAT(greeting("127.0.1.3", 24), StartsWith("220 "));

  lab->fault(2, "hang");
  {
    LineClient client;
    ASSERT_FALSE(client.connect("127.0.1.2", 110)) << "the kernel still accepts";
    EXPECT_EQ(client.read_line(1500ms), std::nullopt) << "a hung backend sends no greeting";
    lab->fault(2, "resume");
    const auto late_greeting = client.read_line();
    ASSERT_TRUE(late_greeting.has_value());
    EXPECT_THAT(*late_greeting, StartsWith("+OK"));
  }

  lab->fault(2, "authtemp");
  EXPECT_THAT(imap_login("127.0.1.2", "probe", "probepass"), StartsWith("a NO [UNAVAILABLE]"));
  EXPECT_THAT(pop3_login("127.0.1.2", "probe", "probepass"), StartsWith("-ERR [SYS/TEMP]"));
  EXPECT_THAT(imap_login("127.0.1.1", "probe", "probepass"), StartsWith("a OK"));

  lab->fault(2, "authfail");
  EXPECT_THAT(imap_login("127.0.1.2", "probe", "probepass"),
              StartsWith("a NO [AUTHENTICATIONFAILED]"));
  EXPECT_THAT(imap_login("127.0.1.2", "probe*master", "masterpass"), StartsWith("a NO"));
  EXPECT_THAT(lmtp_rcpt("127.0.1.2", "probe@lab.test"), StartsWith("250 ")) << "userdb untouched";

  lab->fault(2, "authok");
  EXPECT_THAT(imap_login("127.0.1.2", "probe", "probepass"), StartsWith("a OK"));

  EXPECT_THROW(lab->fault(4, "stop"), std::runtime_error);
  EXPECT_THROW(lab->fault(1, "explode"), std::runtime_error);
}

}  // namespace
}  // namespace poolwatch::test
