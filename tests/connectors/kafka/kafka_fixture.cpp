#include "kafka_fixture.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace trib::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

bool has_kafka_jar(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return false;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("kafka_2.13-", 0) == 0 && n.size() > 4 && n.ends_with(".jar"))
            return true;
    }
    return false;
}

// A Kafka cluster id: 16 random bytes in URL-safe base64 without padding (Kafka's Uuid text).
std::string random_cluster_id() {
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::random_device rd;
    std::uint8_t b[16];
    for (auto& x : b)
        x = static_cast<std::uint8_t>(rd());
    std::string out;
    int bits = 0;
    std::uint32_t acc = 0;
    for (std::uint8_t x : b) {
        acc = (acc << 8) | x;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out += alphabet[(acc << (6 - bits)) & 63];
    return out;  // 22 characters
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

void quiet_log(const rd_kafka_t*, int, const char*, const char*) {}

struct rk_deleter {
    void operator()(rd_kafka_t* rk) const {
        if (rk != nullptr)
            rd_kafka_destroy(rk);
    }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

// A client handle with `props` set; errors name the property.
result<rk_ptr> make_client(rd_kafka_type_t type, const std::string& bootstrap,
                           const std::map<std::string, std::string>& props) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    auto set = [&](const std::string& k, const std::string& v) -> status {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
            return fail(errc::invalid_argument, "librdkafka property " + k + ": " + err);
        return ok();
    };
    std::map<std::string, std::string> all = {{"bootstrap.servers", bootstrap},
                                              {"client.id", "tributary-test"}};
    for (const auto& [k, v] : props)
        all[k] = v;
    for (const auto& [k, v] : all) {
        auto st = set(k, v);
        if (!st) {
            rd_kafka_conf_destroy(conf);
            return unexpected(st.error());
        }
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == nullptr) {
        rd_kafka_conf_destroy(conf);
        return fail(errc::invalid_argument, std::string("rd_kafka_new: ") + err);
    }
    return rk_ptr(rk);
}

// Partition count of `topic` (0 when the broker does not know it, or its partitions lack leaders).
result<int> partitions_with_leader(rd_kafka_t* rk, const std::string& topic) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 5000);
    rd_kafka_topic_destroy(t);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return fail(errc::unavailable, std::string("metadata: ") + rd_kafka_err2str(e));
    int n = 0;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = md->topics[0].partition_cnt;
        for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
            if (md->topics[0].partitions[i].leader < 0)
                n = 0;
        }
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

bool metadata_answers(const std::string& bootstrap) {
    auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap, {});
    if (!rk)
        return false;
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk->get(), 1, nullptr, &md, 2000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    bool ok = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return ok;
}

}  // namespace

fs::path kafka_lib_dir() {
    if (const char* d = std::getenv("TRIB_KAFKA_LIB"); d != nullptr && *d != 0)
        return has_kafka_jar(d) ? fs::path(d) : fs::path();
    if (const char* src = std::getenv("TRIB_SOURCE_DIR"); src != nullptr && *src != 0) {
        fs::path p = fs::path(src) / ".deps" / "kafka" / "lib";
        if (has_kafka_jar(p))
            return p;
    }
    std::error_code ec;
    for (fs::path d = fs::current_path(ec); !d.empty(); d = d.parent_path()) {
        fs::path p = d / ".deps" / "kafka" / "lib";
        if (has_kafka_jar(p))
            return p;
        if (d == d.parent_path())
            break;
    }
    return {};
}

std::string kafka_bootstrap(const peer& b) {
    return "127.0.0.1:" + std::to_string(b.port(0));
}
std::string kafka_sasl_bootstrap(const peer& b) {
    return "127.0.0.1:" + std::to_string(b.port(2));
}
std::string kafka_ssl_bootstrap(const peer& b) {
    return "127.0.0.1:" + std::to_string(b.port(3));
}
std::string kafka_cluster_id(const peer& b) {
    return read_file(b.dir() / "cluster_id");
}

test_pki kafka_pki(const peer& b) {
    test_pki p;
    p.ca_cert = b.dir() / "ca.crt";
    p.server_cert = b.dir() / "server.crt";
    p.server_key = b.dir() / "server.key";
    p.client_cert = b.dir() / "client.crt";
    p.client_key = b.dir() / "client.key";
    return p;
}

peer_spec kafka_spec(const kafka_options& opts) {
    const fs::path lib = kafka_lib_dir();
    peer_spec s;
    s.name = "kafka";
    // Without the jars the peer cannot start: name the reason through a program that is absent.
    s.program = lib.empty() ? "kafka-jars-missing-run-scripts-setup.sh" : "java";
    const std::string cp = (lib / "*").string();
    s.args = {"-Xms256m",
              "-Xmx512m",
              "-XX:+UseSerialGC",
              "-Djava.awt.headless=true",
              "-Dlog4j2.configurationFile={dir}/log4j2.properties",
              "-cp",
              cp,
              "kafka.Kafka",
              "{dir}/server.properties"};
    s.extra_ports = 3;
    s.ready_timeout = 120s;
    s.attempts = 2;
    s.prepare = [opts, cp](const peer& p) {
        const fs::path dir = p.dir();
        {
            std::ofstream l(dir / "log4j2.properties");
            l << "status = warn\nappender.c.type = Console\nappender.c.name = STDOUT\n"
                 "appender.c.layout.type = PatternLayout\n"
                 "appender.c.layout.pattern = [%d] %p %m (%c)%n\n"
                 "rootLogger.level = WARN\nrootLogger.appenderRef.s.ref = STDOUT\n"
                 "logger.k.name = kafka.server.KafkaServer\nlogger.k.level = INFO\n";
        }
        const bool sasl = !opts.users.empty();
        std::string listeners = "PLAINTEXT://127.0.0.1:" + std::to_string(p.port(0)) +
                                ",CONTROLLER://127.0.0.1:" + std::to_string(p.port(1));
        std::string advertised = "PLAINTEXT://127.0.0.1:" + std::to_string(p.port(0));
        std::string protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT";
        if (sasl) {
            listeners += ",SASL_PLAINTEXT://127.0.0.1:" + std::to_string(p.port(2));
            advertised += ",SASL_PLAINTEXT://127.0.0.1:" + std::to_string(p.port(2));
            protocols += ",SASL_PLAINTEXT:SASL_PLAINTEXT";
        }
        if (opts.tls) {
            listeners += ",SSL://127.0.0.1:" + std::to_string(p.port(3));
            advertised += ",SSL://127.0.0.1:" + std::to_string(p.port(3));
            protocols += ",SSL:SSL";
        }
        std::ofstream c(dir / "server.properties");
        c << "process.roles=broker,controller\nnode.id=1\n"
          << "controller.quorum.voters=1@127.0.0.1:" << p.port(1) << "\n"
          << "listeners=" << listeners << "\nadvertised.listeners=" << advertised << "\n"
          << "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
          << "listener.security.protocol.map=" << protocols << "\n"
          << "log.dirs=" << (dir / "data").string() << "\n"
          << "num.partitions=" << opts.default_partitions
          << "\n"
          // One broker: every internal topic with one replica, and few partitions so that
          // their creation is quick.
          << "offsets.topic.replication.factor=1\noffsets.topic.num.partitions=3\n"
          << "transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\n"
          << "transaction.state.log.num.partitions=3\n"
          << "share.coordinator.state.topic.replication.factor=1\n"
          << "share.coordinator.state.topic.min.isr=1\n"
          // Tests start and stop consumers often: rebalance at once, allow short sessions.
          << "group.initial.rebalance.delay.ms=0\ngroup.min.session.timeout.ms=500\n"
          << "auto.create.topics.enable=true\n";
        if (sasl) {
            c << "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n";
            c << "listener.name.sasl_plaintext.plain.sasl.jaas.config="
                 "org.apache.kafka.common.security.plain.PlainLoginModule required";
            for (const auto& [u, pw] : opts.users)
                c << " user_" << u << "=\"" << pw << "\"";
            c << ";\n";
            for (const char* m : {"scram-sha-256", "scram-sha-512"}) {
                c << "listener.name.sasl_plaintext." << m
                  << ".sasl.jaas.config="
                     "org.apache.kafka.common.security.scram.ScramLoginModule required;\n";
            }
        }
        if (opts.tls) {
            auto pki = make_test_pki(dir);
            if (!pki) {
                std::cerr << "kafka fixture: " << pki.error().message() << "\n";
            } else {
                // Kafka reads a PEM key store: the private key (PKCS#8) and the certificate.
                std::ofstream ks(dir / "server.pem");
                ks << read_file(pki->server_key) << "\n" << read_file(pki->server_cert) << "\n";
            }
            c << "listener.name.ssl.ssl.keystore.type=PEM\n"
              << "listener.name.ssl.ssl.keystore.location=" << (dir / "server.pem").string()
              << "\nlistener.name.ssl.ssl.truststore.type=PEM\n"
              << "listener.name.ssl.ssl.truststore.location=" << (dir / "ca.crt").string()
              << "\nlistener.name.ssl.ssl.client.auth="
              << (opts.require_client_certificate ? "required" : "none") << "\n";
        }
        for (const auto& line : opts.extra)
            c << line << "\n";
        c.close();
        if (fs::exists(dir / "data" / "meta.properties"))
            return;  // formatted by an earlier attempt (ports do not matter to the storage)
        const std::string id = random_cluster_id();
        { std::ofstream(dir / "cluster_id") << id << "\n"; }
        std::vector<std::string> cmd = {
            "java",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-Dlog4j2.configurationFile=" + (dir / "log4j2.properties").string(),
            "-cp",
            cp,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            id,
            "-c",
            (dir / "server.properties").string()};
        for (const auto& [u, pw] : opts.users) {
            for (const char* m : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
                cmd.push_back("--add-scram");
                cmd.push_back(std::string(m) + "=[name=" + u + ",password=" + pw + "]");
            }
        }
        auto r = run_command(cmd);
        if (!r)
            std::cerr << "kafka fixture: storage format failed: " << r.error().message() << "\n";
    };
    s.ready = [opts](const peer& p) {
        if (!tcp_connectable(p.port(0)))
            return false;
        if (!opts.users.empty() && !tcp_connectable(p.port(2)))
            return false;
        if (opts.tls && !tcp_connectable(p.port(3)))
            return false;
        return metadata_answers(kafka_bootstrap(p));
    };
    return s;
}

result<peer*> shared_kafka(const kafka_options& opts) {
    static std::mutex mu;
    static std::unique_ptr<peer> broker;
    static std::string failure;
    std::lock_guard<std::mutex> lock(mu);
    if (broker)
        return broker.get();
    if (!failure.empty())
        return fail(errc::unavailable, failure);
    if (kafka_lib_dir().empty()) {
        failure =
            "the Kafka jars are not installed (.deps/kafka/lib: run scripts/setup.sh, or set "
            "TRIB_KAFKA_LIB)";
        return fail(errc::not_found, failure);
    }
    auto r = peer::start(kafka_spec(opts));
    if (!r) {
        failure = r.error().message();
        return fail(errc::unavailable, failure);
    }
    broker = std::move(r).value();
    return broker.get();
}

status create_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                    const std::map<std::string, std::string>& configs) {
    TRIB_ASSIGN_OR_RETURN(rk_ptr rk, make_client(RD_KAFKA_PRODUCER, bootstrap, {}));
    char err[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    if (nt == nullptr)
        return fail(errc::invalid_argument, std::string("NewTopic: ") + err);
    for (const auto& [k, v] : configs)
        rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_CreateTopics(rk.get(), &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    std::string problem;
    if (ev == nullptr) {
        problem = "no answer to CreateTopics within 30 s";
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        problem = rd_kafka_event_error_string(ev);
    } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
        size_t n = 0;
        const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
        for (size_t i = 0; i < n; ++i) {
            if (rd_kafka_topic_result_error(tr[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char* m = rd_kafka_topic_result_error_string(tr[i]);
                problem = m != nullptr ? m : rd_kafka_err2str(rd_kafka_topic_result_error(tr[i]));
            }
        }
    }
    if (ev != nullptr)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    if (!problem.empty())
        return fail(errc::failed_precondition, "create topic " + topic + ": " + problem);
    bool ready = wait_until(
        [&] {
            auto n = partitions_with_leader(rk.get(), topic);
            return n && *n == partitions;
        },
        30s);
    if (!ready)
        return fail(errc::timeout, "topic " + topic + ": partitions without leader after 30 s");
    return ok();
}

status produce_records(const std::string& bootstrap, const std::vector<kafka_record>& records,
                       const std::map<std::string, std::string>& properties) {
    std::map<std::string, std::string> props = {
        {"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"}};
    for (const auto& [k, v] : properties)
        props[k] = v;
    struct state {
        std::size_t delivered = 0;
        std::string first_error;
    } st;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    std::map<std::string, std::string> all = {{"bootstrap.servers", bootstrap},
                                              {"client.id", "tributary-test-producer"}};
    for (const auto& [k, v] : props)
        all[k] = v;
    for (const auto& [k, v] : all) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return fail(errc::invalid_argument, "librdkafka property " + k + ": " + err);
        }
    }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* s = static_cast<state*>(opaque);
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (s->first_error.empty())
                s->first_error = rd_kafka_err2str(m->err);
        } else {
            ++s->delivered;
        }
    });
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (raw == nullptr) {
        rd_kafka_conf_destroy(conf);
        return fail(errc::invalid_argument, std::string("rd_kafka_new: ") + err);
    }
    rk_ptr rk(raw);
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        rd_kafka_headers_t* hdrs = nullptr;
        if (!r.headers.empty()) {
            hdrs = rd_kafka_headers_new(r.headers.size());
            for (const auto& [k, v] : r.headers) {
                rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()),
                                    v ? v->data() : nullptr,
                                    v ? static_cast<ssize_t>(v->size()) : 0);
            }
        }
        const void* key = r.key ? r.key->data() : nullptr;
        const std::size_t key_len = r.key ? r.key->size() : 0;
        void* value = r.value ? const_cast<char*>(r.value->data()) : nullptr;
        const std::size_t value_len = r.value ? r.value->size() : 0;
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk.get(), RD_KAFKA_V_TOPIC(r.topic.c_str()), RD_KAFKA_V_PARTITION(r.partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_TIMESTAMP(r.timestamp_ms),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk.get(), 100);
                continue;
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (hdrs != nullptr)
                    rd_kafka_headers_destroy(hdrs);
                return fail(errc::internal, "produce record " + std::to_string(i) + " to " +
                                                r.topic + ": " + rd_kafka_err2str(e));
            }
            break;  // the headers belong to the message now
        }
        rd_kafka_poll(rk.get(), 0);
    }
    rd_kafka_resp_err_t e = rd_kafka_flush(rk.get(), 60000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return fail(errc::timeout, std::string("flush: ") + rd_kafka_err2str(e));
    if (!st.first_error.empty())
        return fail(errc::unavailable, "delivery failed: " + st.first_error);
    if (st.delivered != records.size())
        return fail(errc::internal, "only " + std::to_string(st.delivered) + " of " +
                                        std::to_string(records.size()) + " records delivered");
    return ok();
}

result<std::vector<kafka_record>> read_records(const std::string& bootstrap,
                                               const std::string& topic, std::size_t count,
                                               std::chrono::milliseconds deadline,
                                               const std::map<std::string, std::string>& props) {
    std::map<std::string, std::string> all = {{"group.id", "tributary-test-reader"},
                                              {"enable.auto.commit", "false"},
                                              {"enable.partition.eof", "false"}};
    for (const auto& [k, v] : props)
        all[k] = v;
    TRIB_ASSIGN_OR_RETURN(rk_ptr rk, make_client(RD_KAFKA_CONSUMER, bootstrap, all));
    rd_kafka_poll_set_consumer(rk.get());
    int parts = 0;
    wait_until(
        [&] {
            auto n = partitions_with_leader(rk.get(), topic);
            parts = n ? *n : 0;
            return parts > 0;
        },
        std::min<std::chrono::milliseconds>(deadline, 30s));
    if (parts == 0)
        return fail(errc::not_found, "topic " + topic + " has no partitions with a leader");
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; ++i)
        rd_kafka_topic_partition_list_add(list, topic.c_str(), i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    if (ae != RD_KAFKA_RESP_ERR_NO_ERROR)
        return fail(errc::internal, std::string("assign: ") + rd_kafka_err2str(ae));
    std::map<std::int32_t, std::vector<kafka_record>> by_partition;
    std::size_t got = 0;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (got < count && std::chrono::steady_clock::now() < end) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (m == nullptr)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            kafka_record r;
            r.topic = topic;
            r.partition = m->partition;
            r.offset = m->offset;
            if (m->key != nullptr)
                r.key = std::string(static_cast<const char*>(m->key), m->key_len);
            if (m->payload != nullptr)
                r.value = std::string(static_cast<const char*>(m->payload), m->len);
            rd_kafka_timestamp_type_t tt;
            r.timestamp_ms = rd_kafka_message_timestamp(m, &tt);
            rd_kafka_headers_t* h = nullptr;
            if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h != nullptr) {
                const char* name = nullptr;
                const void* val = nullptr;
                size_t size = 0;
                for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) ==
                                   RD_KAFKA_RESP_ERR_NO_ERROR;
                     ++i) {
                    std::optional<std::string> v;
                    if (val != nullptr)
                        v = std::string(static_cast<const char*>(val), size);
                    r.headers.emplace_back(name, std::move(v));
                }
            }
            by_partition[r.partition].push_back(std::move(r));
            ++got;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk.get());
    std::vector<kafka_record> out;
    for (auto& [p, v] : by_partition) {
        for (auto& r : v)
            out.push_back(std::move(r));
    }
    return out;
}

result<std::map<std::int32_t, std::int64_t>> committed_offsets(const std::string& bootstrap,
                                                               const std::string& group,
                                                               const std::string& topic) {
    TRIB_ASSIGN_OR_RETURN(rk_ptr rk,
                          make_client(RD_KAFKA_CONSUMER, bootstrap,
                                      {{"group.id", group}, {"enable.auto.commit", "false"}}));
    TRIB_ASSIGN_OR_RETURN(int parts, partitions_with_leader(rk.get(), topic));
    if (parts == 0)
        return fail(errc::not_found, "topic " + topic + " has no partitions with a leader");
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; ++i)
        rd_kafka_topic_partition_list_add(list, topic.c_str(), i);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk.get(), list, 10000);
    std::map<std::int32_t, std::int64_t> out;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < list->cnt; ++i)
            out[list->elems[i].partition] = list->elems[i].offset < 0 ? -1 : list->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk.get());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return fail(errc::unavailable, std::string("committed: ") + rd_kafka_err2str(e));
    return out;
}

}  // namespace trib::test
