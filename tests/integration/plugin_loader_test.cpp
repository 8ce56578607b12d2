// Integration tests of trellis::host::plugin_host on the fixture plugins of
// tests/fixtures/plugins/<case>/: every bad plugin is loaded beside the good
// one, and must be rejected with one log line while the good one stays.
#include "trellis/host/plugin_host.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <trellis/abi.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trellis/host/calls.hpp"
#include "trellis/host/config.hpp"
#include "trellis/host/metrics.hpp"
#include "trellis/host/principal.hpp"
#include "../support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace th = trellis::host;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using th::plugin_state;
using th::reject_reason;

fs::path fixture(std::string_view case_dir, std::string_view file) {
  return fs::path(TRELLIS_FIXTURE_PLUGIN_DIR) / case_dir / file;
}

const fs::path& good_plugin() {
  static const fs::path path = fixture("good", "good.so");
  return path;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every log line of the host and its plugin loggers, as "L|logger|message"
// where L is spdlog's one-letter level (T D I W E C).
class log_capture {
 public:
  log_capture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_, /*force_flush=*/true);
    logger_ = std::make_shared<spdlog::logger>("trellis", std::move(sink));
    logger_->set_pattern("%L|%n|%v");
    logger_->set_level(spdlog::level::trace);
  }
  const std::shared_ptr<spdlog::logger>& logger() const { return logger_; }
  std::vector<std::string> lines() const { return split_lines(stream_.str()); }
  /// Lines at warning level or above.
  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    for (auto& l : lines()) {
      if (!l.empty() && (l.front() == 'W' || l.front() == 'E' || l.front() == 'C'))
        out.push_back(l);
    }
    return out;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> logger_;
};

using env_map = std::map<std::string, std::string, std::less<>>;

// A plugin_host that loaded `files`, with captured logs and an environment of
// `env` only (never the process's).
class harness {
 public:
  explicit harness(const std::vector<fs::path>& files, th::host_config config = {},
                   env_map env = {}) {
    th::env_lookup lookup =
        [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    host_ = std::make_unique<th::plugin_host>(std::move(config), std::move(lookup), logs_.logger());
    host_->load(files);
  }

  th::plugin_host& host() { return *host_; }
  const th::plugin_host& host() const { return *host_; }
  const th::registry& registry() const { return host_->contributions(); }
  std::vector<std::string> lines() const { return logs_.lines(); }
  std::vector<std::string> problems() const { return logs_.problems(); }
  void destroy_host() { host_.reset(); }

  const th::plugin_record* record(const fs::path& file) const {
    for (const auto& r : host_->plugins()) {
      if (r.file == file) return &r;
    }
    return nullptr;
  }

 private:
  log_capture logs_;  // before host_: the host logs while it is destroyed
  std::unique_ptr<th::plugin_host> host_;
};

// A fresh directory per test, removed afterwards.
using trellis::test::temp_dir;

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The good plugin is loaded and its command and page are in the registry.
void expect_good_loaded(const harness& h) {
  const th::plugin_record* rec = h.record(good_plugin());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->state, plugin_state::loaded) << rec->error;
  const th::command_entry* cmd = h.registry().find_command("good-cmd");
  ASSERT_NE(cmd, nullptr);
  EXPECT_EQ(cmd->plugin_id, "good");
  const th::page_entry* page = h.registry().find_page("GET", "/good/hello");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->plugin_id, "good");
}

// `bad` was rejected for `reason` with `cause` in its error, in exactly one
// warning-or-worse log line that also names the file, and good is loaded.
void expect_rejected_beside_good(const harness& h, const fs::path& bad, reject_reason reason,
                                 std::string_view cause) {
  const th::plugin_record* rec = h.record(bad);
  ASSERT_NE(rec, nullptr) << "no record for " << bad;
  EXPECT_EQ(rec->state, plugin_state::rejected);
  EXPECT_EQ(rec->reason, reason) << "got " << th::to_string(rec->reason) << ": " << rec->error;
  EXPECT_THAT(rec->error, HasSubstr(std::string(cause)));
  const auto problems = h.problems();
  ASSERT_EQ(problems.size(), 1U) << joined(h.lines());
  EXPECT_THAT(problems.front(), HasSubstr(bad.string()));
  EXPECT_THAT(problems.front(), HasSubstr(std::string(cause)));
  expect_good_loaded(h);
}

// A text file named *.so is refused as not a shared library.
TEST(PluginLoader, RejectsTextFileNamedSo) {
  const fs::path bad = fixture("not_a_library", "not_a_library.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::not_shared_library, "not a shared library");
  EXPECT_FALSE(h.record(bad)->info.has_value());
}

// A real plugin cut to half its size is reported as truncated.
TEST(PluginLoader, RejectsTruncatedFile) {
  const fs::path bad = fixture("truncated", "truncated.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::truncated, "truncated");
}

// A manifest without an exported trellis_plugin_entry is refused after dlopen.
TEST(PluginLoader, RejectsMissingEntrySymbol) {
  const fs::path bad = fixture("no_entry_symbol", "no_entry_symbol.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::no_entry_symbol,
                              "no entry symbol '" TRELLIS_ENTRY_SYMBOL "'");
}

// A plugin built for ABI major 2 is refused from its manifest alone.
TEST(PluginLoader, RejectsWrongAbiMajor) {
  const fs::path bad = fixture("wrong_abi_major", "wrong_abi_major.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::abi_major_mismatch,
                              "built for ABI 2.0, the host speaks ABI major 1");
}

// A plugin that needs a newer minor than the host's is refused.
TEST(PluginLoader, RejectsNewerAbiMinor) {
  const fs::path bad = fixture("abi_minor_newer", "abi_minor_newer.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(
      h, bad, reject_reason::abi_minor_newer,
      "built for ABI 1.99, newer than the host's 1." + std::to_string(TRELLIS_ABI_MINOR));
}

// init returning an error status rejects the plugin with init's message.
TEST(PluginLoader, RejectsInitError) {
  const fs::path bad = fixture("init_error", "init_error.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::init_failed, "cannot reach the frobnicator");
}

// An exception thrown in a C++ plugin's setup becomes a failed init, not a crash.
TEST(PluginLoader, RejectsInitThatThrows) {
  const fs::path bad = fixture("init_throws", "init_throws.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::init_failed, "setup exploded on purpose");
}

// A command descriptor without its required summary is refused, naming the plugin and field.
TEST(PluginLoader, RejectsDescriptorMissingRequiredField) {
  const fs::path bad = fixture("missing_required_field", "missing_required_field.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(
      h, bad, reject_reason::init_failed,
      "plugin 'missing-field': command descriptor is missing required field 'summary'");
  EXPECT_EQ(h.registry().find_command("no-summary"), nullptr);
}

// A command name another plugin already registered is refused, naming the owner.
TEST(PluginLoader, RejectsDuplicateContributionName) {
  const fs::path bad = fixture("duplicate_name", "duplicate_name.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::init_failed,
                              "command 'good-cmd' is already provided by plugin 'good'");
}

// A dependency that is not installed rejects the dependent plugin.
TEST(PluginLoader, RejectsMissingDependency) {
  const fs::path bad = fixture("missing_dependency", "missing_dependency.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::missing_dependency,
                              "depends on 'absent' (>=1.0.0), which is not installed");
}

// An installed dependency outside the required version range rejects the dependent.
TEST(PluginLoader, RejectsDependencyVersionMismatch) {
  const fs::path bad = fixture("dependency_version", "dependency_version.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::dependency_version,
                              "needs 'good' >=2.0.0, but 1.0.0 is installed");
}

// Two plugins depending on each other are both rejected, one line each, naming the cycle.
TEST(PluginLoader, RejectsDependencyCycle) {
  const fs::path a = fixture("dependency_cycle", "cycle_a.so");
  const fs::path b = fixture("dependency_cycle", "cycle_b.so");
  harness h({good_plugin(), a, b});
  const std::pair<fs::path, std::string> expected[] = {
      {a, "dependency cycle: cycle-a -> cycle-b -> cycle-a"},
      {b, "dependency cycle: cycle-b -> cycle-a -> cycle-b"}};
  const auto problems = h.problems();
  ASSERT_EQ(problems.size(), 2U) << joined(h.lines());
  for (const auto& [file, cause] : expected) {
    SCOPED_TRACE(file.string());
    const th::plugin_record* rec = h.record(file);
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ(rec->state, plugin_state::rejected);
    EXPECT_EQ(rec->reason, reject_reason::dependency_cycle) << rec->error;
    EXPECT_THAT(rec->error, HasSubstr(cause));
    EXPECT_EQ(std::count_if(problems.begin(), problems.end(),
                            [&](const std::string& l) {
                              return l.find(file.string()) != std::string::npos &&
                                     l.find(cause) != std::string::npos;
                            }),
              1);
  }
  expect_good_loaded(h);
}

// A plugin registering a command its manifest does not declare is rejected, and
// what it registered is withdrawn.
TEST(PluginLoader, RejectsUndeclaredContribution) {
  const fs::path bad = fixture("manifest_extra_command", "manifest_extra_command.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::manifest_mismatch,
                              "registers command 'sneaky-cmd' that its manifest does not declare");
  EXPECT_EQ(h.registry().find_command("declared-cmd"), nullptr);
  EXPECT_EQ(h.registry().find_command("sneaky-cmd"), nullptr);
}

// A manifest claiming another ABI version than the code was built for is rejected.
TEST(PluginLoader, RejectsManifestAbiDisagreeingWithBinary) {
  const fs::path bad = fixture("manifest_abi_mismatch", "manifest_abi_mismatch.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(
      h, bad, reject_reason::manifest_mismatch,
      "manifest says ABI 1.0, the code was built for 1." + std::to_string(TRELLIS_ABI_MINOR));
}

// A file that does not exist is rejected as unreadable; the rest still load.
TEST(PluginLoader, RejectsMissingFile) {
  const fs::path bad = fixture("good", "no_such_plugin.so");
  harness h({good_plugin(), bad});
  expect_rejected_beside_good(h, bad, reject_reason::unreadable, "no such file");
}

// The good plugin's command runs through call_command with parsed arguments.
TEST(PluginLoader, CallsGoodCommand) {
  harness h({good_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty());
  const th::command_entry* cmd = h.registry().find_command("good-cmd");
  ASSERT_NE(cmd, nullptr);
  ASSERT_EQ(cmd->args.size(), 4U);
  EXPECT_EQ(cmd->args[0].name, "name");
  EXPECT_EQ(cmd->args[0].kind, TRELLIS_ARG_POSITIONAL);
  EXPECT_TRUE(cmd->args[0].required);
  std::ostringstream out;
  std::ostringstream err;
  th::command_args args{
      {"name", {"World"}}, {"greeting", {"Hi"}}, {"exit-code", {"4"}}, {"loud", {"true"}}};
  EXPECT_EQ(th::call_command(*cmd, args, out, err), 4);
  EXPECT_EQ(out.str(), "HI, WORLD!\n");
  EXPECT_EQ(err.str(), "");
}

// Files given dependent-first still load base first: dependencies decide the order.
TEST(PluginLoader, LoadsDependencyChainInTopologicalOrder) {
  temp_dir tmp;
  const fs::path trace = tmp.path() / "trace.txt";
  th::host_config config;
  config.plugin_tables["base"] = boost::json::object{{"trace_file", trace.string()}};
  config.plugin_tables["dependent"] = boost::json::object{{"trace_file", trace.string()}};
  const fs::path dependent = fixture("dependency_chain", "a_dependent.so");
  const fs::path base = fixture("dependency_chain", "b_base.so");
  harness h({dependent, base}, config);
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  EXPECT_EQ(h.record(base)->state, plugin_state::loaded) << h.record(base)->error;
  EXPECT_EQ(h.record(dependent)->state, plugin_state::loaded) << h.record(dependent)->error;
  EXPECT_THAT(read_lines(trace),
              ElementsAre("init base", "init dependent", "post_load base", "post_load dependent"));
  // The host's own "plugin loaded" lines come in the same order.
  std::vector<std::string> loaded;
  for (const auto& l : h.lines()) {
    if (l.find("plugin loaded: ") != std::string::npos) loaded.push_back(l);
  }
  ASSERT_EQ(loaded.size(), 2U) << joined(h.lines());
  EXPECT_THAT(loaded[0], HasSubstr("plugin loaded: base 1.2.0 from " + base.string()));
  EXPECT_THAT(loaded[1], HasSubstr("plugin loaded: dependent 1.0.0 from " + dependent.string()));
  ASSERT_NE(h.registry().find_command("base-cmd"), nullptr);
  ASSERT_NE(h.registry().find_command("dependent-cmd"), nullptr);
}

// shutdown runs in reverse load order, each plugin's destroy callbacks right
// after its shutdown, each exactly once, and empties the registry.
TEST(PluginLoader, ShutsDownInReverseLoadOrderAndRunsDestroyCallbacks) {
  temp_dir tmp;
  const fs::path trace = tmp.path() / "trace.txt";
  th::host_config config;
  config.plugin_tables["base"] = boost::json::object{{"trace_file", trace.string()}};
  config.plugin_tables["dependent"] = boost::json::object{{"trace_file", trace.string()}};
  harness h(
      {fixture("dependency_chain", "a_dependent.so"), fixture("dependency_chain", "b_base.so")},
      config);
  h.host().shutdown();
  h.host().shutdown();  // a second call has nothing left to do
  EXPECT_THAT(read_lines(trace), ElementsAre("init base", "init dependent", "post_load base",
                                             "post_load dependent", "shutdown dependent",
                                             "destroy dependent", "shutdown base", "destroy base"));
  EXPECT_EQ(h.registry().find_command("base-cmd"), nullptr);
  EXPECT_EQ(h.registry().find_command("dependent-cmd"), nullptr);
  // Each plugin logs through its own logger, named after its id.
  auto lines = h.lines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "I|dependent|dependent: shutdown"), 1)
      << joined(lines);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "I|base|base: shutdown"), 1) << joined(lines);
  EXPECT_THAT(h.problems(), IsEmpty());
}

// Destroying the host without calling shutdown() still shuts every plugin down.
TEST(PluginLoader, DestructorShutsDownLoadedPlugins) {
  temp_dir tmp;
  const fs::path trace = tmp.path() / "trace.txt";
  th::host_config config;
  config.plugin_tables["base"] = boost::json::object{{"trace_file", trace.string()}};
  harness h({fixture("dependency_chain", "b_base.so")}, config);
  h.destroy_host();
  EXPECT_THAT(read_lines(trace),
              ElementsAre("init base", "post_load base", "shutdown base", "destroy base"));
}

// [plugins] enabled loads only the listed plugins; the others are disabled, not rejected.
TEST(PluginLoader, EnabledListRestrictsLoading) {
  th::host_config config;
  config.enabled = std::vector<std::string>{"good"};
  const fs::path dependent = fixture("dependency_chain", "a_dependent.so");
  const fs::path base = fixture("dependency_chain", "b_base.so");
  harness h({good_plugin(), dependent, base}, config);
  expect_good_loaded(h);
  for (const fs::path& file : {dependent, base}) {
    const th::plugin_record* rec = h.record(file);
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ(rec->state, plugin_state::disabled) << file;
    EXPECT_THAT(rec->error, HasSubstr("not listed in [plugins] enabled"));
  }
  EXPECT_EQ(h.registry().find_command("base-cmd"), nullptr);
  EXPECT_EQ(h.registry().find_command("dependent-cmd"), nullptr);
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
}

// Enabling a plugin without its dependency rejects it, naming the dependency.
TEST(PluginLoader, RejectsEnabledPluginWhoseDependencyIsDisabled) {
  th::host_config config;
  config.enabled = std::vector<std::string>{"good", "dependent"};
  const fs::path dependent = fixture("dependency_chain", "a_dependent.so");
  const fs::path base = fixture("dependency_chain", "b_base.so");
  harness h({good_plugin(), dependent, base}, config);
  expect_rejected_beside_good(h, dependent, reject_reason::missing_dependency,
                              "plugin 'dependent' depends on 'base', which is not enabled");
  EXPECT_EQ(h.record(base)->state, plugin_state::disabled);
}

// An id in [plugins] enabled that no file provides gets one warning naming it.
TEST(PluginLoader, WarnsAboutEnabledPluginThatIsNotFound) {
  th::host_config config;
  config.enabled = std::vector<std::string>{"good", "ghost"};
  harness h({good_plugin()}, config);
  expect_good_loaded(h);
  const auto problems = h.problems();
  ASSERT_EQ(problems.size(), 1U) << joined(h.lines());
  EXPECT_THAT(problems.front(), HasSubstr("'ghost'"));
}

// An unknown key in [plugin.<id>] rejects that plugin as config_invalid, naming the key.
TEST(PluginLoader, RejectsUnknownPluginConfigKey) {
  th::host_config config;
  config.file = "trellis-test.toml";
  config.plugin_tables["base"] = boost::json::object{{"colour", "blue"}};
  const fs::path base = fixture("dependency_chain", "b_base.so");
  harness h({good_plugin(), base}, config);
  expect_rejected_beside_good(h, base, reject_reason::config_invalid,
                              "unknown key 'plugin.base.colour'");
  EXPECT_THAT(h.record(base)->error, HasSubstr("trellis-test.toml"));
  EXPECT_THAT(h.record(base)->error, HasSubstr("known: trace_file"));
}

// A [plugin.<id>] value of the wrong type rejects the plugin, naming the key and type.
TEST(PluginLoader, RejectsPluginConfigOfWrongType) {
  th::host_config config;
  config.plugin_tables["base"] = boost::json::object{{"trace_file", 42}};
  const fs::path base = fixture("dependency_chain", "b_base.so");
  harness h({good_plugin(), base}, config);
  expect_rejected_beside_good(h, base, reject_reason::config_invalid,
                              "'plugin.base.trace_file' must be of type string");
}

// A plugin rejected for its config takes its dependents down, each with its own line.
TEST(PluginLoader, RejectsDependentOfPluginWithInvalidConfig) {
  th::host_config config;
  config.plugin_tables["base"] = boost::json::object{{"trace_file", true}};
  const fs::path dependent = fixture("dependency_chain", "a_dependent.so");
  const fs::path base = fixture("dependency_chain", "b_base.so");
  harness h({good_plugin(), dependent, base}, config);
  EXPECT_EQ(h.record(base)->reason, reject_reason::config_invalid);
  EXPECT_EQ(h.record(dependent)->reason, reject_reason::dependency_rejected);
  EXPECT_THAT(h.record(dependent)->error, HasSubstr("depends on 'base', which was rejected"));
  EXPECT_EQ(h.problems().size(), 2U) << joined(h.lines());
  expect_good_loaded(h);
}

// TRELLIS_PLUGIN_<ID>_<KEY> provides a plugin's config value.
TEST(PluginLoader, PluginConfigComesFromEnvironmentOverride) {
  temp_dir tmp;
  const fs::path trace = tmp.path() / "trace.txt";
  harness h({fixture("dependency_chain", "b_base.so")}, {},
            env_map{{"TRELLIS_PLUGIN_BASE_TRACE_FILE", trace.string()}});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  EXPECT_THAT(read_lines(trace), ElementsAre("init base", "post_load base"));
}

// -- ABI stability: foreign toolchains and older headers ----------------------

const fs::path& libcxx_plugin() {
  static const fs::path path = fixture("libcxx", "libcxx.so");
  return path;
}

// A plugin built with clang++ -stdlib=libc++ loads into the g++/libstdc++ host.
TEST(PluginLoader, LoadsLibcxxPlugin) {
  ASSERT_TRUE(fs::exists(libcxx_plugin()))
      << "the libc++ fixture is built only when CMake finds clang++";
  harness h({good_plugin(), libcxx_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  const th::plugin_record* rec = h.record(libcxx_plugin());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->state, plugin_state::loaded) << rec->error;
  expect_good_loaded(h);
  const th::page_entry* page = h.registry().find_page("GET", "/libcxx/echo/{word}");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->menu_title, "Echo");
  EXPECT_EQ(page->menu_order, 7);
}

// A libc++ command: UTF-8 strings both ways, exit codes, usage errors (2),
// errors (1) and exceptions thrown in the handler all cross the ABI.
TEST(PluginLoader, LibcxxCommandCrossesStringsErrorsAndExceptions) {
  ASSERT_TRUE(fs::exists(libcxx_plugin()));
  harness h({libcxx_plugin()});
  const th::command_entry* cmd = h.registry().find_command("libcxx-cmd");
  ASSERT_NE(cmd, nullptr);
  EXPECT_EQ(cmd->summary, "Exercise a plugin built with clang and libc++");
  struct outcome {
    int code;
    std::string out;
    std::string err;
  };
  auto run = [&](th::command_args args) {
    std::ostringstream out;
    std::ostringstream err;
    int code = th::call_command(*cmd, args, out, err);
    return outcome{code, out.str(), err.str()};
  };

  outcome ok = run({{"mode", {"ok"}}, {"text", {"h\xC3\xA9llo \xE2\x9C\x93"}}});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr(" says: h\xC3\xA9llo \xE2\x9C\x93\n"));
  EXPECT_THAT(ok.out, HasSubstr("libc++ "));
  EXPECT_EQ(ok.err, "");

  outcome usage = run({{"mode", {"usage"}}});
  EXPECT_EQ(usage.code, 2);
  EXPECT_THAT(usage.err, HasSubstr("trellis libcxx-cmd: argument 'mode': usage error requested"));

  outcome fail = run({{"mode", {"fail"}}});
  EXPECT_EQ(fail.code, 1);
  EXPECT_THAT(fail.err, HasSubstr("trellis libcxx-cmd: libc++ plugin failed on purpose"));

  outcome thrown = run({{"mode", {"throw"}}});
  EXPECT_EQ(thrown.code, 1);
  EXPECT_THAT(thrown.err, HasSubstr("uncaught exception: std::runtime_error thrown in libc++"));

  outcome exit = run({{"mode", {"exit"}}});
  EXPECT_EQ(exit.code, 3);
  EXPECT_EQ(exit.err, "");

  outcome unknown = run({{"mode", {"sideways"}}});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("not 'sideways'"));
}

// A libc++ page: path parameters, headers and bodies cross as UTF-8; a host
// refusal reaches the plugin as an exception; thrown errors become statuses.
TEST(PluginLoader, LibcxxPageCrossesStringsErrorsAndExceptions) {
  ASSERT_TRUE(fs::exists(libcxx_plugin()));
  harness h({libcxx_plugin()});
  const th::page_entry* page = h.registry().find_page("GET", "/libcxx/echo/{word}");
  ASSERT_NE(page, nullptr);
  th::page_request req;
  req.method = "GET";
  req.path = "/libcxx/echo/w\xC3\xB6rd";
  req.path_params = {{"word", "w\xC3\xB6rd"}};
  req.headers = {{"X-Test", "yes"}};

  th::page_response ok;
  th::call_status s = th::call_page(*page, req, ok);
  EXPECT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.body, "word=w\xC3\xB6rd method=GET header=yes");
  EXPECT_THAT(ok.headers,
              ::testing::Contains(std::pair<std::string, std::string>("X-Plugin", "libcxx")));

  th::page_request cookie = req;
  cookie.query_params = {{"cookie", "1"}};
  th::page_response refused;
  s = th::call_page(*page, cookie, refused);
  EXPECT_TRUE(s.ok()) << s.message;
  EXPECT_THAT(refused.body, HasSubstr("refused(" + std::to_string(TRELLIS_PERMISSION_DENIED) +
                                      ")=set header: header 'Set-Cookie' is set by the host only"));

  th::page_request throws = req;
  throws.query_params = {{"throw", "1"}};
  th::page_response thrown;
  s = th::call_page(*page, throws, thrown);
  EXPECT_EQ(s.status, TRELLIS_ERROR);
  EXPECT_EQ(s.message, "uncaught exception: page threw in libc++");

  th::page_request fails = req;
  fails.query_params = {{"fail", "1"}};
  th::page_response failed;
  s = th::call_page(*page, fails, failed);
  EXPECT_EQ(s.status, TRELLIS_NOT_FOUND);
  EXPECT_EQ(s.message, "page failed on purpose");
}

const fs::path& abi_1_0_plugin() {
  static const fs::path path = fixture("abi_1_0", "abi_1_0.so");
  return path;
}

// A C plugin built against the frozen 1.0 header loads into the 1.1 host, and
// its smaller page descriptor reads as zero for the fields 1.1 appended.
TEST(PluginLoader, LoadsPluginBuiltAgainstAbi10) {
  harness h({good_plugin(), abi_1_0_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  const th::plugin_record* rec = h.record(abi_1_0_plugin());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->state, plugin_state::loaded) << rec->error;
  ASSERT_TRUE(rec->info.has_value());
  EXPECT_EQ(rec->info->abi_major, 1U);
  EXPECT_EQ(rec->info->abi_minor, 0U);
  const th::page_entry* page = h.registry().find_page("GET", "/abi-one-zero/old");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->menu_title, "Old page");
  EXPECT_EQ(page->menu_order, 0) << "the host read past the 1.0 descriptor's struct_size";
  expect_good_loaded(h);
}

const fs::path& abi_1_1_plugin() {
  static const fs::path path = fixture("abi_1_1", "abi_1_1.so");
  return path;
}

// A C plugin built against the frozen 1.1 header loads into the current host
// and keeps what 1.1 appended: its page's menu_order arrives.
TEST(PluginLoader, LoadsPluginBuiltAgainstAbi11) {
  harness h({good_plugin(), abi_1_1_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  const th::plugin_record* rec = h.record(abi_1_1_plugin());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->state, plugin_state::loaded) << rec->error;
  ASSERT_TRUE(rec->info.has_value());
  EXPECT_EQ(rec->info->abi_minor, 1U);
  const th::page_entry* page = h.registry().find_page("GET", "/abi-one-one/menu");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->menu_title, "One-one");
  EXPECT_EQ(page->menu_order, 7);
  expect_good_loaded(h);
}

// The 1.1 plugin calls log_enabled, appended in 1.1, through the newer table.
TEST(PluginLoader, Abi11PluginCallsLogEnabledThroughNewerTable) {
  harness h({abi_1_1_plugin()});
  const th::command_entry* cmd = h.registry().find_command("one-one");
  ASSERT_NE(cmd, nullptr);
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(th::call_command(*cmd, {}, out, err), 0) << err.str();
  // The harness logs at trace level, so both levels are on for the plugin too.
  EXPECT_EQ(out.str(), "critical on\ntrace on\n");
}

const fs::path& abi_1_2_plugin() {
  static const fs::path path = fixture("abi_1_2", "abi_1_2.so");
  return path;
}

// The header value of `name` in `headers`, or "" when absent.
std::string header_value(const th::string_pairs& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

// A C plugin built against the frozen 1.2 header loads into the current host
// with what 1.2 appended: its asset, and an EVENT handler beside its pages.
TEST(PluginLoader, LoadsPluginBuiltAgainstAbi12) {
  harness h({good_plugin(), abi_1_2_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  const th::plugin_record* rec = h.record(abi_1_2_plugin());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->state, plugin_state::loaded) << rec->error;
  ASSERT_TRUE(rec->info.has_value());
  EXPECT_EQ(rec->info->abi_major, 1U);
  EXPECT_EQ(rec->info->abi_minor, 2U);
  const th::page_entry* panel = h.registry().find_page("GET", "/abi-one-two/panel");
  ASSERT_NE(panel, nullptr);
  EXPECT_EQ(panel->menu_title, "One-two");
  EXPECT_EQ(panel->menu_order, 3);
  EXPECT_NE(h.registry().find_page("POST", "/abi-one-two/echo"), nullptr);
  EXPECT_NE(h.registry().find_page("EVENT", "/abi-one-two/bump"), nullptr);
  const th::asset_entry* css = h.registry().find_asset("abi-one-two", "css/one-two.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->mime_type, "text/css");
  EXPECT_EQ(css->bytes, ".one-two { color: teal; }\n");
  EXPECT_FALSE(css->etag.empty());
  expect_good_loaded(h);
}

// The 1.2 plugin's page asks for the shared layout (response_use_layout) and
// its EVENT handler answers with JSON.
TEST(PluginLoader, Abi12PluginUsesLayoutAndAnswersEvents) {
  harness h({abi_1_2_plugin()});
  const th::page_entry* panel = h.registry().find_page("GET", "/abi-one-two/panel");
  ASSERT_NE(panel, nullptr);
  th::page_request req;
  req.method = "GET";
  req.path = "/abi-one-two/panel";
  th::page_response res;
  th::call_status s = th::call_page(*panel, req, res);
  ASSERT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.layout_title, std::optional<std::string>("Panel of a 1.2 plugin"));
  EXPECT_EQ(res.body, "<p class=\"one-two\">made by ABI 1.2</p>");

  const th::page_entry* bump = h.registry().find_page("EVENT", "/abi-one-two/bump");
  ASSERT_NE(bump, nullptr);
  th::page_request event;
  event.method = "EVENT";
  event.path = "/abi-one-two/panel";
  event.body = "41";
  th::page_response answer;
  s = th::call_page(*bump, event, answer);
  ASSERT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(answer.body, "{\"count\": \"42\"}");
  EXPECT_EQ(header_value(answer.headers, "Content-Type"), "application/json");
  EXPECT_FALSE(answer.layout_title.has_value());
}

// request_json and request_form_param, appended in 1.2, read request bodies
// for the 1.2 plugin: values by JSON Pointer with their types, a missing
// pointer, a body that is not JSON, and a form field.
TEST(PluginLoader, Abi12PluginReadsJsonAndFormBodies) {
  harness h({abi_1_2_plugin()});
  const th::page_entry* echo = h.registry().find_page("POST", "/abi-one-two/echo");
  ASSERT_NE(echo, nullptr);
  auto post = [&](std::string content_type, std::string body) {
    th::page_request req;
    req.method = "POST";
    req.path = "/abi-one-two/echo";
    req.headers = {{"Content-Type", std::move(content_type)}};
    req.body = std::move(body);
    th::page_response res;
    th::call_status s = th::call_page(*echo, req, res);
    EXPECT_TRUE(s.ok()) << s.message;
    return res;
  };

  th::page_response json =
      post("application/json", R"({"name": "Ada L\u00f6we", "tags": ["a", {"k": 1}], "count": 3})");
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.body, "name=Ada L\xC3\xB6we (type " + std::to_string(TRELLIS_JSON_STRING) + ")\n" +
                           "tags/1={\"k\":1} (type " + std::to_string(TRELLIS_JSON_OBJECT) + ")\n" +
                           "count=3 (type " + std::to_string(TRELLIS_JSON_NUMBER) + ")\n" + "missing status " +
                           std::to_string(TRELLIS_NOT_FOUND) + ": no value at JSON pointer '/missing'\n");

  th::page_response broken = post("application/json", "{\"name\": ");
  EXPECT_EQ(broken.status, 400);
  EXPECT_THAT(broken.body, ::testing::StartsWith("body status " + std::to_string(TRELLIS_INVALID_ARGUMENT) +
                                                 ": request body is not JSON: "));

  th::page_response form = post("application/x-www-form-urlencoded", "name=Grace+H%C3%B6pper&x=1");
  EXPECT_EQ(form.status, 200);
  EXPECT_EQ(form.body, "form name=Grace H\xC3\xB6pper (type -1)\n");
}

// The 1.2 plugin's command calls publish, appended in 1.2, through the newer
// table: an object is accepted with no server running, anything else refused.
TEST(PluginLoader, Abi12PluginPublishesThroughNewerTable) {
  harness h({abi_1_2_plugin()});
  const th::command_entry* cmd = h.registry().find_command("one-two");
  ASSERT_NE(cmd, nullptr);
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(th::call_command(*cmd, {}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "publish object: " + std::to_string(TRELLIS_OK) + "\npublish array: " +
                           std::to_string(TRELLIS_INVALID_ARGUMENT) + "\npublished values must be a JSON object\n");
  EXPECT_EQ(err.str(), "");
}

const fs::path& abi_1_3_plugin() {
  static const fs::path path = fixture("abi_1_3", "abi_1_3.so");
  return path;
}

// The value of the sample `name` in the host's /metrics text; -1 when absent.
double metric_value(const th::plugin_host& host, std::string_view name) {
  for (const std::string& line : split_lines(th::scrape(host))) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ' ') {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  return -1;
}

// A C plugin built against the frozen 1.3 header loads into the current host
// with what 1.3 appended: its named query, visualization, asset and metric.
TEST(PluginLoader, LoadsPluginBuiltAgainstAbi13) {
  harness h({good_plugin(), abi_1_3_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  const th::plugin_record* rec = h.record(abi_1_3_plugin());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->state, plugin_state::loaded) << rec->error;
  ASSERT_TRUE(rec->info.has_value());
  EXPECT_EQ(rec->info->abi_major, 1U);
  EXPECT_EQ(rec->info->abi_minor, 3U);
  const th::query_entry* q = h.registry().find_query("abi-one-three/count-kind");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->source, "nowhere");
  ASSERT_EQ(q->params.size(), 1U);
  EXPECT_EQ(q->params[0].name, "kind");
  ASSERT_EQ(q->columns.size(), 1U);
  EXPECT_EQ(q->columns[0].type, TRELLIS_VALUE_INT64);
  EXPECT_NE(h.registry().find_visualization("tally"), nullptr);
  EXPECT_NE(h.registry().find_page("GET", "/abi-one-three/tally"), nullptr);
  EXPECT_NE(h.registry().find_asset("abi-one-three", "tally.css"), nullptr);
  EXPECT_GE(metric_value(h.host(), "trellis_plugin_abi_one_three_pages_total"), 0.0)
      << "the plugin's counter is on /metrics";
  expect_good_loaded(h);
}

// The 1.3 plugin's page renders with its own visualization through render,
// which hands back the asset render_require named; the page passes it to
// the layout with response_add_asset and counts itself with metric_add.
TEST(PluginLoader, Abi13PluginRendersIntoTheLayoutAndCounts) {
  harness h({abi_1_3_plugin()});
  const th::page_entry* tally = h.registry().find_page("GET", "/abi-one-three/tally");
  ASSERT_NE(tally, nullptr);
  const double before = metric_value(h.host(), "trellis_plugin_abi_one_three_pages_total");
  for (int i = 0; i < 2; ++i) {
    th::page_request req;
    req.method = "GET";
    req.path = "/abi-one-three/tally";
    th::page_response res;
    th::call_status s = th::call_page(*tally, req, res);
    ASSERT_TRUE(s.ok()) << s.message;
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.layout_title, std::optional<std::string>("Tally of a 1.3 plugin"));
    EXPECT_EQ(res.assets, std::vector<std::string>{"/abi-one-three/static/tally.css"});
    EXPECT_EQ(res.body, "<p class=\"tally\">3 values, sum 60</p>");
  }
  EXPECT_EQ(metric_value(h.host(), "trellis_plugin_abi_one_three_pages_total"), before + 2);
}

// The 1.3 plugin's command gets the host's refusals back through the newer
// table, each with its message: a named query whose source is not
// configured, an unknown query, an undeclared option, a negative counter
// increment and a gauge operation on a counter.
TEST(PluginLoader, Abi13PluginGetsRefusalsThroughNewerTable) {
  harness h({abi_1_3_plugin()});
  const th::command_entry* cmd = h.registry().find_command("one-three");
  ASSERT_NE(cmd, nullptr);
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(th::call_command(*cmd, {}, out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  const std::vector<std::string> lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 5U) << out.str();
  const std::string not_found = std::to_string(TRELLIS_NOT_FOUND);
  const std::string invalid = std::to_string(TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(lines[0], "named_query: status " + not_found +
                          ": query 'abi-one-three/count-kind': no data source 'nowhere' (configured: none)");
  EXPECT_EQ(lines[1], "named_query unknown: status " + not_found + ": no named query 'abi-one-three/nope'");
  EXPECT_EQ(lines[2], "render bad option: status " + invalid +
                          ": unknown option 'colour' for visualization 'tally' (options: unit)");
  EXPECT_EQ(lines[3], "metric_add -1: status " + invalid +
                          ": metric_add on 'trellis_plugin_abi_one_three_pages_total': a counter only goes up "
                          "(value -1.000000)");
  EXPECT_EQ(lines[4], "metric_set: status " + invalid +
                          ": metric_set on 'trellis_plugin_abi_one_three_pages_total': it is a counter; use "
                          "metric_add");
}

const fs::path& whoami_plugin() {
  static const fs::path path = fixture("whoami", "whoami.so");
  return path;
}

// Runs the whoami page (ABI 1.4 through the SDK) for `request`; returns its body.
std::string whoami(const harness& h, th::page_request request) {
  const th::page_entry* me = h.registry().find_page("GET", "/whoami/me");
  if (me == nullptr) return "no page GET /whoami/me";
  request.method = "GET";
  request.path = "/whoami/me";
  th::page_response res;
  th::call_status s = th::call_page(*me, request, res);
  if (!s.ok()) return "failed: " + s.message;
  return res.body;
}

th::principal grace() {
  th::principal p;
  p.user_id = 12;
  p.name = "grace";
  p.roles = {"viewer", "admin"};
  p.session_key = "not-for-plugins";
  p.csrf_token = "not-for-plugins-either";
  return p;
}

// A plugin built with the SDK of ABI 1.4 learns who the request acts for:
// id, name and roles, and whether a permission is held; an undeclared
// permission ("x.y:z") and an anonymous request are "no".
TEST(PluginLoader, SdkPluginSeesRequestUserAndPermissions) {
  harness h({whoami_plugin()});
  EXPECT_THAT(h.problems(), IsEmpty()) << joined(h.lines());
  const th::plugin_record* rec = h.record(whoami_plugin());
  ASSERT_NE(rec, nullptr);
  ASSERT_EQ(rec->state, plugin_state::loaded) << rec->error;
  EXPECT_EQ(rec->info->abi_minor, unsigned{TRELLIS_ABI_MINOR});

  th::page_request signed_in;
  signed_in.user = grace();
  signed_in.allowed = [](std::string_view permission) { return permission == "whoami.profile:read"; };
  EXPECT_EQ(whoami(h, signed_in),
            "user 12 grace\nroles [viewer] [admin]\nadmin role: yes\nallowed x.y:z: no\n");
  signed_in.query_params = {{"permission", "whoami.profile:read"}};
  EXPECT_EQ(whoami(h, signed_in),
            "user 12 grace\nroles [viewer] [admin]\nadmin role: yes\nallowed whoami.profile:read: yes\n");

  // Without a user the check still decides: the anonymous role may hold the permission.
  th::page_request anonymous;
  anonymous.allowed = [](std::string_view permission) { return permission == "whoami.profile:read"; };
  anonymous.query_params = {{"permission", "whoami.profile:read"}};
  EXPECT_EQ(whoami(h, anonymous), "anonymous\nallowed whoami.profile:read: yes\n");

  th::page_request no_check;
  no_check.user = grace();
  no_check.user->roles.clear();
  no_check.query_params = {{"permission", "whoami.profile:read"}};
  EXPECT_EQ(whoami(h, no_check), "user 12 grace\nroles\nadmin role: no\nallowed whoami.profile:read: no\n");
}

// The 1.0 plugin's page and command run through the current host.
TEST(PluginLoader, CallsPageAndCommandOfAbi10Plugin) {
  harness h({abi_1_0_plugin()});
  const th::page_entry* page = h.registry().find_page("GET", "/abi-one-zero/old");
  ASSERT_NE(page, nullptr);
  th::page_request req;
  req.method = "GET";
  req.path = "/abi-one-zero/old";
  th::page_response res;
  th::call_status s = th::call_page(*page, req, res);
  EXPECT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "old page at /abi-one-zero/old");

  const th::command_entry* cmd = h.registry().find_command("old-cmd");
  ASSERT_NE(cmd, nullptr);
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(th::call_command(*cmd, {}, out, err), 0);
  EXPECT_EQ(out.str(), "hello from ABI 1.0\n");
  EXPECT_EQ(err.str(), "");
}

}  // namespace
