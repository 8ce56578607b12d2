// Password hashing (argon2id through libsodium), the password and name
// rules, and the random secrets of sessions and tokens. Internal to
// host/src: the auth store and its CLI use it; auth.hpp exposes the rules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace trellis::host::detail {

/// Generated at build time (cmake/TrellisCommonPasswordsRun.cmake): zxcvbn's
/// 10,000 most common passwords, lower-cased, sorted bytewise.
extern const std::span<const std::string_view> common_passwords;

/// Initializes libsodium once; throws std::runtime_error if it cannot.
void init_sodium();

/// An argon2id (crypto_pwhash_str_alg, ARGON2ID13) hash string with the
/// given cost; libsodium picks the salt and uses one lane. Throws
/// std::runtime_error when the memory cannot be had.
std::string hash_password(std::string_view password, std::uint32_t memory_kib, std::uint32_t iterations);

/// Whether `password` matches `hash` (any libsodium pwhash string).
bool verify_password(const std::string& hash, std::string_view password);

/// Whether `hash` should be replaced after a successful login: it is not
/// argon2id, or its memory or passes are below the given ones (never to
/// lower them).
bool needs_rehash(const std::string& hash, std::uint32_t memory_kib, std::uint32_t iterations);

/// Code points in `text`, or none when it is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view text);

/// What is wrong with a user name or token label (`what` names it in the
/// message), or empty.
std::string name_problem(std::string_view name, std::string_view what);

/// ASCII lower case: SQLite's NOCASE, the same folding the store compares names with.
std::string fold_case(std::string_view text);

/// `text` with control bytes (and, when it is not valid UTF-8, every
/// non-ASCII byte) written \xNN, and cut at 128 bytes: safe for logs and
/// audit events.
std::string printable(std::string_view text);

/// base64url (no padding) of `bytes` random bytes from randombytes_buf.
std::string random_base64url(std::size_t bytes);

using secret_digest = std::array<unsigned char, 32>;

/// The BLAKE2b-256 hash of a secret written as base64url of 32 bytes (43
/// characters), or none when `encoded` is not such a text.
std::optional<secret_digest> digest_secret(std::string_view encoded);

/// Lower-case hex of `d`.
std::string to_hex(const secret_digest& d);

}  // namespace trellis::host::detail
