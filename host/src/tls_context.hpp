// The server side of HTTPS: the OpenSSL context the listener hands every
// connection. Internal to the host: only http_server.cpp and its own .cpp
// include it, since Asio's SSL headers are expensive to compile.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace trellis::host {

/// A TLS 1.2+ server context with the certificate chain of `cert_file` and the
/// private key of `key_file` (both PEM). Throws std::runtime_error naming the
/// setting (tls_cert, tls_key) and the file when one of them is set without the
/// other, a file cannot be read, the key is readable or writable by group or
/// others, a file holds no PEM certificate or unencrypted key (with OpenSSL's
/// reason), or the key does not belong to the certificate.
std::unique_ptr<boost::asio::ssl::context> make_tls_server_context(const std::string& cert_file,
                                                                   const std::string& key_file);

}  // namespace trellis::host
