// The store settings both S3 connectors read from their options.

#include <fmt/format.h>

#include "connectors/s3/common.h"

namespace trib::connectors::s3_detail {

result<s3_settings> store_settings(const config::values& v) {
    s3_settings s;
    s.bucket = v.str("bucket");
    if (auto r = v.opt_str("region"); r && !r->empty())
        s.region = *r;
    else if (auto e = real_getenv("AWS_REGION"); e && !e->empty())
        s.region = *e;
    else if (auto d = real_getenv("AWS_DEFAULT_REGION"); d && !d->empty())
        s.region = *d;
    s.endpoint = v.opt_str("endpoint").value_or("");
    s.path_style = v.has("path_style") ? v.boolean("path_style") : !s.endpoint.empty();
    // Credentials are resolved at open() (resolve_store_credentials): the environment and the
    // credentials file may change between a configuration check and the start.
    s.credential_source.access_key_id = v.opt_str("access_key_id");
    s.credential_source.secret_access_key = v.opt_str("secret_access_key");
    s.credential_source.session_token = v.opt_str("session_token");
    s.credential_source.profile = v.opt_str("profile");
    s.timeout = v.duration("timeout");
    s.connect_timeout = v.duration("connect_timeout");
    if (auto ca = v.opt_str("tls_ca_file"))
        s.tls.ca_file = *ca;
    if (v.boolean("tls_danger_accept_invalid_certs")) {
        s.tls.verify_peer = false;
        s.tls.verify_host = false;
    }
    return s;
}

status resolve_store_credentials(s3_settings& s) {
    credential_inputs in = s.credential_source;
    in.getenv = real_getenv;
    in.read_file = real_read_file;
    TRIB_ASSIGN_OR_RETURN(s.credentials, resolve_credentials(in));
    return ok();
}

}  // namespace trib::connectors::s3_detail
