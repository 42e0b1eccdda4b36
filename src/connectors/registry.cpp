#include "connectors/registry.h"

#include <algorithm>
#include <mutex>

#ifdef TRIB_HAVE_CONNECTOR_DELTA
#include "connectors/delta/delta.h"
#endif
#include "connectors/file/file.h"
#ifdef TRIB_HAVE_CONNECTOR_HTTP
#include "connectors/http/http.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_KAFKA
#include "connectors/kafka/kafka.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_NATS
#include "connectors/nats/nats.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_MYSQL
#include "connectors/mysql/mysql.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_ICEBERG
#include "connectors/iceberg/iceberg.h"
#endif
#include "connectors/null/null.h"
#ifdef TRIB_HAVE_CONNECTOR_MQTT
#include "connectors/mqtt/mqtt.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_POSTGRES
#include "connectors/postgres/postgres.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_SQLITE
#include "connectors/sqlite/sqlite.h"
#endif
#include "connectors/random/random.h"
#ifdef TRIB_HAVE_CONNECTOR_RABBITMQ
#include "connectors/rabbitmq/rabbitmq.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_REDIS
#include "connectors/redis/redis.h"
#endif
#ifdef TRIB_HAVE_CONNECTOR_S3
#include "connectors/s3/s3.h"
#endif
#include "connectors/stdout/stdout.h"

namespace trib::connectors {

namespace {

/// THE list. Every built-in connector, codec and transform is named here, once.
/// A connector folder whose library the build left out (missing dependency) is guarded by its
/// TRIB_HAVE_CONNECTOR_<NAME> definition (src/connectors/CMakeLists.txt).
status register_builtins(registry& r, std::vector<std::string>& problems) {
    auto check = [&](status st) {
        if (!st)
            problems.push_back(st.error().message());
    };
    // Sources
    check(r.add_source(random_source_spec(), make_random_source));
    check(r.add_source(file_source_spec(), make_file_source));
#ifdef TRIB_HAVE_CONNECTOR_POSTGRES
    check(r.add_source(postgres_source_spec(), make_postgres_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_MYSQL
    check(r.add_source(mysql_source_spec(), make_mysql_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_MQTT
    check(r.add_source(mqtt_source_spec(), make_mqtt_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_KAFKA
    check(r.add_source(kafka_source_spec(), make_kafka_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_NATS
    check(r.add_source(nats_source_spec(), make_nats_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_RABBITMQ
    check(r.add_source(rabbitmq_source_spec(), make_rabbitmq_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_HTTP
    check(r.add_source(http_poll_source_spec(), make_http_poll_source));
    check(r.add_source(webhook_source_spec(), make_webhook_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_S3
    check(r.add_source(s3_source_spec(), make_s3_source));
    check(r.add_source(gcs_source_spec(), make_gcs_source));
    check(r.add_source(azure_blob_source_spec(), make_azure_blob_source));
    check(r.add_source(hdfs_source_spec(), make_hdfs_source));
#endif
#ifdef TRIB_HAVE_CONNECTOR_REDIS
    check(r.add_source(redis_source_spec(), make_redis_source));
#endif
    // Sinks
    check(r.add_sink(stdout_sink_spec(), make_stdout_sink));
    check(r.add_sink(null_sink_spec(), make_null_sink));
    check(r.add_sink(file_sink_spec(), make_file_sink));
#ifdef TRIB_HAVE_CONNECTOR_POSTGRES
    check(r.add_sink(postgres_sink_spec(), make_postgres_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_MYSQL
    check(r.add_sink(mysql_sink_spec(), make_mysql_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_MQTT
    check(r.add_sink(mqtt_sink_spec(), make_mqtt_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_HTTP
    check(r.add_sink(http_sink_spec(), make_http_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_REDIS
    check(r.add_sink(redis_sink_spec(), make_redis_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_S3
    check(r.add_sink(s3_sink_spec(), make_s3_sink));
    check(r.add_sink(gcs_sink_spec(), make_gcs_sink));
    check(r.add_sink(azure_blob_sink_spec(), make_azure_blob_sink));
    check(r.add_sink(hdfs_sink_spec(), make_hdfs_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_DELTA
    check(r.add_sink(delta_sink_spec(), make_delta_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_ICEBERG
    check(r.add_sink(iceberg_sink_spec(), make_iceberg_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_KAFKA
    check(r.add_sink(kafka_sink_spec(), make_kafka_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_SQLITE
    check(r.add_sink(sqlite_sink_spec(), make_sqlite_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_NATS
    check(r.add_sink(nats_sink_spec(), make_nats_sink));
#endif
#ifdef TRIB_HAVE_CONNECTOR_RABBITMQ
    check(r.add_sink(rabbitmq_sink_spec(), make_rabbitmq_sink));
#endif
    // Codecs and transforms: src/codecs and src/transforms (added as they land).
    return ok();
}

}  // namespace

result<std::shared_ptr<const registry>> registry::builtins() {
    static std::once_flag once;
    static std::shared_ptr<const registry> built;
    static std::string failure;
    std::call_once(once, [] {
        auto r = std::make_shared<registry>();
        std::vector<std::string> problems;
        (void)register_builtins(*r, problems);
        if (!problems.empty()) {
            for (const auto& p : problems)
                failure += (failure.empty() ? "" : "; ") + p;
            return;
        }
        built = std::move(r);
    });
    if (!built)
        return fail(errc::internal, "the built-in registry is inconsistent: " + failure);
    return built;
}

status registry::add_connector(std::vector<connector_entry>& list, connector_entry e) {
    const std::string kind = e.spec.kind == config::spec_kind::sink ? "sink" : "source";
    e.plugin_names.push_back("iggy_connector_" + e.spec.name + "_" + kind);
    for (const auto& a : e.spec.plugin_aliases) {
        if (std::find(e.plugin_names.begin(), e.plugin_names.end(), a) == e.plugin_names.end()) {
            e.plugin_names.push_back(a);
        }
    }
    std::vector<std::string> names = e.plugin_names;
    names.push_back(e.spec.name);
    for (const auto& n : names) {
        if (const auto* other = find_in(list, n)) {
            return fail(errc::already_exists, "duplicate " + kind + " name \"" + n + "\" (" +
                                                  e.spec.name + " and " + other->spec.name + ")");
        }
    }
    list.push_back(std::move(e));
    return ok();
}

status registry::add_sink(config::spec s, sink_maker make) {
    if (s.kind != config::spec_kind::sink) {
        return fail(errc::invalid_argument, "spec " + s.name + " is not a sink");
    }
    connector_entry e;
    e.spec = std::move(s);
    e.make_sink = std::move(make);
    return add_connector(sinks_, std::move(e));
}

status registry::add_source(config::spec s, source_maker make) {
    if (s.kind != config::spec_kind::source) {
        return fail(errc::invalid_argument, "spec " + s.name + " is not a source");
    }
    connector_entry e;
    e.spec = std::move(s);
    e.make_source = std::move(make);
    return add_connector(sources_, std::move(e));
}

status registry::add_codec(config::spec s) {
    if (find_codec(s.name) != nullptr) {
        return fail(errc::already_exists, "duplicate codec name \"" + s.name + "\"");
    }
    codecs_.push_back(component_entry{std::move(s)});
    return ok();
}

status registry::add_transform(config::spec s) {
    if (find_transform(s.name) != nullptr) {
        return fail(errc::already_exists, "duplicate transform name \"" + s.name + "\"");
    }
    transforms_.push_back(component_entry{std::move(s)});
    return ok();
}

const connector_entry* registry::find_in(const std::vector<connector_entry>& list,
                                         std::string_view name) {
    for (const auto& e : list) {
        if (e.spec.name == name)
            return &e;
        for (const auto& p : e.plugin_names) {
            if (p == name)
                return &e;
        }
    }
    return nullptr;
}

const connector_entry* registry::find_sink(std::string_view name) const {
    return find_in(sinks_, name);
}

const connector_entry* registry::find_source(std::string_view name) const {
    return find_in(sources_, name);
}

const component_entry* registry::find_codec(std::string_view name) const {
    for (const auto& c : codecs_) {
        if (c.spec.name == name)
            return &c;
    }
    return nullptr;
}

const component_entry* registry::find_transform(std::string_view name) const {
    for (const auto& t : transforms_) {
        if (t.spec.name == name)
            return &t;
    }
    return nullptr;
}

std::vector<const connector_entry*> registry::find_connectors(std::string_view name) const {
    std::vector<const connector_entry*> out;
    for (std::string_view suffix : {"/source", "_source", "/sink", "_sink"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            const auto base = name.substr(0, name.size() - suffix.size());
            const auto* e = suffix.find("source") != std::string_view::npos ? find_source(base)
                                                                            : find_sink(base);
            if (e != nullptr)
                return {e};
        }
    }
    if (const auto* e = find_source(name))
        out.push_back(e);
    if (const auto* e = find_sink(name))
        out.push_back(e);
    return out;
}

std::vector<std::string> registry::names(config::spec_kind kind) const {
    std::vector<std::string> out;
    auto add = [&](const std::vector<connector_entry>& list) {
        for (const auto& e : list) {
            out.push_back(e.spec.name);
            out.insert(out.end(), e.plugin_names.begin(), e.plugin_names.end());
        }
    };
    switch (kind) {
        case config::spec_kind::sink:
            add(sinks_);
            break;
        case config::spec_kind::source:
            add(sources_);
            break;
        case config::spec_kind::codec:
            for (const auto& c : codecs_)
                out.push_back(c.spec.name);
            break;
        case config::spec_kind::transform:
            for (const auto& t : transforms_)
                out.push_back(t.spec.name);
            break;
        case config::spec_kind::runtime:
            break;
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace trib::connectors
