// The status page as a person sees it: poolwatch against the real lab, one backend
// killed and another answering with a hostile greeting, the page loaded in headless
// Chromium (Debian's chromium). The DOM Chromium built says what a browser shows; the
// screenshots are kept in the build dir (status-page-artefacts/) for a person to look at.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "support/child_process.hpp"
#include "support/dovecot_lab.hpp"

using namespace std::chrono_literals;
using poolwatch::test::ChildProcess;
using poolwatch::test::DovecotLab;
using poolwatch::test::eventually;
using poolwatch::test::read_text_file;
using poolwatch::test::run_command;
using poolwatch::test::TempDir;

namespace status_page_e2e {

namespace fs = std::filesystem;

// What backend 3 greets with once the real one is stopped: markup a browser would run
// if the page did not escape it.
constexpr const char* kHostileGreeting = "* BYE <script>document.title='pwned'</script><b>x</b>";

std::string chromium_binary() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(path)) return path;
  return "";
}

// The build dir, where ctest keeps what a test leaves for a person to look at.
fs::path artefact_dir() {
  auto dir = fs::path(POOLWATCH_BINARY).parent_path() / "status-page-artefacts";
  fs::create_directories(dir);
  return dir;
}

// One headless Chromium run with a throw-away profile; stdout only (its stderr is noise).
std::pair<int, std::string> chromium(const std::string& profile, const std::string& args) {
  const std::string command = "timeout -k 5 90 " + chromium_binary() +
                              " --headless --no-sandbox --disable-gpu --no-first-run"
                              " --user-data-dir=" +
                              DovecotLab::shell_quote(profile) + " " + args + " 2>/dev/null";
  return run_command({"/bin/sh", "-c", command}, 120s);
}

// "up", "down" or "" for one host in `doveadm director status`.
std::string director_state(const DovecotLab& lab, const std::string& address) {
  return poolwatch::test::parse_director_status(lab.director_status())[address];
}

// The table row of one backend in the DOM, from its <tr> to its </tr>.
std::string row_of(const std::string& dom, const std::string& address) {
  const auto start = dom.find("<tr class=\"backend");
  const auto at = dom.find("data-backend=\"" + address + "\"", start);
  if (at == std::string::npos) return "";
  const auto open = dom.rfind("<tr", at);
  const auto close = dom.find("</tr>", at);
  return close == std::string::npos ? "" : dom.substr(open, close - open);
}

class StatusPageE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (chromium_binary().empty())
      GTEST_SKIP() << "chromium is not installed (scripts/deps.sh test installs it)";
    lab_ = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
    password_file_ = dir_.write("probe.password", "probepass\n", 0600);
  }

  std::string write_config() {
    const std::string yaml =
        "director:\n  socket: " + lab_->admin_socket() +
        "\nprobe:\n  ports: [IMAP:143]\n"
        "credentials:\n  default_user: \"probe-%{backend_host}\"\n  default_password_file: " +
        password_file_ +
        "\nhealth:\n  interval: 1s\n  timeout: 2s\n  retry_count: 2\n  rapid_rounds: 3\n"
        "  rapid_fails_needed: 2\n  rapid_interval: 200ms\n  rapid_timeout: 1s\n"
        "  jitter_percent: 0\n"
        // Two of three may go down: the killed backend and the hostile one.
        "actions:\n  max_down_percent: 70\n"
        "http:\n  listen: 127.0.0.1:0\n"
        "pidfile: " +
        dir_.path() + "/poolwatch.pid\nstate_file: " + dir_.path() +
        "/state\nevent_log: " + dir_.path() + "/events.jsonl\n";
    return dir_.write("poolwatch.yml", yaml);
  }

  // The page's URL, from the port the daemon logged (the config asks for any free one).
  std::string page_url(const ChildProcess& daemon) {
    static const std::regex listening(R"(http: listening on 127\.0\.0\.1:([0-9]+))");
    std::smatch m;
    const auto output = daemon.output();
    if (!std::regex_search(output, m, listening)) return "";
    return "http://127.0.0.1:" + m[1].str() + "/";
  }

  TempDir dir_;
  std::unique_ptr<DovecotLab> lab_;
  std::string password_file_;
};

TEST_F(StatusPageE2E, ChromiumShowsTheKilledBackendDownAndHostileTextEscaped) {
  auto daemon = std::make_unique<ChildProcess>(
      std::vector<std::string>{POOLWATCH_BINARY, "run", "--foreground", "-c", write_config()},
      dir_.path() + "/poolwatch.log");
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("backend 127.0.1.3: healthy"); }, 30s))
      << daemon->output();
  const auto url = page_url(*daemon);
  ASSERT_FALSE(url.empty()) << daemon->output();

  lab_->fault(2, "stop");
  lab_->fault(3, "stop");
  // A file, so that no shell or socat address parser sees the greeting's quotes.
  const auto greeting = dir_.write("greeting", std::string(kHostileGreeting) + "\r\n", 0644);
  ChildProcess hostile(
      {"/usr/bin/socat", "TCP-LISTEN:143,bind=127.0.1.3,reuseaddr,fork", "SYSTEM:cat " + greeting},
      dir_.path() + "/socat.log");
  ASSERT_TRUE(eventually(
      [&] {
        return director_state(*lab_, "127.0.1.2") == "down" &&
               director_state(*lab_, "127.0.1.3") == "down";
      },
      40s))
      << daemon->output() << read_text_file(dir_.path() + "/socat.log");

  auto [code, dom] = chromium(dir_.path() + "/profile", "--dump-dom " + url);
  ASSERT_EQ(code, 0) << dom;
  for (const auto& a : lab_->backend_addresses())
    EXPECT_FALSE(row_of(dom, a).empty()) << a << " not listed:\n" << dom;
  const auto killed = row_of(dom, "127.0.1.2");
  EXPECT_NE(killed.find("data-state=\"down\""), std::string::npos) << killed;
  EXPECT_NE(killed.find("data-director=\"D\""), std::string::npos) << killed;
  EXPECT_NE(killed.find(">DOWN</span>"), std::string::npos) << killed;
  EXPECT_NE(killed.find("refused"), std::string::npos) << "no reason: " << killed;
  EXPECT_NE(killed.find(">poolwatch</span>"), std::string::npos) << killed;
  const auto healthy = row_of(dom, "127.0.1.1");
  EXPECT_NE(healthy.find("data-state=\"up\""), std::string::npos) << healthy;

  // The greeting is shown as text: the DOM has no element it would have made, and the
  // document's title is still poolwatch's.
  const auto hostile_row = row_of(dom, "127.0.1.3");
  EXPECT_NE(hostile_row.find("&lt;script&gt;document.title="), std::string::npos) << hostile_row;
  EXPECT_EQ(dom.find("<script"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b>x</b>"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("pwned</title>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<title>poolwatch: 3 backends, 2 down</title>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("HOST-DOWN ok"), std::string::npos) << "no action in the events:\n" << dom;

  for (const auto& [name, size] : {std::pair{"status-page.png", "1280,1000"},
                                   std::pair{"status-page-phone.png", "390,1200"}}) {
    const auto png = artefact_dir() / name;
    fs::remove(png);
    auto [shot_code, shot_out] =
        chromium(dir_.path() + "/profile", "--hide-scrollbars --window-size=" + std::string(size) +
                                               " --screenshot=" + png.string() + " " + url);
    EXPECT_EQ(shot_code, 0) << shot_out;
    ASSERT_TRUE(fs::exists(png)) << png;
    EXPECT_TRUE(read_text_file(png.string()).starts_with("\x89PNG")) << png;
    std::cout << "screenshot: " << png.string() << "\n";
  }

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), std::optional<int>(0)) << daemon->output();
  EXPECT_FALSE(daemon->output_contains("probepass"));
  EXPECT_EQ(dom.find("probepass"), std::string::npos);
}

}  // namespace status_page_e2e
