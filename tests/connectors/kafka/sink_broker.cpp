#include "sink_broker.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace trib::test::kafka {
namespace {

using namespace std::chrono_literals;

struct conf_owner {
    rd_kafka_conf_t* c = rd_kafka_conf_new();
    ~conf_owner() {
        if (c != nullptr)
            rd_kafka_conf_destroy(c);
    }
};

result<rd_kafka_t*> make_client(rd_kafka_type_t type, const std::string& bootstrap,
                                std::vector<std::pair<std::string, std::string>> props = {}) {
    conf_owner conf;
    char err[512];
    props.emplace_back("bootstrap.servers", bootstrap);
    for (auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf.c, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
            return fail(errc::invalid_argument, k + ": " + err);
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf.c, err, sizeof err);
    if (rk == nullptr)
        return fail(errc::internal, err);
    conf.c = nullptr;
    return rk;
}

std::vector<std::int32_t> partitions_of(rd_kafka_t* rk, const std::string& topic) {
    std::vector<std::int32_t> out;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int t = 0; t < md->topic_cnt; ++t) {
            for (int p = 0; p < md->topics[t].partition_cnt; ++p)
                out.push_back(md->topics[t].partitions[p].id);
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string kafka_lib_dir() {
    namespace fs = std::filesystem;
    if (const char* e = std::getenv("TRIB_KAFKA_LIB"); e != nullptr && fs::exists(e))
        return e;
    if (const char* s = std::getenv("TRIB_SOURCE_DIR"); s != nullptr) {
        fs::path p = fs::path(s) / ".deps" / "kafka" / "lib";
        if (fs::exists(p))
            return p.string();
    }
    if (fs::exists("/work/main/.deps/kafka-probe/lib"))
        return "/work/main/.deps/kafka-probe/lib";
    return {};
}

peer_spec broker_spec(int partitions) {
    peer_spec s;
    s.name = "kafka";
    s.program = "java";
    s.extra_ports = 1;
    const std::string lib = kafka_lib_dir();
    s.args = {"-Xms256m",
              "-Xmx512m",
              "-XX:+UseSerialGC",
              "-Dlog4j2.configurationFile={dir}/log4j2.properties",
              "-cp",
              lib + "/*",
              "kafka.Kafka",
              "{dir}/server.properties"};
    s.ready_timeout = 120s;
    s.attempts = 2;
    s.prepare = [lib, partitions](const peer& p) {
        const auto dir = p.dir();
        std::ofstream(dir / "log4j2.properties")
            << "status = warn\nappender.c.type = Console\nappender.c.name = STDOUT\n"
               "appender.c.layout.type = PatternLayout\n"
               "appender.c.layout.pattern = [%d] %p %m (%c)%n\n"
               "rootLogger.level = WARN\nrootLogger.appenderRef.s.ref = STDOUT\n";
        const auto port = std::to_string(p.port(0));
        const auto cport = std::to_string(p.port(1));
        std::ofstream(dir / "server.properties")
            << "process.roles=broker,controller\nnode.id=1\n"
            << "controller.quorum.voters=1@127.0.0.1:" << cport << "\n"
            << "listeners=PLAINTEXT://127.0.0.1:" << port << ",CONTROLLER://127.0.0.1:" << cport
            << "\nadvertised.listeners=PLAINTEXT://127.0.0.1:" << port << "\n"
            << "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
            << "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            << "log.dirs=" << (dir / "data").string() << "\n"
            << "num.partitions=" << partitions << "\n"
            << "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
            << "transaction.state.log.min.isr=1\n"
            << "share.coordinator.state.topic.replication.factor=1\n"
            << "share.coordinator.state.topic.min.isr=1\n"
            << "group.initial.rebalance.delay.ms=0\nauto.create.topics.enable=true\n";
        if (!std::filesystem::exists(dir / "data" / "meta.properties")) {
            std::string cmd = "java -cp '" + lib +
                              "/*' kafka.tools.StorageTool format -t "
                              "AAAAAAAAAAAAAAAAAAAAAA -c '" +
                              (dir / "server.properties").string() + "' > '" +
                              (dir / "format.log").string() + "' 2>&1";
            if (std::system(cmd.c_str()) != 0) {
                // peer::start reports the broker's own failure; the format log is beside it.
            }
        }
    };
    s.ready = [](const peer& p) {
        if (!tcp_connectable(p.port(0)))
            return false;
        auto rk = make_client(RD_KAFKA_PRODUCER, "127.0.0.1:" + std::to_string(p.port(0)));
        if (!rk)
            return false;
        const rd_kafka_metadata_t* md = nullptr;
        bool okay = rd_kafka_metadata(*rk, 1, nullptr, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    md->broker_cnt > 0;
        if (md != nullptr)
            rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(*rk);
        return okay;
    };
    return s;
}

std::string bootstrap(const peer& broker) {
    return "127.0.0.1:" + std::to_string(broker.port(0));
}

status create_topic(const std::string& bs, const std::string& topic, int partitions) {
    TRIB_ASSIGN_OR_RETURN(rd_kafka_t * rk, make_client(RD_KAFKA_PRODUCER, bs));
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    char err[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    status st = fail(errc::timeout, "create topic: no answer");
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    if (ev != nullptr) {
        const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t** trs = rd_kafka_CreateTopics_result_topics(res, &n);
        st = ok();
        if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            st = fail(errc::internal, rd_kafka_event_error_string(ev));
        } else if (n == 1 && rd_kafka_topic_result_error(trs[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
                   rd_kafka_topic_result_error(trs[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            st = fail(errc::internal, rd_kafka_topic_result_error_string(trs[0]));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    // Wait until the metadata shows every partition.
    wait_until(
        [&] { return partitions_of(rk, topic).size() == static_cast<std::size_t>(partitions); },
        30s);
    rd_kafka_destroy(rk);
    return st;
}

result<std::int64_t> watermark_total(const std::string& bs, const std::string& topic) {
    TRIB_ASSIGN_OR_RETURN(rd_kafka_t * rk, make_client(RD_KAFKA_PRODUCER, bs));
    std::int64_t total = 0;
    for (auto p : partitions_of(rk, topic)) {
        std::int64_t lo = 0, hi = 0;
        auto e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_destroy(rk);
            return fail(errc::unavailable, rd_kafka_err2str(e));
        }
        total += hi - lo;
    }
    rd_kafka_destroy(rk);
    return total;
}

result<std::vector<record>> read_all(const std::string& bs, const std::string& topic,
                                     bool read_committed) {
    TRIB_ASSIGN_OR_RETURN(
        rd_kafka_t * rk,
        make_client(RD_KAFKA_CONSUMER, bs,
                    {{"group.id", "trib-test-reader"},
                     {"enable.auto.commit", "false"},
                     {"isolation.level", read_committed ? "read_committed" : "read_uncommitted"},
                     {"enable.partition.eof", "true"}}));
    std::vector<record> out;
    auto parts = partitions_of(rk, topic);
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    std::size_t pending = 0;
    for (auto p : parts) {
        std::int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi == lo)
            continue;
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        ++pending;
    }
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    status st = ok();
    while (pending > 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            st = fail(errc::timeout, "read_all: partitions not read to their end in 120 s");
            break;
        }
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
        if (m == nullptr)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            --pending;
        } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            // transient (broker reconnects): keep polling until the deadline
        } else {
            record r;
            r.partition = m->partition;
            r.offset = m->offset;
            if (m->key != nullptr)
                r.key = std::string(static_cast<const char*>(m->key), m->key_len);
            r.value = std::string(static_cast<const char*>(m->payload), m->len);
            rd_kafka_timestamp_type_t tt;
            r.timestamp_ms = rd_kafka_message_timestamp(m, &tt);
            rd_kafka_headers_t* hdrs = nullptr;
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char* name;
                const void* val;
                size_t size;
                for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
                                   RD_KAFKA_RESP_ERR_NO_ERROR;
                     ++i) {
                    r.headers.emplace_back(
                        name, val ? std::string(static_cast<const char*>(val), size) : "");
                }
            }
            out.push_back(std::move(r));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (!st)
        return st.error();
    std::stable_sort(out.begin(), out.end(), [](const record& a, const record& b) {
        return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
    });
    return out;
}

}  // namespace trib::test::kafka
