#include "cli_audit.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "trellis/host/audit.hpp"

namespace trellis::host {
namespace json = boost::json;

namespace {

// Records that a person read the log; the data is shown even when this
// fails (a damaged log is when it is needed most), but the command then
// exits 1 so the failure is not missed.
bool record_read(audit_log& log, const std::string& action, const std::string& object, const std::string& command,
                 std::ostream& err) {
  try {
    log.record(audit_event{cli_actor(), "", action, object, "success", ""});
    return true;
  } catch (const std::exception& e) {
    err << "trellis audit " << command << ": could not record this read in the log: " << e.what() << "\n";
    return false;
  }
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : printable(s); }

void print_table(const std::vector<audit_record>& records, std::ostream& out) {
  if (records.empty()) {
    out << "No records.\n";
    return;
  }
  const char* headers[] = {"SEQ", "TIME", "ACTOR", "ADDRESS", "ACTION", "OBJECT", "OUTCOME", "REQUEST"};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> width;
  for (const char* h : headers) width.push_back(std::string_view(h).size());
  for (const auto& r : records) {
    rows.push_back({"#" + std::to_string(r.seq), printable(r.time), or_dash(r.event.actor), or_dash(r.event.address),
                    or_dash(r.event.action), or_dash(r.event.object), or_dash(r.event.outcome),
                    or_dash(r.event.request_id)});
    for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], rows.back()[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text.append(width[i] - cells[i].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(std::vector<std::string>(std::begin(headers), std::end(headers)));
  for (const auto& row : rows) line(row);
}

int run_verify(const audit_commands& a, audit_log& log, std::ostream& out, std::ostream& err) {
  const audit_verification v = log.verify();
  if (a.json) {
    json::object o{{"file", log.file().string()}, {"ok", v.ok}, {"records", v.records}, {"last_seq", v.last_seq}};
    if (!v.ok) {
      o["bad_seq"] = v.bad_seq;
      o["problem"] = v.problem;
    }
    out << json::serialize(o) << "\n";
  } else if (v.ok) {
    out << "audit log verified: " << v.records << " records, last #" << v.last_seq << "\n";
  }
  if (!v.ok) {
    err << "trellis audit verify: " << log.file().string() << " fails at #" << v.bad_seq << ": " << v.problem
        << " (" << v.records << " records verified before it)\n";
    return 1;
  }
  return 0;
}

}  // namespace

void add_audit_commands(CLI::App& app, audit_commands& a) {
  CLI::App* cmd = app.add_subcommand("audit", "Check and read the audit log ([audit] in trellis.toml)");
  cmd->group("Built-in commands");
  // Not require_subcommand: CLI11 would then answer "trellis audit rotate"
  // with "a subcommand is required" instead of naming the word.
  a.audit = cmd;
  a.verify = cmd->add_subcommand(
      "verify", "Check every record's MAC chain and the log's head; exit 1 naming the first bad record");
  a.verify->add_flag("--json", a.json, "Print the result as JSON");
  a.tail = cmd->add_subcommand("tail", "Print the last records (recorded as an 'audit.read' event)");
  a.tail->add_option("-n,--count", a.count, "How many records [default: 20]")
      ->type_name("N")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  a.tail->add_flag("--json", a.json, "Print JSON lines instead of a table");
  a.export_records = cmd->add_subcommand(
      "export", "Print records as JSON lines, one record a line (recorded as an 'audit.export' event)");
  a.export_records->add_option("--from", a.from, "First sequence number [default: 1]")
      ->type_name("N")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{std::numeric_limits<std::int64_t>::max()}));
  a.export_records->add_option("--to", a.to, "Last sequence number [default: the last record]")
      ->type_name("N")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{std::numeric_limits<std::int64_t>::max()}));
}

std::optional<int> run_audit_command(const audit_commands& a, const host_config& config, spdlog::logger& log,
                                     std::ostream& out, std::ostream& err) {
  const CLI::App* which = nullptr;
  for (const CLI::App* c : {a.verify, a.tail, a.export_records}) {
    if (c != nullptr && c->parsed()) which = c;
  }
  if (a.audit == nullptr || !a.audit->parsed()) return std::nullopt;
  if (which == nullptr) {
    err << "trellis audit: a subcommand is required: verify, tail or export\n"
           "Run 'trellis audit --help' for usage.\n";
    return 2;
  }
  const std::string name = which->get_name();
  if (which == a.export_records && a.to != 0 && a.to < a.from) {
    err << "trellis audit export: --to " << a.to << " is before --from " << a.from
        << "\nRun 'trellis audit export --help' for usage.\n";
    return 2;
  }
  std::unique_ptr<audit_log> audit;
  try {
    // Reading never creates a log (nor a key for it).
    audit = open_audit_log(config.audit, log, audit_log::open_mode::existing);
  } catch (const std::exception& e) {
    err << "trellis audit " << name << ": " << e.what() << "\n";
    return 1;
  }
  try {
    if (which == a.verify) return run_verify(a, *audit, out, err);
    if (which == a.tail) {
      const bool recorded = record_read(*audit, "audit.read", "last " + std::to_string(a.count) + " records", name, err);
      const auto records = audit->tail(a.count);
      if (a.json) {
        for (const auto& r : records) out << to_json_line(r) << "\n";
      } else {
        print_table(records, out);
      }
      return recorded ? 0 : 1;
    }
    const std::uint64_t to = a.to == 0 ? std::uint64_t{std::numeric_limits<std::int64_t>::max()} : a.to;
    const std::string object =
        "records " + std::to_string(a.from) + "-" + (a.to == 0 ? std::string("end") : std::to_string(a.to));
    const bool recorded = record_read(*audit, "audit.export", object, name, err);
    audit->export_json_lines(a.from, to, out);
    out.flush();
    return recorded ? 0 : 1;
  } catch (const std::exception& e) {
    err << "trellis audit " << name << ": " << e.what() << "\n";
    return 1;
  }
}

void record_startup_events(audit_sink& audit, const host_config& config, const plugin_host& host) {
  std::error_code ec;
  const std::filesystem::path file = config.file.empty() ? config.file : std::filesystem::absolute(config.file, ec);
  audit.record(audit_event{"host", "", "config.load", config.file.empty() ? "(built-in defaults)" : file.string(),
                           "success", ""});
  for (const plugin_record& p : host.plugins()) {
    if (p.state == plugin_state::disabled) continue;
    const bool loaded = p.state == plugin_state::loaded;
    const std::string object = p.info ? p.info->id : p.file.string();
    audit.record(audit_event{"host", "", loaded ? "plugin.load" : "plugin.reject", object,
                             loaded ? "success" : "failure", ""});
  }
}

}  // namespace trellis::host
