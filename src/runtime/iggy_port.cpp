#include "runtime/iggy_port.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "iggy/consumer.h"
#include "iggy/producer.h"
#include "iggy/wire/batch.h"

namespace trib::runtime {

iggy::identifier identifier_of(std::string_view text) {
    std::uint32_t n = 0;
    const auto* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, n);
    if (!text.empty() && ec == std::errc() && p == end)
        return iggy::identifier::numeric(n);
    return iggy::identifier::named(std::string(text));
}

namespace {

header to_header(iggy::user_header&& h) {
    return header{std::move(h.key), h.kind, std::move(h.value)};
}

// ---- consumer -------------------------------------------------------------------------------

class client_consumer final : public consumer_port {
  public:
    explicit client_consumer(std::unique_ptr<iggy::consumer_client> c) : c_(std::move(c)) {}
    ~client_consumer() override { close(); }

    result<polled_batch> poll(std::uint32_t) override {
        TRIB_ASSIGN_OR_RETURN(auto b, c_->poll());
        polled_batch out;
        out.partition = b.partition;
        if (b.messages.empty())
            return out;
        out.partition_end = b.current_offset;
        // The client reuses its reply buffer on the next poll: copy the payloads into one buffer
        // the batch owns (one allocation per poll, not per message).
        std::size_t bytes = 0;
        for (const auto& m : b.messages)
            bytes += m.payload.size();
        auto buf = std::make_shared<std::string>();
        buf->resize(bytes);
        std::size_t at = 0;
        out.batch.messages.resize(b.messages.size());
        for (std::size_t i = 0; i < b.messages.size(); ++i) {
            const auto& pm = b.messages[i];
            auto& m = out.batch.messages[i];
            m.offset = pm.offset;
            m.partition = b.partition;
            m.timestamp_us = pm.timestamp;
            m.origin_timestamp_us = pm.origin_timestamp;
            m.id = message_id{pm.id.lo, pm.id.hi};
            if (!pm.payload.empty())
                std::memcpy(buf->data() + at, pm.payload.data(), pm.payload.size());
            m.payload = std::string_view(buf->data() + at, pm.payload.size());
            at += pm.payload.size();
            if (!pm.user_headers.empty()) {
                auto hs = iggy::decode_user_headers(pm.user_headers);
                if (!hs) {
                    // Headers the server stored but no SDK could have written: keep the payload,
                    // say so once per batch.
                    spdlog::warn("message at offset {} has undecodable headers: {}", pm.offset,
                                 hs.error().to_string());
                    continue;
                }
                m.headers.reserve(hs->size());
                for (auto& h : *hs)
                    m.headers.push_back(to_header(std::move(h)));
            }
        }
        out.batch.hold(std::move(buf));
        return out;
    }

    status commit(std::uint32_t partition, std::uint64_t offset) override {
        return c_->commit(partition, offset);
    }

    void close() override {
        if (c_ && !closed_) {
            closed_ = true;
            if (auto st = c_->close(); !st) {
                spdlog::debug("leaving the consumer group: {}", st.error().to_string());
            }
        }
    }

  private:
    std::unique_ptr<iggy::consumer_client> c_;
    bool closed_ = false;
};

// ---- producer -------------------------------------------------------------------------------

class client_producer final : public producer_port {
  public:
    client_producer(iggy::client_options copts, producer_options o)
        : copts_(std::move(copts)), o_(std::move(o)) {}
    ~client_producer() override { close(); }

    status init() {
        TRIB_ASSIGN_OR_RETURN(balanced_, make(iggy::partition_mode::balanced));
        return ok();
    }

    void send(std::shared_ptr<const message_batch> batch, completion done) override {
        if (batch->empty()) {
            done(ok());
            return;
        }
        const bool keyed = std::any_of(batch->messages.begin(), batch->messages.end(),
                                       [](const message& m) { return !m.key.empty(); });
        iggy::producer* p = balanced_.get();
        if (keyed) {
            std::lock_guard lk(mu_);
            if (!keyed_) {
                auto k = make(iggy::partition_mode::messages_key);
                if (!k) {
                    done(k.error());
                    return;
                }
                keyed_ = std::move(*k);
            }
            p = keyed_.get();
        }
        if (p == nullptr) {
            done(fail(errc::cancelled, "producer closed"));
            return;
        }
        // Headers are encoded here; payloads are copied by the producer into its batch buffers
        // during send(), so views into `batch` suffice.
        std::vector<iggy::bytes> headers;
        std::vector<iggy::producer_message> msgs(batch->size());
        bool any_headers = false;
        for (const auto& m : batch->messages)
            any_headers = any_headers || !m.headers.empty();
        if (any_headers)
            headers.resize(batch->size());
        for (std::size_t i = 0; i < batch->size(); ++i) {
            const auto& m = batch->messages[i];
            auto& pm = msgs[i];
            pm.payload = iggy::bytes_view(reinterpret_cast<const std::uint8_t*>(m.payload.data()),
                                          m.payload.size());
            if (!m.headers.empty()) {
                std::vector<iggy::user_header> hs;
                hs.reserve(m.headers.size());
                for (const auto& h : m.headers) {
                    hs.push_back(iggy::user_header{value_kind::string, h.key, h.kind, h.value});
                }
                headers[i] = iggy::encode_user_headers(hs);
                pm.user_headers = headers[i];
            }
            pm.key = m.key;
            pm.id = iggy::u128{m.id.lo, m.id.hi};
            pm.origin_timestamp = m.origin_timestamp_us;
        }
        auto shared_done = std::make_shared<completion>(std::move(done));
        auto st = p->send(msgs, [shared_done](result<iggy::send_ack> r) {
            (*shared_done)(r ? ok() : status(r.error()));
        });
        if (!st)
            (*shared_done)(st.error());
    }

    void close() override {
        std::lock_guard lk(mu_);
        if (balanced_)
            balanced_->close();
        if (keyed_)
            keyed_->close();
    }

  private:
    result<std::unique_ptr<iggy::producer>> make(iggy::partition_mode mode) {
        iggy::producer_options po;
        po.client = copts_;
        po.client.heartbeat_interval = std::chrono::milliseconds(0);  // producers are busy anyway
        po.stream = identifier_of(o_.stream);
        po.topic = identifier_of(o_.topic);
        po.mode = mode;
        po.batch_max_messages = std::max<std::uint32_t>(o_.batch_length, 1);
        po.linger = std::chrono::duration_cast<std::chrono::microseconds>(o_.linger);
        po.allow_empty_payloads = o_.allow_empty_payloads;
        return iggy::producer::create(std::move(po));
    }

    iggy::client_options copts_;
    producer_options o_;
    std::mutex mu_;
    std::unique_ptr<iggy::producer> balanced_;
    std::unique_ptr<iggy::producer> keyed_;
};

}  // namespace

result<std::unique_ptr<iggy_client_port>> iggy_client_port::connect(iggy::client_options options) {
    std::unique_ptr<iggy_client_port> p(new iggy_client_port(options));
    TRIB_ASSIGN_OR_RETURN(p->admin_, iggy::client::connect(std::move(options)));
    return p;
}

iggy_client_port::~iggy_client_port() = default;

result<std::unique_ptr<consumer_port>> iggy_client_port::open_consumer(const consumer_options& o) {
    iggy::consumer_options co;
    co.client = opts_;
    co.stream = identifier_of(o.stream);
    co.topic = identifier_of(o.topic);
    co.group = o.group;
    co.create_group = true;
    co.batch_size = std::max<std::uint32_t>(o.batch_length, 1);
    co.auto_commit = false;  // offsets are committed by the runtime, after the sink accepted
    TRIB_ASSIGN_OR_RETURN(auto c, iggy::consumer_client::create(std::move(co)));
    return std::unique_ptr<consumer_port>(std::make_unique<client_consumer>(std::move(c)));
}

result<std::unique_ptr<producer_port>> iggy_client_port::open_producer(const producer_options& o) {
    auto p = std::make_unique<client_producer>(opts_, o);
    TRIB_TRY(p->init());
    return std::unique_ptr<producer_port>(std::move(p));
}

result<bool> iggy_client_port::ensure_topic(std::string_view stream, std::string_view topic,
                                            std::uint32_t partitions) {
    std::lock_guard lk(ensure_mu_);
    bool created = false;
    const auto sid = identifier_of(stream);
    TRIB_ASSIGN_OR_RETURN(auto s, admin_->get_stream(sid));
    if (!s) {
        if (sid.is_numeric()) {
            return fail(errc::not_found, "stream " + std::string(stream) +
                                             " does not exist (a numeric id cannot be created; "
                                             "name the stream instead)");
        }
        auto c = admin_->create_stream(std::string(stream));
        if (!c && c.error().code() != errc::already_exists)
            return c.error();
        created = created || c.has_value();
    }
    const auto tid = identifier_of(topic);
    TRIB_ASSIGN_OR_RETURN(auto t, admin_->get_topic(sid, tid));
    if (!t) {
        if (tid.is_numeric()) {
            return fail(errc::not_found, "topic " + std::string(topic) + " does not exist");
        }
        auto c =
            admin_->create_topic(sid, std::string(topic), std::max<std::uint32_t>(partitions, 1));
        if (!c && c.error().code() != errc::already_exists)
            return c.error();
        created = created || c.has_value();
    }
    return created;
}

}  // namespace trib::runtime
