// The store settings both S3 connectors read from their options.

#include <fmt/format.h>

#include "connectors/s3/common.h"

#include "connectors/s3/azure_store.h"
#include "connectors/s3/azure_util.h"
#include "connectors/s3/gcs_store.h"
#include "connectors/s3/hdfs_store.h"

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

result<s3_settings> store_settings_for(store_kind k, const config::values& v) {
    if (k == store_kind::s3)
        return store_settings(v);
    s3_settings s;
    s.kind = k;
    s.endpoint = v.opt_str("endpoint").value_or("");
    s.timeout = v.duration("timeout");
    s.connect_timeout = v.duration("connect_timeout");
    if (auto ca = v.opt_str("tls_ca_file"))
        s.tls.ca_file = *ca;
    if (v.boolean("tls_danger_accept_invalid_certs")) {
        s.tls.verify_peer = false;
        s.tls.verify_host = false;
    }
    switch (k) {
        case store_kind::gcs:
            s.bucket = v.str("bucket");
            s.gcs.credentials_file = v.opt_str("credentials_file").value_or("");
            s.gcs.token = v.opt_str("token").value_or("");
            break;
        case store_kind::azure_blob: {
            s.bucket = v.str("container");
            if (auto cs = v.opt_str("connection_string")) {
                auto c = parse_azure_connection_string(*cs);
                if (!c)
                    return unexpected(
                        error(errc::invalid_argument, retry_class::fatal, c.error().message()));
                s.azure.account = c->account;
                s.azure.key = c->key;
                s.azure.sas = c->sas;
                if (s.endpoint.empty())
                    s.endpoint = c->blob_endpoint;
            }
            if (auto a = v.opt_str("account_name"))
                s.azure.account = *a;
            if (auto key = v.opt_str("account_key"))
                s.azure.key = *key;
            if (auto sas = v.opt_str("sas_token"))
                s.azure.sas = sas->starts_with('?') ? sas->substr(1) : *sas;
            break;
        }
        case store_kind::hdfs:
            s.bucket = v.str("directory");
            s.hdfs.user = v.opt_str("user").value_or(real_getenv("HADOOP_USER_NAME").value_or(""));
            s.hdfs.delegation = v.opt_str("delegation_token").value_or("");
            break;
        case store_kind::s3:
            break;
    }
    return s;
}

result<std::unique_ptr<object_store>> make_store(s3_settings s) {
    switch (s.kind) {
        case store_kind::gcs:
            return make_gcs_store(std::move(s));
        case store_kind::azure_blob:
            return make_azure_store(std::move(s));
        case store_kind::hdfs:
            return make_hdfs_store(std::move(s));
        case store_kind::s3:
            break;
    }
    return make_s3_store(std::move(s));
}

status resolve_store_credentials(s3_settings& s) {
    if (s.kind != store_kind::s3)
        return ok();  // the other stores' credentials come from their own options
    credential_inputs in = s.credential_source;
    in.getenv = real_getenv;
    in.read_file = real_read_file;
    TRIB_ASSIGN_OR_RETURN(s.credentials, resolve_credentials(in));
    return ok();
}

}  // namespace trib::connectors::s3_detail
