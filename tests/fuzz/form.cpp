// Fuzz target: parse_form, the application/x-www-form-urlencoded bodies of
// posted forms (the login form among them). Small limits, so the fuzzer
// reaches every limit with short inputs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "trellis/host/http_parse.hpp"
#include "urlencoded_checks.hpp"

using namespace trellis;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  host::urlencoded_limits limits;
  limits.max_fields = 8;
  limits.max_name_bytes = 16;
  limits.max_value_bytes = 64;
  const auto parsed = host::parse_form(input, limits);
  if (!parsed.value) {
    fuzz::check_error(parsed.error);
    FUZZ_CHECK(parsed.error.rfind("form field ", 0) == 0 || parsed.error.rfind("the form has more than", 0) == 0,
               "a form error that does not say which field");
    return 0;
  }
  FUZZ_CHECK(!fuzz::has_malformed_escape(input), "a malformed %-escape was accepted");
  fuzz::check_pairs(*parsed.value, limits);
  fuzz::check_round_trip(*parsed.value, limits, host::parse_form);

  // Without limits the same pairs come out: limits only refuse, never cut.
  host::urlencoded_limits roomy;
  roomy.max_fields = roomy.max_name_bytes = roomy.max_value_bytes = SIZE_MAX;
  const auto unbounded = host::parse_form(input, roomy);
  FUZZ_CHECK(unbounded.value && *unbounded.value == *parsed.value, "limits changed the parsed pairs");
  return 0;
}
