#include "sink_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>

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
