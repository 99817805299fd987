// The credential files as CredentialStore::load() reads them: the dovemon test-accounts
// YAML, poolmon's credfile, the default password file and the ring's secret file. They
// have only a path API (their checks run on the opened descriptor), so each input is
// written to a private file (mode 0600) first. The first byte picks the file. Anything
// wrong is a ConfigError whose message never contains the password.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/config/credentials.hpp"

namespace {

// Never destroyed: the atexit handler that removes the file runs after static destructors.
const std::string& private_file() {
  static const std::string* const path = [] {
    std::string dir = "/tmp/poolwatch-fuzz-credentials-XXXXXX";
    FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr);
    std::atexit([] {
      const std::string& file = private_file();
      ::unlink(file.c_str());
      ::rmdir(file.substr(0, file.rfind('/')).c_str());
    });
    return new std::string(dir + "/secret");
  }();
  return *path;
}

void write_private_file(std::string_view content) {
  const int fd = ::open(private_file().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  ::close(fd);
}

// Line `index` (0-based) without its line end.
std::string_view line_at(std::string_view text, std::size_t index) {
  const auto lines = poolwatch::fuzz::lines_of(text);
  return index < lines.size() ? poolwatch::fuzz::without_cr(lines[index]) : std::string_view{};
}

// The rest of the file: every line but the one at `index`.
std::string other_lines(std::string_view text, std::size_t index) {
  std::string rest;
  const auto lines = poolwatch::fuzz::lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i != index) rest.append(lines[i]).push_back('\n');
  }
  return rest;
}

// A password that no message could contain unless it came from the password: at least 8
// bytes, one of them above 0x7f (our messages are ASCII) and found nowhere else in the
// file. A message may quote the user line, and a password that is merely a substring
// of such a quote plus our own text (the fuzzer built "\xff-%{backend_ip} (known:
// %{backend_host}, %" from a user line's "%{back\xff...-%{backend_ip}") is not a leak.
bool traceable(std::string_view password, std::string_view rest_of_file) {
  if (password.size() < 8) return false;
  for (const char c : password) {
    if (static_cast<unsigned char>(c) >= 0x80 && rest_of_file.find(c) == std::string_view::npos)
      return true;
  }
  return false;
}

void load_and_use(const poolwatch::CredentialsConfig& config) {
  const auto store = poolwatch::CredentialStore::load(config);
  for (const auto* ip : {"192.0.2.7", "10.0.0.1", "2001:db8::7"}) {
    const auto account = store.account_for(poolwatch::IpAddress::parse(ip).value(), "imap7");
    if (account) FUZZ_CHECK(!account->user.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto which = data[0] % 4;
  const auto content = poolwatch::fuzz::as_text(data + 1, size - 1);
  write_private_file(content);
  poolwatch::CredentialsConfig config;
  std::string_view password;
  if (which == 0) {
    config.test_accounts = private_file();
    config.master_user = "master";
  } else if (which == 1) {
    config.credfile = private_file();
    if (traceable(line_at(content, 1), other_lines(content, 1))) password = line_at(content, 1);
  } else if (which == 2) {
    config.default_user = "probe-%{backend_host}";
    config.default_password_file = private_file();
    if (traceable(line_at(content, 0), other_lines(content, 0))) password = line_at(content, 0);
  }
  try {
    if (which == 3) {
      const auto secret = poolwatch::load_ring_secret(private_file());
      FUZZ_CHECK(secret.size() >= poolwatch::kMinRingSecretBytes);
    } else {
      load_and_use(config);
    }
  } catch (const poolwatch::ConfigError& e) {
    if (!password.empty())
      FUZZ_CHECK(std::string_view(e.what()).find(password) == std::string_view::npos);
    if (which == 3 && traceable(line_at(content, 0), other_lines(content, 0))) {
      FUZZ_CHECK(std::string_view(e.what()).find(line_at(content, 0)) == std::string_view::npos);
    }
  }
  return 0;
}
