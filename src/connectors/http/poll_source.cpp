// The polling source: calls an HTTP API on an interval, splits each response into messages by a
// JSON path, follows pagination (Link header, a next-URL field, or a cursor field) and keeps its
// position (cursor or next URL) in the source state, which the runtime persists only after Iggy
// acknowledged the messages before it.

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "config/enum_option.h"
#include "config/spec.h"
#include "connectors/http/http.h"
#include "connectors/http/json.h"
#include "connectors/http/poll_state.h"
#include "connectors/http/util.h"
#include "core/metrics.h"
#include "core/net/http_client.h"

namespace trib::connectors {
namespace {

using namespace http_detail;
using clock = std::chrono::steady_clock;

enum class pagination { none, link_header, next_url, cursor };
enum class response_format { json, ndjson, raw };

struct poll_settings {
    text_template url;
    std::string url_text;
    std::string method = "GET";
    net::header_map headers;
    std::optional<text_template> body;
    std::string content_type;
    std::chrono::milliseconds interval{10000};
    std::chrono::milliseconds timeout{30000};
    response_format format = response_format::json;
    json_path items;
    std::optional<json_path> key_path;
    std::optional<json_path> id_path;
    pagination paging = pagination::none;
    std::optional<json_path> next_url_path;
    std::optional<json_path> cursor_path;
    std::string cursor_param;
    std::string initial_cursor;
    std::size_t max_pages = 100;
    net::client_options client;
};

using position = poll_position;

class http_poll_source final : public source {
  public:
    explicit http_poll_source(poll_settings s) : s_(std::move(s)) {}

    status open(connector_context& ctx, std::string_view state) override {
        key_ = ctx.key;
        stop_ = ctx.stop;
        metrics_registry* reg = ctx.metrics;
        if (reg == nullptr) {
            own_metrics_ = std::make_unique<metrics_registry>();
            reg = own_metrics_.get();
        }
        const metric_labels base{{"connector", key_}};
        auto req = [&](const char* outcome) {
            auto l = base;
            l.emplace_back("outcome", outcome);
            return &reg->counter("trib_http_poll_requests_total",
                                 "Requests of the HTTP polling source, by outcome.", l);
        };
        m_ok_ = req("success");
        m_failed_ = req("failed");
        m_bad_body_ = req("bad_body");
        m_items_ = &reg->counter("trib_http_poll_items_total",
                                 "Messages the HTTP polling source took from responses.", base);
        pos_ = position{s_.initial_cursor, {}};
        if (!state.empty()) {
            TRIB_ASSIGN_OR_RETURN(pos_, from_state(state));
        }
        std::lock_guard lk(mu_);
        acked_ = pos_;
        inflight_.clear();
        rewind_ = false;
        next_fetch_ = clock::now();
        pages_ = 0;
        seq_ = 0;
        client_ = std::make_unique<net::http_client>(s_.client);
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        source_batch out;
        {
            std::lock_guard lk(mu_);
            if (rewind_) {
                // A batch was not delivered: fetch again from the last acknowledged position.
                rewind_ = false;
                pos_ = acked_;
                inflight_.clear();
                next_fetch_ = clock::now();
                pages_ = 0;
            }
        }
        const auto now = clock::now();
        if (now < next_fetch_) {
            auto d = std::min<clock::duration>(next_fetch_ - now, max_wait);
            std::mutex m;
            std::condition_variable_any cv;
            std::unique_lock lk(m);
            cv.wait_for(lk, stop_, d, [] { return false; });
            if (stop_.stop_requested())
                return fail(errc::cancelled, "http_poll: stopped");
            if (clock::now() < next_fetch_)
                return out;
        }

        net::http_request req = build_request();
        auto r = client_->perform(req);
        // Failures are the runtime's to retry (with its backoff), not held until the next interval.
        if (!r) {
            m_failed_->inc();
            return std::move(r).error().wrap("http_poll " + key_);
        }
        auto st = net::classify_status(*r, fmt::format("{} {}", req.method, req.url));
        if (!st) {
            m_failed_->inc();
            return std::move(st).error().wrap("http_poll " + key_);
        }
        m_ok_->inc();

        // Split the body into messages and find the next position.
        auto body = std::make_shared<std::string>(std::move(r->body));
        position next = pos_;
        bool more = false;  // fetch the next page at once
        std::size_t items = 0;
        auto fail_body = [&](std::string why) -> result<source_batch> {
            m_bad_body_->inc();
            return error(errc::protocol_error, retry_class::retryable,
                         fmt::format("http_poll {}: {} {}: {}", key_, req.method, req.url, why));
        };
        if (s_.format == response_format::raw) {
            if (!body->empty()) {
                message m;
                m.payload = *body;
                out.batch.messages.push_back(std::move(m));
                items = 1;
            }
        } else if (r->status != 204 && !body->empty()) {
            std::vector<std::string_view> docs;
            if (s_.format == response_format::ndjson) {
                split_error err;
                if (!split_ndjson(*body, docs, err))
                    return fail_body(err.message);
            } else {
                docs.push_back(*body);
            }
            rapidjson::Document d;
            for (auto doc : docs) {
                std::string perr;
                if (!parse_exact(doc, d, perr))
                    return fail_body("response is not JSON: " + perr);
                items += take_items(d, out.batch);
                if (s_.format == response_format::json)
                    next_position(d, *r, req.url, next, more);
            }
        }
        if (s_.format != response_format::json) {
            rapidjson::Document none;
            next_position(none, *r, req.url, next, more);
        }
        m_items_->inc(items);
        if (!out.batch.empty())
            out.batch.hold(body);

        ++pages_;
        if (items == 0)
            more = false;  // an empty page ends the cycle, wherever it points
        if (more && pages_ < s_.max_pages) {
            next_fetch_ = clock::now();
        } else {
            pages_ = 0;
            next_fetch_ = clock::now() + s_.interval;
        }
        pos_ = next;
        if (s_.paging != pagination::none) {
            out.state = to_state(pos_);
            out.has_state = true;
        }
        if (!out.batch.empty()) {
            std::lock_guard lk(mu_);
            inflight_.emplace_back(++seq_, pos_);
        }
        return out;
    }

    void ack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        while (!inflight_.empty() && inflight_.front().first <= seq) {
            if (inflight_.front().first == seq)
                acked_ = inflight_.front().second;
            inflight_.pop_front();
        }
    }

    void nack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        spdlog::warn(
            "http_poll {}: batch {} was not delivered; fetching again from the last "
            "acknowledged position",
            key_, seq);
        rewind_ = true;
    }

    void close() override { client_.reset(); }

  private:
    net::http_request build_request() const {
        net::http_request req;
        req.method = s_.method;
        req.headers = s_.headers;
        req.stop = stop_;
        req.timeout = s_.timeout;
        auto var = [&](std::string_view n) -> std::string {
            return n == "cursor" ? pos_.cursor : std::string();
        };
        if (!pos_.next_url.empty()) {
            req.url = pos_.next_url;
        } else {
            req.url = s_.url.expand(var, true);
            if (s_.paging == pagination::cursor && !s_.cursor_param.empty() && !pos_.cursor.empty())
                req.url = set_query_param(req.url, s_.cursor_param, pos_.cursor);
        }
        if (s_.body) {
            req.body = s_.body->expand(var, false);
            req.headers.try_emplace("Content-Type", s_.content_type);
        }
        return req;
    }

    /// Appends the items the response holds as messages; returns how many.
    std::size_t take_items(const rapidjson::Document& d, message_batch& b) const {
        std::vector<const rapidjson::Value*> sel;
        s_.items.select(d, sel);
        // One selected array is the list of items; otherwise every selected value is one.
        std::vector<const rapidjson::Value*> items;
        if (sel.size() == 1 && sel[0]->IsArray()) {
            for (const auto& e : sel[0]->GetArray())
                items.push_back(&e);
        } else {
            items = std::move(sel);
        }
        for (const auto* v : items) {
            std::string text;
            append_json(*v, text);
            message m;
            m.payload = b.own(std::move(text));
            if (s_.key_path) {
                if (const auto* k = s_.key_path->first(*v))
                    m.key = scalar_text(*k);
            }
            if (s_.id_path) {
                if (const auto* k = s_.id_path->first(*v); k != nullptr && !k->IsNull())
                    m.id = item_id(scalar_text(*k));
            }
            b.messages.push_back(std::move(m));
        }
        return items.size();
    }

    /// The position after a response to a request of `url`; `more` when the next page should be
    /// fetched at once.
    void next_position(const rapidjson::Document& d, const net::http_response& r,
                       const std::string& url, position& next, bool& more) const {
        switch (s_.paging) {
            case pagination::none:
                return;
            case pagination::link_header:
            case pagination::next_url: {
                std::optional<std::string> link;
                if (s_.paging == pagination::link_header) {
                    link = link_next(r.header("Link"));
                } else if (d.IsObject() || d.IsArray()) {
                    if (const auto* v = s_.next_url_path->first(d);
                        v && v->IsString() && v->GetStringLength() > 0)
                        link = std::string(v->GetString(), v->GetStringLength());
                }
                if (!link) {
                    // The last page: the next cycle starts from the base URL again.
                    next.next_url.clear();
                    return;
                }
                auto abs = resolve_url(url, *link);
                next.next_url = abs ? *abs : *link;
                more = next.next_url != pos_.next_url;
                return;
            }
            case pagination::cursor: {
                if (!d.IsObject() && !d.IsArray())
                    return;
                const auto* v = s_.cursor_path->first(d);
                if (v == nullptr || v->IsNull())
                    return;  // no cursor: keep the current one for the next cycle
                std::string c = scalar_text(*v);
                if (c.empty() || c == pos_.cursor)
                    return;
                next.cursor = std::move(c);
                more = true;
                return;
            }
        }
    }

    poll_settings s_;
    std::string key_;
    std::stop_token stop_;
    std::unique_ptr<net::http_client> client_;
    std::unique_ptr<metrics_registry> own_metrics_;
    counter* m_ok_ = nullptr;
    counter* m_failed_ = nullptr;
    counter* m_bad_body_ = nullptr;
    counter* m_items_ = nullptr;

    // Poller thread only.
    position pos_;
    clock::time_point next_fetch_{};
    std::size_t pages_ = 0;

    // Shared with ack()/nack() (the runtime's producer thread).
    std::mutex mu_;
    position acked_;
    std::deque<std::pair<std::uint64_t, position>> inflight_;
    std::uint64_t seq_ = 0;
    bool rewind_ = false;
};

}  // namespace

result<std::unique_ptr<source>> make_http_poll_source(const config::values& v) {
    poll_settings s;
    s.url_text = v.str("url");
    auto known = [](std::string_view n) { return n == "cursor"; };
    TRIB_ASSIGN_OR_RETURN(s.url, text_template::parse(s.url_text, known));
    s.method = v.str("method");
    for (auto& [k, val] : v.map("headers"))
        s.headers[k] = val;
    if (auto b = v.opt_str("body")) {
        TRIB_ASSIGN_OR_RETURN(auto t, text_template::parse(*b, known));
        s.body = std::move(t);
    }
    s.content_type = v.str("content_type");
    s.interval = v.duration("interval");
    s.timeout = v.duration("timeout");
    s.format = config::enum_option<response_format>(v, "response_format",
                                                    {{"json", response_format::json},
                                                     {"ndjson", response_format::ndjson},
                                                     {"raw", response_format::raw}});
    TRIB_ASSIGN_OR_RETURN(s.items, json_path::parse(v.str("items_path")));
    if (auto k = v.opt_str("key_path")) {
        TRIB_ASSIGN_OR_RETURN(auto p, json_path::parse(*k));
        s.key_path = std::move(p);
    }
    if (auto k = v.opt_str("id_path")) {
        TRIB_ASSIGN_OR_RETURN(auto p, json_path::parse(*k));
        s.id_path = std::move(p);
    }
    const auto paging = v.str("pagination");
    s.paging = paging == "link_header" ? pagination::link_header
               : paging == "next_url"  ? pagination::next_url
               : paging == "cursor"    ? pagination::cursor
                                       : pagination::none;
    if (auto p = v.opt_str("next_url_path")) {
        TRIB_ASSIGN_OR_RETURN(auto jp, json_path::parse(*p));
        s.next_url_path = std::move(jp);
    }
    if (auto p = v.opt_str("cursor_path")) {
        TRIB_ASSIGN_OR_RETURN(auto jp, json_path::parse(*p));
        s.cursor_path = std::move(jp);
    }
    if (s.paging == pagination::next_url && !s.next_url_path)
        return fail(errc::invalid_argument, "pagination = \"next_url\" needs next_url_path");
    if (s.paging == pagination::cursor && !s.cursor_path)
        return fail(errc::invalid_argument, "pagination = \"cursor\" needs cursor_path");
    s.cursor_param = v.opt_str("cursor_param").value_or("");
    s.initial_cursor = v.opt_str("initial_cursor").value_or("");
    s.max_pages = static_cast<std::size_t>(v.integer("max_pages"));
    s.client = client_options_from(v);
    s.client.timeout = s.timeout;
    s.client.max_response_bytes = v.size("max_response_size");
    return std::unique_ptr<source>(std::make_unique<http_poll_source>(std::move(s)));
}

}  // namespace trib::connectors
