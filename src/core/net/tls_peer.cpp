#include "core/net/tls_peer.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace trib::net {

bool is_ip_literal(std::string_view host) {
    const std::string h(host);
    in6_addr a6;
    in_addr a4;
    return ::inet_pton(AF_INET, h.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, h.c_str(), &a6) == 1;
}

status expect_tls_peer(ssl_st* ssl, const std::string& name, bool verify) {
    const bool ip = is_ip_literal(name);
    if (!ip && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
        return fail(errc::invalid_argument, "TLS: cannot use '" + name + "' as the server name");
    if (!verify)
        return ok();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1)
            return fail(errc::invalid_argument, "TLS: cannot verify the address '" + name + "'");
        return ok();
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0) != 1)
        return fail(errc::invalid_argument, "TLS: cannot verify the host name '" + name + "'");
    return ok();
}

std::string ssl_error_text() {
    std::string out;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown TLS error" : out;
}

}  // namespace trib::net
