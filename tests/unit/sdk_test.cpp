#include <trellis/sdk.hpp>
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "trellis/host/calls.hpp"
#include "trellis/host/plugin_host.hpp"
#include "trellis/host/registry.hpp"

// The SDK is exercised as a plugin would be, without a shared library: the
// entry template is instantiated here and driven with the host's real
// function table, so every call crosses the same C ABI as in production.
namespace {

namespace host = trellis::host;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

// The setup function the entry point calls; each test installs its own body.
std::function<void(trellis::plugin&)> current_setup;
void setup(trellis::plugin& p) { current_setup(p); }
using entry = trellis::detail::entry<&setup>;

class Sdk : public ::testing::Test {
 protected:
  Sdk() {
    plugin_.plugin_id = "sdk-test";
    plugin_.registry = &registry_;
    plugin_.staging = &staging_;
    plugin_.config_json = R"({"greeting": "hi"})";
  }
  ~Sdk() override {
    // As the host does: shutdown first, then release the contributions.
    if (state_ != nullptr) entry::def()->shutdown(state_);
    staging_.release();
    current_setup = nullptr;
  }

  // Runs the plugin's init with `fn` as its setup, as the host would, with
  // the host's table or `table` (which must outlive the plugin).
  host::call_status init(std::function<void(trellis::plugin&)> fn,
                         const trellis_host_api* table = host::host_api()) {
    current_setup = std::move(fn);
    host::call_status result;
    trellis_error_s err{&result};
    result.status = entry::def()->init(&plugin_, table, &state_, &err);
    plugin_.staging = nullptr;  // registration is over
    return result;
  }
  void init_ok(std::function<void(trellis::plugin&)> fn,
               const trellis_host_api* table = host::host_api()) {
    host::call_status st = init(std::move(fn), table);
    ASSERT_TRUE(st.ok()) << st.message;
    ASSERT_NE(state_, nullptr);
  }

  host::call_status page(const std::string& key, const host::page_request& request,
                         host::page_response& response) {
    return host::call_page(staging_.pages.at(key), request, response);
  }
  int command(const std::string& name, const host::command_args& args) {
    out_.str("");
    err_.str("");
    return host::call_command(staging_.commands.at(name), args, out_, err_);
  }

  host::registry registry_;
  host::contribution_set staging_;
  trellis_host_s plugin_;
  void* state_ = nullptr;
  std::ostringstream out_;
  std::ostringstream err_;
  trellis_host_api older_api_{};  // a table as an older host hands it out
};

}  // namespace

// The entry point describes a plugin of this SDK's ABI version, with all callbacks.
TEST_F(Sdk, DefinitionCarriesAbiVersion) {
  const trellis_plugin_def* def = entry::def();
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def, entry::def()) << "one static definition";
  EXPECT_EQ(def->struct_size, sizeof(trellis_plugin_def));
  EXPECT_EQ(def->abi_major, unsigned{TRELLIS_ABI_MAJOR});
  EXPECT_EQ(def->abi_minor, unsigned{TRELLIS_ABI_MINOR});
  EXPECT_NE(def->init, nullptr);
  EXPECT_NE(def->post_load, nullptr);
  EXPECT_NE(def->shutdown, nullptr);
}

// add_page, add_command and add_visualization become descriptors the host accepts.
TEST_F(Sdk, RegistersContributionsThroughTheHost) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.method = "POST",
                .path = "/items/{id}",
                .permission = "sdk-test.items:write",
                .menu = "Items",
                .menu_order = 4},
               [](trellis::request&, trellis::response&) {});
    p.add_command({.name = "greet",
                   .summary = "Greets",
                   .description = "Says hello",
                   .permission = "sdk-test.greet:run",
                   .args = {trellis::arg::positional("who", "Who"),
                            trellis::arg::option("times", "How often", "1"),
                            trellis::arg::flag("loud", "Shout"),
                            trellis::arg{.name = "tag", .multiple = true}}},
                  [](trellis::command&) { return 0; });
    p.add_visualization(
        {.name = "table", .summary = "A table"},
        [](const trellis::dataset&, std::string_view) { return trellis::rendering{}; });
  });
  const host::page_entry& page = staging_.pages.at("POST /sdk-test/items/{id}");
  EXPECT_EQ(page.permission, "sdk-test.items:write");
  EXPECT_EQ(page.menu_title, "Items");
  EXPECT_EQ(page.menu_order, 4);
  const host::command_entry& cmd = staging_.commands.at("greet");
  EXPECT_EQ(cmd.summary, "Greets");
  EXPECT_EQ(cmd.description, "Says hello");
  EXPECT_EQ(cmd.permission, "sdk-test.greet:run");
  ASSERT_EQ(cmd.args.size(), 4u);
  EXPECT_EQ(cmd.args[0].kind, TRELLIS_ARG_POSITIONAL);
  EXPECT_TRUE(cmd.args[0].required);
  EXPECT_EQ(cmd.args[1].kind, TRELLIS_ARG_OPTION);
  EXPECT_EQ(cmd.args[1].default_value, "1");
  EXPECT_FALSE(cmd.args[1].required);
  EXPECT_EQ(cmd.args[2].kind, TRELLIS_ARG_FLAG);
  EXPECT_TRUE(cmd.args[3].multiple);
  EXPECT_EQ(staging_.visualizations.at("table").summary, "A table");
  EXPECT_EQ(staging_.visualizations.at("table").options_schema_json, "{}");
}

// A page handler reads the request and builds the response through the wrappers.
TEST_F(Sdk, PageHandlerReadsRequestAndWritesResponse) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.path = "/items/{id}"}, [](trellis::request& req, trellis::response& res) {
      std::string body = std::string(req.method()) + " " + std::string(req.path()) +
                         " id=" + std::string(*req.param("id")) +
                         " q=" + std::string(req.query("q").value_or("-")) +
                         " missing=" + std::string(req.query("missing").value_or("-")) +
                         " accept=" + std::string(req.header("ACCEPT").value_or("-")) +
                         " session=" + std::string(req.cookie("session").value_or("-")) +
                         " body=" + std::string(req.body());
      res.status(202).header("X-Item", "42").json(body);
    });
  });
  host::page_request request;
  request.method = "GET";
  request.path = "/sdk-test/items/42";
  request.path_params = {{"id", "42"}};
  request.query_params = {{"q", "x y"}};
  request.headers = {{"Accept", "text/html"}};
  request.cookies = {{"session", "s1"}};
  request.body = "payload";
  host::page_response response;
  host::call_status st = page("GET /sdk-test/items/{id}", request, response);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(
      response.body,
      "GET /sdk-test/items/42 id=42 q=x y missing=- accept=text/html session=s1 body=payload");
  EXPECT_EQ(response.headers,
            (host::string_pairs{{"X-Item", "42"}, {"Content-Type", "application/json"}}));
}

namespace {

// A page that writes what request::user() and request::allowed() say.
void add_whoami_page(trellis::plugin& p) {
  p.add_page({.path = "/me"}, [](trellis::request& req, trellis::response& res) {
    std::string body;
    if (std::optional<trellis::user> u = req.user()) {
      body = std::to_string(u->id) + " " + u->name + " roles:";
      for (const auto& r : u->roles) body += " " + r;
      body += u->has_role("admin") ? " (admin)" : " (not admin)";
    } else {
      body = "anonymous";
    }
    body += std::string(" read:") + (req.allowed("sdk-test.items:read") ? "yes" : "no");
    body += std::string(" xyz:") + (req.allowed("x.y:z") ? "yes" : "no");
    res.write(body);
  });
}

host::page_request signed_in_request() {
  host::page_request request;
  request.method = "GET";
  request.path = "/sdk-test/me";
  host::principal p;
  p.user_id = 7;
  p.name = "grace";
  p.roles = {"viewer", "admin"};
  request.user = p;
  request.allowed = [](std::string_view permission) { return permission == "sdk-test.items:read"; };
  return request;
}

}  // namespace

// request::user() copies the id, name and roles; allowed() answers per permission.
TEST_F(Sdk, ReadsRequestUserAndPermissions) {
  init_ok(add_whoami_page);
  host::page_response response;
  host::call_status st = page("GET /sdk-test/me", signed_in_request(), response);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(response.body, "7 grace roles: viewer admin (admin) read:yes xyz:no");

  // Without a user, the host's check still answers (the anonymous role's permissions).
  host::page_request anonymous = signed_in_request();
  anonymous.user.reset();
  host::page_response anonymous_response;
  st = page("GET /sdk-test/me", anonymous, anonymous_response);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(anonymous_response.body, "anonymous read:yes xyz:no");
  anonymous.allowed = nullptr;  // no anonymous role: nothing is allowed
  host::page_response nobody_response;
  st = page("GET /sdk-test/me", anonymous, nobody_response);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(nobody_response.body, "anonymous read:no xyz:no");
}

// On a host whose table ends before the 1.4 calls, user() is nullopt and
// allowed() false, without calling past the table's end (those slots are
// NULL here, so a call would crash).
TEST_F(Sdk, UserAndAllowedDegradeOnAnOlderHost) {
  older_api_ = *host::host_api();
  older_api_.struct_size = offsetof(trellis_host_api, request_user);
  older_api_.request_user = nullptr;
  older_api_.request_allowed = nullptr;
  init_ok(add_whoami_page, &older_api_);
  host::page_response response;
  host::call_status st = page("GET /sdk-test/me", signed_in_request(), response);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(response.body, "anonymous read:no xyz:no");
}

// has_role compares role names exactly.
TEST(SdkUser, HasRoleComparesExactly) {
  const trellis::user u{.id = 1, .name = "ada", .roles = {"admin", "viewer"}};
  EXPECT_TRUE(u.has_role("admin"));
  EXPECT_TRUE(u.has_role("viewer"));
  EXPECT_FALSE(u.has_role("Admin"));
  EXPECT_FALSE(u.has_role("adm"));
  EXPECT_FALSE(u.has_role(""));
  EXPECT_FALSE(trellis::user{}.has_role("admin"));
}

// text() sets a plain-text content type and appends the body.
TEST_F(Sdk, TextResponseSetsContentType) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.path = "/"},
               [](trellis::request&, trellis::response& res) { res.text("a").write("b"); });
  });
  host::page_request request;
  host::page_response response;
  ASSERT_TRUE(page("GET /sdk-test", request, response).ok());
  EXPECT_EQ(response.body, "ab");
  EXPECT_EQ(response.headers, (host::string_pairs{{"Content-Type", "text/plain; charset=utf-8"}}));
}

// A trellis::error thrown in a handler keeps its status code and message.
TEST_F(Sdk, PreservesTrellisErrorCode) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.path = "/denied"}, [](trellis::request&, trellis::response&) {
      throw trellis::error("you may not see this", TRELLIS_PERMISSION_DENIED);
    });
    p.add_page({.path = "/odd"}, [](trellis::request&, trellis::response&) {
      throw trellis::error("claims success", TRELLIS_OK);
    });
  });
  host::page_request request;
  host::page_response response;
  host::call_status st = page("GET /sdk-test/denied", request, response);
  EXPECT_EQ(st.status, TRELLIS_PERMISSION_DENIED);
  EXPECT_EQ(st.message, "you may not see this");
  st = page("GET /sdk-test/odd", request, response);
  EXPECT_EQ(st.status, TRELLIS_ERROR) << "an error never reports success";
  EXPECT_EQ(st.message, "claims success");
}

// A std::exception becomes TRELLIS_ERROR with "uncaught exception: " and its what().
TEST_F(Sdk, ReportsStdExceptionMessage) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.path = "/boom"}, [](trellis::request&, trellis::response&) {
      throw std::out_of_range("index 7 out of range");
    });
  });
  host::page_request request;
  host::page_response response;
  host::call_status st = page("GET /sdk-test/boom", request, response);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "uncaught exception: index 7 out of range");
}

// An exception of any other type still becomes a status with a message.
TEST_F(Sdk, ReportsUnknownExceptionType) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.path = "/int"}, [](trellis::request&, trellis::response&) { throw 42; });
  });
  host::page_request request;
  host::page_response response;
  host::call_status st = page("GET /sdk-test/int", request, response);
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "uncaught exception of unknown type");
}

// A host call the host refuses throws trellis::error carrying the host's status and reason.
TEST_F(Sdk, TurnsRefusedHostCallIntoError) {
  init_ok([](trellis::plugin& p) {
    p.add_page({.path = "/cookie"}, [](trellis::request&, trellis::response& res) {
      res.header("Set-Cookie", "session=stolen");
    });
    p.add_page({.path = "/status"}, [](trellis::request&, trellis::response& res) {
      try {
        res.status(1000);
      } catch (const trellis::error& e) {
        res.write(std::to_string(e.code()) + ": " + e.what());
      }
    });
  });
  host::page_request request;
  host::page_response response;
  host::call_status st = page("GET /sdk-test/cookie", request, response);
  EXPECT_EQ(st.status, TRELLIS_PERMISSION_DENIED);
  EXPECT_EQ(st.message, "set header: header 'Set-Cookie' is set by the host only");
  EXPECT_TRUE(response.headers.empty());
  st = page("GET /sdk-test/status", request, response);
  EXPECT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(response.body, "2: set status: HTTP status 1000 is outside 200-599");
}

// usage_error makes the command exit with 2 and its message.
TEST_F(Sdk, MapsUsageErrorToExitCodeTwo) {
  init_ok([](trellis::plugin& p) {
    p.add_command({.name = "strict", .summary = "Strict"}, [](trellis::command&) -> int {
      throw trellis::usage_error("--limit must be a number");
    });
  });
  EXPECT_EQ(command("strict", {}), 2);
  EXPECT_EQ(err_.str(),
            "trellis strict: --limit must be a number\n"
            "Run 'trellis strict --help' for usage.\n");
}

// Other exceptions in a command exit 1 with the message.
TEST_F(Sdk, ReportsCommandException) {
  init_ok([](trellis::plugin& p) {
    p.add_command({.name = "fail", .summary = "Fails"},
                  [](trellis::command&) -> int { throw std::runtime_error("disk full"); });
  });
  EXPECT_EQ(command("fail", {}), 1);
  EXPECT_EQ(err_.str(), "trellis fail: uncaught exception: disk full\n");
}

// get, all and flag read the parsed arguments; out and err write the streams.
TEST_F(Sdk, ReadsArgumentsAndWritesStreams) {
  init_ok([](trellis::plugin& p) {
    p.add_command(
        {.name = "show",
         .summary = "Shows",
         .args = {trellis::arg::positional("file", "File"),
                  trellis::arg::option("mode", "Mode", "fast"),
                  trellis::arg{.name = "tag", .multiple = true},
                  trellis::arg::flag("verbose", "More"), trellis::arg::flag("quiet", "Less")}},
        [](trellis::command& cmd) {
          std::string line = "file=" + std::string(cmd.get("file").value_or("?")) +
                             " mode=" + std::string(cmd.get("mode").value_or("unset")) + " tags=";
          for (std::string_view t : cmd.all("tag")) line += std::string(t) + ";";
          line += cmd.flag("verbose") ? " verbose" : "";
          line += cmd.flag("quiet") ? " quiet" : "";
          cmd.out(line + "\n");
          cmd.err("warning\n");
          trellis_command_ctx raw = cmd;
          return raw == cmd.raw() ? 5 : 6;
        });
  });
  EXPECT_EQ(command("show", {{"file", {"a.txt"}}, {"tag", {"x", "y", "z"}}, {"verbose", {"true"}}}),
            5);
  EXPECT_EQ(out_.str(), "file=a.txt mode=unset tags=x;y;z; verbose\n");
  EXPECT_EQ(err_.str(), "warning\n");
  EXPECT_EQ(command("show", {{"file", {"b"}}, {"mode", {"slow"}}}), 5);
  EXPECT_EQ(out_.str(), "file=b mode=slow tags=\n");
}

// Asking for an argument the command never declared fails with NOT_FOUND, naming it.
TEST_F(Sdk, RefusesUndeclaredArgument) {
  init_ok([](trellis::plugin& p) {
    p.add_command({.name = "typo", .summary = "Typo"}, [](trellis::command& cmd) {
      try {
        (void)cmd.get("nmae");
      } catch (const trellis::error& e) {
        cmd.out(std::to_string(e.code()) + " " + e.what());
        return 0;
      }
      return 1;
    });
  });
  EXPECT_EQ(command("typo", {}), 0);
  EXPECT_EQ(out_.str(), "3 argument count: command 'typo' declares no argument 'nmae'");
}

// A visualization handler sees the data set and its rendering reaches the host.
TEST_F(Sdk, RendersVisualization) {
  init_ok([](trellis::plugin& p) {
    p.add_visualization({.name = "csv", .summary = "CSV"}, [](const trellis::dataset& data,
                                                              std::string_view options) {
      std::string body(options);
      body += "\n";
      for (std::size_t c = 0; c < data.column_count(); ++c) {
        body += std::string(data.column_name(c)) + (c + 1 < data.column_count() ? "," : "\n");
      }
      for (std::size_t r = 0; r < data.row_count(); ++r) {
        body += std::to_string(data.at(r, 0).as.i64) + "," + std::to_string(data.at(r, 1).as.f64) +
                "\n";
      }
      return trellis::rendering{"text/csv", body};
    });
    p.add_visualization(
        {.name = "none", .summary = "Nothing"},
        [](const trellis::dataset&, std::string_view) { return trellis::rendering{}; });
  });
  trellis_column columns[2] = {};
  columns[0].name = trellis::to_str("n");
  columns[1].name = trellis::to_str("x");
  trellis_value values[4] = {};
  for (std::size_t r = 0; r < 2; ++r) {
    values[2 * r].type = TRELLIS_VALUE_INT64;
    values[2 * r].as.i64 = static_cast<int64_t>(r + 1);
    values[2 * r + 1].type = TRELLIS_VALUE_DOUBLE;
    values[2 * r + 1].as.f64 = 0.5 * static_cast<double>(r + 1);
  }
  trellis_dataset data{sizeof(trellis_dataset), columns, 2, values, 2};
  host::rendering out;
  host::call_status st =
      host::call_render(staging_.visualizations.at("csv"), data, "{\"a\":1}", out);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(out.mime_type, "text/csv");
  EXPECT_EQ(out.body, "{\"a\":1}\nn,x\n1,0.500000\n2,1.000000\n");

  // A rendering without a MIME type is refused by the host, and the SDK reports why.
  host::rendering none;
  st = host::call_render(staging_.visualizations.at("none"), data, "{}", none);
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(st.message, "set rendering: rendering needs a MIME type");
}

// A setup that throws rejects the plugin with the message; what it registered is still freed.
TEST_F(Sdk, ReportsThrowingSetup) {
  auto sentinel = std::make_shared<int>(0);
  host::call_status st = init([sentinel](trellis::plugin& p) {
    p.add_page({.path = "/"}, [sentinel](trellis::request&, trellis::response&) {});
    throw std::runtime_error("cannot reach the database");
  });
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "uncaught exception: cannot reach the database");
  EXPECT_EQ(state_, nullptr) << "no state is handed out when init fails";
  current_setup = nullptr;
  EXPECT_EQ(sentinel.use_count(), 2) << "the registered handler is owned by the host's staging";
  staging_.release();  // the host withdraws what a failed init registered
  EXPECT_EQ(sentinel.use_count(), 1) << "destroy freed the handler";
}

// A registration the host refuses throws from add_*, with the host's reason, and leaks nothing.
TEST_F(Sdk, ReportsRefusedRegistration) {
  auto sentinel = std::make_shared<int>(0);
  host::call_status st = init([sentinel](trellis::plugin& p) {
    p.add_command({.name = "serve", .summary = "Takes a host command"},
                  [sentinel](trellis::command&) { return 0; });
  });
  EXPECT_EQ(st.status, TRELLIS_ERROR);
  EXPECT_EQ(st.message, "register command serve: command 'serve' is reserved by the host");
  current_setup = nullptr;
  EXPECT_EQ(sentinel.use_count(), 1) << "the refused handler was freed by the SDK";
  EXPECT_TRUE(staging_.empty());

  plugin_.staging = &staging_;
  st = init([](trellis::plugin& p) {
    p.add_page({.path = "no-slash"}, [](trellis::request&, trellis::response&) {});
  });
  EXPECT_EQ(st.status, TRELLIS_INVALID_ARGUMENT);
  EXPECT_EQ(st.message, "register page no-slash: page path 'no-slash' must start with '/'");
}

// on_shutdown callbacks run in reverse order; one that throws does not stop the others.
TEST_F(Sdk, RunsShutdownCallbacksInReverseOrder) {
  std::vector<int> order;
  init_ok([&order](trellis::plugin& p) {
    p.on_shutdown([&order] { order.push_back(1); });
    p.on_shutdown([&order] {
      order.push_back(2);
      throw std::runtime_error("ignored at shutdown");
    });
    p.on_shutdown([&order] { order.push_back(3); });
  });
  EXPECT_TRUE(order.empty());
  entry::def()->shutdown(state_);
  state_ = nullptr;
  EXPECT_EQ(order, (std::vector<int>{3, 2, 1}));
}

// on_post_load callbacks run in order; an exception becomes post_load's status.
TEST_F(Sdk, RunsPostLoadCallbacks) {
  std::vector<int> order;
  init_ok([&order](trellis::plugin& p) {
    p.on_post_load([&order] { order.push_back(1); });
    p.on_post_load([&order] { order.push_back(2); });
  });
  host::call_status result;
  trellis_error_s err{&result};
  EXPECT_EQ(entry::def()->post_load(state_, &err), TRELLIS_OK);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));

  entry::def()->shutdown(state_);
  state_ = nullptr;
  plugin_.staging = &staging_;
  init_ok([](trellis::plugin& p) {
    p.on_post_load([] { throw trellis::error("dependency not ready", TRELLIS_UNSUPPORTED); });
  });
  EXPECT_EQ(entry::def()->post_load(state_, &err), TRELLIS_UNSUPPORTED);
  EXPECT_EQ(result.message, "dependency not ready");
}

// The wrappers convert back to the raw C handles, and the raw API works with them.
TEST_F(Sdk, ExposesRawHandles) {
  trellis_host seen_host = nullptr;
  const trellis_host_api* seen_api = nullptr;
  init_ok([&](trellis::plugin& p) {
    seen_host = p;
    seen_api = p.api();
    EXPECT_EQ(p.raw(), seen_host);
    p.add_page({.path = "/raw"}, [api = p.api()](trellis::request& req, trellis::response& res) {
      trellis_str method{};
      if (api->request_method(req, &method) != TRELLIS_OK) throw trellis::error("raw request");
      trellis_response raw = res;
      if (raw != res.raw() || req.raw() == nullptr) throw trellis::error("raw response");
      api->response_write(res, method);
    });
  });
  EXPECT_EQ(seen_host, &plugin_);
  EXPECT_EQ(seen_api, host::host_api());
  host::page_request request;
  request.method = "GET";
  host::page_response response;
  host::call_status st = page("GET /sdk-test/raw", request, response);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(response.body, "GET");
}

// config_json returns the host's validated configuration for this plugin.
TEST_F(Sdk, ReadsConfigJson) {
  std::string config;
  init_ok([&config](trellis::plugin& p) { config = p.config_json(); });
  EXPECT_EQ(config, R"({"greeting": "hi"})");
}

// A copy of the plugin kept past setup logs through the plugin's logger later.
TEST_F(Sdk, LogsThroughPluginLogger) {
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  sink->set_pattern("%n %l %v");
  plugin_.logger = std::make_shared<spdlog::logger>("sdk-test", sink);
  plugin_.logger->set_level(spdlog::level::debug);
  init_ok([](trellis::plugin& p) {
    p.info("setting up");
    p.on_post_load([p] {
      p.warn("late");
      p.error("bad");
      p.log(trellis::log_level::trace, "hidden");
      p.log(trellis::log_level::debug, "shown");
    });
  });
  host::call_status result;
  trellis_error_s err{&result};
  ASSERT_EQ(entry::def()->post_load(state_, &err), TRELLIS_OK);
  plugin_.logger->flush();
  EXPECT_EQ(lines.str(),
            "sdk-test info setting up\nsdk-test warning late\nsdk-test error bad\n"
            "sdk-test debug shown\n");
}

// guard turns each kind of exception into a status and a message, and passes success through.
TEST(SdkGuard, ConvertsExceptionsToStatuses) {
  const trellis_host_api* api = host::host_api();
  host::call_status result;
  trellis_error_s err{&result};
  bool ran = false;
  EXPECT_EQ(trellis::detail::guard(api, &err, [&] { ran = true; }), TRELLIS_OK);
  EXPECT_TRUE(ran);
  EXPECT_EQ(result.message, "");
  EXPECT_EQ(trellis::detail::guard(api, &err,
                                   [] { throw trellis::error("cap", TRELLIS_LIMIT_EXCEEDED); }),
            TRELLIS_LIMIT_EXCEEDED);
  EXPECT_EQ(result.message, "cap");
  EXPECT_EQ(trellis::detail::guard(api, &err, [] { throw trellis::usage_error("bad flag"); }),
            TRELLIS_USAGE);
  EXPECT_EQ(result.message, "bad flag");
  EXPECT_EQ(trellis::detail::guard(api, &err, [] { throw std::logic_error("bug"); }),
            TRELLIS_ERROR);
  EXPECT_EQ(result.message, "uncaught exception: bug");
  EXPECT_EQ(trellis::detail::guard(api, &err, [] { throw "text"; }), TRELLIS_ERROR);
  EXPECT_EQ(result.message, "uncaught exception of unknown type");
  // Without an error handle there is nowhere to put the message, but the status still comes back.
  EXPECT_EQ(trellis::detail::guard(api, nullptr, [] { throw std::runtime_error("x"); }),
            TRELLIS_ERROR);
  EXPECT_EQ(trellis::detail::guard(nullptr, &err, [] { throw std::runtime_error("x"); }),
            TRELLIS_ERROR);
}

// usage_error is a trellis::error with TRELLIS_USAGE; error defaults to TRELLIS_ERROR.
TEST(SdkError, CarriesStatusCodes) {
  EXPECT_EQ(trellis::error("x").code(), TRELLIS_ERROR);
  EXPECT_EQ(trellis::usage_error("y").code(), TRELLIS_USAGE);
  const trellis::error& base = trellis::usage_error("z");
  EXPECT_STREQ(base.what(), "z");
}

// Strings cross as views: empty slices (even with a null pointer) view as empty.
TEST(SdkStrings, ConvertsBetweenViewsAndSlices) {
  EXPECT_EQ(trellis::to_view(trellis_str{nullptr, 0}), std::string_view{});
  std::string text = "héllo";
  trellis_str slice = trellis::to_str(text);
  EXPECT_EQ(slice.data, text.data());
  EXPECT_EQ(slice.size, text.size());
  EXPECT_EQ(trellis::to_view(slice), "héllo");
  using namespace std::string_view_literals;
  EXPECT_EQ(trellis::to_view(trellis::to_str("a\0b"sv)).size(), 3u) << "embedded NULs survive";
}
