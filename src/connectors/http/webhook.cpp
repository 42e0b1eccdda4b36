// The webhook source: an HTTP server (src/http, Boost.Beast underneath) whose routes turn request
// bodies into messages. A request is answered only when Iggy acknowledged the batch holding its
// messages (2xx), or with 503 + Retry-After when it could not be delivered, so the caller's retry
// is the safety net. Memory is bounded: a request that does not fit the pending budget is
// answered 429/503 + Retry-After at once.

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "config/spec.h"
#include "connectors/http/http.h"
#include "connectors/http/json.h"
#include "connectors/http/util.h"
#include "core/metrics.h"
#include "http/server.h"

namespace trib::connectors {
namespace {

using namespace http_detail;
using namespace std::chrono_literals;

enum class body_format { automatic, json, ndjson, raw };

struct auth_settings {
    enum class kind { none, bearer, basic, hmac } type = kind::none;
    std::string token_digest;  // sha256 of the bearer token
    std::string user_digest, password_digest;
    signature_scheme sig;
};

struct route_settings {
    std::string path;
    std::string method = "POST";
    std::optional<stream_ref> target;  // empty: the first [[streams]] entry
    body_format format = body_format::automatic;
    std::vector<std::string> headers;  // request headers copied to Iggy user headers
    std::string key_header;
    std::optional<json_path> key_path;
    std::string delivery_id_header;  // empty: none
    std::optional<json_path> delivery_id_path;
    auth_settings auth;
};

struct webhook_settings {
    http::server_config server;
    std::vector<route_settings> routes;
    std::string health_path;
    std::size_t max_body = 1u << 20;
    std::chrono::milliseconds ack_timeout{30000};
    std::size_t max_pending_requests = 1000;
    std::uint64_t max_pending_bytes = 64ull << 20;
    int overload_status = 503;
    std::chrono::seconds retry_after{1};
    int success_status = 200;
    std::size_t max_batch_messages = 1000;
};

/// The outcomes counted per route (trib_webhook_requests_total{outcome}).
enum class outcome : std::size_t {
    accepted,
    empty,
    missing_credentials,
    bad_credentials,
    bad_signature,
    stale_timestamp,
    bad_json,
    overloaded,
    nacked,
    stopped,
    too_large,           // 413 from the server: the body exceeded max_body_size
    slow_request,        // 408 from the server: request_timeout passed while reading it
    unsupported_coding,  // 501/415 from the server: a Transfer- or Content-Encoding not decoded
    timed_out,           // not delivered in time; the server answered 503, the caller retries
    answered_late,       // acknowledged after the server stopped waiting (answered 503 already)
    count_
};
constexpr std::size_t outcome_count = static_cast<std::size_t>(outcome::count_);

/// The metric label of an outcome (a switch, so that a new outcome without a name does not
/// compile under -Werror=switch).
constexpr std::string_view name_of(outcome o) {
    switch (o) {
        case outcome::accepted:
            return "accepted";
        case outcome::empty:
            return "empty";
        case outcome::missing_credentials:
            return "missing_credentials";
        case outcome::bad_credentials:
            return "bad_credentials";
        case outcome::bad_signature:
            return "bad_signature";
        case outcome::stale_timestamp:
            return "stale_timestamp";
        case outcome::bad_json:
            return "bad_json";
        case outcome::overloaded:
            return "overloaded";
        case outcome::nacked:
            return "nacked";
        case outcome::stopped:
            return "stopped";
        case outcome::too_large:
            return "too_large";
        case outcome::slow_request:
            return "slow_request";
        case outcome::unsupported_coding:
            return "unsupported_coding";
        case outcome::timed_out:
            return "timed_out";
        case outcome::answered_late:
            return "answered_late";
        case outcome::count_:
            break;
    }
    return "unknown";
}

/// One request waiting to be delivered: keeps the request (and its body, which the messages
/// point into) alive through the responder.
struct pending_request {
    http::responder done;
    std::size_t route = 0;
    std::vector<message> messages;
    std::size_t count = 0;  // messages of the request
    std::size_t bytes = 0;  // its share of the pending budget
};

class webhook_source final : public source {
  public:
    explicit webhook_source(webhook_settings s) : s_(std::move(s)) {}
    ~webhook_source() override { close(); }

    status open(connector_context& ctx, std::string_view) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        metrics_registry* reg = ctx.metrics;
        if (reg == nullptr) {
            own_metrics_ = std::make_unique<metrics_registry>();
            reg = own_metrics_.get();
        }
        if (ctx.routes.empty())
            ctx.routes.push_back(stream_ref{"webhook", "events"});  // unit tests without streams
        route_index_.clear();
        counters_.clear();
        for (const auto& r : s_.routes) {
            route_index_.push_back(r.target ? ctx.add_route(*r.target) : 0);
            auto& c = counters_.emplace_back();
            for (std::size_t i = 0; i < outcome_count; ++i) {
                c.by_outcome[i] = &reg->counter(
                    "trib_webhook_requests_total", "Webhook requests by route and outcome.",
                    {{"connector", key_},
                     {"route", r.path},
                     {"outcome", std::string(name_of(static_cast<outcome>(i)))}});
            }
            c.messages = &reg->counter("trib_webhook_messages_total",
                                       "Messages the webhook source took from requests.",
                                       {{"connector", key_}, {"route", r.path}});
        }
        pending_gauge_ =
            &reg->gauge("trib_webhook_pending_requests", "Requests received and not yet answered.",
                        {{"connector", key_}});

        auto cfg = s_.server;
        cfg.name = "webhook:" + key_;
        cfg.metrics = reg;
        cfg.body_limit = s_.max_body;
        cfg.async_timeout = s_.ack_timeout;
        server_ = std::make_unique<http::server>(cfg);
        for (std::size_t i = 0; i < s_.routes.size(); ++i) {
            http::route_options o;
            o.body_limit = s_.max_body;
            o.async_timeout = s_.ack_timeout;
            o.retry_after = s_.retry_after;
            o.overload_status = s_.overload_status;
            o.on_refused = [this, i](int status) {
                if (status == 413)
                    count(i, outcome::too_large);
                else if (status == 408)
                    count(i, outcome::slow_request);
                else if (status == 501 || status == 415)
                    count(i, outcome::unsupported_coding);
            };
            server_->route_async(
                s_.routes[i].method, s_.routes[i].path,
                [this, i](const http::request& req, http::responder done) {
                    on_request(i, req, std::move(done));
                },
                o);
        }
        if (!s_.health_path.empty()) {
            http::route_options o;
            o.public_route = true;
            server_->route(
                "GET", s_.health_path,
                [](const http::request&) { return http::response::json(200, R"({"ok":true})"); },
                o);
        }
        {
            std::lock_guard lk(mu_);
            closed_ = false;
            seq_ = 0;
        }
        if (auto st = server_->start(); !st) {
            server_.reset();
            return st.error().wrap(fmt::format("webhook {}: listening on {}:{}", key_,
                                               s_.server.address, s_.server.port));
        }
        spdlog::info("webhook {}: listening on {}://{}:{} ({} routes)", key_,
                     s_.server.tls ? "https" : "http", s_.server.address, server_->port(),
                     s_.routes.size());
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        source_batch out;
        std::vector<std::shared_ptr<pending_request>> taken;
        {
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, stop_, max_wait, [&] { return !queue_.empty() || closed_; });
            std::size_t n = 0;
            while (!queue_.empty()) {
                auto& p = queue_.front();
                if (p->done.done()) {
                    // The server stopped waiting (ack_timeout) and answered 503: the caller will
                    // send it again, so storing it now would only make a duplicate.
                    count(p->route, outcome::timed_out);
                    pending_requests_ -= 1;
                    pending_bytes_ -= p->bytes;
                    queue_.pop_front();
                    continue;
                }
                // Whole requests only: one answer per request needs all its messages in one
                // batch (at least one request per batch, however large).
                if (!taken.empty() && n + p->messages.size() > s_.max_batch_messages)
                    break;
                n += p->messages.size();
                taken.push_back(std::move(p));
                queue_.pop_front();
            }
            publish_pending();
            if (taken.empty())
                return out;
            inflight_.emplace(++seq_, taken);
        }
        for (auto& p : taken) {
            for (auto& m : p->messages) {
                m.route = route_index_[p->route];
                out.batch.messages.push_back(std::move(m));
            }
            p->messages.clear();
            p->messages.shrink_to_fit();
            out.batch.hold(p);  // the payloads point into the request held by p->done
        }
        return out;
    }

    void ack(std::uint64_t seq) override { finish(seq, true); }
    void nack(std::uint64_t seq) override { finish(seq, false); }

    void close() override {
        if (server_) {
            // Stop taking requests; those waiting are answered below, so give them a moment.
            std::thread stopper([this] { server_->stop(2000ms); });
            answer_all_pending();
            stopper.join();
            server_.reset();
        }
        answer_all_pending();
    }

  private:
    struct route_counters {
        std::array<counter*, outcome_count> by_outcome{};
        counter* messages = nullptr;
    };

    /// Under mu_.
    void publish_pending() {
        if (pending_gauge_ != nullptr)
            pending_gauge_->set(static_cast<double>(pending_requests_));
    }

    void count(std::size_t route, outcome o) {
        counters_[route].by_outcome[static_cast<std::size_t>(o)]->inc();
    }

    /// The answer once a request's messages are stored: {"accepted": n} (204: no body).
    http::response success(std::size_t n) const {
        if (s_.success_status == 204)
            return http::response::empty(204);
        return http::response::json(s_.success_status, fmt::format("{{\"accepted\":{}}}", n));
    }

    http::response overloaded(std::string_view why) const {
        return http::response::overloaded(s_.overload_status, s_.retry_after, why);
    }

    void answer_all_pending() {
        std::deque<std::shared_ptr<pending_request>> q;
        std::map<std::uint64_t, std::vector<std::shared_ptr<pending_request>>> f;
        {
            std::lock_guard lk(mu_);
            closed_ = true;
            q.swap(queue_);
            f.swap(inflight_);
            pending_requests_ = 0;
            pending_bytes_ = 0;
            publish_pending();
        }
        cv_.notify_all();
        auto refuse = [&](pending_request& p) {
            count(p.route, outcome::stopped);
            p.done.send(http::response::overloaded(503, s_.retry_after, "shutting down"));
        };
        for (auto& p : q)
            refuse(*p);
        for (auto& [seq, v] : f) {
            for (auto& p : v)
                refuse(*p);
        }
    }

    void finish(std::uint64_t seq, bool delivered) {
        std::vector<std::shared_ptr<pending_request>> done;
        {
            std::lock_guard lk(mu_);
            auto it = inflight_.find(seq);
            if (it == inflight_.end())
                return;
            done = std::move(it->second);
            inflight_.erase(it);
            for (auto& p : done) {
                pending_requests_ -= 1;
                pending_bytes_ -= p->bytes;
            }
            publish_pending();
        }
        for (auto& p : done) {
            if (delivered) {
                if (p->done.send(success(p->count)))
                    count(p->route, outcome::accepted);
                else
                    count(p->route, outcome::answered_late);
            } else {
                count(p->route, outcome::nacked);
                p->done.send(http::response::overloaded(
                    503, s_.retry_after, "the messages could not be stored; retry later"));
            }
        }
    }

    void on_request(std::size_t ri, const http::request& req, http::responder done) {
        const route_settings& r = s_.routes[ri];
        // 1. Authentication, before the body is looked at.
        if (auto a = authenticate(r.auth, req); a != auth_result::ok) {
            count(ri, a == auth_result::missing           ? outcome::missing_credentials
                      : a == auth_result::bad_credentials ? outcome::bad_credentials
                      : a == auth_result::bad_signature   ? outcome::bad_signature
                                                          : outcome::stale_timestamp);
            auto resp = http::response::error_json(401, to_string(a));
            if (r.auth.type == auth_settings::kind::bearer)
                resp.set_header("WWW-Authenticate", "Bearer");
            else if (r.auth.type == auth_settings::kind::basic)
                resp.set_header("WWW-Authenticate", "Basic realm=\"webhook\"");
            done.send(std::move(resp));
            return;
        }
        // 2. The body's messages (views into req.body, which the responder keeps alive).
        auto p = std::make_shared<pending_request>();
        p->route = ri;
        std::vector<std::string_view> parts;
        body_format f = r.format;
        if (f == body_format::automatic)
            f = format_of(req.header("Content-Type"));
        split_error err;
        bool ok_body = true;
        switch (f) {
            case body_format::json:
                ok_body = split_json(req.body, parts, err);
                break;
            case body_format::ndjson:
                ok_body = split_ndjson(req.body, parts, err);
                break;
            default:
                if (!req.body.empty())
                    parts.push_back(req.body);
                break;
        }
        if (!ok_body) {
            count(ri, outcome::bad_json);
            done.send(http::response::error_json(400, "invalid JSON: " + err.message));
            return;
        }
        if (parts.empty()) {
            count(ri, outcome::empty);
            done.send(success(0));
            return;
        }
        std::vector<header> hdrs;
        for (const auto& name : r.headers) {
            auto v = req.header(name);
            if (!v.empty())
                hdrs.push_back(header{name, value_kind::string, std::string(v)});
        }
        std::string key(r.key_header.empty() ? std::string_view() : req.header(r.key_header));
        const std::string_view delivery =
            r.delivery_id_header.empty() ? std::string_view() : req.header(r.delivery_id_header);
        p->messages.reserve(parts.size());
        rapidjson::Document d;
        std::string perr;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            message m;
            m.payload = parts[i];
            m.headers = hdrs;
            m.key = key;
            const bool want_doc =
                (r.key_path || (delivery.empty() && r.delivery_id_path)) && f != body_format::raw;
            const bool parsed = want_doc && parse_exact(parts[i], d, perr);
            if (r.key_path && parsed) {
                if (const auto* k = r.key_path->first(d))
                    m.key = scalar_text(*k);
            }
            if (!delivery.empty()) {
                m.id = delivery_id(delivery, i);
            } else if (r.delivery_id_path && parsed) {
                if (const auto* v = r.delivery_id_path->first(d); v != nullptr && !v->IsNull())
                    m.id = delivery_path_id(scalar_text(*v));
            }
            p->messages.push_back(std::move(m));
        }
        p->count = parts.size();
        p->bytes = req.body.size() + 256;  // the request's share of memory, roughly
        counters_[ri].messages->inc(parts.size());
        p->done = std::move(done);

        // 3. Admission against the pending budget.
        {
            std::lock_guard lk(mu_);
            if (closed_) {
                count(ri, outcome::stopped);
                p->done.send(http::response::overloaded(503, s_.retry_after, "shutting down"));
                return;
            }
            if (pending_requests_ + 1 > s_.max_pending_requests ||
                (pending_requests_ > 0 && pending_bytes_ + p->bytes > s_.max_pending_bytes)) {
                count(ri, outcome::overloaded);
                p->done.send(overloaded("too many requests waiting for Iggy"));
                return;
            }
            pending_requests_ += 1;
            pending_bytes_ += p->bytes;
            publish_pending();
            queue_.push_back(std::move(p));
        }
        cv_.notify_one();
    }

    static body_format format_of(std::string_view content_type) {
        std::string ct;
        for (char c : content_type.substr(0, content_type.find(';')))
            ct.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        if (ct.find("ndjson") != std::string::npos || ct.find("jsonl") != std::string::npos ||
            ct.find("json-seq") != std::string::npos || ct.find("jsonlines") != std::string::npos)
            return body_format::ndjson;
        if (ct.find("json") != std::string::npos)
            return body_format::json;
        return body_format::raw;
    }

    static auth_result authenticate(const auth_settings& a, const http::request& req) {
        switch (a.type) {
            case auth_settings::kind::none:
                return auth_result::ok;
            case auth_settings::kind::bearer: {
                std::string_view h = req.header("Authorization");
                if (h.size() < 7 || !(h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer "))
                    return auth_result::missing;
                // Digests have one length: the comparison's time says nothing about the token.
                return constant_time_equal(sha256(h.substr(7)), a.token_digest)
                           ? auth_result::ok
                           : auth_result::bad_credentials;
            }
            case auth_settings::kind::basic: {
                std::string_view h = req.header("Authorization");
                if (h.size() < 6 || !(h.substr(0, 6) == "Basic " || h.substr(0, 6) == "basic "))
                    return auth_result::missing;
                std::string_view cred = h.substr(6);
                while (!cred.empty() && (cred.front() == ' ' || cred.front() == '\t'))
                    cred.remove_prefix(1);
                while (!cred.empty() && (cred.back() == ' ' || cred.back() == '\t'))
                    cred.remove_suffix(1);
                auto dec = base64_decode(cred);
                if (!dec)
                    return auth_result::bad_credentials;
                auto colon = dec->find(':');
                if (colon == std::string::npos)
                    return auth_result::bad_credentials;
                const bool user_ok =
                    constant_time_equal(sha256(dec->substr(0, colon)), a.user_digest);
                const bool pass_ok =
                    constant_time_equal(sha256(dec->substr(colon + 1)), a.password_digest);
                return user_ok && pass_ok ? auth_result::ok : auth_result::bad_credentials;
            }
            case auth_settings::kind::hmac:
                return verify_signature(
                    a.sig, [&](std::string_view n) { return req.header(n); }, req.body,
                    std::chrono::system_clock::now());
        }
        return auth_result::bad_credentials;
    }

    webhook_settings s_;
    std::string key_;
    std::stop_token stop_;
    std::unique_ptr<metrics_registry> own_metrics_;
    std::vector<route_counters> counters_;
    std::vector<std::uint16_t> route_index_;
    gauge* pending_gauge_ = nullptr;
    std::unique_ptr<http::server> server_;

    std::mutex mu_;
    std::condition_variable_any cv_;
    std::deque<std::shared_ptr<pending_request>> queue_;
    std::map<std::uint64_t, std::vector<std::shared_ptr<pending_request>>> inflight_;
    std::size_t pending_requests_ = 0;  // queued and in flight
    std::uint64_t pending_bytes_ = 0;
    std::uint64_t seq_ = 0;
    bool closed_ = false;
};

auth_settings auth_from(const config::values& a) {
    auth_settings out;
    const auto type = a.str("type");
    if (type == "bearer") {
        out.type = auth_settings::kind::bearer;
        out.token_digest = sha256(a.opt_str("token").value_or(""));
    } else if (type == "basic") {
        out.type = auth_settings::kind::basic;
        out.user_digest = sha256(a.opt_str("username").value_or(""));
        out.password_digest = sha256(a.opt_str("password").value_or(""));
    } else if (type == "hmac") {
        out.type = auth_settings::kind::hmac;
        signature_scheme& s = out.sig;
        const auto preset = a.str("preset");
        if (preset == "stripe") {
            s.header = "Stripe-Signature";
            s.prefix.clear();
            s.format = signature_scheme::format::keyed;
            s.signed_payload = "{timestamp}.{body}";
        } else if (preset == "shopify") {
            s.header = "X-Shopify-Hmac-Sha256";
            s.prefix.clear();
            s.encoding = signature_scheme::encoding::base64;
        } else if (preset == "slack") {
            s.header = "X-Slack-Signature";
            s.prefix = "v0=";
            s.timestamp_header = "X-Slack-Request-Timestamp";
            s.signed_payload = "v0:{timestamp}:{body}";
        }  // github and custom: the signature_scheme defaults (X-Hub-Signature-256, sha256=)
        if (auto v = a.opt_str("signature_header"))
            s.header = *v;
        if (auto v = a.opt_str("signature_prefix"))
            s.prefix = *v;
        if (auto v = a.opt_str("signature_encoding"))
            s.encoding = *v == "base64" ? signature_scheme::encoding::base64
                                        : signature_scheme::encoding::hex;
        if (auto v = a.opt_str("signature_format"))
            s.format =
                *v == "keyed" ? signature_scheme::format::keyed : signature_scheme::format::plain;
        if (auto v = a.opt_str("timestamp_header"))
            s.timestamp_header = *v;
        if (auto v = a.opt_str("timestamp_key"))
            s.timestamp_key = *v;
        if (auto v = a.opt_str("signature_key"))
            s.signature_key = *v;
        if (auto v = a.opt_str("signed_payload"))
            s.signed_payload = *v;
        s.tolerance =
            std::chrono::duration_cast<std::chrono::seconds>(a.duration("timestamp_tolerance"));
        s.secrets.push_back(a.opt_str("secret").value_or(""));
        if (auto v = a.opt_str("previous_secret"))
            s.secrets.push_back(*v);
    }
    return out;
}

bool is_loopback(std::string_view address) {
    return address == "127.0.0.1" || address == "::1" || address == "localhost" ||
           address.starts_with("127.");
}

}  // namespace

result<std::unique_ptr<source>> make_webhook_source(const config::values& v) {
    webhook_settings s;
    s.server.address = v.str("address");
    s.server.port = static_cast<std::uint16_t>(v.integer("port"));
    if (auto c = v.opt_str("tls_cert_file"))
        s.server.tls = http::tls_config{*c, v.opt_str("tls_key_file").value_or("")};
    s.max_body = static_cast<std::size_t>(v.size("max_body_size"));
    s.server.header_timeout = v.duration("request_timeout");
    s.server.body_timeout = v.duration("request_timeout");
    s.server.idle_timeout = v.duration("idle_timeout");
    s.server.max_connections = static_cast<std::size_t>(v.integer("max_connections"));
    s.server.threads = static_cast<unsigned>(v.integer("threads"));
    s.ack_timeout = v.duration("ack_timeout");
    s.max_pending_requests = static_cast<std::size_t>(v.integer("max_pending_requests"));
    s.max_pending_bytes = v.size("max_pending_bytes");
    s.overload_status = static_cast<int>(v.integer("overload_status"));
    s.retry_after =
        std::max(1s, std::chrono::ceil<std::chrono::seconds>(v.duration("retry_after")));
    s.success_status = static_cast<int>(v.integer("success_status"));
    s.max_batch_messages = static_cast<std::size_t>(v.integer("max_batch_messages"));
    s.health_path = v.opt_str("health_path").value_or("");

    const auto top_auth = auth_from(v.table("auth"));
    const std::string top_delivery_header = v.opt_str("delivery_id_header").value_or("");
    std::optional<json_path> top_delivery_path;
    if (auto k = v.opt_str("delivery_id_path")) {
        TRIB_ASSIGN_OR_RETURN(auto jp, json_path::parse(*k));
        top_delivery_path = std::move(jp);
    }
    auto routes = v.tables("routes");
    if (routes.empty()) {
        route_settings r;
        r.path = "/";
        r.auth = top_auth;
        r.delivery_id_header = top_delivery_header;
        r.delivery_id_path = top_delivery_path;
        s.routes.push_back(std::move(r));
    }
    for (const auto& rv : routes) {
        route_settings r;
        r.path = rv.str("path");
        r.method = rv.str("method");
        if (auto st = rv.opt_str("stream"))
            r.target = stream_ref{*st, rv.opt_str("topic").value_or("")};
        const auto f = rv.str("format");
        r.format = f == "json"     ? body_format::json
                   : f == "ndjson" ? body_format::ndjson
                   : f == "raw"    ? body_format::raw
                                   : body_format::automatic;
        r.headers = rv.list("headers");
        r.key_header = rv.opt_str("key_header").value_or("");
        r.delivery_id_header = rv.opt_str("delivery_id_header").value_or(top_delivery_header);
        if (auto k = rv.opt_str("delivery_id_path")) {
            TRIB_ASSIGN_OR_RETURN(auto jp, json_path::parse(*k));
            r.delivery_id_path = std::move(jp);
        } else {
            r.delivery_id_path = top_delivery_path;
        }
        if (auto k = rv.opt_str("key_path")) {
            TRIB_ASSIGN_OR_RETURN(auto jp, json_path::parse(*k));
            r.key_path = std::move(jp);
        }
        r.auth = rv.has("auth") ? auth_from(rv.table("auth")) : top_auth;
        s.routes.push_back(std::move(r));
    }
    if (!is_loopback(s.server.address) && !v.boolean("allow_unauthenticated")) {
        for (const auto& r : s.routes) {
            if (r.auth.type == auth_settings::kind::none) {
                return fail(errc::invalid_argument,
                            fmt::format("webhook route {} has no authentication but the server "
                                        "listens on {}; set auth (bearer, basic or hmac) or "
                                        "allow_unauthenticated = true",
                                        r.path, s.server.address));
            }
        }
    }
    return std::unique_ptr<source>(std::make_unique<webhook_source>(std::move(s)));
}

}  // namespace trib::connectors
