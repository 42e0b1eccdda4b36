// The object sink: each runtime batch becomes one or more objects whose names are a pure function
// of (stream, topic, partition, first offset, last offset), written with a conditional put.
// Offsets are committed by the runtime only after write() returned, i.e. after every object of the
// batch is complete; after a crash the replay finds the objects the lost batch already wrote
// (listing the name that starts at the replayed offset) and continues after them, so no message
// lands in two objects.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <tuple>

#include "connectors/s3/common.h"
#include "connectors/s3/format.h"
#include "connectors/s3/path.h"
#include "connectors/s3/s3.h"
#include "core/unix_time.h"

namespace trib::connectors {
namespace {

using namespace s3_detail;

enum class rotation : std::uint8_t { size, messages, time };

struct sink_options {
    s3_settings store;
    std::string prefix;
    path_template tmpl;
    output_format format = output_format::json_lines;
    record_options records;
    columnar_options columnar;  // parquet, avro
    rotation rotate = rotation::size;
    std::uint64_t max_file_size = 8u << 20;
    std::uint64_t max_messages = 0;             // 0: no count limit
    std::chrono::microseconds max_file_age{0};  // 0: no age limit (message time)
};

class s3_sink final : public sink {
  public:
    s3_sink(sink_options o, std::unique_ptr<format_writer> w)
        : o_(std::move(o)), writer_(std::move(w)), partition_in_path_(o_.tmpl.uses("partition")) {}

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        auto st = o_.store;
        TRIB_TRY(resolve_store_credentials(st));
        st.stop = ctx.stop;
        TRIB_ASSIGN_OR_RETURN(store_, make_store(std::move(st)));
        TRIB_TRY(store_->check());
        if (o_.tmpl.uses_receive_time())
            spdlog::warn(
                "s3 sink {}: path_template uses the receive time: after a crash the "
                "batch in flight may be written a second time under another path",
                key_);
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        const auto& msgs = b.messages->messages;
        write_outcome outcome;
        if (msgs.empty())
            return outcome;
        const object_context octx{b.stream, b.topic, b.partition, b.schema};
        auto& ps = parts_[{std::string(b.stream), std::string(b.topic), b.partition}];
        const std::uint64_t now = unix_now_us();
        std::size_t i = 0;
        if (!ps.verified) {
            // First batch of this partition since start (or since the chain walk reached the
            // end of an earlier batch): find what a previous run already wrote.
            TRIB_TRY(walk_existing(b, ps, now));
        }
        while (i < msgs.size() && msgs[i].offset < ps.next)
            ++i;
        while (i < msgs.size()) {
            const std::size_t first = i;
            const std::string dir = render(b, msgs[first], now);
            body_.clear();
            writer_->begin(body_, octx);
            // A message the format's schema refuses goes to the error policy; the object's
            // name still covers its offset (a replay refuses it again).
            auto add = [&](std::size_t k) {
                if (auto st = writer_->check(octx, msgs[k]); !st)
                    outcome.rejected.push_back({k, st.error()});
                else
                    writer_->add(body_, octx, msgs[k]);
            };
            add(i);
            ++i;
            while (i < msgs.size() && !cut_before(msgs[first], msgs[i], i - first) &&
                   same_dir(b, msgs[first], msgs[i], dir, now)) {
                add(i);
                ++i;
            }
            TRIB_TRY(writer_->end(body_));
            const auto& last = msgs[i - 1];
            const auto key =
                join_key(o_.prefix, dir,
                         object_file_name(partition_in_path_, b.partition, msgs[first].offset,
                                          last.offset, writer_->extension()));
            const auto tag = tag_of(msgs[first]);
            TRIB_ASSIGN_OR_RETURN(auto put,
                                  store_->put_if_absent(key, body_, writer_->content_type(), tag));
            if (put == put_outcome::already_existed) {
                TRIB_TRY(check_same(key, tag));
                spdlog::info("s3 sink {}: {} exists already (a replay); kept as it is", key_, key);
            }
            ps.next = last.offset + 1;
        }
        return outcome;
    }

    void close() override { store_.reset(); }
    bool idempotent() const override { return true; }

  private:
    struct part_state {
        std::uint64_t next = 0;  // messages below this offset are in objects already
        bool verified = false;   // the chain of objects a previous run wrote was walked
    };

    /// What an object remembers of its first message (user metadata): a replay compares it, so
    /// that an object left by another incarnation of the topic (deleted and created again, its
    /// offsets starting over) is never taken for this one's.
    static std::string tag_of(const message& first) {
        return fmt::format("{}/{}", first.offset, first.timestamp_us);
    }

    status check_same(const std::string& key, const std::string& expected) {
        TRIB_ASSIGN_OR_RETURN(auto tag, store_->tag_of(key));
        if (tag.empty() || tag == expected)
            return ok();  // no tag: written by an older version or by hand; names decide
        return unexpected(error(
            errc::failed_precondition, retry_class::fatal,
            fmt::format("s3 sink {}: object '{}' holds other messages than the ones now at its "
                        "offsets (first message {} there, {} now): was the topic deleted and "
                        "created again? Use another prefix or remove the old objects",
                        key_, key, tag, expected)));
    }

    bool dir_varies() const {
        return o_.tmpl.uses_payload() || o_.tmpl.uses("date") || o_.tmpl.uses("hour") ||
               o_.tmpl.uses("year") || o_.tmpl.uses("month") || o_.tmpl.uses("day") ||
               o_.tmpl.uses("minute");
    }

    /// Whether `m` renders the same folder as the object's first message. Time placeholders are
    /// at most minute-fine: within one minute only {payload.*} can differ.
    bool same_dir(const sink_batch& b, const message& first, const message& m,
                  const std::string& dir, std::uint64_t now) const {
        if (!dir_varies())
            return true;
        if (!o_.tmpl.uses_payload() &&
            first.timestamp_us / 60'000'000u == m.timestamp_us / 60'000'000u)
            return true;
        return render(b, m, now) == dir;
    }

    std::string render(const sink_batch& b, const message& m, std::uint64_t now) const {
        path_context c;
        c.stream = b.stream;
        c.topic = b.topic;
        c.partition = b.partition;
        c.message_time_us = m.timestamp_us;
        c.receive_time_us = now;
        c.payload = m.payload;
        return o_.tmpl.render(c);
    }

    /// Whether message `next` starts a new object after `count` messages from `first`. A pure
    /// function of the messages: a replay cuts at the same offsets.
    bool cut_before(const message& first, const message& next, std::size_t count) const {
        if (body_.size() + writer_->buffered_bytes() >= o_.max_file_size)
            return true;
        if (o_.max_messages > 0 && count >= o_.max_messages)
            return true;
        if (o_.max_file_age.count() > 0 &&
            next.timestamp_us >=
                first.timestamp_us + static_cast<std::uint64_t>(o_.max_file_age.count()))
            return true;
        return false;
    }

    status walk_existing(const sink_batch& b, part_state& ps, std::uint64_t now) {
        const auto& msgs = b.messages->messages;
        std::uint64_t at = std::max(ps.next, msgs.front().offset);
        for (std::size_t guard = 0; guard < 100000; ++guard) {
            const message* m = nullptr;
            for (const auto& x : msgs) {
                if (x.offset >= at) {
                    m = &x;
                    break;
                }
            }
            if (!m) {
                ps.next = at;  // the walk goes on with the next batch
                return ok();
            }
            at = m->offset;
            const auto prefix = join_key(o_.prefix, render(b, *m, now),
                                         object_file_prefix(partition_in_path_, b.partition, at));
            TRIB_ASSIGN_OR_RETURN(auto page, store_->list(prefix, {}, {}, 10));
            std::optional<std::uint64_t> found;
            std::string found_key;
            for (const auto& obj : page.objects) {
                const auto slash = obj.key.rfind('/');
                const auto name = slash == std::string::npos
                                      ? std::string_view(obj.key)
                                      : std::string_view(obj.key).substr(slash + 1);
                std::uint64_t last = 0;
                if (parse_object_last_offset(name, at, last) && last >= found.value_or(0)) {
                    found = last;
                    found_key = obj.key;
                }
            }
            if (!found) {
                ps.next = at;
                ps.verified = true;
                return ok();
            }
            TRIB_TRY(check_same(found_key, tag_of(*m)));
            spdlog::info(
                "s3 sink {}: offsets {}..{} of {}/{} partition {} are in an object "
                "already (written before a restart); continuing after them",
                key_, at, *found, b.stream, b.topic, b.partition);
            at = *found + 1;
        }
        return unexpected(error(errc::internal, "s3 sink: too many existing objects to walk"));
    }

    sink_options o_;
    std::unique_ptr<format_writer> writer_;
    bool partition_in_path_ = false;
    std::unique_ptr<object_store> store_;
    std::map<std::tuple<std::string, std::string, std::uint32_t>, part_state> parts_;
    std::string body_;
    std::string key_;
};

}  // namespace

result<std::unique_ptr<sink>> s3_detail::make_object_sink(store_kind k, const config::values& v) {
    sink_options o;
    TRIB_ASSIGN_OR_RETURN(o.store, store_settings_for(k, v));
    o.store.retries = static_cast<std::uint32_t>(v.integer("max_retries"));
    o.store.retry_delay = v.duration("retry_delay");
    if (k != store_kind::hdfs) {  // HDFS: RENAME is always conditional; one request per file
        o.store.part_size = v.size("part_size");
        o.store.conditional_put = v.boolean("conditional_put");
    }
    if (k == store_kind::s3) {
        if (auto sse = v.opt_str("server_side_encryption"))
            o.store.sse = *sse;
        if (auto id = v.opt_str("sse_kms_key_id"))
            o.store.sse_kms_key_id = *id;
    }
    o.prefix = v.opt_str("prefix").value_or("");
    TRIB_ASSIGN_OR_RETURN(o.tmpl, path_template::parse(v.str("path_template")));
    TRIB_ASSIGN_OR_RETURN(o.format, parse_output_format(v.str("output_format")));
    o.records.include_metadata = v.boolean("include_metadata");
    o.records.include_headers = v.boolean("include_headers");
    const auto rot = v.str("file_rotation");
    o.rotate = rot == "messages" ? rotation::messages
               : rot == "time"   ? rotation::time
                                 : rotation::size;
    o.max_file_size = v.size("max_file_size");
    if (o.rotate == rotation::messages)
        o.max_messages =
            static_cast<std::uint64_t>(v.opt_integer("max_messages_per_file").value_or(0));
    if (v.has("max_file_age") && o.rotate == rotation::time)
        o.max_file_age =
            std::chrono::duration_cast<std::chrono::microseconds>(v.duration("max_file_age"));
    if (auto s = v.opt_str("parquet_schema"))
        o.columnar.parquet_schema = *s;
    o.columnar.parquet_compression = v.str("parquet_compression");
    o.columnar.row_group_bytes = v.size("parquet_row_group_size");
    if (auto s = v.opt_str("avro_schema"))
        o.columnar.avro_schema = *s;
    o.columnar.avro_codec = v.str("avro_codec");
    TRIB_ASSIGN_OR_RETURN(auto w, make_format_writer(o.format, o.records, o.columnar));
    return std::unique_ptr<sink>(std::make_unique<s3_sink>(std::move(o), std::move(w)));
}

result<std::unique_ptr<sink>> make_s3_sink(const config::values& v) {
    return make_object_sink(store_kind::s3, v);
}
result<std::unique_ptr<sink>> make_gcs_sink(const config::values& v) {
    return make_object_sink(store_kind::gcs, v);
}
result<std::unique_ptr<sink>> make_azure_blob_sink(const config::values& v) {
    return make_object_sink(store_kind::azure_blob, v);
}
result<std::unique_ptr<sink>> make_hdfs_sink(const config::values& v) {
    return make_object_sink(store_kind::hdfs, v);
}

}  // namespace trib::connectors
