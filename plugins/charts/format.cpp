#include "format.hpp"

#include <trellis/sdk.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace trellis::charts {
namespace {

// to_chars in fixed notation: locale-independent, unlike printf.
std::string plain_fixed(double value, int decimals) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-∞" : "∞";
  std::array<char, 400> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed,
                                 decimals);
  if (ec != std::errc{}) return "?";
  std::string out(buffer.data(), end);
  // "-0", "-0.00": a rounded-away minus only confuses.
  if (out.front() == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::string trim_zeros(std::string text) {
  if (text.find('.') == std::string::npos) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string group(const std::string& text) {
  std::size_t start = text.front() == '-' ? 1 : 0;
  std::size_t dot = text.find('.');
  std::size_t int_end = dot == std::string::npos ? text.size() : dot;
  if (int_end - start <= 3 || text.find_first_not_of("-0123456789.") != std::string::npos) return text;
  std::string out = text.substr(0, start);
  for (std::size_t i = start; i < int_end; ++i) {
    if (i > start && (int_end - i) % 3 == 0) out += ',';
    out += text[i];
  }
  out += text.substr(int_end);
  return out;
}

// The fewest decimals that write `step` exactly (2500/1000 -> 1, 0.25 -> 2).
int decimals_for(double step) {
  if (!(step > 0) || !std::isfinite(step)) return 0;
  double scaled = step;
  for (int d = 0; d <= 12; ++d) {
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
    scaled *= 10;
  }
  return 12;
}

struct suffix {
  double divisor;
  const char* text;
};
constexpr std::array<suffix, 4> suffixes{{{1e3, "k"}, {1e6, "M"}, {1e9, "B"}, {1e12, "T"}}};

std::pair<std::string, int> currency_symbol(const std::string& code) {
  // Symbols for the common codes; the others are written as the code.
  if (code == "USD") return {"$", 2};
  if (code == "EUR") return {"€", 2};
  if (code == "GBP") return {"£", 2};
  if (code == "JPY") return {"¥", 0};
  if (code == "INR") return {"₹", 2};
  return {code + "\u00a0", code == "KRW" || code == "ISK" ? 0 : 2};
}

std::string with_currency(const number_format& f, double value, const std::string& magnitude_text) {
  if (f.k != number_format::kind::currency) return magnitude_text;
  return (value < 0 && magnitude_text != "0" ? "-" : "") + currency_symbol(f.currency).first + magnitude_text;
}

}  // namespace

number_format number_format::parse(std::string_view spec, std::string_view option, std::string_view chart) {
  number_format f;
  if (spec == "number") return f;
  if (spec == "integer") {
    f.k = kind::integer;
    return f;
  }
  if (spec == "compact") {
    f.k = kind::compact;
    return f;
  }
  if (spec == "percent") {
    f.k = kind::percent;
    return f;
  }
  if (spec.substr(0, 9) == "currency:") {
    std::string_view code = spec.substr(9);
    bool ok = code.size() == 3;
    for (char c : code) ok = ok && c >= 'A' && c <= 'Z';
    if (ok) {
      f.k = kind::currency;
      f.currency = std::string(code);
      return f;
    }
    throw error("option '" + std::string(option) + "' of " + std::string(chart) + ": '" + std::string(spec) +
                    "' needs a three-letter ISO 4217 currency code in capitals, e.g. currency:EUR",
                TRELLIS_INVALID_ARGUMENT);
  }
  throw error("option '" + std::string(option) + "' of " + std::string(chart) + " must be one of number, integer, " +
                  "compact, percent, currency:<ISO code>, not '" + std::string(spec) + "'",
              TRELLIS_INVALID_ARGUMENT);
}

std::string fixed(double value, int decimals) { return group(plain_fixed(value, decimals)); }

std::string fixed_trimmed(double value, int max_decimals) {
  return group(trim_zeros(plain_fixed(value, max_decimals)));
}

std::string compact(double value) {
  double a = std::fabs(value);
  if (!std::isfinite(value)) return plain_fixed(value, 0);
  std::string sign = value < 0 ? "-" : "";
  if (a < 999.95) {
    std::string text = fixed_trimmed(a, a < 1 ? 2 : 1);
    return (text == "0" ? "" : sign) + text;
  }
  std::size_t i = 0;
  while (i + 1 < suffixes.size() && a >= suffixes[i + 1].divisor) ++i;
  double scaled = a / suffixes[i].divisor;
  int decimals = scaled < 99.95 ? 1 : 0;
  // 999,960 would round to "1000k": step up to the next suffix.
  if (std::round(scaled * std::pow(10, decimals)) / std::pow(10, decimals) >= 1000 && i + 1 < suffixes.size()) {
    ++i;
    scaled = a / suffixes[i].divisor;
    decimals = 1;
  }
  return sign + fixed_trimmed(scaled, decimals) + suffixes[i].text;
}

std::string format_value(double value, const number_format& f) {
  double a = std::fabs(value);
  switch (f.k) {
    case number_format::kind::integer: return fixed(value, 0);
    case number_format::kind::compact: return compact(value);
    case number_format::kind::percent:
      return fixed_trimmed(value * 100, a * 100 < 1 ? 2 : 1) + "%";
    case number_format::kind::currency:
      return with_currency(f, value, fixed(a, currency_symbol(f.currency).second));
    case number_format::kind::number:
    default: {
      if (a >= 1 || a == 0 || !std::isfinite(a)) return fixed_trimmed(value, 2);
      // Small values keep three significant digits instead of rounding to 0.
      int decimals = std::min(12, 2 - static_cast<int>(std::floor(std::log10(a))));
      return fixed_trimmed(value, decimals);
    }
  }
}

std::string format_short(double value, const number_format& f) {
  if (f.k == number_format::kind::percent || std::fabs(value) < 1000) return format_value(value, f);
  return with_currency(f, value, compact(std::fabs(value)));
}

std::string format_tick(double value, double step, double magnitude, const number_format& f) {
  if (f.k == number_format::kind::percent) return fixed(value * 100, decimals_for(step * 100)) + "%";
  double a = std::fabs(value);
  std::string text;
  if (magnitude >= 10000 || f.k == number_format::kind::compact) {
    std::size_t i = 0;
    bool scaled = magnitude >= 1000;
    while (i + 1 < suffixes.size() && magnitude >= suffixes[i + 1].divisor) ++i;
    double divisor = scaled ? suffixes[i].divisor : 1;
    text = fixed(a / divisor, decimals_for(step / divisor));
    if (scaled && text != "0") text += suffixes[i].text;
  } else {
    text = fixed(a, f.k == number_format::kind::integer ? 0 : decimals_for(step));
  }
  if (f.k == number_format::kind::currency) return with_currency(f, value, text);
  return (value < 0 && text != "0" ? "-" : "") + text;
}

std::string coord(double value) {
  if (!std::isfinite(value)) return "0";
  return trim_zeros(plain_fixed(value, 2));
}

std::size_t text_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string ellipsize(std::string_view text, std::size_t max_chars) {
  if (text_length(text) <= max_chars) return std::string(text);
  if (max_chars == 0) return {};
  std::size_t keep = max_chars - 1;
  std::size_t n = 0;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (n == keep) break;
      ++n;
    }
  }
  std::string out(text.substr(0, i));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "…";
}

}  // namespace trellis::charts
