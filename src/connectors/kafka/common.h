#pragma once
// What the Kafka source and sink share: the connection options both declare (bootstrap servers,
// client id, security protocol, SASL, TLS, the `properties` pass-through table), their reading
// into common_options, and the librdkafka configuration built from them. Internal to the
// connector (the public face is kafka.h).

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/spec.h"
#include "core/error.h"

namespace trib::connectors::kafka {

struct conf_deleter {
    void operator()(rd_kafka_conf_t* c) const {
        if (c != nullptr)
            rd_kafka_conf_destroy(c);
    }
};
/// An rd_kafka_conf_t until rd_kafka_new takes it (release() it then).
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;

struct handle_deleter {
    void operator()(rd_kafka_t* rk) const {
        if (rk != nullptr)
            rd_kafka_destroy(rk);
    }
};
using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;

/// librdkafka settings as (name, value), in the order they are applied.
using property_list = std::vector<std::pair<std::string, std::string>>;

/// The connection options of either direction, validated.
struct common_options {
    std::vector<std::string> bootstrap_servers;  // host:port
    std::string client_id;
    std::string security_protocol = "plaintext";  // plaintext, ssl, sasl_plaintext, sasl_ssl
    std::string sasl_mechanism;                   // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; or empty
    std::string sasl_username;
    std::string sasl_password;
    std::string tls_ca_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_key_password;
    bool tls_verify = true;
    /// The `properties` table: passed to librdkafka verbatim, after everything else (they win).
    property_list properties;
};

/// The shared cross-option rules (SASL settings with a SASL protocol, TLS files with a TLS
/// protocol, `properties` that librdkafka does not know or refuses), for a spec's `check`.
/// `reserved` lists properties the direction sets itself and a user must not override, each
/// with the reason.
void check_common_options(const config::values& v, const config::check_report& report,
                          const std::vector<std::pair<std::string, std::string>>& reserved = {});

/// Reads the shared options (`key` fills `{key}` in client_id).
common_options common_options_from(const config::values& v, std::string_view key);

/// True for a librdkafka property whose value is a credential (passwords, JAAS/OAuth settings,
/// inline private keys): never logged, registered with the redactor.
bool is_secret_property(std::string_view name);

/// The librdkafka settings the common options mean, in order: ours, then `direction` (the
/// source's or sink's own), then the user's `properties`.
property_list librdkafka_properties(const common_options& o, const property_list& direction);

/// An rd_kafka_conf_t with `props` applied. The error names the property and librdkafka's reason
/// ("properties.fetch.wait.max.ms: Invalid value ...") as errc::invalid_argument (fatal).
result<conf_ptr> make_conf(const property_list& props);

/// "name=value, ..." for a log line, with the values of secret properties as ***.
std::string describe(const property_list& props);

/// The librdkafka version this build runs with, e.g. "2.0.2".
std::string librdkafka_version();

/// True when this librdkafka's SCRAM works against Kafka 4.x brokers (2.6.1 and later;
/// confluentinc/librdkafka#4895: older versions send a client proof Kafka 4 rejects).
bool scram_works_with_kafka4();

}  // namespace trib::connectors::kafka
