// The specs of the HTTP sink and of the polling and webhook sources. The sink keeps the option
// names of Iggy's http_sink (core/connectors/sinks/http_sink) and adds keys for what it does
// beyond it (concurrency, auth, TLS files, chunking by size). The prose and options are data
// (spec.toml); this file keeps the rules one option cannot express and the webhook's listener.

#include <fmt/format.h>

#include <set>

#include "config/spec_data.h"
#include "connectors/http/http.h"
#include "connectors/http/json.h"
#include "connectors/http/util.h"
#include "embedded/http_spec.h"

namespace trib::connectors {
namespace {

void check_basic_pair(const config::values& v, const config::check_report& report) {
    if (v.has("basic_auth_username") != v.has("basic_auth_password")) {
        report("basic_auth_username", "basic_auth_username and basic_auth_password go together");
    }
    if (v.has("bearer_token") && v.has("basic_auth_username")) {
        report("bearer_token", "choose bearer_token or basic auth, not both");
    }
}

}  // namespace

// ---- sink ------------------------------------------------------------------------------------

config::spec http_sink_spec() {
    auto s = config::builtin_spec(embedded::http_spec, embedded::http_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        const auto mode = v.str("batch_mode");
        const bool per_message = mode == "individual" || mode == "raw";
        auto t = http_detail::text_template::parse(v.str("url"), [&](std::string_view n) {
            return n == "stream" || n == "topic" || n == "partition" || n == "first_offset" ||
                   n == "last_offset" || n == "offset" || n == "id";
        });
        if (!t) {
            report("url", t.error().message());
        } else if (!per_message && (t->uses("offset") || t->uses("id"))) {
            report("url",
                   "{offset} and {id} need batch_mode individual or raw (one message per "
                   "request); use {first_offset}/{last_offset}");
        }
        const auto& url = v.str("url");
        if (!url.starts_with("http://") && !url.starts_with("https://")) {
            report("url", "must start with http:// or https://");
        }
        const auto listed = v.integers("success_status_codes");
        if (listed.empty())
            report("success_status_codes", "must not be empty");
        for (auto c : listed) {
            if (c < 200 || c > 599)
                report("success_status_codes", fmt::format("{} is not between 200 and 599", c));
        }
        if (v.duration("retry_delay") > v.duration("max_retry_delay"))
            report("retry_delay", "is longer than max_retry_delay");
        check_basic_pair(v, report);
    };
    return s;
}

// ---- polling source --------------------------------------------------------------------------

config::spec http_poll_source_spec() {
    auto s = config::builtin_spec(embedded::http_spec, embedded::http_spec_file, "poll");
    s.check = [](const config::values& v, const config::check_report& report) {
        auto known = [](std::string_view n) { return n == "cursor"; };
        auto url = http_detail::text_template::parse(v.str("url"), known);
        if (!url)
            report("url", url.error().message());
        if (auto b = v.opt_str("body")) {
            if (auto t = http_detail::text_template::parse(*b, known); !t)
                report("body", t.error().message());
        }
        const auto& u = v.str("url");
        if (!u.starts_with("http://") && !u.starts_with("https://"))
            report("url", "must start with http:// or https://");
        for (const char* k :
             {"items_path", "key_path", "id_path", "next_url_path", "cursor_path"}) {
            if (auto p = v.opt_str(k)) {
                if (auto jp = http_detail::json_path::parse(*p); !jp)
                    report(k, jp.error().message());
            }
        }
        const auto paging = v.str("pagination");
        if (paging == "next_url" && !v.has("next_url_path"))
            report("next_url_path", "pagination = \"next_url\" needs next_url_path");
        if (paging == "cursor") {
            if (!v.has("cursor_path"))
                report("cursor_path", "pagination = \"cursor\" needs cursor_path");
            const bool placed =
                (url && url->uses("cursor")) ||
                v.opt_str("body").value_or("").find("{cursor}") != std::string::npos ||
                v.has("cursor_param");
            if (!placed)
                report("cursor_param",
                       "pagination = \"cursor\" needs {cursor} in url or body, or cursor_param");
        }
        check_basic_pair(v, report);
    };
    return s;
}

// ---- webhook source --------------------------------------------------------------------------

namespace {

void check_auth(const config::values& a, const std::string& at,
                const config::check_report& report) {
    const auto type = a.str("type");
    if (type == "bearer" && !a.has("token"))
        report(at + ".token", "auth type bearer needs a token");
    if (type == "basic" && (!a.has("username") || !a.has("password")))
        report(at + ".username", "auth type basic needs username and password");
    if (type == "hmac" && !a.has("secret"))
        report(at + ".secret", "auth type hmac needs a secret");
    if (type == "hmac" && a.str("preset") == "custom" && !a.has("signature_header"))
        report(at + ".signature_header", "preset custom needs signature_header");
}

}  // namespace

config::spec webhook_source_spec() {
    auto s = config::builtin_spec(embedded::http_spec, embedded::http_spec_file, "webhook");
    s.listeners = [](const config::values& v) {
        return std::vector<config::listen_endpoint>{{"port", v.str("address"), v.integer("port")}};
    };
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.has("tls_cert_file") != v.has("tls_key_file"))
            report("tls_cert_file", "tls_cert_file and tls_key_file go together");
        const auto status = v.integer("overload_status");
        if (status != 429 && status != 503)
            report("overload_status", "must be 429 or 503");
        check_auth(v.table("auth"), "auth", report);
        if (auto p = v.opt_str("delivery_id_path")) {
            if (auto jp = http_detail::json_path::parse(*p); !jp)
                report("delivery_id_path", jp.error().message());
        }
        std::set<std::string> seen;
        const auto rs = v.tables("routes");
        for (std::size_t i = 0; i < rs.size(); ++i) {
            const std::string at = fmt::format("routes[{}]", i);
            const auto& r = rs[i];
            if (!r.str("path").starts_with("/"))
                report(at + ".path", "must start with /");
            if (!seen.insert(r.str("method") + " " + r.str("path")).second)
                report(at + ".path", "another route has the same method and path");
            if (r.has("stream") != r.has("topic"))
                report(at + ".stream", "stream and topic go together");
            for (const char* k : {"key_path", "delivery_id_path"}) {
                if (auto p = r.opt_str(k)) {
                    if (auto jp = http_detail::json_path::parse(*p); !jp)
                        report(at + "." + k, jp.error().message());
                }
            }
            if (r.has("auth"))
                check_auth(r.table("auth"), at + ".auth", report);
        }
    };
    return s;
}

}  // namespace trib::connectors
