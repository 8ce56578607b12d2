#include "passwords.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "trellis/host/auth.hpp"
#include "trellis/host/text.hpp"

namespace trellis::host {
namespace detail {

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialized");
}

std::string hash_password(std::string_view password, std::uint32_t memory_kib, std::uint32_t iterations) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), iterations,
                            static_cast<std::size_t>(memory_kib) * 1024U, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("could not hash the password: argon2id needs " + std::to_string(memory_kib) +
                             " KiB of memory");
  }
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

namespace {

// The value of `key` ("m=" or "t=") in the parameters of an argon2 string
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), or none.
std::optional<std::uint64_t> argon2_parameter(std::string_view hash, std::string_view key) {
  const std::size_t at = hash.find(std::string("$m="));
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view params = hash.substr(at + 1);
  params = params.substr(0, params.find('$'));
  while (!params.empty()) {
    std::string_view item = params.substr(0, params.find(','));
    if (item.substr(0, key.size()) == key) {
      std::uint64_t n = 0;
      std::string_view digits = item.substr(key.size());
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
      return n;
    }
    if (item.size() == params.size()) break;
    params.remove_prefix(item.size() + 1);
  }
  return std::nullopt;
}

}  // namespace

bool needs_rehash(const std::string& hash, std::uint32_t memory_kib, std::uint32_t iterations) {
  if (hash.rfind("$argon2id$", 0) != 0) return true;
  const int differs = crypto_pwhash_str_needs_rehash(hash.c_str(), iterations,
                                                     static_cast<std::size_t>(memory_kib) * 1024U);
  if (differs == 0) return false;
  if (differs < 0) return true;
  // libsodium says "different"; only weaker parameters are worth the change.
  const auto m = argon2_parameter(hash, "m=");
  const auto t = argon2_parameter(hash, "t=");
  return !m || !t || *m < memory_kib || *t < iterations;
}

namespace {

// Calls `each` per code point of `text`; false when it is not well-formed UTF-8.
template <typename Each>
bool decode_utf8(std::string_view text, Each each) {
  char32_t cp = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i, cp);
    if (n == 0) return false;
    each(cp);
    i += n;
  }
  return true;
}

std::string code_point_name(char32_t cp) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(cp));
  return buffer;
}

// Characters that change how text around them is shown without being seen:
// bidirectional controls, zero-width characters, the byte order mark.
bool invisible_format(char32_t cp) {
  return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0xFEFF || cp == 0x00AD;
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view text) {
  std::size_t n = 0;
  if (!decode_utf8(text, [&](char32_t) { ++n; })) return std::nullopt;
  return n;
}

std::string name_problem(std::string_view name, std::string_view what) {
  const std::string w(what);
  if (name.empty()) return w + " is empty";
  std::size_t count = 0;
  std::string problem;
  const bool valid = decode_utf8(name, [&](char32_t cp) {
    ++count;
    if (!problem.empty()) return;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      const char* which = cp == '\r'   ? "a carriage return"
                          : cp == '\n' ? "a line feed"
                          : cp == 0x1B ? "an escape"
                          : cp == '\t' ? "a tab"
                                       : "a control character";
      problem = w + " contains " + which + " (" + code_point_name(cp) + ")";
    } else if (invisible_format(cp)) {
      problem = w + " contains an invisible formatting character (" + code_point_name(cp) + ")";
    } else if (cp == ':') {
      problem = w + " contains ':' (kept for the actors \"token:LABEL\" and \"cli:USER\" of the audit log)";
    }
  });
  if (!valid) return w + " is not valid UTF-8";
  if (!problem.empty()) return problem;
  if (count > 64) return w + " is longer than 64 characters";
  if (name.front() == ' ' || name.back() == ' ') return w + " begins or ends with a space";
  return {};
}

std::string fold_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string printable(std::string_view text) {
  const bool utf8 = utf8_length(text).has_value();
  std::string out;
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (out.size() >= 128) {
      out += "...";
      break;
    }
    if (b < 0x20 || b == 0x7F || (b >= 0x80 && !utf8)) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02X", static_cast<unsigned>(b));
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

std::string random_base64url(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw.data(), raw.size());
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<secret_digest> digest_secret(std::string_view encoded) {
  constexpr std::size_t encoded_size = 43;  // 32 bytes in base64url without padding
  if (encoded.size() != encoded_size) return std::nullopt;
  unsigned char raw[32];
  std::size_t raw_size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(raw, sizeof raw, encoded.data(), encoded.size(), nullptr, &raw_size, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_size != sizeof raw || end != encoded.data() + encoded.size()) {
    return std::nullopt;
  }
  secret_digest d{};
  crypto_generichash(d.data(), d.size(), raw, sizeof raw, nullptr, 0);
  sodium_memzero(raw, sizeof raw);
  return d;
}

std::string to_hex(const secret_digest& d) {
  std::string out(d.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), d.data(), d.size());
  out.pop_back();
  return out;
}

}  // namespace detail

bool is_common_password(std::string_view password) {
  const std::string folded = detail::fold_case(password);
  return std::binary_search(detail::common_passwords.begin(), detail::common_passwords.end(),
                            std::string_view(folded));
}

std::string password_problem(std::string_view password, const auth_options& options, std::string_view user_name) {
  const auto length = detail::utf8_length(password);
  if (!length) return "password is not valid UTF-8";
  if (*length < options.password_min_length) {
    return "password is shorter than " + std::to_string(options.password_min_length) + " characters";
  }
  if (*length > options.password_max_length) {
    return "password is longer than " + std::to_string(options.password_max_length) + " characters";
  }
  if (is_common_password(password)) return "password is one of the 10,000 most common passwords";
  if (!user_name.empty() && detail::fold_case(password) == detail::fold_case(user_name)) {
    return "password is the user name";
  }
  return {};
}

std::string user_name_problem(std::string_view name) { return detail::name_problem(name, "user name"); }

}  // namespace trellis::host
