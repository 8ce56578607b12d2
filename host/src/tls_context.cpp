#include "tls_context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace trellis::host {
namespace {

namespace ssl = boost::asio::ssl;

// PEM files are a few kilobytes; anything this large is not one.
constexpr std::size_t max_pem_size = 1 << 20;

std::runtime_error failure(std::string_view setting, const std::string& file, std::string_view what) {
  return std::runtime_error(std::string(setting) + " file '" + file + "' " + std::string(what));
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Reads a whole PEM file. The key's mode is checked on the descriptor that is
// read, so a file swapped in between cannot slip past the check.
std::string read_pem(std::string_view setting, const std::string& file, bool private_key) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw failure(setting, file, std::string("cannot be read: ") + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw failure(setting, file, std::string("cannot be read: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw failure(setting, file, "is not a regular file");
  if (private_key && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    throw failure(setting, file,
                  "is readable or writable by group or others (mode " + octal_mode(st.st_mode) +
                      "); a private key must be its owner's only: chmod 600 '" + file + "'");
  }
  if (static_cast<std::size_t>(st.st_size) > max_pem_size) {
    throw failure(setting, file, "is larger than 1 MiB: not a PEM file");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failure(setting, file, std::string("cannot be read: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

// The key's bytes are wiped once OpenSSL holds its own copy.
struct wiped_string {
  std::string text;
  ~wiped_string() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

bool is_key_mismatch(const boost::system::error_code& ec) {
  const auto code = static_cast<unsigned long>(ec.value());
  return ec.category() == boost::asio::error::get_ssl_category() && ERR_GET_LIB(code) == ERR_LIB_X509 &&
         ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
}

// Protocol and cipher choices: TLS 1.2 and 1.3 only, forward-secret AEAD
// suites for 1.2 (1.3's suites are all of that kind; OpenSSL's defaults stay),
// no compression (CRIME) and no renegotiation (a client could make the server
// redo the expensive part of the handshake at will).
void harden(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  static constexpr const char* tls12_ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) {
    throw std::runtime_error("OpenSSL refused the TLS 1.2 cipher list");
  }
  // An encrypted key would make OpenSSL ask for a passphrase on the terminal;
  // an empty answer makes it fail instead (read_key explains why).
  ctx.set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });
}

}  // namespace

std::unique_ptr<ssl::context> make_tls_server_context(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) {
    throw std::runtime_error(std::string(cert_file.empty() ? "tls_key is set but tls_cert is not"
                                                           : "tls_cert is set but tls_key is not") +
                             ": HTTPS needs both the certificate chain (tls_cert) and its private key (tls_key)");
  }
  if (cert_file.empty()) throw std::runtime_error("HTTPS needs tls_cert and tls_key; neither is set");

  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  harden(*ctx);

  const std::string chain = read_pem("tls_cert", cert_file, false);
  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(chain), ec);
  if (ec) throw failure("tls_cert", cert_file, "holds no usable PEM certificate: " + ec.message());

  wiped_string key{read_pem("tls_key", key_file, true)};
  if (key.text.find("ENCRYPTED") != std::string::npos) {
    throw failure("tls_key", key_file,
                  "is encrypted with a passphrase, which the server has no way to ask for; store it "
                  "decrypted and readable by its owner only (openssl pkey -in KEY -out NEW_KEY)");
  }
  ctx->use_private_key(boost::asio::buffer(key.text), ssl::context::pem, ec);
  if (ec && is_key_mismatch(ec)) {
    throw failure("tls_key", key_file,
                  "is not the private key of the certificate in tls_cert file '" + cert_file + "': " + ec.message());
  }
  if (ec) throw failure("tls_key", key_file, "holds no usable PEM private key: " + ec.message());
  ERR_clear_error();
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    const boost::system::error_code why(static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category());
    throw failure("tls_key", key_file,
                  "is not the private key of the certificate in tls_cert file '" + cert_file + "': " + why.message());
  }
  return ctx;
}

}  // namespace trellis::host
