#include "trellis/host/manifest.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>
#include <trellis/abi.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
using trellis::host::contribution_kind;
using trellis::host::manifest;
using trellis::host::manifest_result;
using trellis::host::parse_manifest;

const std::string header = TRELLIS_MANIFEST_HEADER;

manifest parse_ok(std::string_view body) {
  manifest_result r = parse_manifest(header + std::string(body));
  EXPECT_TRUE(r.value.has_value()) << r.error << "\n  for: " << body;
  EXPECT_EQ(r.error, "");
  return r.value.value_or(manifest{});
}

// The error for a manifest that must be refused.
std::string parse_error(std::string_view body) {
  manifest_result r = parse_manifest(header + std::string(body));
  EXPECT_FALSE(r.value.has_value()) << "should be refused: " << body;
  EXPECT_FALSE(r.error.empty());
  return r.error;
}

// A minimal manifest with `extra` JSON members appended to its object.
std::string with(std::string_view extra) {
  return R"({"id": "hello", "version": "1.0.0", )" + std::string(extra) + "}";
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in \"" << (haystack) << "\""

const char* const full_manifest = R"({
  "id": "analytics",
  "version": "2.1.0-rc.1",
  "name": "Product analytics",
  "description": "Funnels and retention",
  "dependencies": {"sqlite": "^1.2", "charts": ">=0.3.0 <1.0.0"},
  "contributions": {
    "commands": ["report"],
    "pages": ["GET /", "POST /funnels/{id}"],
    "data_sources": ["events"],
    "visualizations": ["funnel", "cohort"]
  },
  "permissions": {
    "analytics.funnels:read": {"description": "See funnels", "grants": ["viewer", "admin"]},
    "analytics.funnels:write": {}
  },
  "config": {
    "retention_days": {"type": "integer", "default": 30, "description": "Days kept"},
    "ratio": {"type": "number", "default": 0.5},
    "enabled": {"type": "boolean", "default": true},
    "title": {"type": "string", "default": "Analytics"},
    "token": {"type": "secret", "required": true},
    "tags": {"type": "array", "default": ["a", "b"]}
  }
})";

}  // namespace

// The smallest manifest: id and version; everything else defaults.
TEST(Manifest, ParsesMinimalManifest) {
  manifest m = parse_ok(R"({"id": "hello", "version": "1.0.0"})");
  EXPECT_EQ(m.id, "hello");
  EXPECT_EQ(m.version.str(), "1.0.0");
  EXPECT_EQ(m.name, "hello") << "name defaults to the id";
  EXPECT_EQ(m.description, "");
  EXPECT_EQ(m.abi_major, unsigned{TRELLIS_ABI_MAJOR});
  EXPECT_EQ(m.abi_minor, unsigned{TRELLIS_ABI_MINOR});
  EXPECT_TRUE(m.dependencies.empty());
  EXPECT_TRUE(m.contributions.empty());
  EXPECT_TRUE(m.permissions.empty());
  EXPECT_TRUE(m.config.empty());
  EXPECT_EQ(m.json, R"({"id": "hello", "version": "1.0.0"})");
}

// Every field of a complete manifest lands in the struct.
TEST(Manifest, ParsesFullManifest) {
  manifest m = parse_ok(full_manifest);
  EXPECT_EQ(m.id, "analytics");
  EXPECT_EQ(m.version.str(), "2.1.0-rc.1");
  EXPECT_EQ(m.name, "Product analytics");
  EXPECT_EQ(m.description, "Funnels and retention");

  ASSERT_EQ(m.dependencies.size(), 2u);
  EXPECT_EQ(m.dependencies.at("sqlite").text(), "^1.2");
  EXPECT_TRUE(m.dependencies.at("sqlite").contains(*trellis::host::semver::parse("1.9.0")));
  EXPECT_FALSE(m.dependencies.at("sqlite").contains(*trellis::host::semver::parse("2.0.0")));
  EXPECT_EQ(m.dependencies.at("charts").text(), ">=0.3.0 <1.0.0");

  using names = std::vector<std::string>;
  EXPECT_EQ(m.contributions.at(contribution_kind::command), names{"report"});
  EXPECT_EQ(m.contributions.at(contribution_kind::page), (names{"GET /", "POST /funnels/{id}"}));
  EXPECT_EQ(m.contributions.at(contribution_kind::data_source), names{"events"});
  EXPECT_EQ(m.contributions.at(contribution_kind::visualization), (names{"funnel", "cohort"}));

  ASSERT_EQ(m.permissions.size(), 2u);
  EXPECT_EQ(m.permissions[0].name, "analytics.funnels:read");
  EXPECT_EQ(m.permissions[0].description, "See funnels");
  EXPECT_EQ(m.permissions[0].grants, (names{"viewer", "admin"}));
  EXPECT_EQ(m.permissions[1].name, "analytics.funnels:write");
  EXPECT_TRUE(m.permissions[1].grants.empty());

  ASSERT_EQ(m.config.size(), 6u);
  EXPECT_EQ(m.config[0].name, "retention_days");
  EXPECT_EQ(m.config[0].type, "integer");
  EXPECT_EQ(m.config[0].description, "Days kept");
  ASSERT_TRUE(m.config[0].default_value.has_value());
  EXPECT_EQ(m.config[0].default_value->as_int64(), 30);
  EXPECT_FALSE(m.config[0].required);
  EXPECT_EQ(m.config[1].default_value->as_double(), 0.5);
  EXPECT_EQ(m.config[2].default_value->as_bool(), true);
  EXPECT_EQ(m.config[3].default_value->as_string(), "Analytics");
  EXPECT_EQ(m.config[4].type, "secret");
  EXPECT_TRUE(m.config[4].required);
  EXPECT_FALSE(m.config[4].default_value.has_value());
  EXPECT_EQ(m.config[5].default_value->as_array().size(), 2u);
}

// The section as embedded ends with a NUL (a C string); that NUL is not JSON.
TEST(Manifest, AcceptsTerminatingNul) {
  std::string section = header + R"({"id": "hello", "version": "1.0.0"})";
  section.push_back('\0');
  section.push_back('\0');
  manifest_result r = parse_manifest(section);
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_EQ(r.value->json, R"({"id": "hello", "version": "1.0.0"})");
}

// The ABI version comes from the header line, whatever the host's version is.
TEST(Manifest, ReadsAbiVersionFromHeader) {
  manifest_result r =
      parse_manifest("trellis-manifest abi=1.0\n{\"id\": \"a\", \"version\": \"1.0.0\"}");
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_EQ(r.value->abi_major, 1u);
  EXPECT_EQ(r.value->abi_minor, 0u);
  r = parse_manifest("trellis-manifest abi=27.305\n{\"id\": \"a\", \"version\": \"1.0.0\"}");
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_EQ(r.value->abi_major, 27u);
  EXPECT_EQ(r.value->abi_minor, 305u);
}

// Without the "trellis-manifest abi=M.m" line, the section is not a manifest.
TEST(Manifest, RejectsMissingHeaderLine) {
  for (std::string_view section :
       {R"({"id": "hello", "version": "1.0.0"})", "", "\n", "trellis-manifest abi=1.1"}) {
    manifest_result r = parse_manifest(section);
    EXPECT_FALSE(r.value.has_value()) << section;
    EXPECT_CONTAINS(r.error, "trellis-manifest abi=MAJOR.MINOR");
  }
}

// A header line with a malformed ABI version is refused.
TEST(Manifest, RejectsBadAbiHeader) {
  for (std::string_view line :
       {"trellis-manifest abi=1", "trellis-manifest abi=1.", "trellis-manifest abi=.1",
        "trellis-manifest abi=x.y", "trellis-manifest abi=1.1 ", "trellis-manifest abi=1.1.0",
        "trellis-manifest abi=-1.0", "trellis-manifest  abi=1.1", "trellis-manifest abi=1.1\r",
        "Trellis-manifest abi=1.1", "trellis-manifest"}) {
    manifest_result r =
        parse_manifest(std::string(line) + "\n{\"id\": \"a\", \"version\": \"1.0.0\"}");
    EXPECT_FALSE(r.value.has_value()) << "header '" << line << "' should be refused";
    EXPECT_CONTAINS(r.error, "trellis-manifest abi=MAJOR.MINOR");
  }
}

// Broken JSON is reported as such.
TEST(Manifest, RejectsInvalidJson) {
  for (std::string_view body :
       {"{\"id\": \"hello\",", "{id: hello}", "", "{\"id\": \"a\"} trailing"}) {
    EXPECT_CONTAINS(parse_error(body), "manifest is not valid JSON");
  }
}

// The JSON must be an object.
TEST(Manifest, RejectsNonObject) {
  for (std::string_view body : {"[1, 2]", "\"hello\"", "42", "null"}) {
    EXPECT_EQ(parse_error(body), "manifest must be a JSON object");
  }
}

// id and version are required, as non-empty strings.
TEST(Manifest, RejectsMissingIdOrVersion) {
  EXPECT_EQ(parse_error(R"({"version": "1.0.0"})"), "manifest: missing required field 'id'");
  EXPECT_EQ(parse_error(R"({"id": "hello"})"), "manifest: missing required field 'version'");
  EXPECT_EQ(parse_error(R"({"id": "", "version": "1.0.0"})"),
            "manifest: field 'id' must be a non-empty string");
  EXPECT_EQ(parse_error(R"({"id": 7, "version": "1.0.0"})"),
            "manifest: field 'id' must be a non-empty string");
  EXPECT_EQ(parse_error(R"({"id": "hello", "version": 1})"),
            "manifest: field 'version' must be a non-empty string");
}

// Plugin ids are lowercase letters, digits and '-', starting with a letter.
TEST(Manifest, RejectsBadIdCharacters) {
  for (std::string_view id :
       {"Hello", "1hello", "-hello", "my_plugin", "my plugin", "my.plugin", "héllo", "a/b"}) {
    std::string error = parse_error(R"({"id": ")" + std::string(id) + R"(", "version": "1.0.0"})");
    EXPECT_CONTAINS(error, "field 'id' is '" + std::string(id) + "'");
    EXPECT_CONTAINS(error, "lowercase letters, digits and '-'");
  }
}

// Ids may be up to 64 characters long.
TEST(Manifest, LimitsIdLength) {
  EXPECT_TRUE(trellis::host::is_valid_plugin_id(std::string(64, 'a')));
  EXPECT_FALSE(trellis::host::is_valid_plugin_id(std::string(65, 'a')));
  for (std::string_view ok : {"a", "a1", "a-b", "hello-world-2"}) {
    EXPECT_TRUE(trellis::host::is_valid_plugin_id(ok)) << ok;
  }
  EXPECT_FALSE(trellis::host::is_valid_plugin_id(""));
  parse_error(R"({"id": ")" + std::string(65, 'a') + R"(", "version": "1.0.0"})");
}

// The version must be a semantic version.
TEST(Manifest, RejectsBadVersion) {
  for (std::string_view v : {"1.0", "v1.0.0", "1.0.0.0", "01.0.0", "latest"}) {
    EXPECT_EQ(
        parse_error(R"({"id": "hello", "version": ")" + std::string(v) + R"("})"),
        "manifest: field 'version' is '" + std::string(v) + "', not a semantic version like 1.2.3");
  }
}

// A misspelt or unknown top-level field is refused by name, not ignored.
TEST(Manifest, RejectsUnknownTopLevelFieldByName) {
  EXPECT_EQ(parse_error(with(R"("permisions": {})")), "manifest: unknown field 'permisions'");
  EXPECT_EQ(parse_error(with(R"("abi": "1.1")")), "manifest: unknown field 'abi'");
}

// Unknown fields inside nested objects are named with their path.
TEST(Manifest, RejectsUnknownNestedFieldByPath) {
  EXPECT_EQ(parse_error(with(R"("permissions": {"hello.a:b": {"grant": []}})")),
            "manifest: unknown field 'permissions.hello.a:b.grant'");
  EXPECT_EQ(parse_error(with(R"("config": {"port": {"type": "integer", "defualt": 1}})")),
            "manifest: unknown field 'config.port.defualt'");
}

// name and description must be strings when given.
TEST(Manifest, RejectsNonStringNameOrDescription) {
  EXPECT_EQ(parse_error(with(R"("name": 5)")), "manifest: field 'name' must be a string");
  EXPECT_EQ(parse_error(with(R"("description": ["x"])")),
            "manifest: field 'description' must be a string");
}

// Dependencies are an object of valid plugin ids to valid version ranges.
TEST(Manifest, RejectsBadDependencies) {
  EXPECT_EQ(parse_error(with(R"("dependencies": ["sqlite"])")),
            "manifest: field 'dependencies' must be an object");
  EXPECT_EQ(parse_error(with(R"("dependencies": {"SQLite": "^1.0"})")),
            "manifest: dependency 'SQLite' is not a valid plugin id");
  EXPECT_EQ(parse_error(with(R"("dependencies": {"sqlite": 1})")),
            "manifest: field 'dependencies.sqlite' must be a version range string");
  std::string error = parse_error(with(R"("dependencies": {"sqlite": ">=1.0.0 <two"})"));
  EXPECT_CONTAINS(error, "field 'dependencies.sqlite'");
  EXPECT_CONTAINS(error, "'two'");
  EXPECT_CONTAINS(parse_error(with(R"("dependencies": {"sqlite": ""})")), "empty version range");
}

// Contribution kinds are the four the host knows.
TEST(Manifest, RejectsUnknownContributionKind) {
  EXPECT_EQ(parse_error(with(R"("contributions": {"widgets": ["w"]})")),
            "manifest: unknown field 'contributions.widgets'");
  EXPECT_EQ(parse_error(with(R"("contributions": ["commands"])")),
            "manifest: field 'contributions' must be an object");
}

// Contribution lists hold non-empty strings.
TEST(Manifest, RejectsNonStringContributions) {
  EXPECT_EQ(parse_error(with(R"("contributions": {"commands": "hello"})")),
            "manifest: field 'contributions.commands' must be an array of strings");
  EXPECT_EQ(parse_error(with(R"("contributions": {"pages": [1]})")),
            "manifest: field 'contributions.pages' must contain only non-empty strings");
  EXPECT_EQ(parse_error(with(R"("contributions": {"visualizations": [""]})")),
            "manifest: field 'contributions.visualizations' must contain only non-empty strings");
}

// A contribution listed twice is refused, naming it.
TEST(Manifest, RejectsDuplicateContributions) {
  EXPECT_EQ(parse_error(with(R"("contributions": {"data_sources": ["db", "other", "db"]})")),
            "manifest: field 'contributions.data_sources' lists 'db' twice");
}

// A permission is named "<plugin-id>.resource:action" after its own plugin.
TEST(Manifest, RejectsPermissionsNotPrefixedByPluginId) {
  for (std::string_view name : {"other.items:read", "items:read", "hello.items",
                                "helloworld.items:read", "hello:read", "Hello.items:read"}) {
    std::string error = parse_error(with(R"("permissions": {")" + std::string(name) + R"(": {}})"));
    EXPECT_EQ(error, "manifest: permission '" + std::string(name) +
                         "' must look like 'hello.resource:action'");
  }
}

// Permission entries are objects with a string description and string grants.
TEST(Manifest, RejectsMalformedPermissionEntries) {
  EXPECT_EQ(parse_error(with(R"("permissions": {"hello.a:b": "read"})")),
            "manifest: field 'permissions.hello.a:b' must be an object");
  EXPECT_EQ(parse_error(with(R"("permissions": {"hello.a:b": {"grants": "admin"}})")),
            "manifest: field 'permissions.hello.a:b.grants' must be an array of strings");
  EXPECT_EQ(parse_error(with(R"("permissions": {"hello.a:b": {"description": 1}})")),
            "manifest: field 'permissions.hello.a:b.description' must be a string");
  EXPECT_EQ(parse_error(with(R"("permissions": ["hello.a:b"])")),
            "manifest: field 'permissions' must be an object");
}

// A config key's type must be one of the six the host validates.
TEST(Manifest, RejectsConfigKeyWithUnknownType) {
  EXPECT_EQ(parse_error(with(R"("config": {"port": {"type": "float"}})")),
            "manifest: field 'config.port.type' is 'float'; use string, integer, number, "
            "boolean, secret or array");
  EXPECT_EQ(parse_error(with(R"("config": {"port": {}})")),
            "manifest: missing required field 'config.port.type'");
  EXPECT_EQ(parse_error(with(R"("config": {"port": {"type": 1}})")),
            "manifest: field 'config.port.type' must be a non-empty string");
  EXPECT_EQ(parse_error(with(R"("config": {"port": "integer"})")),
            "manifest: field 'config.port' must be an object");
  EXPECT_EQ(parse_error(with(R"("config": {"port": {"type": "integer", "required": "yes"}})")),
            "manifest: field 'config.port.required' must be true or false");
}

// A default value must have the key's type.
TEST(Manifest, RejectsDefaultOfWrongType) {
  struct bad_default {
    std::string_view type;
    std::string_view value;
  };
  for (const bad_default& c : {bad_default{"integer", "\"8080\""}, bad_default{"integer", "1.5"},
                               bad_default{"integer", "true"}, bad_default{"number", "\"1\""},
                               bad_default{"boolean", "\"yes\""}, bad_default{"boolean", "0"},
                               bad_default{"string", "5"}, bad_default{"string", "null"},
                               bad_default{"secret", "[]"}, bad_default{"array", "\"a,b\""}}) {
    std::string error = parse_error(with(R"("config": {"k": {"type": ")" + std::string(c.type) +
                                         R"(", "default": )" + std::string(c.value) + "}}"));
    EXPECT_EQ(error, "manifest: field 'config.k.default' is not of type " + std::string(c.type))
        << c.value;
  }
}

// Defaults of the right type are accepted, integers included as numbers.
TEST(Manifest, AcceptsDefaultsOfMatchingType) {
  manifest m = parse_ok(with(R"("config": {"n": {"type": "number", "default": 3},
                                           "big": {"type": "integer", "default": 18446744073709551615},
                                           "s": {"type": "secret", "default": "env:TOKEN"}})"));
  ASSERT_EQ(m.config.size(), 3u);
  EXPECT_TRUE(m.config[0].default_value->is_number());
  EXPECT_TRUE(m.config[1].default_value->is_uint64());
  EXPECT_EQ(m.config[2].default_value->as_string(), "env:TOKEN");
}

// to_json carries every field the host shows in `plugins inspect --json`.
TEST(Manifest, ToJsonCarriesEveryField) {
  manifest m = parse_ok(full_manifest);
  json::object o = trellis::host::to_json(m);
  EXPECT_EQ(o.at("id").as_string(), "analytics");
  EXPECT_EQ(o.at("version").as_string(), "2.1.0-rc.1");
  EXPECT_EQ(o.at("name").as_string(), "Product analytics");
  EXPECT_EQ(o.at("description").as_string(), "Funnels and retention");
  EXPECT_EQ(o.at("abi").as_string(),
            std::to_string(TRELLIS_ABI_MAJOR) + "." + std::to_string(TRELLIS_ABI_MINOR));
  EXPECT_EQ(o.at("dependencies"), json::parse(R"({"sqlite": "^1.2", "charts": ">=0.3.0 <1.0.0"})"));
  EXPECT_EQ(o.at("contributions"), json::parse(R"({"commands": ["report"],
                                                   "pages": ["GET /", "POST /funnels/{id}"],
                                                   "data_sources": ["events"],
                                                   "visualizations": ["funnel", "cohort"]})"));
  EXPECT_EQ(o.at("permissions").at("analytics.funnels:read"),
            json::parse(R"({"description": "See funnels", "grants": ["viewer", "admin"]})"));
  EXPECT_EQ(o.at("permissions").at("analytics.funnels:write"),
            json::parse(R"({"description": "", "grants": []})"));
  EXPECT_EQ(o.at("config").at("retention_days"),
            json::parse(R"({"type": "integer", "description": "Days kept", "required": false,
                            "default": 30})"));
  EXPECT_EQ(o.at("config").at("token"),
            json::parse(R"({"type": "secret", "description": "", "required": true})"));
}

// to_json, minus the host-added "abi", parses back into the same manifest.
TEST(Manifest, ToJsonRoundTrips) {
  manifest first = parse_ok(full_manifest);
  json::object o = trellis::host::to_json(first);
  o.erase("abi");
  manifest second = parse_ok(json::serialize(o));
  EXPECT_EQ(trellis::host::to_json(second), trellis::host::to_json(first));
  EXPECT_EQ(second.version, first.version);
  EXPECT_EQ(second.dependencies.at("charts").text(), ">=0.3.0 <1.0.0");
}

// The embedded manifest is read from a real library without loading it.
TEST(Manifest, ReadsManifestFromLibrary) {
  manifest_result r = trellis::host::read_manifest(TRELLIS_TEST_SAMPLE_SO);
  ASSERT_TRUE(r.value.has_value()) << r.error;
  EXPECT_EQ(r.value->id, "elf-sample");
  EXPECT_EQ(r.value->version.str(), "1.2.3");
  EXPECT_EQ(r.value->contributions.at(contribution_kind::command),
            std::vector<std::string>{"sample"});
}

// A library without the section gets a message saying how to embed one.
TEST(Manifest, ReportsLibraryWithoutManifest) {
  manifest_result r = trellis::host::read_manifest(TRELLIS_TEST_PLAIN_SO);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_CONTAINS(r.error, "no embedded manifest");
  EXPECT_CONTAINS(r.error, "TRELLIS_PLUGIN");
}

// A file that is not a library gets the reader's reason.
TEST(Manifest, ReportsUnreadableFile) {
  manifest_result r = trellis::host::read_manifest("/nonexistent/trellis/plugin.so");
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error, "cannot open file");
}

// Contribution kinds print as the manifest spells them, singular.
TEST(Manifest, NamesContributionKinds) {
  EXPECT_EQ(trellis::host::to_string(contribution_kind::command), "command");
  EXPECT_EQ(trellis::host::to_string(contribution_kind::page), "page");
  EXPECT_EQ(trellis::host::to_string(contribution_kind::data_source), "data_source");
  EXPECT_EQ(trellis::host::to_string(contribution_kind::visualization), "visualization");
}
