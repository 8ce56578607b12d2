#include "trellis/host/result_format.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace json = boost::json;
using trellis::host::append_json_string;
using trellis::host::call_status;
using trellis::host::make_result_encoder;
using trellis::host::parse_result_format;
using trellis::host::result_format;

trellis_str str(std::string_view s) { return {s.data(), s.size()}; }

trellis_column col(std::string_view name, trellis_value_type type) {
  trellis_column c{};
  c.name = str(name);
  c.type = type;
  return c;
}
trellis_value null_v() {
  trellis_value v{};
  v.type = TRELLIS_VALUE_NULL;
  return v;
}
trellis_value int_v(std::int64_t i) {
  trellis_value v{};
  v.type = TRELLIS_VALUE_INT64;
  v.as.i64 = i;
  return v;
}
trellis_value real_v(double d) {
  trellis_value v{};
  v.type = TRELLIS_VALUE_DOUBLE;
  v.as.f64 = d;
  return v;
}
// The view must outlive the value, as in the ABI.
trellis_value text_v(std::string_view s) {
  trellis_value v{};
  v.type = TRELLIS_VALUE_TEXT;
  v.as.bytes = str(s);
  return v;
}
trellis_value blob_v(std::string_view s) {
  trellis_value v{};
  v.type = TRELLIS_VALUE_BLOB;
  v.as.bytes = str(s);
  return v;
}

call_status failed(std::string message, std::string sqlstate = {}) {
  return call_status{TRELLIS_ERROR, std::move(message), std::move(sqlstate)};
}

// One whole result through an encoder: columns, one batch of rows, finish.
std::string encode(result_format format, const std::vector<trellis_column>& cols,
                   const std::vector<trellis_value>& values, const call_status& status = {}) {
  auto encoder = make_result_encoder(format);
  std::string out;
  encoder->columns(cols.data(), cols.size(), out);
  encoder->rows(values.data(), cols.empty() ? 0 : values.size() / cols.size(), out);
  encoder->finish(status, out);
  return out;
}

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// Parses `text` as JSON, failing the test (not crashing) when it is not.
json::value parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text;
  return v;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  EXPECT_EQ(start, text.size()) << "output ends with a newline";
  return out;
}

const std::string fffd = "\xEF\xBF\xBD";

}  // namespace

// -- format names -----------------------------------------------------------------

// The three names, exactly; anything else is refused.
TEST(ResultFormat, ParsesFormatNames) {
  EXPECT_EQ(parse_result_format("table"), result_format::table);
  EXPECT_EQ(parse_result_format("json"), result_format::json);
  EXPECT_EQ(parse_result_format("csv"), result_format::csv);
  EXPECT_EQ(parse_result_format("JSON"), std::nullopt);
  EXPECT_EQ(parse_result_format(""), std::nullopt);
  EXPECT_EQ(parse_result_format("tsv"), std::nullopt);
}

// -- append_json_string -------------------------------------------------------------

// Quotes, backslashes and control characters are escaped; other ASCII is as is.
TEST(ResultFormat, JsonStringEscapes) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("plain text / 100%"), "\"plain text / 100%\"");
  EXPECT_EQ(json_string("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(json_string("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(json_string(std::string_view("\0\x01\x08\x0c\x1b\x1f", 6)), R"("\u0000\u0001\u0008\u000c\u001b\u001f")");
  EXPECT_EQ(json_string("\x7f"), "\"\x7f\"") << "DEL needs no escape in JSON";
  std::string out = "prefix:";
  append_json_string(out, "x");
  EXPECT_EQ(out, "prefix:\"x\"") << "appends";
}

// Valid multi-byte UTF-8 is kept byte for byte, up to the last code point.
TEST(ResultFormat, JsonStringKeepsValidUtf8) {
  for (std::string s : {"h\xC3\xA9llo", "\xE2\x82\xAC 5", "\xF0\x9D\x84\x9E", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80",
                        "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
                        "\xE2\x80\xA8"}) {
    SCOPED_TRACE(s);
    EXPECT_EQ(json_string(s), "\"" + s + "\"");
    EXPECT_EQ(parse(json_string(s)), json::value(s));
  }
}

// Each byte that starts no valid sequence becomes U+FFFD: stray, truncated, overlong, surrogate, too large.
TEST(ResultFormat, JsonStringReplacesInvalidUtf8) {
  struct bad {
    std::string in, out;
  };
  for (const bad& b : {bad{"\xFF", fffd}, bad{"a\x80z", "a" + fffd + "z"}, bad{"ab\xC3", "ab" + fffd},
                       bad{"\xC3(", fffd + "("}, bad{"\xE2\x82", fffd + fffd}, bad{"\xC0\xAF", fffd + fffd},
                       bad{"\xC1\xBF", fffd + fffd}, bad{"\xE0\x80\xAF", fffd + fffd + fffd},
                       bad{"\xED\xA0\x80", fffd + fffd + fffd}, bad{"\xED\xBF\xBF", fffd + fffd + fffd},
                       bad{"\xF0\x80\x80\xAF", fffd + fffd + fffd + fffd},
                       bad{"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},
                       bad{"\xF5\x80\x80\x80", fffd + fffd + fffd + fffd},
                       bad{"\xF8\x88\x80\x80\x80", fffd + fffd + fffd + fffd + fffd},
                       bad{"\"\xFF\\", "\\\"" + fffd + "\\\\"}}) {
    SCOPED_TRACE(b.in);
    EXPECT_EQ(json_string(b.in), "\"" + b.out + "\"");
  }
}

// The parser used below refuses raw invalid UTF-8, so the round trips prove something.
TEST(ResultFormat, JsonParserInTestsValidatesUtf8) {
  boost::system::error_code ec;
  json::parse("\"\xFF\"", ec);
  EXPECT_TRUE(ec) << "boost::json must refuse invalid UTF-8 for these tests to mean anything";
  ec = {};
  json::parse("\"\xED\xA0\x80\"", ec);
  EXPECT_TRUE(ec) << "a UTF-8-encoded surrogate";
}

// Random bytes always give a well-formed JSON string; strings of valid pieces read back unchanged.
TEST(ResultFormat, JsonStringIsWellFormedOnHostileInput) {
  std::mt19937 random(20261126);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  for (int n = 0; n < 5000; ++n) {
    std::string s;
    for (int i = length(random); i > 0; --i) s += static_cast<char>(byte(random));
    SCOPED_TRACE(n);
    json::value v = parse(json_string(s));
    EXPECT_TRUE(v.is_string());
  }
  const std::vector<std::string> pieces = {
      std::string(1, '\0'), "\x01", "\x1f", "\n", "\r", "\t", "\"", "\\", "/", "\x7f", "a", " ",
      "\xC2\x80", "\xC3\xA9", "\xE2\x82\xAC", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x9D\x84\x9E",
      "\xF4\x8F\xBF\xBF"};
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  for (int n = 0; n < 2000; ++n) {
    std::string s;
    for (int i = length(random); i > 0; --i) s += pieces[pick(random)];
    SCOPED_TRACE(n);
    EXPECT_EQ(parse(json_string(s)), json::value(s));
  }
}

// -- JSON encoder ---------------------------------------------------------------------

// The documented shape, byte for byte, for a small result with every value type.
TEST(ResultFormat, JsonEncodesSmallResultExactly) {
  const std::string photo("\x00\x01\xFF", 3);
  std::string out = encode(result_format::json,
                           {col("id", TRELLIS_VALUE_INT64), col("name", TRELLIS_VALUE_TEXT),
                            col("score", TRELLIS_VALUE_DOUBLE), col("photo", TRELLIS_VALUE_BLOB),
                            col("note", TRELLIS_VALUE_NULL)},
                           {int_v(1), text_v("Ada"), real_v(2.5), blob_v(photo), null_v(),  //
                            int_v(-3), text_v("Bob \"B\""), real_v(NAN), blob_v("hi"), text_v("x")});
  EXPECT_EQ(out,
            "{\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},{\"name\":\"name\",\"type\":\"text\"},"
            "{\"name\":\"score\",\"type\":\"real\"},{\"name\":\"photo\",\"type\":\"blob\"},"
            "{\"name\":\"note\",\"type\":\"unknown\"}],\"rows\":[\n"
            "[1,\"Ada\",2.5,\"AAH/\",null],\n"
            "[-3,\"Bob \\\"B\\\"\",null,\"aGk=\",\"x\"]],\"row_count\":2}\n");
  json::value doc = parse(out);
  EXPECT_EQ(doc.at("row_count"), json::value(2));
  EXPECT_EQ(doc.at("rows").at(1).at(1), json::value("Bob \"B\""));
}

// Rows may come in many batches (also empty ones); row_count counts them all.
TEST(ResultFormat, JsonJoinsBatches) {
  auto encoder = make_result_encoder(result_format::json);
  const std::vector<trellis_column> cols = {col("n", TRELLIS_VALUE_INT64)};
  const std::vector<trellis_value> values = {int_v(1), int_v(2), int_v(3)};
  std::string out;
  encoder->columns(cols.data(), cols.size(), out);
  encoder->rows(values.data(), 0, out);
  encoder->rows(values.data(), 2, out);
  encoder->rows(values.data() + 2, 1, out);
  encoder->finish({}, out);
  EXPECT_EQ(out,
            "{\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}],\"rows\":[\n[1],\n[2],\n[3]],\"row_count\":3}\n");
  EXPECT_EQ(encode(result_format::json, cols, {}),
            "{\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}],\"rows\":[],\"row_count\":0}\n");
}

// The whole int64 range is written exactly.
TEST(ResultFormat, JsonWritesInt64Extremes) {
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::string out = encode(result_format::json, {col("n", TRELLIS_VALUE_INT64)}, {int_v(min), int_v(max), int_v(0)});
  EXPECT_NE(out.find("[-9223372036854775808],\n[9223372036854775807],\n[0]]"), std::string::npos) << out;
  json::value doc = parse(out);
  EXPECT_EQ(doc.at("rows").at(0).at(0).as_int64(), min);
  EXPECT_EQ(doc.at("rows").at(1).at(0).as_int64(), max);
}

// Doubles are written as the shortest text that reads back as the same value; NaN and infinities are null.
TEST(ResultFormat, JsonWritesDoublesShortestRoundTrip) {
  struct number {
    double value;
    std::string text;
  };
  for (const number& n : {number{0.1, "0.1"}, number{0.1 + 0.2, "0.30000000000000004"},
                          number{1.0 / 3, "0.3333333333333333"},
                          number{2.5, "2.5"}, number{1.0, "1.0"}, number{-0.0, "-0.0"}, number{1e300, "1e+300"},
                          number{5e-324, "5e-324"}, number{DBL_MAX, "1.7976931348623157e+308"},
                          number{DBL_MIN, "2.2250738585072014e-308"}, number{123456789.125, "123456789.125"},
                          number{-1e-7, "-1e-07"}}) {
    SCOPED_TRACE(n.text);
    std::string out = encode(result_format::json, {col("x", TRELLIS_VALUE_DOUBLE)}, {real_v(n.value)});
    EXPECT_NE(out.find("\"rows\":[\n[" + n.text + "]]"), std::string::npos) << out;
    json::value doc = parse(out);
    EXPECT_EQ(doc.at("rows").at(0).at(0).to_number<double>(), n.value);
  }
  std::string out = encode(result_format::json, {col("x", TRELLIS_VALUE_DOUBLE)},
                           {real_v(NAN), real_v(INFINITY), real_v(-INFINITY)});
  EXPECT_NE(out.find("\"rows\":[\n[null],\n[null],\n[null]]"), std::string::npos) << out;
  parse(out);
}

// Blobs are standard base64 with padding.
TEST(ResultFormat, JsonWritesBlobsAsBase64) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string out = encode(result_format::json, {col("b", TRELLIS_VALUE_BLOB)},
                           {blob_v(""), blob_v("f"), blob_v("fo"), blob_v("foo"), blob_v("foob"), blob_v(all)});
  json::value doc = parse(out);
  const json::array& rows = doc.at("rows").as_array();
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].at(0), json::value(""));
  EXPECT_EQ(rows[1].at(0), json::value("Zg=="));
  EXPECT_EQ(rows[2].at(0), json::value("Zm8="));
  EXPECT_EQ(rows[3].at(0), json::value("Zm9v"));
  EXPECT_EQ(rows[4].at(0), json::value("Zm9vYg=="));
  const std::string_view encoded = rows[5].at(0).as_string();
  EXPECT_EQ(encoded.size(), 344u);
  EXPECT_EQ(encoded.substr(0, 8), "AAECAwQF");
  EXPECT_EQ(encoded.substr(336), "/P3+/w==") << "standard alphabet (+ and /), not URL-safe";
}

// A query that fails after rows were sent says so in-band, with its SQLSTATE when there is one.
TEST(ResultFormat, JsonCarriesErrorInBand) {
  const std::vector<trellis_column> cols = {col("n", TRELLIS_VALUE_INT64)};
  EXPECT_EQ(encode(result_format::json, cols, {int_v(7)}, failed("canceling statement due to \"timeout\"", "57014")),
            "{\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}],\"rows\":[\n[7]],\"row_count\":1,"
            "\"error\":{\"message\":\"canceling statement due to \\\"timeout\\\"\",\"sqlstate\":\"57014\"}}\n");
  std::string out = encode(result_format::json, cols, {int_v(7)}, failed("disk I/O error"));
  EXPECT_EQ(out,
            "{\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}],\"rows\":[\n[7]],\"row_count\":1,"
            "\"error\":{\"message\":\"disk I/O error\"}}\n")
      << "no sqlstate member when there is none";
  json::value doc = parse(encode(result_format::json, cols, {}, failed("bad \xFF\n\x01 message", "HY000")));
  EXPECT_EQ(doc.at("error").at("message"), json::value("bad " + fffd + "\n\x01 message"));
}

// finish() without columns() still writes a complete document.
TEST(ResultFormat, JsonFinishWithoutColumns) {
  auto encoder = make_result_encoder(result_format::json);
  std::string out;
  encoder->finish({}, out);
  EXPECT_EQ(out, "{\"columns\":[],\"rows\":[],\"row_count\":0}\n");
  encoder = make_result_encoder(result_format::json);
  out.clear();
  encoder->finish(failed("no such table: orders", "42S02"), out);
  EXPECT_EQ(out, "{\"columns\":[],\"rows\":[],\"row_count\":0,"
                 "\"error\":{\"message\":\"no such table: orders\",\"sqlstate\":\"42S02\"}}\n");
  parse(out);
}

// Hostile column names and values still make one well-formed document that reads back.
TEST(ResultFormat, JsonDocumentIsWellFormedOnHostileInput) {
  const std::string name = std::string("\"],\"rows\":[[1]]}") + '\0' + "\xFF\xC0\x80\n";
  const std::string text = "\\\"\x1b[31m\xED\xA0\x80\xF4\x90\x80\x80\xE2\x80\xA8</script>";
  std::string out = encode(result_format::json, {col(name, TRELLIS_VALUE_TEXT), col("b", TRELLIS_VALUE_BLOB)},
                           {text_v(text), blob_v(name)}, failed(text, name));
  json::value doc = parse(out);
  ASSERT_TRUE(doc.is_object()) << out;
  EXPECT_EQ(doc.as_object().size(), 4u) << out;
  EXPECT_EQ(doc.at("columns").at(0).at("name"),
            json::value(std::string("\"],\"rows\":[[1]]}") + '\0' + fffd + fffd + fffd + "\n"));
  EXPECT_EQ(doc.at("rows").as_array().size(), 1u);
  EXPECT_EQ(doc.at("rows").at(0).at(0),
            json::value("\\\"\x1b[31m" + fffd + fffd + fffd + fffd + fffd + fffd + fffd + "\xE2\x80\xA8</script>"));
  EXPECT_EQ(doc.at("row_count"), json::value(1));
}

// -- CSV encoder --------------------------------------------------------------------

// RFC 4180: quote fields with a comma, quote or line break (and edge spaces); NULL is empty; CRLF ends lines.
TEST(ResultFormat, CsvQuotesAsRfc4180) {
  std::string out = encode(result_format::csv,
                           {col("id", TRELLIS_VALUE_INT64), col("name, full", TRELLIS_VALUE_TEXT),
                            col("say \"x\"", TRELLIS_VALUE_DOUBLE), col("data", TRELLIS_VALUE_BLOB)},
                           {int_v(1), text_v("plain"), real_v(2.5), blob_v("hi"),  //
                            int_v(2), text_v("a,b"), null_v(), null_v(),           //
                            int_v(3), text_v("say \"hi\""), real_v(-0.125), blob_v(""),
                            int_v(4), text_v("line1\nline2"), real_v(1e300), blob_v("foo"),
                            int_v(5), text_v("cr\rhere"), null_v(), null_v(),
                            int_v(6), text_v(" lead"), null_v(), null_v(),
                            int_v(7), text_v("trail "), null_v(), null_v(),
                            int_v(8), text_v(""), null_v(), null_v(),
                            int_v(9), text_v("in between"), null_v(), null_v(),
                            int_v(-9223372036854775807 - 1), null_v(), null_v(), null_v()});
  EXPECT_EQ(out,
            "id,\"name, full\",\"say \"\"x\"\"\",data\r\n"
            "1,plain,2.5,aGk=\r\n"
            "2,\"a,b\",,\r\n"
            "3,\"say \"\"hi\"\"\",-0.125,\r\n"
            "4,\"line1\nline2\",1e+300,Zm9v\r\n"
            "5,\"cr\rhere\",,\r\n"
            "6,\" lead\",,\r\n"
            "7,\"trail \",,\r\n"
            "8,,,\r\n"
            "9,in between,,\r\n"
            "-9223372036854775808,,,\r\n");
}

// CSV has no place for an error: finish adds nothing, and there is no header without columns.
TEST(ResultFormat, CsvFinishAddsNothing) {
  EXPECT_EQ(encode(result_format::csv, {col("n", TRELLIS_VALUE_INT64)}, {int_v(1)}, failed("timeout", "57014")),
            "n\r\n1\r\n");
  auto encoder = make_result_encoder(result_format::csv);
  std::string out;
  encoder->finish({}, out);
  EXPECT_EQ(out, "");
}

// -- table encoder ------------------------------------------------------------------

// Numbers are right-aligned, text left; NULL is shown; a row count ends it.
TEST(ResultFormat, TableAlignsColumns) {
  std::string out = encode(result_format::table,
                           {col("id", TRELLIS_VALUE_INT64), col("name", TRELLIS_VALUE_TEXT),
                            col("score", TRELLIS_VALUE_DOUBLE)},
                           {int_v(1), text_v("Ada"), real_v(2.5),  //
                            int_v(1234), text_v("Bartholomew"), null_v(), int_v(-5), null_v(), real_v(-0.25)});
  EXPECT_EQ(out,
            "id   | name        | score\n"
            "-----+-------------+------\n"
            "   1 | Ada         |   2.5\n"
            "1234 | Bartholomew |  NULL\n"
            "  -5 | NULL        | -0.25\n"
            "(3 rows)\n");
}

// Widths count code points, so multi-byte text lines up; blobs show their size; empty text is not NULL.
TEST(ResultFormat, TableCountsCodePointsAndShowsBlobSize) {
  std::string out = encode(result_format::table, {col("w", TRELLIS_VALUE_TEXT), col("b", TRELLIS_VALUE_BLOB)},
                           {text_v("\xC3\xA9t\xC3\xA9"), blob_v("abc"), text_v("x"), blob_v(""), text_v(""), null_v()});
  EXPECT_EQ(out,
            "w   | b\n"
            "----+----------\n"
            "\xC3\xA9t\xC3\xA9 | (3 bytes)\n"
            "x   | (0 bytes)\n"
            "    | NULL\n"
            "(3 rows)\n");
}

// "(1 row)", "(0 rows)", and "(no result set)" for a statement without columns.
TEST(ResultFormat, TableRowCountsAndNoResultSet) {
  EXPECT_EQ(encode(result_format::table, {col("n", TRELLIS_VALUE_INT64)}, {int_v(42)}), "n\n--\n42\n(1 row)\n");
  EXPECT_EQ(encode(result_format::table, {col("name", TRELLIS_VALUE_TEXT)}, {}), "name\n----\n(0 rows)\n");
  EXPECT_EQ(encode(result_format::table, {}, {}), "(no result set)\n");
}

// Control characters never reach the terminal: escape sequences in values or names are defused.
TEST(ResultFormat, TableNeverPrintsControlCharacters) {
  std::string out = encode(result_format::table, {col("\x1b]0;pwned\x07", TRELLIS_VALUE_TEXT)},
                           {text_v("\x1b[31mred\x1b[0m"), text_v("a\nb\tc\rd\x7f"), text_v("\x08\x08\x08ok")});
  EXPECT_EQ(out,
            "?]0;pwned?\n"
            "------------\n"
            "?[31mred?[0m\n"
            "a\\nb\\tc?d?\n"
            "???ok\n"
            "(3 rows)\n");
  std::string every;
  for (int c = 0; c < 0x20; ++c) every += static_cast<char>(c);
  every += '\x7f';
  const std::string table = encode(result_format::table, {col(every, TRELLIS_VALUE_TEXT)}, {text_v(every)});
  for (const std::string& line : lines(table)) {
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u >= 0x20 && u != 0x7f) << "raw control byte " << int{u} << " in: " << line;
    }
  }
}

// The C1 controls (U+0080-U+009F, e.g. U+009B, a one-character CSI) are control characters too.
TEST(ResultFormat, TableNeverPrintsC1ControlCharacters) {
  std::string out = encode(result_format::table, {col("v", TRELLIS_VALUE_TEXT)},
                           {text_v("\xC2\x9B" "31mred\xC2\x9D" "0;x\xC2\x9C"), text_v("caf\xC3\xA9")});
  EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos) << out;
  EXPECT_EQ(out.find("\xC2\x9D"), std::string::npos) << out;
  EXPECT_EQ(out.find("\xC2\x9C"), std::string::npos) << out;
  EXPECT_NE(out.find("caf\xC3\xA9"), std::string::npos) << "other non-ASCII text is kept: " << out;
}

// Invalid UTF-8 in a cell shows as U+FFFD, as in JSON.
TEST(ResultFormat, TableReplacesInvalidUtf8) {
  std::string out = encode(result_format::table, {col("v", TRELLIS_VALUE_TEXT)}, {text_v("a\xFF" "b\xED\xA0\x80")});
  EXPECT_EQ(lines(out).at(2), "a" + fffd + "b" + fffd + fffd + fffd);
}

// Cells longer than 60 code points are cut to 60 and end with an ellipsis.
TEST(ResultFormat, TableTruncatesLongCells) {
  const std::string ellipsis = "\xE2\x80\xA6";
  std::string e70;
  for (int i = 0; i < 70; ++i) e70 += "\xC3\xA9";
  std::string e60;
  for (int i = 0; i < 60; ++i) e60 += "\xC3\xA9";
  std::string out = encode(result_format::table, {col("v", TRELLIS_VALUE_TEXT)},
                           {text_v(std::string(61, 'x')), text_v(std::string(60, 'y')), text_v(e70), text_v("short")});
  std::vector<std::string> l = lines(out);
  ASSERT_EQ(l.size(), 7u) << out;
  EXPECT_EQ(l[1], std::string(61, '-'));
  EXPECT_EQ(l[2], std::string(60, 'x') + ellipsis);
  EXPECT_EQ(l[3], std::string(60, 'y')) << "exactly 60 is not cut";
  EXPECT_EQ(l[4], e60 + ellipsis);
  EXPECT_EQ(l[5], "short");
  std::string names = encode(result_format::table, {col(std::string(100, 'n'), TRELLIS_VALUE_TEXT)}, {});
  EXPECT_EQ(lines(names).at(0), std::string(60, 'n') + ellipsis) << "column names too";
}
