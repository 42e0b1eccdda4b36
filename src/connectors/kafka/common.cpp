// The options the Kafka source and sink share (declared in spec.toml, group "connection") and the
// librdkafka configuration made from them.
// Option names are Tributary's (Iggy has no Kafka connector); each says which librdkafka
// property it sets, and anything else librdkafka knows goes through `properties` verbatim.

#include "connectors/kafka/common.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/node.h"
#include "core/redact.h"
#include "core/text.h"

namespace trib::connectors::kafka {

namespace {

bool protocol_has_sasl(std::string_view p) {
    return p == "sasl_plaintext" || p == "sasl_ssl";
}
bool protocol_has_tls(std::string_view p) {
    return p == "ssl" || p == "sasl_ssl";
}

std::string fill_key(std::string t, std::string_view key) {
    const std::string_view what = "{key}";
    for (std::size_t p = t.find(what); p != std::string::npos; p = t.find(what, p + key.size()))
        t.replace(p, what.size(), key);
    return t;
}

std::string property_path(std::string_view name) {
    return "properties.\"" + std::string(name) + "\"";
}

}  // namespace

bool is_secret_property(std::string_view name) {
    const std::string n = ascii_lower(name);
    static constexpr std::array<std::string_view, 7> marks = {
        "password", "secret", "jaas", "oauthbearer.config", "ssl.key.pem", "token", "credential"};
    for (auto m : marks) {
        if (n.find(m) != std::string::npos)
            return true;
    }
    return n == "ssl_key" || n == "ssl.keystore.password";
}

void check_common_options(const config::values& v, const config::check_report& report,
                          const std::vector<std::pair<std::string, std::string>>& reserved) {
    if (v.list("bootstrap_servers").empty())
        report("bootstrap_servers", "name at least one broker (host:port)");
    for (const auto& b : v.list("bootstrap_servers")) {
        if (b.empty() || b.find(',') != std::string::npos)
            report("bootstrap_servers", "\"" + b + "\": one host:port per list element");
    }
    const std::string proto = v.str("security_protocol");
    const auto sasl = v.table("sasl");
    const bool sasl_set =
        sasl.opt_str("username").has_value() || sasl.opt_str("password").has_value();
    if (protocol_has_sasl(proto)) {
        if (!sasl.opt_str("username"))
            report("sasl.username", "security_protocol \"" + proto + "\" needs a user name");
        if (!sasl.opt_str("password"))
            report("sasl.password", "security_protocol \"" + proto + "\" needs a password");
    } else if (sasl_set) {
        report("security_protocol", "sasl.username/password are set but security_protocol is \"" +
                                        proto + "\": use \"sasl_plaintext\" or \"sasl_ssl\"");
    }
    const auto tls = v.table("tls");
    const bool tls_files = tls.opt_str("ca_file") || tls.opt_str("cert_file") ||
                           tls.opt_str("key_file") || tls.opt_str("key_password");
    if (tls_files && !protocol_has_tls(proto)) {
        report("security_protocol", "tls files are set but security_protocol is \"" + proto +
                                        "\": use \"ssl\" or \"sasl_ssl\"");
    }
    if (tls.opt_str("cert_file").has_value() != tls.opt_str("key_file").has_value())
        report("tls", "`cert_file` and `key_file` go together");
    // A credential in `properties` must come from ${env:...} or ${file:...}: only then is the
    // value marked secret, and the management API and `validate` output hide it.
    if (const config::node* n = v.raw("properties")) {
        for (const auto& [k, val] : n->fields) {
            if (is_secret_property(k) && !val.secret)
                report(property_path(k),
                       "a credential: give it as ${env:NAME} or ${file:/path} so that it is never "
                       "shown (or use sasl.password / tls.key_password)");
        }
    }
    // Every pass-through property must be one librdkafka accepts, with a value it accepts.
    conf_ptr scratch(rd_kafka_conf_new());
    char err[512];
    for (const auto& [k, val] : v.map("properties")) {
        for (const auto& [name, why] : reserved) {
            if (k == name)
                report(property_path(k), "set by the connector (" + why + ")");
        }
        if (rd_kafka_conf_set(scratch.get(), k.c_str(), val.c_str(), err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            // librdkafka's message may repeat the value: keep it out when it is a credential.
            std::string why = is_secret_property(k) ? "refused by librdkafka" : std::string(err);
            report(property_path(k), why);
        }
    }
}

common_options common_options_from(const config::values& v, std::string_view key) {
    common_options o;
    o.bootstrap_servers = v.list("bootstrap_servers");
    o.client_id = fill_key(v.str("client_id"), key);
    o.security_protocol = v.str("security_protocol");
    const auto sasl = v.table("sasl");
    if (protocol_has_sasl(o.security_protocol)) {
        o.sasl_mechanism = sasl.str("mechanism");
        o.sasl_username = sasl.opt_str("username").value_or("");
        o.sasl_password = sasl.opt_str("password").value_or("");
    }
    const auto tls = v.table("tls");
    o.tls_ca_file = tls.opt_str("ca_file").value_or("");
    o.tls_cert_file = tls.opt_str("cert_file").value_or("");
    o.tls_key_file = tls.opt_str("key_file").value_or("");
    o.tls_key_password = tls.opt_str("key_password").value_or("");
    o.tls_verify = tls.boolean("verify");
    for (const auto& [k, val] : v.map("properties")) {
        if (is_secret_property(k))
            register_secret(val);
        o.properties.emplace_back(k, val);
    }
    return o;
}

property_list librdkafka_properties(const common_options& o, const property_list& direction) {
    property_list p;
    std::string servers;
    for (const auto& b : o.bootstrap_servers)
        servers += (servers.empty() ? "" : ",") + b;
    p.emplace_back("bootstrap.servers", servers);
    p.emplace_back("client.id", o.client_id);
    p.emplace_back("security.protocol", o.security_protocol);
    if (protocol_has_sasl(o.security_protocol)) {
        p.emplace_back("sasl.mechanism", o.sasl_mechanism);
        p.emplace_back("sasl.username", o.sasl_username);
        p.emplace_back("sasl.password", o.sasl_password);
    }
    if (protocol_has_tls(o.security_protocol)) {
        if (!o.tls_ca_file.empty())
            p.emplace_back("ssl.ca.location", o.tls_ca_file);
        if (!o.tls_cert_file.empty())
            p.emplace_back("ssl.certificate.location", o.tls_cert_file);
        if (!o.tls_key_file.empty())
            p.emplace_back("ssl.key.location", o.tls_key_file);
        if (!o.tls_key_password.empty())
            p.emplace_back("ssl.key.password", o.tls_key_password);
        p.emplace_back("enable.ssl.certificate.verification", o.tls_verify ? "true" : "false");
        p.emplace_back("ssl.endpoint.identification.algorithm", o.tls_verify ? "https" : "none");
    }
    p.insert(p.end(), direction.begin(), direction.end());
    p.insert(p.end(), o.properties.begin(), o.properties.end());
    return p;
}

result<conf_ptr> make_conf(const property_list& props) {
    conf_ptr conf(rd_kafka_conf_new());
    char err[512];
    for (const auto& [k, val] : props) {
        if (rd_kafka_conf_set(conf.get(), k.c_str(), val.c_str(), err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            std::string why = is_secret_property(k) ? "refused by librdkafka" : std::string(err);
            return fail(errc::invalid_argument, "librdkafka property " + k + ": " + why);
        }
    }
    return conf;
}

std::string describe(const property_list& props) {
    std::string out;
    for (const auto& [k, val] : props) {
        out += (out.empty() ? "" : ", ") + k + "=";
        out += is_secret_property(k) ? std::string(redacted_mark) : val;
    }
    return out;
}

std::string librdkafka_version() {
    return rd_kafka_version_str();
}

bool scram_works_with_kafka4() {
    return rd_kafka_version() >= 0x020601ff;
}

}  // namespace trib::connectors::kafka
