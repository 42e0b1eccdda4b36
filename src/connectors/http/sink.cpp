// The HTTP sink: Iggy -> any HTTP endpoint through core/net's libcurl client. See README.md for
// the guarantees; the retry and memo rules are explained where they are implemented.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "config/spec.h"
#include "connectors/http/http.h"
#include "connectors/http/json.h"
#include "connectors/http/util.h"
#include "core/connector_metrics.h"
#include "core/header_json.h"
#include "core/json_members.h"
#include "core/metrics.h"
#include "core/net/http_client.h"
#include "core/sink_memo.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using namespace http_detail;

enum class batch_mode { individual, ndjson, json_array, raw };

struct sink_settings {
    text_template url;
    std::string method = "POST";
    net::header_map headers;
    std::chrono::milliseconds timeout{30000};
    std::uint64_t max_payload = 10u << 20;
    batch_mode mode = batch_mode::individual;
    bool include_metadata = true;
    bool include_checksum = false;
    bool include_origin_timestamp = false;
    bool include_headers = false;
    bool health_check = false;
    std::string health_method = "HEAD";
    std::uint32_t max_retries = 3;
    std::chrono::milliseconds retry_delay{1000};
    double multiplier = 2.0;
    std::chrono::milliseconds max_retry_delay{30000};
    std::set<int> success;
    std::size_t lanes = 1;
    std::string content_type;
    bool verbose = false;
    net::client_options client;
};

/// Worker threads that run the requests of one write in parallel; the calling thread is lane 0.
class lane_pool {
  public:
    ~lane_pool() { stop(); }

    void start(std::size_t extra) {
        for (std::size_t i = 0; i < extra; ++i)
            threads_.emplace_back([this, lane = i + 1] { work(lane); });
    }

    void stop() {
        {
            std::lock_guard lk(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            t.join();
        threads_.clear();
        stopping_ = false;
    }

    /// Runs fn(lane, i) for every i in [0, n) and returns when all are done.
    void run(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) {
        if (threads_.empty() || n <= 1) {
            for (std::size_t i = 0; i < n; ++i)
                fn(0, i);
            return;
        }
        {
            std::lock_guard lk(mu_);
            job_ = &fn;
            n_ = n;
            next_.store(0);
            ++generation_;
        }
        cv_.notify_all();
        drain(0, fn);
        std::unique_lock lk(mu_);
        done_cv_.wait(lk, [&] { return active_ == 0 && next_.load() >= n_; });
        job_ = nullptr;
    }

  private:
    void drain(std::size_t lane, const std::function<void(std::size_t, std::size_t)>& fn) {
        for (;;) {
            std::size_t i = next_.fetch_add(1);
            if (i >= n_)
                return;
            fn(lane, i);
        }
    }

    void work(std::size_t lane) {
        std::uint64_t seen = 0;
        std::unique_lock lk(mu_);
        for (;;) {
            cv_.wait(lk, [&] { return stopping_ || generation_ != seen; });
            if (stopping_)
                return;
            seen = generation_;
            const auto* job = job_;
            if (job == nullptr)
                continue;
            ++active_;
            lk.unlock();
            drain(lane, *job);
            lk.lock();
            --active_;
            done_cv_.notify_all();
        }
    }

    std::mutex mu_;
    std::condition_variable cv_, done_cv_;
    const std::function<void(std::size_t, std::size_t)>* job_ = nullptr;
    std::size_t n_ = 0;
    std::atomic<std::size_t> next_{0};
    std::size_t active_ = 0;
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

/// One request of a write: its messages (indices into the batch), URL and body.
struct planned_request {
    std::vector<std::size_t> idx;
    std::string url;
    std::string body;
};

/// How one planned request ended after the in-sink retries.
struct request_outcome {
    enum class kind { delivered, rejected, failed } what = kind::failed;
    error err;
};

class http_sink final : public sink {
  public:
    explicit http_sink(sink_settings s) : s_(std::move(s)) {}
    ~http_sink() override { close(); }

    status open(connector_context& ctx) override {
        register_metrics(adopt_context(ctx, key_, stop_, own_metrics_));
        clients_.clear();
        for (std::size_t i = 0; i < s_.lanes; ++i)
            clients_.push_back(std::make_unique<net::http_client>(s_.client));
        pool_.start(s_.lanes - 1);
        if (s_.include_checksum) {
            spdlog::warn(
                "http sink {}: include_checksum is not supported (Tributary does not "
                "carry Iggy's message checksum); iggy_checksum is not sent",
                key_);
        }
        if (s_.health_check) {
            net::http_request req;
            req.method = s_.health_method;
            req.url = s_.url.expand([](std::string_view) { return std::string(); }, true);
            req.headers = s_.headers;
            req.stop = stop_;
            auto r = clients_[0]->perform(req);
            if (!r)
                return r.error().wrap(fmt::format("http sink {}: health check", key_));
            if (!s_.success.count(r->status)) {
                auto st = net::classify_status(*r, "health check");
                error e =
                    st ? error(errc::unavailable, "health check: HTTP " + std::to_string(r->status))
                       : st.error();
                return e.wrap(fmt::format("http sink {}", key_));
            }
        }
        return ok();
    }

    void close() override {
        pool_.stop();
        clients_.clear();
        // The memo survives a close/open: the runtime reopens the sink after a lost connection
        // and then retries the same batch.
    }

    result<write_outcome> write(const sink_batch& b) override {
        write_outcome out;
        const auto& msgs = b.messages->messages;
        if (msgs.empty())
            return out;
        if (clients_.empty())
            return fail(errc::failed_precondition, "http sink: write before open");
        memo_.prepare(b);

        // 1. Messages an earlier, failed attempt of this batch delivered are not sent again.
        std::vector<std::size_t> todo;
        todo.reserve(msgs.size());
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            if (memo_.delivered(msgs[i]))
                m_.settled.skipped->inc();
            else
                todo.push_back(i);
        }

        // 2. Encode and plan the requests.
        std::vector<planned_request> plan;
        plan_requests(b, todo, plan, out);

        // 3. Send them, up to `lanes` at once.
        std::vector<request_outcome> results(plan.size());
        pool_.run(plan.size(), [&](std::size_t lane, std::size_t i) {
            results[i] = send_with_retries(*clients_[lane], plan[i]);
        });

        // 4. Collate. Only a write that fails remembers what it delivered: after a success the
        // runtime moves on and never hands these messages to this instance again.
        std::optional<error> failure;
        for (std::size_t r = 0; r < plan.size(); ++r) {
            auto& res = results[r];
            const auto& req = plan[r];
            if (res.what == request_outcome::kind::delivered) {
                m_.settled.delivered->inc(req.idx.size());
            } else if (res.what == request_outcome::kind::rejected && req.idx.size() == 1) {
                m_.settled.rejected->inc();
                out.rejected.push_back(message_error{req.idx[0], res.err});
            } else {
                // Failed, or refused with several messages in one body: which message the
                // endpoint refused is unknown, and a fatal error lets the runtime bisect.
                merge_failure(failure, res.err);
            }
        }
        if (failure) {
            for (std::size_t r = 0; r < plan.size(); ++r) {
                if (results[r].what == request_outcome::kind::delivered) {
                    for (auto i : plan[r].idx)
                        memo_.remember(msgs[i]);
                }
            }
            return *failure;
        }
        sort_rejected(out);
        return out;
    }

  private:
    struct metric_set {
        counter* requests_ok = nullptr;
        counter* requests_rejected = nullptr;
        counter* requests_retryable = nullptr;
        counter* requests_throttled = nullptr;
        counter* requests_transport = nullptr;
        counter* retries = nullptr;
        settled_counters settled;
        histogram* latency = nullptr;
    };

    void register_metrics(metrics_registry& r) {
        const metric_labels base{{"connector", key_}};
        auto req = [&](const char* outcome) {
            return &r.counter("trib_http_sink_requests_total",
                              "Requests sent by the HTTP sink, by outcome.",
                              with_outcome(base, outcome));
        };
        m_.requests_ok = req("success");
        m_.requests_rejected = req("rejected");
        m_.requests_retryable = req("retryable");
        m_.requests_throttled = req("throttled");
        m_.requests_transport = req("transport_error");
        m_.retries = &r.counter("trib_http_sink_retries_total",
                                "Requests the HTTP sink sent again after a failure.", base);
        m_.settled = settled_counters::make(
            r, "trib_http_sink_messages_total",
            "Messages the HTTP sink settled, by outcome (skipped_duplicate: delivered by an "
            "earlier attempt, not sent again).",
            base);
        m_.latency = &r.histogram("trib_http_sink_request_duration_seconds",
                                  "Time of one HTTP request of the HTTP sink.", base);
    }

    /// Appends the JSON form of a payload (see the spec's envelope rules); false when a `json`
    /// payload is not valid JSON.
    static bool append_payload(const sink_batch& b, const message& m, std::string& out) {
        if (b.schema == "json")
            return append_minified(m.payload, out);
        if (b.schema == "text" || b.schema == "string") {
            append_json_string(out, m.payload);
            return true;
        }
        out += "{\"data\":\"";
        out += base64_encode(m.payload);
        out += "\",\"iggy_payload_encoding\":\"base64\"}";
        return true;
    }

    /// The envelope's fields that are the same for every message of a batch.
    static std::string batch_metadata(const sink_batch& b) {
        std::string s;
        json_members(s, false)
            .str("iggy_stream", b.stream)
            .str("iggy_topic", b.topic)
            .uint("iggy_partition_id", b.partition);
        return s;
    }

    bool encode(const sink_batch& b, const std::string& batch_meta, const message& m,
                std::string& out) const {
        if (!s_.include_metadata)
            return append_payload(b, m, out);
        out += "{\"metadata\":{";
        json_members meta(out);
        meta.str("iggy_id", format_uuid(m.id))
            .uint("iggy_offset", m.offset)
            .uint("iggy_timestamp", m.timestamp_us);
        out += batch_meta;
        if (s_.include_origin_timestamp)
            meta.uint("iggy_origin_timestamp", m.origin_timestamp_us);
        if (s_.include_headers)
            append_headers_json(meta.key("iggy_headers"), m.headers);
        out += "},\"payload\":";
        if (!append_payload(b, m, out))
            return false;
        out += '}';
        return true;
    }

    std::string url_for(const sink_batch& b, const planned_request& r) const {
        const auto& msgs = b.messages->messages;
        const message& first = msgs[r.idx.front()];
        const message& last = msgs[r.idx.back()];
        return s_.url.expand(
            [&](std::string_view n) -> std::string {
                if (n == "stream")
                    return std::string(b.stream);
                if (n == "topic")
                    return std::string(b.topic);
                if (n == "partition")
                    return std::to_string(b.partition);
                if (n == "offset" || n == "first_offset")
                    return std::to_string(first.offset);
                if (n == "last_offset")
                    return std::to_string(last.offset);
                if (n == "id")
                    return format_uuid(first.id);
                return {};
            },
            true);
    }

    void plan_requests(const sink_batch& b, const std::vector<std::size_t>& todo,
                       std::vector<planned_request>& plan, write_outcome& out) {
        const auto& msgs = b.messages->messages;
        auto reject = [&](std::size_t i, error e) {
            m_.settled.rejected->inc();
            out.rejected.push_back(message_error{i, std::move(e)});
        };
        auto too_large = [&](std::size_t i, std::size_t size) {
            reject(i, error(errc::resource_exhausted, retry_class::fatal,
                            fmt::format("message of offset {} needs a {}-byte request body, "
                                        "more than max_payload_size_bytes ({})",
                                        msgs[i].offset, size, s_.max_payload)));
        };
        auto bad_json = [&](std::size_t i) {
            reject(i, error(errc::invalid_argument, retry_class::fatal,
                            fmt::format("payload of offset {} is not valid JSON (schema json)",
                                        msgs[i].offset)));
        };
        const std::uint64_t max = s_.max_payload;
        const std::string meta = s_.include_metadata ? batch_metadata(b) : std::string();
        if (s_.mode == batch_mode::individual || s_.mode == batch_mode::raw) {
            for (auto i : todo) {
                planned_request r;
                r.idx.push_back(i);
                if (s_.mode == batch_mode::raw) {
                    r.body.assign(msgs[i].payload);
                } else if (!encode(b, meta, msgs[i], r.body)) {
                    bad_json(i);
                    continue;
                }
                if (max != 0 && r.body.size() > max) {
                    too_large(i, r.body.size());
                    continue;
                }
                r.url = url_for(b, r);
                plan.push_back(std::move(r));
            }
            return;
        }
        // ndjson / json_array: as many messages per request as max_payload_size_bytes allows.
        const bool array = s_.mode == batch_mode::json_array;
        planned_request cur;
        auto close_request = [&] {
            if (cur.idx.empty())
                return;
            if (array)
                cur.body += ']';
            cur.url = url_for(b, cur);
            plan.push_back(std::move(cur));
            cur = planned_request();
        };
        std::string item;
        for (auto i : todo) {
            item.clear();
            if (!encode(b, meta, msgs[i], item)) {
                bad_json(i);
                continue;
            }
            // Framing: '[' + ']' for an array's first item, ',' for the next; '\n' per line.
            const std::size_t alone = item.size() + (array ? 2 : 1);
            if (max != 0 && alone > max) {
                too_large(i, alone);
                continue;
            }
            const std::size_t added = item.size() + 1;
            if (!cur.idx.empty() && max != 0 && cur.body.size() + added + (array ? 1 : 0) > max)
                close_request();
            if (array)
                cur.body += cur.idx.empty() ? '[' : ',';
            cur.body += item;
            if (!array)
                cur.body += '\n';
            cur.idx.push_back(i);
        }
        close_request();
    }

    /// Sleeps up to `d`; false when the connector is being stopped.
    bool sleep_for(std::chrono::milliseconds d) {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lk(m);
        return !cv.wait_for(lk, stop_, d, [] { return false; }) && !stop_.stop_requested();
    }

    std::chrono::milliseconds backoff_delay(std::uint32_t attempt) const {
        double d = static_cast<double>(s_.retry_delay.count());
        for (std::uint32_t i = 0; i < attempt && d < 1e12; ++i)
            d *= s_.multiplier;
        return std::min(s_.max_retry_delay, std::chrono::milliseconds(static_cast<long long>(d)));
    }

    request_outcome send_with_retries(net::http_client& client, planned_request& p) {
        net::http_request req;
        req.method = s_.method;
        req.url = p.url;
        req.headers = s_.headers;
        req.headers["Content-Type"] = s_.content_type;
        req.stop = stop_;
        // The body is not needed after the request: no copy.
        req.body = std::move(p.body);
        for (std::uint32_t attempt = 0;; ++attempt) {
            // A Retry-After one lane received holds back every lane: they share the endpoint.
            auto wait = throttled_until();
            if (wait > std::chrono::steady_clock::now()) {
                if (!sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(
                        wait - std::chrono::steady_clock::now())))
                    return {request_outcome::kind::failed,
                            error(errc::cancelled, retry_class::fatal, "http sink: stopped")};
            }
            const auto t0 = std::chrono::steady_clock::now();
            auto r = client.perform(req);
            m_.latency->observe(std::chrono::steady_clock::now() - t0);
            error err;
            if (r) {
                if (s_.verbose) {
                    spdlog::debug("http sink {}: {} {} ({} messages, {} bytes) -> {}", key_,
                                  req.method, req.url, p.idx.size(), req.body.size(), r->status);
                }
                if (s_.success.count(r->status)) {
                    m_.requests_ok->inc();
                    return {request_outcome::kind::delivered, {}};
                }
                auto st = net::classify_status(*r, fmt::format("{} {}", req.method, req.url));
                if (st) {
                    // A 2xx the configuration does not count as success.
                    err = error(errc::protocol_error, retry_class::fatal,
                                fmt::format("{} {}: HTTP {} is not in success_status_codes",
                                            req.method, req.url, r->status),
                                r->status);
                } else {
                    err = st.error();
                }
                if (err.retry() == retry_class::fatal) {
                    m_.requests_rejected->inc();
                    return {request_outcome::kind::rejected, err};
                }
                (err.retry() == retry_class::throttled ? m_.requests_throttled
                                                       : m_.requests_retryable)
                    ->inc();
            } else {
                err = r.error();
                m_.requests_transport->inc();
                if (err.code() == errc::cancelled || err.retry() == retry_class::fatal)
                    return {request_outcome::kind::failed, err};
            }
            if (attempt >= s_.max_retries)
                return {request_outcome::kind::failed, err};
            auto delay = backoff_delay(attempt);
            if (err.retry_after().count() > 0) {
                // The server said how long; more than we are willing to block the writer is the
                // runtime's to wait (its backoff honours the error's retry_after).
                if (err.retry_after() > s_.max_retry_delay)
                    return {request_outcome::kind::failed, err};
                delay = err.retry_after();
                throttle_until(std::chrono::steady_clock::now() + delay);
            }
            if (s_.verbose || attempt == 0) {
                spdlog::warn("http sink {}: {} (attempt {}/{}), retrying in {} ms", key_,
                             err.to_string(), attempt + 1, s_.max_retries + 1, delay.count());
            }
            m_.retries->inc();
            if (!sleep_for(delay))
                return {request_outcome::kind::failed,
                        error(errc::cancelled, retry_class::fatal, "http sink: stopped")};
        }
    }

    static void merge_failure(std::optional<error>& into, const error& e) {
        // Throttling wins (the runtime must slow down), with the longest Retry-After seen.
        if (!into) {
            into = e;
            return;
        }
        if (e.code() == errc::cancelled)
            return;
        if (e.retry() == retry_class::throttled &&
            (into->retry() != retry_class::throttled || e.retry_after() > into->retry_after()))
            into = e;
        else if (into->retry() == retry_class::fatal && e.retry() != retry_class::fatal)
            into = e;
    }

    std::chrono::steady_clock::time_point throttled_until() {
        std::lock_guard lk(throttle_mu_);
        return throttle_until_;
    }
    void throttle_until(std::chrono::steady_clock::time_point t) {
        std::lock_guard lk(throttle_mu_);
        throttle_until_ = std::max(throttle_until_, t);
    }

    sink_settings s_;
    std::string key_;
    std::stop_token stop_;
    std::unique_ptr<metrics_registry> own_metrics_;
    metric_set m_;
    std::vector<std::unique_ptr<net::http_client>> clients_;
    lane_pool pool_;
    std::mutex throttle_mu_;
    std::chrono::steady_clock::time_point throttle_until_{};

    sink_memo memo_;
};

batch_mode parse_mode(std::string_view m) {
    if (m == "ndjson")
        return batch_mode::ndjson;
    if (m == "json_array")
        return batch_mode::json_array;
    if (m == "raw")
        return batch_mode::raw;
    return batch_mode::individual;
}

}  // namespace

namespace http_detail {

net::client_options client_options_from(const config::values& v) {
    net::client_options c;
    c.connect_timeout = v.duration("connect_timeout");
    if (auto t = v.opt_str("bearer_token"))
        c.bearer_token = *t;
    if (auto u = v.opt_str("basic_auth_username"))
        c.basic = net::basic_auth{*u, v.opt_str("basic_auth_password").value_or("")};
    if (auto f = v.opt_str("tls_ca_file"))
        c.tls.ca_file = *f;
    if (auto f = v.opt_str("tls_client_cert"))
        c.tls.client_cert = *f;
    if (auto f = v.opt_str("tls_client_key"))
        c.tls.client_key = *f;
    if (v.boolean("tls_danger_accept_invalid_certs")) {
        c.tls.verify_peer = false;
        c.tls.verify_host = false;
    }
    return c;
}

}  // namespace http_detail

result<std::unique_ptr<sink>> make_http_sink(const config::values& v) {
    sink_settings s;
    s.mode = parse_mode(v.str("batch_mode"));
    const bool per_message = s.mode == batch_mode::individual || s.mode == batch_mode::raw;
    auto url = text_template::parse(v.str("url"), [&](std::string_view n) {
        return n == "stream" || n == "topic" || n == "partition" || n == "first_offset" ||
               n == "last_offset" || (per_message && (n == "offset" || n == "id"));
    });
    if (!url)
        return url.error().wrap("url");
    s.url = std::move(*url);
    s.method = v.str("method");
    for (auto& [k, val] : v.map("headers")) {
        // Content-Type follows the batch mode (as in Iggy's sink); see `content_type`.
        if (net::header_name_less{}(k, "content-type") ||
            net::header_name_less{}("content-type", k))
            s.headers[k] = val;
    }
    s.timeout = v.duration("timeout");
    s.max_payload = v.size("max_payload_size_bytes");
    s.include_metadata = v.boolean("include_metadata");
    s.include_checksum = v.boolean("include_checksum");
    s.include_origin_timestamp = v.boolean("include_origin_timestamp");
    s.include_headers = v.boolean("include_headers");
    s.health_check = v.boolean("health_check_enabled");
    s.health_method = v.str("health_check_method");
    s.max_retries = static_cast<std::uint32_t>(v.integer("max_retries"));
    s.retry_delay = v.duration("retry_delay");
    s.multiplier = v.number("retry_backoff_multiplier");
    s.max_retry_delay = v.duration("max_retry_delay");
    for (auto c : v.integers("success_status_codes"))
        s.success.insert(static_cast<int>(c));
    if (s.success.empty())
        return fail(errc::invalid_argument, "success_status_codes must not be empty");
    s.lanes =
        static_cast<std::size_t>(std::min(v.integer("concurrency"), v.integer("max_connections")));
    s.content_type = v.opt_str("content_type")
                         .value_or(s.mode == batch_mode::ndjson ? "application/x-ndjson"
                                   : s.mode == batch_mode::raw  ? "application/octet-stream"
                                                                : "application/json");
    s.verbose = v.boolean("verbose_logging");
    s.client = client_options_from(v);
    s.client.timeout = s.timeout;
    s.client.max_response_bytes = 16u << 20;  // responses matter for their status only
    return std::unique_ptr<sink>(std::make_unique<http_sink>(std::move(s)));
}

}  // namespace trib::connectors
