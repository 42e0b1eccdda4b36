// The options the Kafka source and sink share and the librdkafka configuration made from them.
// Option names are Tributary's (Iggy has no Kafka connector); each says which librdkafka
// property it sets, and anything else librdkafka knows goes through `properties` verbatim.

#include "connectors/kafka/common.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/node.h"
#include "core/redact.h"

namespace trib::connectors::kafka {

namespace {

using config::opt_type;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

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

void add_common_options(config::spec& s, const std::string& default_client_id) {
    s.options.push_back(config::opt(
        "bootstrap_servers", opt_type::list,
        "The brokers to start from, `host:port` each (librdkafka `bootstrap.servers`); the client "
        "learns the rest of the cluster from them."));
    s.options.push_back(config::opt("client_id", opt_type::string,
                                    "The client id the brokers see in their logs and quotas "
                                    "(`client.id`). `{key}` is the connector's key.",
                                    "\"" + default_client_id + "\""));
    auto proto =
        config::opt("security_protocol", opt_type::enumeration,
                    "How to talk to the brokers (`security.protocol`): `plaintext`, `ssl` (TLS), "
                    "`sasl_plaintext` (SASL login without TLS) or `sasl_ssl` (both).",
                    "\"plaintext\"");
    proto.choices = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
    s.options.push_back(proto);

    config::option sasl;
    sasl.name = "sasl";
    sasl.type = opt_type::table;
    sasl.doc = "SASL login, with `security_protocol = \"sasl_plaintext\"` or `\"sasl_ssl\"`.";
    auto mech = config::opt(
        "mechanism", opt_type::enumeration,
        "`sasl.mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. SCRAM against Kafka 4.x needs "
        "librdkafka 2.6.1 or later (the build's own 2.12.1 has it; older versions send a proof "
        "Kafka 4 rejects; the connector logs its librdkafka version when it opens). For "
        "OAUTHBEARER set `properties`; GSSAPI needs a librdkafka built with Cyrus SASL, which "
        "the build's own leaves out.",
        "\"PLAIN\"");
    mech.choices = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    sasl.children.push_back(mech);
    sasl.children.push_back(config::optional_opt("username", opt_type::string, "`sasl.username`."));
    sasl.children.push_back(config::optional_opt("password", opt_type::secret, "`sasl.password`."));
    s.options.push_back(sasl);

    config::option tls;
    tls.name = "tls";
    tls.type = opt_type::table;
    tls.doc = "TLS, with `security_protocol = \"ssl\"` or `\"sasl_ssl\"`.";
    tls.children.push_back(config::optional_opt(
        "ca_file", opt_type::string,
        "PEM file of the CAs that may sign the brokers' certificates (`ssl.ca.location`; "
        "default: the system's CAs)."));
    tls.children.push_back(config::optional_opt(
        "cert_file", opt_type::string,
        "Client certificate (PEM) for brokers that require one (`ssl.certificate.location`)."));
    tls.children.push_back(
        config::optional_opt("key_file", opt_type::string,
                             "The client certificate's private key (`ssl.key.location`)."));
    tls.children.push_back(
        config::optional_opt("key_password", opt_type::secret,
                             "Password of an encrypted key file (`ssl.key.password`)."));
    tls.children.push_back(config::opt(
        "verify", opt_type::boolean,
        "Verify the broker's certificate chain and that it names the broker's host "
        "(`enable.ssl.certificate.verification`, `ssl.endpoint.identification.algorithm`). Turn "
        "off only for tests.",
        "true"));
    s.options.push_back(tls);

    auto props = config::optional_opt(
        "properties", opt_type::map,
        "Any other librdkafka property, passed verbatim and applied last (so it wins over the "
        "options above), e.g. `properties = { \"fetch.max.bytes\" = \"52428800\" }`. Names and "
        "values are checked at start-up: an unknown name or a refused value is a configuration "
        "error. Credential properties (passwords, `sasl.jaas.config`, `sasl.oauthbearer.config`, "
        "inline keys) must be given as `${env:NAME}` or `${file:/path}` and are never shown.");
    s.options.push_back(props);
}

bool is_secret_property(std::string_view name) {
    const std::string n = lower(name);
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
