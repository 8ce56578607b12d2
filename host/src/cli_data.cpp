#include "cli_data.hpp"

#include <charconv>

#include <boost/json/serialize.hpp>

#include "trellis/host/result_format.hpp"

namespace trellis::host {
namespace json = boost::json;

namespace {

bool is_canonical_integer(std::string_view v, std::int64_t& out) {
  std::string_view digits = v.substr(!v.empty() && v.front() == '-' ? 1 : 0);
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return false;  // "007" stays text
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc{} && end == v.data() + v.size();
}

bool is_real(std::string_view v, double& out) {
  if (v.empty() || v.find_first_not_of("0123456789+-.eE") != std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc{} && end == v.data() + v.size();
}

std::string error_text(const call_status& st) {
  return st.message + (st.sqlstate.empty() ? "" : " (SQLSTATE " + st.sqlstate + ")");
}

}  // namespace

std::string parse_param(std::string_view word, param_list& out) {
  const std::size_t eq = word.find('=');
  std::string_view head = word.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? std::string_view{} : word.substr(eq + 1);
  if (!head.empty() && head.front() == ':') head.remove_prefix(1);  // `:name`, as written in the SQL
  std::string_view type;
  if (const std::size_t colon = head.find(':'); colon != std::string_view::npos) {
    type = head.substr(colon + 1);
    head = head.substr(0, colon);
  }
  const std::string quoted = "--param '" + std::string(word) + "'";
  if (head.empty()) return quoted + ": expected NAME=VALUE or NAME:TYPE=VALUE";
  if (eq == std::string_view::npos && type != "null") return quoted + ": expected NAME=VALUE (or NAME:null)";
  std::string name(head);
  std::int64_t i = 0;
  double d = 0;
  if (type.empty()) {
    if (is_canonical_integer(value, i)) {
      out.emplace_back(name, param_value::integer(i));
    } else if (value.find_first_of(".eE") != std::string_view::npos && is_real(value, d)) {  // not "007"
      out.emplace_back(name, param_value::real(d));
    } else {
      out.emplace_back(name, param_value::text(std::string(value)));
    }
  } else if (type == "int") {
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), i);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
      return quoted + ": '" + std::string(value) + "' is not an integer";
    }
    out.emplace_back(name, param_value::integer(i));
  } else if (type == "real") {
    if (!is_real(value, d)) return quoted + ": '" + std::string(value) + "' is not a number";
    out.emplace_back(name, param_value::real(d));
  } else if (type == "text") {
    out.emplace_back(name, param_value::text(std::string(value)));
  } else if (type == "null") {
    out.emplace_back(name, param_value::null());
  } else {
    return quoted + ": unknown type '" + std::string(type) + "'; use int, real, text or null";
  }
  return {};
}

void add_data_commands(CLI::App& app, data_commands& d) {
  d.query = app.add_subcommand("query", "Run SQL on a configured data source and print the result");
  d.query->group("Built-in commands");
  d.query->add_option("SOURCE", d.source, "A source of [sources.NAME] (see 'trellis sources list')")->required();
  d.query->add_option("SQL", d.sql, "The statement; parameters are written :name")->required();
  d.query->add_option("--param,-p", d.params,
                      "A parameter, NAME=VALUE (integer, real or text by its form) or NAME:TYPE=VALUE "
                      "with TYPE int, real, text or null; repeatable")
      ->type_name("NAME=VALUE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  d.query->add_option("--format,-f", d.format, "table (for people), json or csv [default: table]")
      ->type_name("FORMAT");

  CLI::App* sources = app.add_subcommand("sources", "List the configured data sources or show their tables");
  sources->group("Built-in commands");
  sources->require_subcommand(1);
  d.sources_list = sources->add_subcommand("list", "Show every configured source, its driver and pool");
  d.sources_list->add_flag("--json", d.json, "Print JSON instead of a table");
  d.sources_schema = sources->add_subcommand("schema", "Show the tables and views of a source, with their columns");
  d.sources_schema->add_option("SOURCE", d.source, "The source's name")->required();
  d.sources_schema->add_flag("--json", d.json, "Print JSON instead of text");
}

namespace {

int run_query(const data_commands& d, plugin_host& host, std::ostream& out, std::ostream& err) {
  auto format = parse_result_format(d.format);
  if (!format) {
    err << "trellis query: --format: '" << d.format << "' is not one of table, json, csv\n"
        << "Run 'trellis query --help' for usage.\n";
    return 2;
  }
  param_list params;
  for (const auto& word : d.params) {
    if (std::string error = parse_param(word, params); !error.empty()) {
      err << "trellis query: " << error << "\nRun 'trellis query --help' for usage.\n";
      return 2;
    }
  }
  auto encoder = make_result_encoder(*format);
  std::string buffer;
  bool started = false;
  row_sink_callbacks sink;
  sink.columns = [&](const trellis_column* cols, std::size_t n) {
    started = true;
    encoder->columns(cols, n, buffer);
    return TRELLIS_OK;
  };
  sink.rows = [&](const trellis_value* values, std::size_t n) {
    encoder->rows(values, n, buffer);
    if (buffer.size() >= 64 * 1024) {  // the table keeps its rows to align them; the others stream
      out << buffer;
      buffer.clear();
    }
    return TRELLIS_OK;
  };
  query_status st = host.sources().run(d.source, d.sql, params, sink);
  // A failed table is not printed at all; JSON ends with the error in-band.
  if (st.ok() || (started && *format != result_format::table)) {
    encoder->finish(st, buffer);
    out << buffer << std::flush;
  }
  if (!st.ok()) {
    err << "trellis query: " << error_text(st) << "\n";
    return 1;
  }
  return 0;
}

int list_sources(const data_commands& d, plugin_host& host, std::ostream& out) {
  auto sources = host.sources().list();
  if (d.json) {
    json::array arr;
    for (const auto& s : sources) arr.push_back(to_json(s));
    out << json::serialize(arr) << "\n";
    return 0;
  }
  if (sources.empty()) {
    out << "No data sources are configured; add a [sources.NAME] table to trellis.toml.\n";
    return 0;
  }
  for (const auto& s : sources) {
    out << s.name << "  (" << s.driver;
    out << (s.driver_plugin.empty() ? ", driver not loaded" : ", plugin " + s.driver_plugin);
    out << ", pool " << s.pool_size << ", timeout " << s.query_timeout.count() << " ms, max rows " << s.max_rows << ")\n";
    for (const auto& kv : s.settings) out << "    " << kv.key() << " = " << json::serialize(kv.value()) << "\n";
  }
  return 0;
}

int show_schema(const data_commands& d, plugin_host& host, std::ostream& out, std::ostream& err) {
  std::vector<schema_object> objects;
  call_status st = host.sources().schema(d.source, objects);
  if (!st.ok()) {
    err << "trellis sources schema: " << error_text(st) << "\n";
    return 1;
  }
  if (d.json) {
    out << json::serialize(schema_json(d.source, objects)) << "\n";
    return 0;
  }
  if (objects.empty()) out << "Source '" << d.source << "' has no tables or views.\n";
  for (const auto& o : objects) {
    out << (o.kind == TRELLIS_SCHEMA_VIEW ? "view " : "table ") << o.name << "\n";
    std::size_t width = 0;
    for (const auto& c : o.columns) width = std::max(width, c.name.size());
    for (const auto& c : o.columns) {
      out << "  " << c.name << std::string(width - c.name.size() + 2, ' ')
          << (c.decl_type.empty() ? std::string(type_name(c.type)) : c.decl_type) << "\n";
    }
  }
  return 0;
}

}  // namespace

std::optional<int> run_data_command(const data_commands& d, plugin_host& host, std::ostream& out, std::ostream& err) {
  if (d.query->parsed()) return run_query(d, host, out, err);
  if (d.sources_list->parsed()) return list_sources(d, host, out);
  if (d.sources_schema->parsed()) return show_schema(d, host, out, err);
  return std::nullopt;
}

}  // namespace trellis::host
