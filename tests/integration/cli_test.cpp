// Integration tests of the `trellis` executable: the real binary, run as a
// subprocess on the fixture plugins, with stdout, stderr and the exit code
// captured separately.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "trellis_process.hpp"
#include "../support/temp_dir.hpp"

namespace {

using namespace trellis_test;
namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path fixture_dir(std::string_view case_dir) {
  return fs::path(TRELLIS_FIXTURE_PLUGIN_DIR) / case_dir;
}
fs::path fixture(std::string_view case_dir, std::string_view file) {
  return fixture_dir(case_dir) / file;
}

std::string abi_version() {
  return std::to_string(TRELLIS_ABI_MAJOR) + "." + std::to_string(TRELLIS_ABI_MINOR);
}

// `text` with regex metacharacters escaped.
std::string regex_quote(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".[]{}()\\*+?^$|").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t count_lines_with(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (const auto& l : lines_of(text)) n += l.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

// Short name for the many runs below.
run_result trellis(const std::vector<std::string>& args, const env_vars& env = {}) {
  return run_trellis(args, env);
}

// `--no-default-plugins --plugin-dir D` for each fixture case directory, then `rest`.
std::vector<std::string> with_plugins(const std::vector<std::string>& cases,
                                      std::vector<std::string> rest) {
  std::vector<std::string> args{"--no-default-plugins"};
  for (const auto& c : cases) {
    args.emplace_back("--plugin-dir");
    args.push_back(fixture_dir(c).string());
  }
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

// A fresh directory per test, removed afterwards.
using trellis::test::temp_dir;

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The object in `plugins` (plugins list --json) whose "file" is `file`.
const json::object* plugin_entry(const json::value& doc, const fs::path& file) {
  for (const json::value& p : doc.at("plugins").as_array()) {
    if (p.at("file").as_string() == file.string()) return &p.as_object();
  }
  return nullptr;
}

// -- help and version ----------------------------------------------------------

// `trellis --help` lists plugin commands with their summaries, beside the built-ins.
TEST(Cli, HelpListsPluginCommandsWithSummary) {
  run_result r = trellis(with_plugins({"good"}, {"--help"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("good-cmd"));
  EXPECT_THAT(r.out, HasSubstr("Greet someone from the good fixture"));
  EXPECT_THAT(r.out, HasSubstr("serve"));
  EXPECT_THAT(r.out, HasSubstr("plugins"));
  EXPECT_EQ(r.err, "");
}

// `trellis --version` prints the host version and the ABI version.
TEST(Cli, VersionPrintsHostAndAbiVersions) {
  run_result r = trellis({"--no-default-plugins", "--version"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "trellis " TRELLIS_TEST_HOST_VERSION " (ABI " + abi_version() + ")\n");
}

// -- plugins list ----------------------------------------------------------------

// `plugins list` shows loaded plugins with their contributions and rejected
// ones with the reason; the rejection is logged once, naming the file.
TEST(Cli, PluginsListShowsLoadedAndRejectedPlugins) {
  const fs::path init_error = fixture("init_error", "init_error.so");
  const fs::path wrong_abi = fixture("wrong_abi_major", "wrong_abi_major.so");
  run_result r =
      trellis(with_plugins({"good", "init_error", "wrong_abi_major"}, {"plugins", "list"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("good +1\\.0\\.0 +" + regex_quote(abi_version()) +
                                              " +loaded +" +
                                              regex_quote(fixture("good", "good.so").string())));
  EXPECT_THAT(r.out, HasSubstr("command good-cmd"));
  EXPECT_THAT(r.out, HasSubstr("page GET /hello"));
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("init-error +1\\.0\\.0 +" + regex_quote(abi_version()) +
                                       " +rejected +" + regex_quote(init_error.string())));
  EXPECT_THAT(r.out, HasSubstr("error: init failed: cannot reach the frobnicator"));
  // Refused on its ABI version alone: the rest of its manifest is not read.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("rejected +" + regex_quote(wrong_abi.string())));
  EXPECT_THAT(r.out, HasSubstr("error: built for ABI 2.0, the host speaks ABI major 1"));
  EXPECT_EQ(count_lines_with(r.err, "plugin rejected"), 2U) << r;
  EXPECT_EQ(count_lines_with(r.err, "plugin rejected: " + init_error.string() +
                                        ": init failed: cannot reach the frobnicator"),
            1U)
      << r;
  EXPECT_EQ(
      count_lines_with(r.err, "plugin rejected: " + wrong_abi.string() + ": built for ABI 2.0"), 1U)
      << r;
}

// `plugins list --json` reports id, version, ABI, state and the reject reason of each file.
TEST(Cli, PluginsListJsonReportsStatesAndReasons) {
  run_result r = trellis(with_plugins({"good", "wrong_abi_major", "not_a_library", "init_error"},
                                      {"plugins", "list", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  boost::system::error_code ec;
  json::value doc = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << ec.message() << "\n" << r;
  EXPECT_EQ(doc.at("host_version").as_string(), TRELLIS_TEST_HOST_VERSION);
  EXPECT_EQ(doc.at("abi").as_string(), abi_version());
  EXPECT_EQ(doc.at("plugins").as_array().size(), 4U);

  const json::object* good = plugin_entry(doc, fixture("good", "good.so"));
  ASSERT_NE(good, nullptr) << r.out;
  EXPECT_EQ(good->at("id").as_string(), "good");
  EXPECT_EQ(good->at("version").as_string(), "1.0.0");
  EXPECT_EQ(good->at("abi").as_string(), abi_version());
  EXPECT_EQ(good->at("state").as_string(), "loaded");
  EXPECT_FALSE(good->contains("reason"));
  EXPECT_EQ(good->at("contributions").at("commands").as_array().at(0).as_string(), "good-cmd");

  struct expected {
    fs::path file;
    const char* id;  // nullptr: the manifest could not be read
    const char* reason;
    const char* error;
  };
  const expected rejected[] = {
      {fixture("wrong_abi_major", "wrong_abi_major.so"), nullptr, "abi_major_mismatch", "ABI 2.0"},
      {fixture("not_a_library", "not_a_library.so"), nullptr, "not_shared_library",
       "not a shared library"},
      {fixture("init_error", "init_error.so"), "init-error", "init_failed",
       "cannot reach the frobnicator"},
  };
  for (const expected& e : rejected) {
    SCOPED_TRACE(e.file.string());
    const json::object* p = plugin_entry(doc, e.file);
    ASSERT_NE(p, nullptr) << r.out;
    if (e.id == nullptr) {
      EXPECT_TRUE(p->at("id").is_null());
    } else {
      EXPECT_EQ(p->at("id").as_string(), e.id);
    }
    EXPECT_EQ(p->at("state").as_string(), "rejected");
    EXPECT_EQ(p->at("reason").as_string(), e.reason);
    EXPECT_THAT(std::string(p->at("error").as_string()), HasSubstr(e.error));
  }
  EXPECT_EQ(count_lines_with(r.err, "plugin rejected"), 3U) << r;
}

// TRELLIS_PLUGIN_PATH (colon-separated) is searched for plugins like --plugin-dir.
TEST(Cli, PluginPathEnvironmentVariableDiscoversPlugins) {
  const std::string path =
      fixture_dir("good").string() + ":" + fixture_dir("dependency_chain").string();
  run_result r = trellis({"--no-default-plugins", "plugins", "list", "--json"},
                         {{"TRELLIS_PLUGIN_PATH", path}});
  ASSERT_EQ(r.exit_code, 0) << r;
  json::value doc = json::parse(r.out);
  std::vector<std::string> ids;
  for (const json::value& p : doc.at("plugins").as_array()) {
    EXPECT_EQ(p.at("state").as_string(), "loaded") << json::serialize(p);
    ids.emplace_back(p.at("id").as_string());
  }
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre("good", "dependent", "base"));
  // Control: without the variable nothing is found.
  run_result none = trellis({"--no-default-plugins", "plugins", "list", "--json"});
  EXPECT_TRUE(json::parse(none.out).at("plugins").as_array().empty()) << none;
}

// -- plugins inspect ---------------------------------------------------------------

// `plugins inspect FILE` prints the embedded manifest.
TEST(Cli, PluginsInspectPrintsManifest) {
  const fs::path file = fixture("good", "good.so");
  run_result r = trellis({"--no-default-plugins", "plugins", "inspect", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("good (good) 1.0.0"));
  EXPECT_THAT(r.out, HasSubstr("file:         " + file.string()));
  EXPECT_THAT(r.out, HasSubstr("ABI:          " + abi_version()));
  EXPECT_THAT(r.out, HasSubstr("command good-cmd"));
  EXPECT_THAT(r.out, HasSubstr("page GET /hello"));
}

// `plugins inspect FILE --json` prints the manifest as JSON, dependencies and config schema
// included.
TEST(Cli, PluginsInspectJsonPrintsManifest) {
  const fs::path file = fixture("dependency_chain", "a_dependent.so");
  run_result r = trellis({"--no-default-plugins", "plugins", "inspect", file.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json::value doc = json::parse(r.out);
  EXPECT_EQ(doc.at("id").as_string(), "dependent");
  EXPECT_EQ(doc.at("version").as_string(), "1.0.0");
  EXPECT_EQ(doc.at("abi").as_string(), abi_version());
  EXPECT_EQ(doc.at("file").as_string(), file.string());
  EXPECT_EQ(doc.at("dependencies").at("base").as_string(), "^1.0.0");
  EXPECT_EQ(doc.at("contributions").at("commands").as_array().at(0).as_string(), "dependent-cmd");
  EXPECT_EQ(doc.at("config").at("trace_file").at("type").as_string(), "string");
}

// `plugins inspect` reads the manifest without running any plugin code: no
// library constructor, no init. `plugins list` on the same file shows both run.
TEST(Cli, PluginsInspectDoesNotRunPluginCode) {
  const fs::path file = fixture("side_effects", "side_effects.so");
  run_result inspect =
      trellis(with_plugins({"side_effects"}, {"plugins", "inspect", file.string()}));
  EXPECT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr("side-effects (side-effects) 1.0.0"));
  EXPECT_THAT(inspect.out + inspect.err, Not(HasSubstr("SIDE EFFECT")));

  run_result list = trellis(with_plugins({"side_effects"}, {"plugins", "list"}));
  EXPECT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("SIDE EFFECT: library constructor ran"));
  EXPECT_THAT(list.out, HasSubstr("SIDE EFFECT: init ran"));
}

// `plugins inspect` on a file that is no plugin fails with exit 1, naming the file and why.
TEST(Cli, PluginsInspectRejectsNonPlugin) {
  const fs::path file = fixture("not_a_library", "not_a_library.so");
  run_result r = trellis({"--no-default-plugins", "plugins", "inspect", file.string()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr(file.string()));
  EXPECT_THAT(r.err, HasSubstr("not a shared library"));
  EXPECT_EQ(r.out, "");
}

// -- plugin commands -------------------------------------------------------------------

// A plugin command gets its parsed arguments, writes through the host and sets the exit code.
TEST(Cli, PluginCommandRunsAndReturnsItsExitCode) {
  run_result r = trellis(with_plugins(
      {"good"}, {"good-cmd", "World", "--greeting", "Hi", "--loud", "--exit-code", "3"}));
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_EQ(r.out, "HI, WORLD!\n");
  EXPECT_EQ(r.err, "");
}

// Options left out take the defaults the command declared.
TEST(Cli, PluginCommandUsesDeclaredDefaults) {
  run_result r = trellis(with_plugins({"good"}, {"good-cmd", "World"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Hello, World!\n");
  EXPECT_EQ(r.err, "");
}

// `trellis <command> --help` shows the command's description and arguments.
TEST(Cli, PluginCommandHasItsOwnHelp) {
  run_result r = trellis(with_plugins({"good"}, {"good-cmd", "--help"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("Prints a greeting and exits with --exit-code."));
  EXPECT_THAT(r.out, HasSubstr("name"));
  EXPECT_THAT(r.out, HasSubstr("Who to greet"));
  EXPECT_THAT(r.out, HasSubstr("--greeting"));
  EXPECT_THAT(r.out, HasSubstr("--exit-code"));
  EXPECT_THAT(r.out, HasSubstr("--loud"));
  EXPECT_THAT(r.out, HasSubstr("Greet in capitals"));
  EXPECT_THAT(r.out, Not(HasSubstr("Hello, ")));  // the command itself did not run
}

// A missing required positional argument is a usage error naming it.
TEST(Cli, MissingPositionalArgumentExitsTwo) {
  run_result r = trellis(with_plugins({"good"}, {"good-cmd"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("name"));
  EXPECT_THAT(r.err, HasSubstr("good-cmd"));
  EXPECT_EQ(r.out, "");
}

// An option the command does not declare is a usage error naming it.
TEST(Cli, UnknownOptionExitsTwo) {
  run_result r = trellis(with_plugins({"good"}, {"good-cmd", "World", "--bogus"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
  EXPECT_EQ(r.out, "");
}

// A single-valued option given twice is a usage error naming it.
TEST(Cli, OptionGivenTwiceExitsTwo) {
  run_result r =
      trellis(with_plugins({"good"}, {"good-cmd", "World", "--greeting", "a", "--greeting", "b"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--greeting"));
  EXPECT_EQ(r.out, "");
}

// A usage error raised by the plugin itself also exits 2 with its message.
TEST(Cli, PluginUsageErrorExitsTwo) {
  run_result r = trellis(with_plugins({"good"}, {"good-cmd", "World", "--exit-code", "lots"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--exit-code must be an integer, not 'lots'"));
  EXPECT_EQ(r.out, "");
}

// A command nobody provides exits 2, naming it.
TEST(Cli, UnknownCommandExitsTwo) {
  run_result r = trellis(with_plugins({"good"}, {"frobnicate"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("frobnicate"));
  EXPECT_EQ(r.out, "");
}

// `trellis help plugins list` shows the help of the subcommand; an unknown
// word is named with the words before it.
TEST(Cli, HelpWalksSubcommands) {
  run_result r = trellis(with_plugins({"good"}, {"help", "plugins", "list"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("Usage: trellis plugins list"));
  run_result bad = trellis(with_plugins({"good"}, {"help", "plugins", "frob"}));
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_THAT(bad.err, HasSubstr("unknown command 'plugins frob'"));
}

// A bad --listen is a usage error reported before any plugin code runs.
TEST(Cli, BadListenIsUsageErrorBeforePluginsLoad) {
  run_result r = trellis(with_plugins({"side_effects"}, {"serve", "--listen", "nonsense"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--listen: 'nonsense' is not ADDRESS:PORT"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("SIDE EFFECT"))) << "plugin code ran";
}

// A rejected plugin does not stop the others' commands; its rejection is one line on stderr.
TEST(Cli, RejectedPluginDoesNotStopOtherCommands) {
  const fs::path bad = fixture("init_throws", "init_throws.so");
  run_result r = trellis(with_plugins({"good", "init_throws"}, {"good-cmd", "World"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "Hello, World!\n");
  ASSERT_EQ(lines_of(r.err).size(), 1U) << r;
  EXPECT_THAT(r.err, HasSubstr("plugin rejected: " + bad.string()));
  EXPECT_THAT(r.err, HasSubstr("setup exploded on purpose"));
}

// The clang/libc++ plugin's command runs from the CLI with its exit codes and messages.
TEST(Cli, LibcxxPluginCommandRuns) {
  ASSERT_TRUE(fs::exists(fixture("libcxx", "libcxx.so"))) << "built only when CMake finds clang++";
  run_result ok = trellis(with_plugins({"libcxx"}, {"libcxx-cmd", "ok", "--text", "caf\xC3\xA9"}));
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, HasSubstr(" says: caf\xC3\xA9\n"));
  EXPECT_EQ(ok.err, "");

  run_result usage = trellis(with_plugins({"libcxx"}, {"libcxx-cmd", "usage"}));
  EXPECT_EQ(usage.exit_code, 2) << usage;
  EXPECT_THAT(usage.err, HasSubstr("argument 'mode': usage error requested"));

  run_result fail = trellis(with_plugins({"libcxx"}, {"libcxx-cmd", "fail"}));
  EXPECT_EQ(fail.exit_code, 1) << fail;
  EXPECT_THAT(fail.err, HasSubstr("libc++ plugin failed on purpose"));

  run_result thrown = trellis(with_plugins({"libcxx"}, {"libcxx-cmd", "throw"}));
  EXPECT_EQ(thrown.exit_code, 1) << thrown;
  EXPECT_THAT(thrown.err, HasSubstr("uncaught exception: std::runtime_error thrown in libc++"));
}

// The plugin built against the frozen ABI 1.0 header runs its command from the CLI.
TEST(Cli, Abi10PluginCommandRuns) {
  run_result r = trellis(with_plugins({"abi_1_0"}, {"old-cmd"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "hello from ABI 1.0\n");
  EXPECT_EQ(r.err, "");
}

// -- configuration -----------------------------------------------------------------

// A --config file that does not exist is a usage error naming the option and the file.
TEST(Cli, MissingConfigFileIsReported) {
  temp_dir tmp;
  const fs::path missing = tmp.path() / "absent.toml";
  run_result r = trellis(with_plugins({"good"}, {"--config", missing.string(), "plugins", "list"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--config: " + missing.string() + " is not a file"));
  EXPECT_EQ(r.out, "");
}

// A TOML syntax error is reported with the file, line and column.
TEST(Cli, ConfigSyntaxErrorIsReported) {
  temp_dir tmp;
  const fs::path config = tmp.write("broken.toml", "[plugins]\nenabled = [\"good\"\n");
  run_result r = trellis(with_plugins({"good"}, {"--config", config.string(), "plugins", "list"}));
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr(config.string() + ": line "));
  EXPECT_THAT(r.err, HasSubstr("column"));
  EXPECT_EQ(r.out, "");
}

// An unknown key in the config file is reported by name.
TEST(Cli, ConfigUnknownKeyIsReported) {
  temp_dir tmp;
  const fs::path config = tmp.write("unknown.toml", "[plugins]\nfrobnicate = true\n");
  run_result r = trellis(with_plugins({"good"}, {"--config", config.string(), "plugins", "list"}));
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr(config.string()));
  EXPECT_THAT(r.err, HasSubstr("unknown key 'plugins.frobnicate'"));
  EXPECT_EQ(r.out, "");
}

// TRELLIS_CONFIG names the config file; its [plugins] enabled disables the rest.
TEST(Cli, ConfigFromEnvironmentRestrictsEnabledPlugins) {
  temp_dir tmp;
  const fs::path config = tmp.write("trellis.toml", "[plugins]\nenabled = [\"good\"]\n");
  run_result r = trellis(with_plugins({"good", "dependency_chain"}, {"plugins", "list", "--json"}),
                         {{"TRELLIS_CONFIG", config.string()}});
  ASSERT_EQ(r.exit_code, 0) << r;
  json::value doc = json::parse(r.out);
  std::map<std::string, std::string> states;
  for (const json::value& p : doc.at("plugins").as_array()) {
    states[std::string(p.at("id").as_string())] = std::string(p.at("state").as_string());
  }
  EXPECT_EQ(states, (std::map<std::string, std::string>{
                        {"good", "loaded"}, {"base", "disabled"}, {"dependent", "disabled"}}));
}

// A [plugin.<id>] key the plugin does not declare rejects that plugin, naming the key.
TEST(Cli, InvalidPluginConfigRejectsThePlugin) {
  temp_dir tmp;
  const fs::path config = tmp.write("trellis.toml", "[plugin.base]\ncolour = \"blue\"\n");
  run_result r = trellis(with_plugins({"good", "dependency_chain"},
                                      {"--config", config.string(), "plugins", "list", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  json::value doc = json::parse(r.out);
  const json::object* base = plugin_entry(doc, fixture("dependency_chain", "b_base.so"));
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(base->at("reason").as_string(), "config_invalid");
  EXPECT_THAT(std::string(base->at("error").as_string()),
              HasSubstr("unknown key 'plugin.base.colour'"));
  const json::object* good = plugin_entry(doc, fixture("good", "good.so"));
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->at("state").as_string(), "loaded");
}

// -- serve -------------------------------------------------------------------------------

// `trellis serve` waits for `signo`, then shuts plugins down in reverse load
// order and exits 0.
void expect_serve_stops_cleanly_on(int signo, std::string_view name) {
  temp_dir tmp;
  const fs::path trace = tmp.path() / "trace.txt";
  const fs::path config = tmp.write(
      "trellis.toml", "[plugin.base]\ntrace_file = \"" + trace.string() +
                          "\"\n[plugin.dependent]\ntrace_file = \"" + trace.string() + "\"\n");
  trellis_process p(
      with_plugins({"good", "dependency_chain"},
                   {"--config", config.string(), "serve", "--listen", "127.0.0.1:0"}));
  // The signal handlers are installed before this line is logged.
  ASSERT_TRUE(p.wait_for_stderr("listening on http://127.0.0.1:")) << p.err();
  p.send_signal(signo);
  run_result r = p.finish();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("received " + std::string(name) + ", shutting down"));
  EXPECT_THAT(r.err, HasSubstr("good: shutdown"));
  EXPECT_THAT(r.err, HasSubstr("all plugins shut down"));
  EXPECT_LT(r.err.find("good: shutdown"), r.err.find("all plugins shut down"));
  EXPECT_THAT(read_lines(trace),
              ::testing::ElementsAre("init base", "init dependent", "post_load base",
                                     "post_load dependent", "shutdown dependent",
                                     "destroy dependent", "shutdown base", "destroy base"));
}

// SIGTERM stops `trellis serve` cleanly: exit 0, every plugin shut down.
TEST(Cli, ServeShutsDownCleanlyOnSigterm) { expect_serve_stops_cleanly_on(SIGTERM, "SIGTERM"); }

// SIGINT (Ctrl+C) stops `trellis serve` cleanly: exit 0, every plugin shut down.
TEST(Cli, ServeShutsDownCleanlyOnSigint) { expect_serve_stops_cleanly_on(SIGINT, "SIGINT"); }

// -- demo init -----------------------------------------------------------------------------

// The one summary line `demo init` prints for `path`, with the counts it wrote.
const char* const demo_summary_pattern =
    ": 12 categories, 500 products, 5000 customers, [0-9]+ orders, [0-9]+ order lines\n$";

// `demo init --path X` writes the database and prints one summary line; a
// second run refuses to replace it (exit 1, naming it and --force); --force does.
TEST(Cli, DemoInitCreatesDatabaseAndRefusesToOverwrite) {
  temp_dir tmp;
  const fs::path db = tmp.path() / "sub" / "demo.db";
  run_result r = trellis({"--no-default-plugins", "demo", "init", "--path", db.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, ::testing::MatchesRegex("Created demo database " + regex_quote(db.string()) +
                                             demo_summary_pattern));
  EXPECT_EQ(r.err, "");
  ASSERT_TRUE(fs::is_regular_file(db));
  std::ifstream in(db, std::ios::binary);
  std::string header(16, '\0');
  in.read(header.data(), 16);
  EXPECT_EQ(header, std::string("SQLite format 3\0", 16));
  const auto size = fs::file_size(db);

  run_result again = trellis({"--no-default-plugins", "demo", "init", "--path", db.string()});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.err, HasSubstr(db.string() + " already exists"));
  EXPECT_THAT(again.err, HasSubstr("--force"));
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(fs::file_size(db), size);

  run_result forced = trellis({"--no-default-plugins", "demo", "init", "--path", db.string(),
                               "--force", "--seed", "12345"});
  EXPECT_EQ(forced.exit_code, 0) << forced;
  EXPECT_THAT(forced.out, HasSubstr("Created demo database " + db.string() + ": "));
  // Only the database is left: no temporary file beside it.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(db.parent_path()))
    names.push_back(e.path().filename().string());
  EXPECT_THAT(names, ::testing::ElementsAre("demo.db"));
}

// Without --path the database goes to $TRELLIS_DATA_DIR/demo.db.
TEST(Cli, DemoInitUsesDataDirectoryFromEnvironment) {
  temp_dir tmp;
  const fs::path data = tmp.path() / "data";
  run_result r =
      trellis({"--no-default-plugins", "demo", "init"}, {{"TRELLIS_DATA_DIR", data.string()}});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("Created demo database " + (data / "demo.db").string() + ": "));
  EXPECT_TRUE(fs::is_regular_file(data / "demo.db"));
}

// A --seed that is not a whole number is a usage error naming the value;
// nothing is written.
TEST(Cli, DemoInitRejectsBadSeed) {
  temp_dir tmp;
  const fs::path db = tmp.path() / "demo.db";
  for (const char* seed : {"abc", "-1", "0x10", "18446744073709551616"}) {
    SCOPED_TRACE(seed);
    run_result r =
        trellis({"--no-default-plugins", "demo", "init", "--path", db.string(), "--seed", seed});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr("--seed"));
    EXPECT_THAT(r.err, HasSubstr(std::string("'") + seed + "' is not a whole number"));
    EXPECT_EQ(r.out, "");
  }
  EXPECT_FALSE(fs::exists(db));
}

// `trellis demo --help`, `trellis help demo` and `trellis demo init --help`
// describe the command; `demo` alone is a usage error.
TEST(Cli, DemoHasHelp) {
  run_result help = trellis({"--no-default-plugins", "demo", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("Usage: trellis demo"));
  EXPECT_THAT(help.out, HasSubstr("init"));
  run_result help_word = trellis({"--no-default-plugins", "help", "demo"});
  EXPECT_EQ(help_word.exit_code, 0) << help_word;
  EXPECT_EQ(help_word.out, help.out);
  run_result init_help = trellis({"--no-default-plugins", "demo", "init", "--help"});
  EXPECT_EQ(init_help.exit_code, 0) << init_help;
  EXPECT_THAT(init_help.out, HasSubstr("Usage: trellis demo init"));
  EXPECT_THAT(init_help.out, HasSubstr("--path"));
  EXPECT_THAT(init_help.out, HasSubstr("--force"));
  EXPECT_THAT(init_help.out, HasSubstr("--seed"));
  run_result top = trellis({"--no-default-plugins", "--help"});
  EXPECT_THAT(top.out, ::testing::ContainsRegex("\n  demo +Create the demo database"));
  run_result bare = trellis({"--no-default-plugins", "demo"});
  EXPECT_EQ(bare.exit_code, 2) << bare;
  EXPECT_EQ(bare.out, "");
}

// `demo init` runs no plugin code.
TEST(Cli, DemoInitDoesNotLoadPlugins) {
  temp_dir tmp;
  run_result r = trellis(with_plugins(
      {"side_effects"}, {"demo", "init", "--path", (tmp.path() / "demo.db").string()}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("SIDE EFFECT")));
}

}  // namespace
