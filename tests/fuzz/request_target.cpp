// Fuzz target: parse_request_target, the first thing the server does with
// the target of every request line, checked against Boost.URL's origin-form
// grammar and against the promises the router and asset lookup rely on.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/url/parse.hpp>

#include "fuzz_check.hpp"
#include "trellis/host/http_parse.hpp"
#include "urlencoded_checks.hpp"

using namespace trellis;

namespace {

bool dot_segment(std::string_view path) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = path.find('/', start);
    const std::string_view segment = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (segment == "." || segment == "..") return true;
    if (end == std::string_view::npos) return false;
    start = end + 1;
  }
}

// What parse_request_target refuses beyond the RFC 3986 grammar, judged on
// Boost.URL's decoding.
bool beyond_grammar(const boost::urls::url_view& url, const host::urlencoded_limits& limits) {
  const std::string path = url.path();
  if (path.find('\0') != std::string::npos || !fuzz::reference_utf8(path) || dot_segment(path)) return true;
  if (!url.has_query()) return false;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  std::size_t count = 0;
  for (auto p : url.params(opts)) {
    if (p.key.empty() && !p.has_value) continue;
    ++count;
    if (p.key.empty() || p.key.find('\0') != std::string::npos || p.value.find('\0') != std::string::npos ||
        !fuzz::reference_utf8(p.key) || !fuzz::reference_utf8(p.value) || p.key.size() > limits.max_name_bytes ||
        p.value.size() > limits.max_value_bytes) {
      return true;
    }
  }
  return count > limits.max_fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const auto parsed = host::parse_request_target(input);
  auto ref = boost::urls::parse_origin_form(input);
  if (!parsed.value) {
    fuzz::check_error(parsed.error);
    // Refused although the grammar allows it: only for a reason of its own.
    if (ref) FUZZ_CHECK(beyond_grammar(*ref, host::urlencoded_limits{}), parsed.error.c_str());
    return 0;
  }
  const host::request_target& t = *parsed.value;
  FUZZ_CHECK(ref.has_value(), "accepted a target that is not in origin form");

  // The routing path: starts with '/', no query, and names the same resource.
  FUZZ_CHECK(!t.path.empty() && t.path.front() == '/', "the path does not start with '/'");
  FUZZ_CHECK(t.path.find('?') == std::string::npos, "the path holds the query");
  const auto decoded = host::percent_decode(t.path);
  FUZZ_CHECK(decoded.value.has_value(), "the routing path has a malformed escape");
  FUZZ_CHECK(*decoded.value == ref->path(), "the routing path decodes to another path than Boost.URL's");
  FUZZ_CHECK(decoded.value->find('\0') == std::string::npos, "a NUL in the decoded path");
  FUZZ_CHECK(!dot_segment(*decoded.value), "a dot segment in the decoded path");
  FUZZ_CHECK(fuzz::reference_utf8(*decoded.value), "the decoded path is not UTF-8");
  // Only unreserved escapes were decoded: every escape left is of another byte.
  for (std::size_t i = 0; i + 2 < t.path.size(); ++i) {
    if (t.path[i] != '%') continue;
    const auto one = host::percent_decode(t.path.substr(i, 3));
    FUZZ_CHECK(one.value && one.value->size() == 1, "a malformed escape in the routing path");
    const char c = (*one.value)[0];
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    FUZZ_CHECK(!unreserved, "an escape of an unreserved character was left in the routing path");
  }

  // The query: as sent, and its pairs as parse_query gives them.
  FUZZ_CHECK(t.query == std::string_view(ref->encoded_query()), "the raw query differs from Boost.URL's");
  fuzz::check_pairs(t.params, host::urlencoded_limits{});
  const auto params = host::parse_query(t.query);
  FUZZ_CHECK(params.value && *params.value == t.params, "the params differ from parse_query's");
  return 0;
}
