#include "trellis/sql.hpp"
// The header under test comes first: it must compile on its own.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "cli_data.hpp"  // host/src: parse_param, for `trellis query --param`

namespace {

using trellis::sql::named_parameter;
using trellis::sql::named_parameters;
using trellis::sql::parameter_names;
using names = std::vector<std::string>;

// Each occurrence as "name@offset"; also checks that offset and length cover exactly ":name".
std::vector<std::string> found(std::string_view sql) {
  std::vector<std::string> out;
  for (const named_parameter& p : named_parameters(sql)) {
    EXPECT_LE(p.offset + p.length, sql.size());
    EXPECT_EQ(sql.substr(p.offset, p.length), ":" + std::string(p.name)) << "in: " << sql;
    EXPECT_EQ(p.name.data(), sql.data() + p.offset + 1) << "the name views the statement";
    out.push_back(std::string(p.name) + "@" + std::to_string(p.offset));
  }
  return out;
}

}  // namespace

// Plain `:name` markers, with exact offsets and lengths.
TEST(SqlParams, FindsPlainNamesWithOffsets) {
  const std::string_view sql = "SELECT * FROM t WHERE a = :a AND b_2 > :b_2 OR c < :_c9";
  auto params = named_parameters(sql);
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].name, "a");
  EXPECT_EQ(params[0].offset, 26u);
  EXPECT_EQ(params[0].length, 2u);
  EXPECT_EQ(params[1].name, "b_2");
  EXPECT_EQ(params[1].offset, 39u);
  EXPECT_EQ(params[1].length, 4u);
  EXPECT_EQ(params[2].name, "_c9");
  EXPECT_EQ(params[2].offset, 51u);
  EXPECT_EQ(params[2].length, 4u);
  EXPECT_EQ(found(":x"), (names{"x@0"})) << "at the very start and end";
  EXPECT_EQ(found("(:x,:y)"), (names{"x@1", "y@4"}));
  EXPECT_EQ(found("a=:x-1"), (names{"x@2"})) << "a name ends at the first non-identifier character";
}

// A name used twice appears twice; parameter_names lists it once, in order of first use.
TEST(SqlParams, RepeatedNames) {
  const std::string_view sql = "SELECT :b, :a, :b, :a2, :a";
  EXPECT_EQ(found(sql), (names{"b@7", "a@11", "b@15", "a2@19", "a@24"}));
  EXPECT_EQ(parameter_names(sql), (names{"b", "a", "a2"}));
  EXPECT_TRUE(parameter_names("SELECT 1").empty());
  EXPECT_TRUE(named_parameters("").empty());
}

// Names are case-sensitive as written: :Id and :id are different parameters.
TEST(SqlParams, NamesKeepTheirCase) { EXPECT_EQ(parameter_names("SELECT :Id, :id"), (names{"Id", "id"})); }

// Nothing inside string literals counts, including after a doubled '' escape.
TEST(SqlParams, IgnoresStringLiterals) {
  EXPECT_EQ(found("SELECT ':no', 'it''s :no', :yes"), (names{"yes@27"}));
  EXPECT_EQ(found("SELECT '''' || :yes"), (names{"yes@15"}));
  EXPECT_EQ(found("SELECT '', :yes"), (names{"yes@11"}));
  EXPECT_EQ(found("SELECT '12:30' AS t"), names{});
}

// Nothing inside "quoted" or `backticked` identifiers counts.
TEST(SqlParams, IgnoresQuotedIdentifiers) {
  EXPECT_EQ(found(R"(SELECT "col:no", "a"":no", :yes)"), (names{"yes@27"}));
  EXPECT_EQ(found("SELECT `col:no`, `a``:no`, :yes"), (names{"yes@27"}));
  EXPECT_EQ(found(R"(SELECT "it's", ':no' , :yes)"), (names{"yes@23"})) << "quote kinds do not mix";
}

// -- line comments end at the newline; /* block */ comments at */.
TEST(SqlParams, IgnoresComments) {
  EXPECT_EQ(found("SELECT 1 -- :no\n, :yes"), (names{"yes@18"}));
  EXPECT_EQ(found("SELECT 1 -- :no"), names{});
  EXPECT_EQ(found("SELECT /* :no\n :no */ :yes"), (names{"yes@22"}));
  EXPECT_EQ(found("SELECT /*/ :no */ :yes"), (names{"yes@18"})) << "'/*/' does not close itself";
  EXPECT_EQ(found("SELECT 5 - :yes, 6 / :yes2"), (names{"yes@11", "yes2@21"})) << "single - and / are operators";
  EXPECT_EQ(found("SELECT '--', :yes"), (names{"yes@13"})) << "a comment marker inside a string";
}

// PostgreSQL `::type` casts are not parameters, also right after one.
TEST(SqlParams, IgnoresCasts) {
  EXPECT_EQ(found("SELECT x::int, :v::text, '1'::numeric"), (names{"v@15"}));
  EXPECT_EQ(found("SELECT x::int"), names{});
}

// $$...$$ and $tag$...$tag$ dollar quotes hide their content.
TEST(SqlParams, IgnoresDollarQuotedStrings) {
  EXPECT_EQ(found("SELECT $$ :no ' $$, :yes"), (names{"yes@20"}));
  EXPECT_EQ(found("SELECT $fn$ :no $$ :no $other$ :no $fn$ || :yes"), (names{"yes@43"}));
  EXPECT_EQ(found("SELECT $_t1$ :no $_t1$, :yes"), (names{"yes@24"}));
  EXPECT_EQ(found("SELECT price$ + :yes"), (names{"yes@16"})) << "'$' inside an identifier opens nothing";
}

// `$1` and `:1` are positional markers, not named parameters; neither is `?`.
TEST(SqlParams, IgnoresPositionalMarkers) {
  EXPECT_EQ(found("SELECT $1, $2 || :yes"), (names{"yes@17"}));
  EXPECT_EQ(found("SELECT $1$ :yes $1$"), (names{"yes@11"})) << "a dollar-quote tag cannot start with a digit";
  EXPECT_EQ(found("SELECT :1, :2, ?"), names{});
  EXPECT_EQ(found("SELECT :"), names{});
  EXPECT_EQ(found("SELECT : x"), names{});
}

// `a:b` is the identifier a followed by the parameter :b, as SQLite tokenizes it.
TEST(SqlParams, ColonAfterIdentifierStartsParameter) {
  EXPECT_EQ(found("SELECT a:b"), (names{"b@8"}));
  EXPECT_EQ(found("SELECT x:::y"), (names{"y@10"})) << "a cast, then a parameter";
}

// Unterminated quotes and comments hide everything after them, without reading past the end.
TEST(SqlParams, UnterminatedQuotesAndCommentsFindNothingAfter) {
  for (std::string_view sql : {"SELECT :a, 'abc :no", "SELECT :a, \"abc :no", "SELECT :a, `abc :no",
                               "SELECT :a, /* :no", "SELECT :a, /* :no *", "SELECT :a, -- :no",
                               "SELECT :a, $$ :no", "SELECT :a, $t$ :no $t", "SELECT :a, 'x'' :no"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(found(sql), (names{"a@7"}));
  }
  for (std::string_view sql : {"'", "\"", "`", "$", "$$", "$a", "$a$", "-", "--", "/", "/*", ":", "::", "'';"}) {
    SCOPED_TRACE(sql);
    EXPECT_EQ(found(sql), names{});
  }
}

// Names are ASCII identifiers: a non-ASCII letter ends one (or starts none).
TEST(SqlParams, NamesAreAsciiIdentifiers) {
  EXPECT_EQ(found("SELECT :n\xC3\xA4me, :\xC3\xA9t\xC3\xA9"), (names{"n@7"}));
}

// Every prefix of a statement mixing all constructs: offsets stay in bounds and increase.
TEST(SqlParams, EveryPrefixIsSafe) {
  const std::string sql =
      "SELECT :a, 'it''s :no', \"c:no\", `d:no` -- :no\n"
      "/* :no */ $$ :no $$ $q$ :no $q$ $1 :1 x::int :b::text a:c :a";
  EXPECT_EQ(found(sql), (names{"a@7", "b@91", "c@101", "a@104"}));
  for (std::size_t n = 0; n <= sql.size(); ++n) {
    const std::string_view prefix = std::string_view(sql).substr(0, n);
    std::size_t last_end = 0;
    for (const named_parameter& p : named_parameters(prefix)) {
      EXPECT_GE(p.offset, last_end) << "prefix " << n;
      EXPECT_EQ(prefix.substr(p.offset, p.length), ":" + std::string(p.name)) << "prefix " << n;
      last_end = p.offset + p.length;
    }
  }
}

// -- `trellis query --param` ----------------------------------------------------

namespace {

using trellis::host::param_list;
using trellis::host::param_value;
using trellis::host::parse_param;

// Parses one word, expecting success and exactly one parameter.
param_value parsed(std::string_view word, std::string_view expect_name) {
  param_list out;
  const std::string error = parse_param(word, out);
  EXPECT_EQ(error, "") << word;
  EXPECT_EQ(out.size(), 1u) << word;
  if (out.empty()) return {};
  EXPECT_EQ(out[0].first, expect_name) << word;
  return out[0].second;
}

std::string refused(std::string_view word) {
  param_list out;
  std::string error = parse_param(word, out);
  EXPECT_NE(error, "") << word << " should be refused";
  EXPECT_TRUE(out.empty()) << word << ": nothing is added on error";
  return error;
}

#define EXPECT_INTEGER(word, value)                       \
  do {                                                    \
    param_value v_ = parsed(word, "n");                   \
    EXPECT_EQ(v_.type, TRELLIS_VALUE_INT64) << (word);    \
    EXPECT_EQ(v_.i64, value) << (word);                   \
  } while (false)
#define EXPECT_REAL(word, value)                          \
  do {                                                    \
    param_value v_ = parsed(word, "n");                   \
    EXPECT_EQ(v_.type, TRELLIS_VALUE_DOUBLE) << (word);   \
    EXPECT_EQ(v_.f64, value) << (word);                   \
  } while (false)
#define EXPECT_TEXT(word, value)                          \
  do {                                                    \
    param_value v_ = parsed(word, "n");                   \
    EXPECT_EQ(v_.type, TRELLIS_VALUE_TEXT) << (word);     \
    EXPECT_EQ(v_.bytes, value) << (word);                 \
  } while (false)

}  // namespace

// NAME=VALUE: canonical integers are integers, other numbers reals, anything else text.
TEST(SqlParamsCommandLine, InfersTypeFromValue) {
  EXPECT_INTEGER("n=42", 42);
  EXPECT_INTEGER("n=-7", -7);
  EXPECT_INTEGER("n=0", 0);
  EXPECT_INTEGER("n=9223372036854775807", std::numeric_limits<std::int64_t>::max());
  EXPECT_INTEGER("n=-9223372036854775808", std::numeric_limits<std::int64_t>::min());
  EXPECT_REAL("n=1.5", 1.5);
  EXPECT_REAL("n=1e3", 1000.0);
  EXPECT_REAL("n=-2.5E-3", -0.0025);
  EXPECT_REAL("n=.5", 0.5);
  EXPECT_TEXT("n=abc", "abc");
  EXPECT_TEXT("n=", "");
  EXPECT_TEXT("n=12abc", "12abc");
  EXPECT_TEXT("n= 5", " 5");
  EXPECT_TEXT("n=+5", "+5");
  EXPECT_TEXT("n=-", "-");
  EXPECT_TEXT("n=1e999", "1e999");  // out of range for a double
  EXPECT_TEXT("n=inf", "inf");
  EXPECT_TEXT("n=0x10", "0x10");
  EXPECT_TEXT("n=a=b", "a=b");  // the first '=' separates
}

// Leading zeros mark an identifier (a zip code, an account number), not a number.
TEST(SqlParamsCommandLine, KeepsLeadingZerosAsText) {
  EXPECT_TEXT("n=007", "007");
  EXPECT_TEXT("n=-007", "-007");
  EXPECT_TEXT("n=00", "00");
}

// NAME:TYPE=VALUE forces the type.
TEST(SqlParamsCommandLine, TypedForms) {
  EXPECT_INTEGER("n:int=42", 42);
  EXPECT_INTEGER("n:int=007", 7);
  EXPECT_INTEGER("n:int=-9223372036854775808", std::numeric_limits<std::int64_t>::min());
  EXPECT_REAL("n:real=3", 3.0);
  EXPECT_REAL("n:real=-1.25e2", -125.0);
  EXPECT_TEXT("n:text=42", "42");
  EXPECT_TEXT("n:text=", "");
  EXPECT_TEXT("n:text=a:b=c", "a:b=c");
  EXPECT_EQ(parsed("n:null", "n").type, TRELLIS_VALUE_NULL);
  EXPECT_EQ(parsed("n:null=", "n").type, TRELLIS_VALUE_NULL);
}

// A leading ':' on the name, as in the SQL, is accepted and dropped.
TEST(SqlParamsCommandLine, AcceptsLeadingColonOnName) {
  EXPECT_INTEGER(":n=5", 5);
  EXPECT_TEXT(":n:text=5", "5");
  EXPECT_EQ(parsed(":n:null", "n").type, TRELLIS_VALUE_NULL);
}

// Words are added in order, each with its own name.
TEST(SqlParamsCommandLine, AppendsInOrder) {
  param_list out;
  EXPECT_EQ(parse_param("b=x", out), "");
  EXPECT_EQ(parse_param("a:int=1", out), "");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "b");
  EXPECT_EQ(out[1].first, "a");
  EXPECT_EQ(out[1].second.i64, 1);
}

// Bad values and forms are refused, naming the word and what was wrong.
TEST(SqlParamsCommandLine, RefusesBadWords) {
  EXPECT_EQ(refused("n:int=abc"), "--param 'n:int=abc': 'abc' is not an integer");
  EXPECT_EQ(refused("n:int="), "--param 'n:int=': '' is not an integer");
  EXPECT_EQ(refused("n:int=1.5"), "--param 'n:int=1.5': '1.5' is not an integer");
  EXPECT_EQ(refused("n:int=9223372036854775808"),
            "--param 'n:int=9223372036854775808': '9223372036854775808' is not an integer");
  EXPECT_EQ(refused("n:real=abc"), "--param 'n:real=abc': 'abc' is not a number");
  EXPECT_EQ(refused("n:real="), "--param 'n:real=': '' is not a number");
  EXPECT_EQ(refused("n:real=nan"), "--param 'n:real=nan': 'nan' is not a number");
  EXPECT_EQ(refused("n:date=2024-01-01"),
            "--param 'n:date=2024-01-01': unknown type 'date'; use int, real, text or null");
  EXPECT_EQ(refused("n"), "--param 'n': expected NAME=VALUE (or NAME:null)");
  EXPECT_EQ(refused("n:int"), "--param 'n:int': expected NAME=VALUE (or NAME:null)");
  EXPECT_EQ(refused("=5"), "--param '=5': expected NAME=VALUE or NAME:TYPE=VALUE");
  EXPECT_EQ(refused(""), "--param '': expected NAME=VALUE or NAME:TYPE=VALUE");
  EXPECT_EQ(refused(":=5"), "--param ':=5': expected NAME=VALUE or NAME:TYPE=VALUE");
}
