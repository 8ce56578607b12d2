// Fuzz target: parse_query, the query string of every request, checked
// against Boost.URL's reading of the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/url/parse.hpp>

#include "fuzz_check.hpp"
#include "trellis/host/http_parse.hpp"
#include "urlencoded_checks.hpp"

using namespace trellis;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const bool bad_escape = fuzz::has_malformed_escape(input);
  FUZZ_CHECK(host::is_valid_utf8(input) == fuzz::reference_utf8(input), "is_valid_utf8 disagrees with the reference");

  const host::urlencoded_limits limits;
  const auto parsed = host::parse_query(input, limits);
  FUZZ_CHECK(!(parsed.value && bad_escape), "a malformed %-escape was accepted");
  if (parsed.value) {
    fuzz::check_pairs(*parsed.value, limits);
    fuzz::check_round_trip(*parsed.value, limits, host::parse_query);
  } else {
    fuzz::check_error(parsed.error);
  }

  // Where Boost.URL reads the bytes as a query too, both must agree: the same
  // pairs (Boost keeps the empty items "&&" that parse_query skips), or a
  // refusal for a reason Boost does not check (empty name, NUL, UTF-8, limits).
  const std::string as_ref = "?" + std::string(input);
  auto ref = boost::urls::parse_relative_ref(as_ref);
  // A byte RFC 3986 does not allow in a query (parse_query does not judge
  // those), or a '#' that makes the rest a fragment for Boost.URL.
  if (!ref || ref->has_fragment()) return 0;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  host::string_pairs boost_pairs;
  bool boost_has_reason = false;
  for (auto p : ref->params(opts)) {
    if (p.key.empty() && !p.has_value) continue;
    if (p.key.empty()) boost_has_reason = true;
    const bool nul = p.key.find('\0') != std::string::npos || p.value.find('\0') != std::string::npos;
    if (nul || !fuzz::reference_utf8(p.key) || !fuzz::reference_utf8(p.value) || p.key.size() > limits.max_name_bytes ||
        p.value.size() > limits.max_value_bytes) {
      boost_has_reason = true;
    }
    boost_pairs.emplace_back(p.key, p.value);
  }
  if (boost_pairs.size() > limits.max_fields) boost_has_reason = true;
  if (parsed.value) {
    FUZZ_CHECK(*parsed.value == boost_pairs, "parse_query and Boost.URL decode different pairs");
  } else {
    FUZZ_CHECK(boost_has_reason, parsed.error.c_str());
  }
  return 0;
}
