#include "trellis/host/http_parse.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using namespace std::literals;
using trellis::host::is_valid_utf8;
using trellis::host::parse_cookies;
using trellis::host::parse_form;
using trellis::host::parse_query;
using trellis::host::parse_request_target;
using trellis::host::percent_decode;
using trellis::host::string_pairs;
using trellis::host::urlencoded_limits;
using ::testing::HasSubstr;
using ::testing::Not;

// -- is_valid_utf8 ----------------------------------------------------------------

// ASCII, two-, three- and four-byte sequences up to U+10FFFF are UTF-8.
TEST(HttpParse, Utf8AcceptsWellFormedSequences) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));          // U+00E9
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));         // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));         // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));     // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));     // U+10FFFF
}

// Overlong forms ('.' as C0 AE), surrogates, values above U+10FFFF, stray
// continuation bytes and cut sequences are not.
TEST(HttpParse, Utf8RejectsOverlongsSurrogatesAndTruncation) {
  for (std::string_view bad : {"\xC0\xAE"sv, "\xC1\xBF"sv, "\xE0\x80\xAE"sv, "\xE0\x9F\xBF"sv, "\xF0\x80\x80\xAE"sv,
                               "\xF0\x8F\xBF\xBF"sv, "\xED\xA0\x80"sv, "\xED\xBF\xBF"sv, "\xF4\x90\x80\x80"sv,
                               "\xF5\x80\x80\x80"sv, "\xFF"sv, "\x80"sv, "a\xBF"sv, "\xC3"sv, "\xE2\x82"sv,
                               "\xF0\x9F\x98"sv, "\xC3\x28"sv, "\xE2\x28\xA1"sv}) {
    SCOPED_TRACE(testing::PrintToString(std::string(bad)));
    EXPECT_FALSE(is_valid_utf8(bad));
  }
}

// -- percent_decode --------------------------------------------------------------

// Escapes decode in either case; '+' is a space only when asked.
TEST(HttpParse, PercentDecodeDecodesEscapesAndOptionalPlus) {
  EXPECT_EQ(percent_decode("a%20b%2fc%2F").value, "a b/c/");
  EXPECT_EQ(percent_decode("1+1").value, "1+1");
  EXPECT_EQ(percent_decode("1+1", true).value, "1 1");
  EXPECT_EQ(percent_decode("%2B", true).value, "+");
  EXPECT_EQ(percent_decode("%00").value, "\0"s);  // decoded: callers decide about NUL
  EXPECT_EQ(percent_decode("").value, "");
}

// A '%' without two hex digits after it fails, naming its offset.
TEST(HttpParse, PercentDecodeRejectsMalformedEscapes) {
  for (std::string_view bad : {"%", "%2", "abc%", "%G0", "%0G", "%%41", "a%2", "% 1"}) {
    SCOPED_TRACE(std::string(bad));
    auto r = percent_decode(bad);
    EXPECT_FALSE(r.value);
    EXPECT_THAT(r.error, HasSubstr("malformed %-escape at byte"));
  }
  EXPECT_EQ(percent_decode("ab%4").error, "malformed %-escape at byte 2");
}

// -- parse_query -----------------------------------------------------------------

// Pairs come decoded and in order; duplicates are kept, '+' is a space, a
// name without '=' has an empty value, empty items are skipped.
TEST(HttpParse, QueryDecodesPairsInOrder) {
  auto r = parse_query("q=x%26y+z%C3%A9&page=2&page=3&flag&empty=&&tail=%3D&");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(*r.value, (string_pairs{{"q", "x&y z\xC3\xA9"}, {"page", "2"}, {"page", "3"}, {"flag", ""},
                                    {"empty", ""}, {"tail", "="}}));
  EXPECT_EQ(parse_query("").value, string_pairs{});
  EXPECT_EQ(parse_query("&&&").value, string_pairs{});
  EXPECT_EQ(parse_query("a=b=c").value, (string_pairs{{"a", "b=c"}}));
  EXPECT_EQ(parse_query("na+me=1").value, (string_pairs{{"na me", "1"}}));
}

// Each kind of bad parameter fails with a message naming the parameter by
// position (and by name once the name is readable).
TEST(HttpParse, QueryRejectsBadParameters) {
  struct bad_case {
    std::string query;
    std::string message;
  };
  const bad_case cases[] = {
      {"a=1&b=%zz", "query parameter 2 ('b'): malformed %-escape at byte 0 of the value"},
      {"a=1&%4=2", "query parameter 2: malformed %-escape at byte 0 of the name"},
      {"=x", "query parameter 1 has an empty name"},
      {"a=1&=", "query parameter 2 has an empty name"},
      {"a%00b=1", "query parameter 1: the name contains a NUL byte (%00)"},
      {"a=x%00", "query parameter 1 ('a'): the value contains a NUL byte (%00)"},
      {"a=%C0%AE", "query parameter 1 ('a'): the value is not valid UTF-8"},
      {"%FF=1", "query parameter 1: the name is not valid UTF-8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    auto r = parse_query(c.query);
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.error, c.message);
  }
}

// The limits refuse the whole query, never cut it; the message gives the size.
TEST(HttpParse, QueryLimitsRefuseOverlongInput) {
  urlencoded_limits limits;
  limits.max_fields = 2;
  limits.max_name_bytes = 4;
  limits.max_value_bytes = 5;
  EXPECT_TRUE(parse_query("abcd=12345&b=", limits).value);
  EXPECT_EQ(parse_query("a&b&c", limits).error, "the query has more than 2 query parameters");
  EXPECT_EQ(parse_query("abcde=1", limits).error,
            "query parameter 1: the name is 5 bytes, more than the 4 allowed");
  EXPECT_EQ(parse_query("a=123456", limits).error,
            "query parameter 1 ('a'): the value is 6 bytes, more than the 5 allowed");
  // The limit is on decoded bytes: "%41%41%41%41%41" is 5 bytes.
  EXPECT_TRUE(parse_query("a=%41%41%41%41%41", limits).value);
}

// A name in a message is cut and its unusual bytes escaped, so a hostile
// name cannot forge log lines.
TEST(HttpParse, NamesInMessagesAreEscapedAndCut) {
  auto r = parse_query("a%0Ab%27%5C=%zz");
  EXPECT_EQ(r.error, "query parameter 1 ('a\\x0Ab\\x27\\x5C'): malformed %-escape at byte 0 of the value");
  auto long_name = parse_query(std::string(100, 'n') + "=%");
  EXPECT_THAT(long_name.error, HasSubstr("('" + std::string(64, 'n') + "...')"));
}

// -- parse_form ------------------------------------------------------------------

// A login form as browsers send it.
TEST(HttpParse, FormDecodesFields) {
  auto r = parse_form("user=ada%40example.org&password=p%C3%A4ss+w%26rd%3D&remember=on");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(*r.value, (string_pairs{{"user", "ada@example.org"}, {"password", "p\xC3\xA4ss w&rd="}, {"remember", "on"}}));
  EXPECT_EQ(parse_form("").value, string_pairs{});
}

// Checkboxes send one field several times: all are kept, in order.
TEST(HttpParse, FormKeepsDuplicateFields) {
  EXPECT_EQ(parse_form("tag=a&tag=b&tag=a").value, (string_pairs{{"tag", "a"}, {"tag", "b"}, {"tag", "a"}}));
}

// Bad fields fail with messages that speak of form fields, and never repeat a value.
TEST(HttpParse, FormRejectsBadFieldsWithoutEchoingValues) {
  struct bad_case {
    std::string body;
    std::string message;
  };
  const bad_case cases[] = {
      {"user=ada&password=secret%", "form field 2 ('password'): malformed %-escape at byte 6 of the value"},
      {"=secret", "form field 1 has an empty name"},
      {"user=ada&password=sec%00ret", "form field 2 ('password'): the value contains a NUL byte (%00)"},
      {"password=%C0%AF", "form field 1 ('password'): the value is not valid UTF-8"},
      {"password=%E0%80%AF", "form field 1 ('password'): the value is not valid UTF-8"},
      {"pass%00word=x", "form field 1: the name contains a NUL byte (%00)"},
      {"us%zzer=x", "form field 1: malformed %-escape at byte 2 of the name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = parse_form(c.body);
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.error, c.message);
    EXPECT_THAT(r.error, Not(HasSubstr("secret")));
  }
}

// The default limits: 1000 fields, 256-byte names, 1 MiB values.
TEST(HttpParse, FormDefaultLimits) {
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "f=1&";
  EXPECT_TRUE(parse_form(many).value);
  EXPECT_EQ(parse_form(many + "f=1").error, "the form has more than 1000 form fields");
  EXPECT_TRUE(parse_form(std::string(256, 'n') + "=1").value);
  EXPECT_EQ(parse_form(std::string(257, 'n') + "=1").error,
            "form field 1: the name is 257 bytes, more than the 256 allowed");
  EXPECT_TRUE(parse_form("v=" + std::string(1 << 20, 'x')).value);
  EXPECT_EQ(parse_form("v=" + std::string((1 << 20) + 1, 'x')).error,
            "form field 1 ('v'): the value is 1048577 bytes, more than the 1048576 allowed");
}

// -- parse_request_target ------------------------------------------------------------

// Path and query are split; escapes of unreserved characters are decoded
// for routing, others (an escaped '/') stay inside their segment.
TEST(HttpParse, TargetSplitsPathAndQuery) {
  auto r = parse_request_target("/web/items/a%20b%2Fc%3F?q=x%26y+z%C3%A9&n=1");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->path, "/web/items/a%20b%2Fc%3F");
  EXPECT_EQ(r.value->query, "q=x%26y+z%C3%A9&n=1");
  EXPECT_EQ(r.value->params, (string_pairs{{"q", "x&y z\xC3\xA9"}, {"n", "1"}}));

  EXPECT_EQ(parse_request_target("/%77eb/items/%6E%65%77").value->path, "/web/items/new");
  EXPECT_EQ(parse_request_target("/a%7e%2D%5f").value->path, "/a~-_");
  EXPECT_EQ(parse_request_target("/").value->path, "/");
  EXPECT_EQ(parse_request_target("/a+b:c@d!$&'()*,;=").value->path, "/a+b:c@d!$&'()*,;=");
  auto empty_query = parse_request_target("/x?");
  EXPECT_EQ(empty_query.value->path, "/x");
  EXPECT_TRUE(empty_query.value->params.empty());
  // '?' and '/' are ordinary in a query.
  EXPECT_EQ(parse_request_target("/x?next=/a/b?c").value->params, (string_pairs{{"next", "/a/b?c"}}));
}

// Dot segments, raw, escaped, behind an escaped '/' or as overlong UTF-8,
// are refused: nothing that decodes a segment later can climb out of a folder.
TEST(HttpParse, TargetRejectsTraversal) {
  for (std::string_view bad :
       {"/web/static/../x", "/web/static/%2e%2e/x", "/web/static/%2E%2E/%2E%2E/etc/passwd",
        "/web/static/..%2f..%2fetc%2fpasswd", "/web/static/js%2f..%2fapp.css", "/web/static/..", "/..",
        "/a/./b", "/a/.", "/a/%2e", "/a%2F.%2Fb"}) {
    SCOPED_TRACE(std::string(bad));
    auto r = parse_request_target(bad);
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.error, "the path has a '.' or '..' segment (after decoding)");
  }
  // Overlong '.' and '/' are not UTF-8.
  for (std::string_view bad : {"/web/static/%C0%AE%C0%AE/x", "/web/static/..%C0%AFetc", "/%E0%80%AE"}) {
    SCOPED_TRACE(std::string(bad));
    EXPECT_EQ(parse_request_target(bad).error, "the path is not valid UTF-8 once decoded");
  }
  // Dots inside a name are fine.
  EXPECT_TRUE(parse_request_target("/a/..b/c../.d/e.").value);
}

// A NUL, raw characters RFC 3986 does not allow, malformed escapes and
// targets that are not paths are refused, with the byte named.
TEST(HttpParse, TargetRejectsBadBytes) {
  struct bad_case {
    std::string target;
    std::string message;
  };
  const bad_case cases[] = {
      {"/a%00b", "the path contains a NUL byte (%00)"},
      {"/a%2F%00", "the path contains a NUL byte (%00)"},
      {"/a"s + '\0' + "b", "byte 2 (0x00) of the path is not allowed in a URL"},
      {"/a b", "byte 2 (0x20) of the path is not allowed in a URL"},
      {"/a#frag", "byte 2 (0x23) of the path is not allowed in a URL"},
      {"/a\\..\\b", "byte 2 (0x5C) of the path is not allowed in a URL"},
      {"/caf\xC3\xA9", "byte 4 (0xC3) of the path is not allowed in a URL"},
      {"/a%zz", "malformed %-escape at byte 2 of the path"},
      {"/a%2", "malformed %-escape at byte 2 of the path"},
      {"/a?x=%", "malformed %-escape at byte 2 of the query"},
      {"/a?x=1 2", "byte 3 (0x20) of the query is not allowed in a URL"},
      {"/a?x=1#f", "byte 3 (0x23) of the query is not allowed in a URL"},
      {"/a?x=%00", "query parameter 1 ('x'): the value contains a NUL byte (%00)"},
      {"/a?=1", "query parameter 1 has an empty name"},
      {"", "the request target must start with '/'"},
      {"*", "the request target must start with '/'"},
      {"healthz", "the request target must start with '/'"},
      {"http://example.org/", "the request target must start with '/'"},
      {"?a=1", "the request target must start with '/'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    auto r = parse_request_target(c.target);
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.error, c.message);
  }
}

// -- parse_cookies ----------------------------------------------------------------

// Cookies as browsers send them: in order, duplicates kept, quotes and
// surrounding whitespace dropped, values not decoded.
TEST(HttpParse, CookiesParseInOrder) {
  EXPECT_EQ(parse_cookies("session=abc123; theme=dark;lang=\"en-GB\";  session=old ; e=; x=a%20b=c"),
            (string_pairs{{"session", "abc123"},
                          {"theme", "dark"},
                          {"lang", "en-GB"},
                          {"session", "old"},
                          {"e", ""},
                          {"x", "a%20b=c"}}));
  EXPECT_EQ(parse_cookies(""), string_pairs{});
  EXPECT_EQ(parse_cookies("a = 1 "), (string_pairs{{"a", "1"}}));
  EXPECT_EQ(parse_cookies("a=\" spaced \""), (string_pairs{{"a", " spaced "}}));
  EXPECT_EQ(parse_cookies("a=\""), (string_pairs{{"a", "\""}}));
}

// Items that are not NAME=VALUE, names that are not tokens and values with
// control characters are skipped; the rest of the header still counts.
TEST(HttpParse, CookiesSkipMalformedItems) {
  EXPECT_EQ(parse_cookies("novalue; =anon; a b=1; [x]=2; n\"q=3; ok=1; ;;; c=\x01; d=\x7f; t=a\tb; last=2"),
            (string_pairs{{"ok", "1"}, {"last", "2"}}));
  EXPECT_EQ(parse_cookies("n"s + '\0' + "=1; v=a" + '\0' + "; good=yes"), (string_pairs{{"good", "yes"}}));
  // Bytes above 0x7F in a value are passed on (browsers send them); in a name they are not a token.
  EXPECT_EQ(parse_cookies("v=caf\xC3\xA9; caf\xC3\xA9=1"), (string_pairs{{"v", "caf\xC3\xA9"}}));
}

}  // namespace
