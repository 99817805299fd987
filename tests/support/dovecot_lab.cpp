#include "support/dovecot_lab.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace poolwatch::test {

namespace {

constexpr const char* kDirectorAddress = "127.0.0.10";
constexpr const char* kLabDirPrefix = "poolwatch-lab-";
constexpr const char* kOwnerFile = "owner.pid";

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool process_alive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// A test process that crashed never ran its destructor; its lab still holds the fixed
// addresses and would make every later start fail. Only labs whose owner is gone are
// touched, so a lab of a running process (or one started by hand) is left alone.
void stop_orphaned_labs() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kLabDirPrefix, 0) != 0) continue;
    const auto owner_file = entry.path() / kOwnerFile;
    if (!fs::exists(owner_file, ec)) continue;
    long owner = 0;
    std::ifstream(owner_file) >> owner;
    if (process_alive(owner)) continue;
    const auto [code, output] =
        DovecotLab::run(fmt::format("{}/down.sh -d {} -p", DovecotLab::scripts_dir(),
                                    DovecotLab::shell_quote(entry.path().string())));
    spdlog::warn("stopped orphaned lab {} (owner pid {} gone): exit {} {}", entry.path().string(),
                 owner, code, output);
  }
}

}  // namespace

std::string DovecotLab::scripts_dir() {
  return POOLWATCH_SOURCE_DIR "/tests/e2e/lab";
}

std::string DovecotLab::shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (const char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::pair<int, std::string> DovecotLab::run(const std::string& command) {
  char output_path[] = "/tmp/poolwatch-lab-run-XXXXXX";
  const int fd = ::mkstemp(output_path);
  if (fd < 0) throw std::runtime_error("mkstemp for command output failed");
  ::close(fd);
  const std::string shell_command =
      fmt::format("( {} ) </dev/null >{} 2>&1", command, shell_quote(output_path));
  const int status = std::system(shell_command.c_str());
  std::string output = read_whole_file(output_path);
  ::unlink(output_path);
  int code = -1;
  if (status != -1) {
    if (WIFEXITED(status)) {
      code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      code = 128 + WTERMSIG(status);
    }
  }
  return {code, std::move(output)};
}

std::unique_ptr<LabDir> LabDir::up(int backends, const std::string& up_options) {
  if (backends < 1 || backends > 50) {
    throw std::runtime_error(fmt::format("lab backends must be 1..50, got {}", backends));
  }
  stop_orphaned_labs();

  std::string dir_template = std::string("/tmp/") + kLabDirPrefix + "XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) {
    throw std::runtime_error("mkdtemp for the lab dir failed");
  }
  // Dovecot's unprivileged processes must traverse the lab dir; mkdtemp makes it 0700.
  ::chmod(dir_template.c_str(), 0755);
  std::ofstream(dir_template + "/" + kOwnerFile) << ::getpid() << '\n';

  // From here the destructor cleans up, also when up.sh fails half-way.
  std::unique_ptr<LabDir> dir(new LabDir(dir_template, backends));
  const auto [code, output] =
      DovecotLab::run(fmt::format("{}/up.sh -d {} -n {} {}", DovecotLab::scripts_dir(),
                                  DovecotLab::shell_quote(dir->path_), backends, up_options));
  if (code != 0) {
    throw std::runtime_error(fmt::format("lab up.sh failed (exit {}):\n{}", code, output));
  }
  return dir;
}

LabDir::~LabDir() {
  const auto [code, output] = DovecotLab::run(fmt::format(
      "{}/down.sh -d {} -p", DovecotLab::scripts_dir(), DovecotLab::shell_quote(path_)));
  if (code != 0) spdlog::error("lab down.sh failed (exit {}): {}", code, output);
}

std::string LabDir::backend_address(int backend_index) const {
  if (backend_index < 1 || backend_index > backends_) {
    throw std::out_of_range(fmt::format("backend index {} not in 1..{}", backend_index, backends_));
  }
  return fmt::format("127.0.1.{}", backend_index);
}

std::vector<std::string> LabDir::backend_addresses() const {
  std::vector<std::string> addresses;
  for (int i = 1; i <= backends_; ++i) addresses.push_back(backend_address(i));
  return addresses;
}

std::string LabDir::script(const std::string& script, const std::string& arguments) const {
  const auto [code, output] =
      DovecotLab::run(fmt::format("{}/{} -d {} {}", DovecotLab::scripts_dir(), script,
                                  DovecotLab::shell_quote(path_), arguments));
  if (code != 0) {
    throw std::runtime_error(
        fmt::format("lab {} {} failed (exit {}):\n{}", script, arguments, code, output));
  }
  return output;
}

std::unique_ptr<DovecotLab> DovecotLab::start() {
  return start(Options{});
}

std::unique_ptr<DovecotLab> DovecotLab::start(Options options) {
  return start(options, "");
}

std::unique_ptr<DovecotLab> DovecotLab::start(Options options,
                                              const std::string& extra_mail_servers) {
  std::string up_options = options.fast_auth_failures ? "-F" : "";
  if (options.reused_login_processes) up_options += " -P";
  // up.sh refuses anything but addresses in 127.66.0.0/16, so no quote can be in it.
  if (!extra_mail_servers.empty()) up_options += " -x '" + extra_mail_servers + "'";
  auto dir = LabDir::up(options.backends, up_options);
  return std::unique_ptr<DovecotLab>(new DovecotLab(std::move(dir)));
}

std::string DovecotLab::admin_socket() const {
  return dir() + "/director/director-admin";
}

std::string DovecotLab::ca_file() const {
  return dir() + "/ssl/ca.pem";
}

std::string DovecotLab::director_address() const {
  return kDirectorAddress;
}

std::string DovecotLab::backend_address(int backend_index) const {
  return dir_->backend_address(backend_index);
}

std::vector<std::string> DovecotLab::backend_addresses() const {
  return dir_->backend_addresses();
}

void DovecotLab::fault(int backend_index, const std::string& action) {
  dir_->script("fault.sh", fmt::format("{} {}", backend_index, shell_quote(action)));
}

std::string DovecotLab::director_status() const {
  return dir_->script("status.sh", "");
}

std::map<std::string, std::string> parse_director_status(const std::string& status) {
  std::map<std::string, std::string> states;
  std::istringstream lines(status);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address, vhosts, state;
    if (fields >> address >> vhosts >> state) states[address] = state;
  }
  return states;
}

}  // namespace poolwatch::test
