// The NATS connection both directions share; see connection.h.

#include "connectors/nats/connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "connectors/nats/errors.h"

namespace trib::connectors::nats {
namespace {

bool url_ok(std::string_view u) {
    for (std::string_view scheme : {"nats://", "tls://"}) {
        if (u.starts_with(scheme))
            return u.size() > scheme.size();
    }
    return false;
}

struct options_deleter {
    void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};

}  // namespace

/// What the cnats callbacks need; lives as long as the connection.
struct connection::callbacks {
    std::string log_name;
    std::chrono::milliseconds wait{}, max{};
    // cnats calls back on its own threads, the closed callback last: the object must outlive
    // it, so the destructor waits for it.
    std::mutex mu;
    std::condition_variable cv;
    bool closed = false;

    static void on_closed(natsConnection*, void* closure) {
        auto* self = static_cast<callbacks*>(closure);
        std::lock_guard lk(self->mu);
        self->closed = true;
        self->cv.notify_all();
    }

    static int64_t delay(natsConnection*, int attempts, void* closure) {
        auto* self = static_cast<callbacks*>(closure);
        return backoff_delay(attempts, self->wait, self->max).count();
    }
    static void disconnected(natsConnection* nc, void* closure) {
        if (natsConnection_IsClosed(nc))
            return;  // our own close
        spdlog::warn("{}: disconnected from NATS; reconnecting",
                     static_cast<callbacks*>(closure)->log_name);
    }
    static void reconnected(natsConnection* nc, void* closure) {
        char url[256] = {0};
        natsConnection_GetConnectedUrl(nc, url, sizeof url);
        spdlog::info("{}: reconnected to {}", static_cast<callbacks*>(closure)->log_name, url);
    }
    static void async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
        spdlog::warn("{}: NATS: {}", static_cast<callbacks*>(closure)->log_name,
                     natsStatus_GetText(err));
    }
};

std::string with_key(std::string s, std::string_view key) {
    for (std::size_t at = s.find("{key}"); at != std::string::npos; at = s.find("{key}", at)) {
        s.replace(at, 5, key);
        at += key.size();
    }
    return s;
}

connection_options connection_options_from(const config::values& v, std::string_view key) {
    connection_options o;
    o.urls = v.list("urls");
    o.name = with_key(v.str("name"), key);
    o.user = v.opt_str("user");
    o.password = v.opt_str("password");
    o.token = v.opt_str("token");
    o.credentials_file = v.opt_str("credentials_file");
    const auto tls = v.table("tls");
    o.tls_ca_file = tls.opt_str("ca_file");
    o.tls_cert_file = tls.opt_str("cert_file");
    o.tls_key_file = tls.opt_str("key_file");
    o.tls_server_name = tls.opt_str("server_name");
    o.tls_verify = tls.boolean("verify");
    o.tls = tls.boolean("enabled") || o.tls_ca_file || o.tls_cert_file ||
            std::any_of(o.urls.begin(), o.urls.end(),
                        [](const std::string& u) { return u.starts_with("tls://"); });
    o.connect_timeout = v.duration("connect_timeout");
    o.reconnect_wait = v.duration("reconnect_wait");
    o.reconnect_wait_max = v.duration("reconnect_wait_max");
    o.request_timeout = v.duration("request_timeout");
    return o;
}

void check_connection_options(const config::values& v, const config::check_report& report) {
    const auto urls = v.list("urls");
    if (urls.empty())
        report("urls", "at least one server URL is needed");
    for (std::size_t i = 0; i < urls.size(); ++i) {
        if (!url_ok(urls[i]))
            report(fmt::format("urls[{}]", i),
                   fmt::format("'{}' is not a NATS URL (nats://host:port or tls://host:port)",
                               urls[i]));
    }
    if (v.has("user") != v.has("password"))
        report(v.has("user") ? "password" : "user", "`user` and `password` go together");
    const int ways =
        (v.has("user") ? 1 : 0) + (v.has("token") ? 1 : 0) + (v.has("credentials_file") ? 1 : 0);
    if (ways > 1)
        report("token", "use one of user/password, token or credentials_file");
    const auto tls = v.table("tls");
    if (tls.has("cert_file") != tls.has("key_file"))
        report("tls", "`cert_file` and `key_file` go together");
    if (v.duration("reconnect_wait") > v.duration("reconnect_wait_max"))
        report("reconnect_wait", "must not exceed reconnect_wait_max");
}

stream_options stream_options_from(const config::values& v) {
    stream_options s;
    s.name = v.opt_str("stream").value_or("");
    s.create = v.boolean("create_stream");
    s.subjects = v.list("stream_subjects");
    if (s.subjects.empty() && !s.name.empty())
        s.subjects.push_back(s.name + ".>");
    s.duplicate_window = v.duration("duplicate_window");
    s.memory_storage = v.str("storage") == "memory";
    return s;
}

status ensure_stream(jsCtx* js, const stream_options& s, std::string_view log_name) {
    if (s.name.empty())
        return ok();
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_GetStreamInfo(&si, js, s.name.c_str(), nullptr, &code);
    if (st == NATS_OK) {
        spdlog::info("{}: JetStream stream '{}' has a duplicate window of {} ms", log_name, s.name,
                     si->Config->Duplicates / 1000000);
        jsStreamInfo_Destroy(si);
        return ok();
    }
    if (!(st == NATS_NOT_FOUND || code == JSStreamNotFoundErr) || !s.create)
        return from_status(st, fmt::format("{}: stream '{}'", log_name, s.name), code);
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = s.name.c_str();
    std::vector<const char*> subjects;
    for (const auto& x : s.subjects)
        subjects.push_back(x.c_str());
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Storage = s.memory_storage ? js_MemoryStorage : js_FileStorage;
    cfg.Duplicates = static_cast<int64_t>(s.duplicate_window.count()) * 1000000;
    st = js_AddStream(&si, js, &cfg, nullptr, &code);
    if (st != NATS_OK && code != JSStreamNameExistErr)
        return from_status(st, fmt::format("{}: create stream '{}'", log_name, s.name), code);
    if (si != nullptr)
        jsStreamInfo_Destroy(si);
    spdlog::info("{}: created JetStream stream '{}' on {} (duplicate window {} ms)", log_name,
                 s.name, fmt::join(s.subjects, ", "), s.duplicate_window.count());
    return ok();
}

std::chrono::milliseconds backoff_delay(int attempts, std::chrono::milliseconds wait,
                                        std::chrono::milliseconds max) {
    std::chrono::milliseconds d = wait;
    for (int i = 1; i < attempts && d < max; ++i)
        d *= 2;
    return std::min(d, max);
}

result<std::unique_ptr<connection>> connection::open(const connection_options& o,
                                                     std::string_view log_name, bool jetstream,
                                                     const std::function<void(jsOptions&)>& tune) {
    std::unique_ptr<connection> c(new connection());
    c->cb_ = std::make_unique<callbacks>();
    c->cb_->log_name = std::string(log_name);
    c->cb_->wait = o.reconnect_wait;
    c->cb_->max = o.reconnect_wait_max;

    natsOptions* raw = nullptr;
    natsStatus s = natsOptions_Create(&raw);
    if (s != NATS_OK)
        return from_status(s, "natsOptions_Create");
    std::unique_ptr<natsOptions, options_deleter> opts(raw);
    auto step = [&](natsStatus st, std::string_view what) -> status {
        if (st != NATS_OK)
            return from_status(st, what).with_retry(retry_class::fatal);
        return ok();
    };
    std::vector<const char*> servers;
    for (const auto& u : o.urls)
        servers.push_back(u.c_str());
    TRIB_TRY(
        step(natsOptions_SetServers(opts.get(), servers.data(), static_cast<int>(servers.size())),
             "urls"));
    TRIB_TRY(step(natsOptions_SetNoRandomize(opts.get(), true), "urls"));
    TRIB_TRY(step(natsOptions_SetName(opts.get(), o.name.c_str()), "name"));
    TRIB_TRY(
        step(natsOptions_SetTimeout(opts.get(), o.connect_timeout.count()), "connect_timeout"));
    if (o.user)
        TRIB_TRY(step(natsOptions_SetUserInfo(opts.get(), o.user->c_str(),
                                              o.password ? o.password->c_str() : ""),
                      "user"));
    if (o.token)
        TRIB_TRY(step(natsOptions_SetToken(opts.get(), o.token->c_str()), "token"));
    if (o.credentials_file)
        TRIB_TRY(step(natsOptions_SetUserCredentialsFromFiles(opts.get(),
                                                              o.credentials_file->c_str(), nullptr),
                      "credentials_file"));
    if (o.tls) {
        TRIB_TRY(step(natsOptions_SetSecure(opts.get(), true), "tls"));
        if (o.tls_ca_file)
            TRIB_TRY(step(natsOptions_LoadCATrustedCertificates(opts.get(), o.tls_ca_file->c_str()),
                          "tls.ca_file"));
        if (o.tls_cert_file && o.tls_key_file)
            TRIB_TRY(step(natsOptions_LoadCertificatesChain(opts.get(), o.tls_cert_file->c_str(),
                                                            o.tls_key_file->c_str()),
                          "tls.cert_file"));
        if (o.tls_server_name)
            TRIB_TRY(step(natsOptions_SetExpectedHostname(opts.get(), o.tls_server_name->c_str()),
                          "tls.server_name"));
        if (!o.tls_verify)
            TRIB_TRY(step(natsOptions_SkipServerVerification(opts.get(), true), "tls.verify"));
    }
    // Reconnect for ever with our backoff; publishes made meanwhile are buffered (8 MiB).
    TRIB_TRY(step(natsOptions_SetAllowReconnect(opts.get(), true), "reconnect"));
    TRIB_TRY(step(natsOptions_SetMaxReconnect(opts.get(), -1), "reconnect"));
    TRIB_TRY(step(natsOptions_SetCustomReconnectDelay(opts.get(), &callbacks::delay, c->cb_.get()),
                  "reconnect"));
    TRIB_TRY(step(natsOptions_SetReconnectBufSize(opts.get(), 8 * 1024 * 1024), "reconnect"));
    TRIB_TRY(step(natsOptions_SetDisconnectedCB(opts.get(), &callbacks::disconnected, c->cb_.get()),
                  "callbacks"));
    TRIB_TRY(step(natsOptions_SetReconnectedCB(opts.get(), &callbacks::reconnected, c->cb_.get()),
                  "callbacks"));
    TRIB_TRY(step(natsOptions_SetErrorHandler(opts.get(), &callbacks::async_error, c->cb_.get()),
                  "callbacks"));
    TRIB_TRY(step(natsOptions_SetClosedCB(opts.get(), &callbacks::on_closed, c->cb_.get()),
                  "callbacks"));

    s = natsConnection_Connect(&c->nc_, opts.get());
    if (s != NATS_OK) {
        c->nc_ = nullptr;
        return from_status(s, fmt::format("{}: connect to {}", log_name, fmt::join(o.urls, ", ")));
    }
    if (jetstream) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = o.request_timeout.count();
        if (tune)
            tune(jo);
        s = natsConnection_JetStream(&c->js_, c->nc_, &jo);
        if (s != NATS_OK) {
            c->js_ = nullptr;
            return from_status(s, fmt::format("{}: JetStream context", log_name));
        }
    }
    return c;
}

connection::~connection() {
    if (js_ != nullptr)
        jsCtx_Destroy(js_);
    if (nc_ == nullptr)
        return;
    natsConnection_Close(nc_);
    bool closed = false;
    {
        std::unique_lock lk(cb_->mu);
        closed = cb_->cv.wait_for(lk, std::chrono::seconds(10), [&] { return cb_->closed; });
    }
    natsConnection_Destroy(nc_);
    if (!closed)
        (void)cb_.release();  // a late callback must not find it freed: leak it (a few bytes)
}

std::string connection::connected_url() const {
    char url[256] = {0};
    if (nc_ == nullptr || natsConnection_GetConnectedUrl(nc_, url, sizeof url) != NATS_OK)
        return {};
    return url;
}

bool connection::connected() const {
    return nc_ != nullptr && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

}  // namespace trib::connectors::nats
