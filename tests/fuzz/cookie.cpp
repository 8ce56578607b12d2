// Fuzz target: parse_cookies, the Cookie header of every page request (the
// session cookie will come through it).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "trellis/host/http_parse.hpp"

using namespace trellis;

namespace {

bool is_tchar(char c) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const host::string_pairs cookies = host::parse_cookies(input);

  // At most one cookie per ';'-separated item.
  FUZZ_CHECK(cookies.size() <= static_cast<std::size_t>(std::count(input.begin(), input.end(), ';')) + 1,
             "more cookies than items");
  std::string serialized;
  for (const auto& [name, value] : cookies) {
    FUZZ_CHECK(!name.empty(), "a cookie without a name");
    FUZZ_CHECK(std::all_of(name.begin(), name.end(), is_tchar), "a cookie name that is not a token ('; = space...')");
    FUZZ_CHECK(value.find(';') == std::string::npos, "a ';' in a cookie value");
    FUZZ_CHECK(std::none_of(value.begin(), value.end(),
                            [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }),
               "a control character in a cookie value");
    // Every name and value is a piece of the header, in order.
    FUZZ_CHECK(input.find(name) != std::string_view::npos, "a name that is not in the header");
    FUZZ_CHECK(input.find(value) != std::string_view::npos, "a value that is not in the header");
    if (!serialized.empty()) serialized += "; ";
    serialized += name + "=\"" + value + "\"";
  }

  // Writing the cookies back (values quoted) and parsing again gives them back.
  FUZZ_CHECK(host::parse_cookies(serialized) == cookies, "serializing and parsing the cookies again changed them");
  return 0;
}
