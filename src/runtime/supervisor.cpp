#include "runtime/supervisor.h"

#include <spdlog/spdlog.h>

#include "core/redact.h"

namespace trib::runtime {

using clock = std::chrono::steady_clock;

std::string_view to_string(connector_status s) {
    switch (s) {
        case connector_status::starting:
            return "starting";
        case connector_status::running:
            return "running";
        case connector_status::stopping:
            return "stopping";
        case connector_status::stopped:
            return "stopped";
        case connector_status::error:
            return "error";
    }
    return "unknown";
}

supervisor::supervisor(settings s, pipeline_factory make, connector_stats& stats)
    : s_(std::move(s)), make_(std::move(make)), stats_(stats) {}

supervisor::~supervisor() {
    stop();
}

void supervisor::start() {
    std::lock_guard lk(mu_);
    if (thread_.joinable())
        return;
    stop_requested_ = false;
    status_ = connector_status::starting;
    thread_ = std::thread([this] { run(); });
}

void supervisor::request_stop() {
    {
        std::lock_guard lk(mu_);
        stop_requested_ = true;
    }
    cv_.notify_all();
}

void supervisor::stop() {
    request_stop();
    std::thread t;
    {
        std::lock_guard lk(mu_);
        t = std::move(thread_);
    }
    if (t.joinable())
        t.join();
}

void supervisor::restart() {
    {
        std::lock_guard lk(mu_);
        restart_requested_ = true;
    }
    cv_.notify_all();
}

connector_status supervisor::status() const {
    std::lock_guard lk(mu_);
    return status_;
}

std::optional<connector_error> supervisor::last_error() const {
    std::lock_guard lk(mu_);
    return last_error_;
}

bool supervisor::parked() const {
    std::lock_guard lk(mu_);
    return parked_;
}

bool supervisor::wait_status(connector_status s, clock::time_point until) const {
    std::unique_lock lk(mu_);
    return cv_.wait_until(lk, until, [&] { return status_ == s; });
}

void supervisor::set_status(connector_status s) {
    {
        std::lock_guard lk(mu_);
        status_ = s;
    }
    cv_.notify_all();
}

void supervisor::set_error(const error& e, bool halted) {
    {
        std::lock_guard lk(mu_);
        status_ = connector_status::error;
        last_error_ = connector_error{redact(e.to_string()), now_us(), halted};
    }
    cv_.notify_all();
}

bool supervisor::wait_request(std::chrono::milliseconds d) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, d, [&] { return stop_requested_ || restart_requested_; });
}

void supervisor::run() {
    backoff restart_backoff(s_.restart);
    for (;;) {
        {
            std::lock_guard lk(mu_);
            if (stop_requested_)
                break;
            restart_requested_ = false;
            pipeline_ended_ = false;
            status_ = connector_status::starting;
        }
        cv_.notify_all();
        auto p = make_();
        p->on_end([this] {
            {
                std::lock_guard lk(mu_);
                pipeline_ended_ = true;
            }
            cv_.notify_all();
        });
        auto st = p->start();
        if (!st) {
            set_error(st.error());
            const auto delay = restart_backoff.next();
            spdlog::error("{} {}: start failed, retrying in {} ms: {}", s_.kind, s_.key,
                          delay.count(), st.error().to_string());
            p.reset();
            if (wait_request(delay)) {
                std::lock_guard lk(mu_);
                if (stop_requested_)
                    break;
                restart_backoff.reset();
            }
            stats_.restarts.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        const auto started = clock::now();
        set_status(connector_status::running);
        spdlog::info("{} {}: running", s_.kind, s_.key);
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] { return stop_requested_ || restart_requested_ || pipeline_ended_; });
        }
        bool requested = false;
        {
            std::lock_guard lk(mu_);
            requested = (stop_requested_ || restart_requested_) && !pipeline_ended_;
        }
        if (requested) {
            set_status(connector_status::stopping);
            p->request_stop();
            auto outcome = p->join(clock::now() + s_.drain_timeout);
            p.reset();
            if (outcome.what != pipeline_outcome::kind::stopped && outcome.err) {
                spdlog::warn("{} {}: ended with an error while stopping: {}", s_.kind, s_.key,
                             outcome.err->to_string());
            }
            set_status(connector_status::stopped);
            spdlog::info("{} {}: stopped", s_.kind, s_.key);
            restart_backoff.reset();
            continue;  // the loop head leaves on stop, starts again on restart
        }
        auto outcome = p->join(clock::now() + s_.drain_timeout);
        p.reset();
        const error e = outcome.err.value_or(error(errc::internal, "pipeline ended"));
        const bool halted = outcome.what == pipeline_outcome::kind::halted;
        set_error(e, halted);
        if (halted) {
            spdlog::error(
                "{} {}: halted by its error policy, not restarted automatically; restart it "
                "(API: POST /{}s/{}/restart) once the cause is fixed",
                s_.kind, s_.key, s_.kind, s_.key);
            std::unique_lock lk(mu_);
            parked_ = true;
            cv_.notify_all();
            cv_.wait(lk, [&] { return stop_requested_ || restart_requested_; });
            parked_ = false;
            if (stop_requested_)
                break;
            continue;
        }
        if (clock::now() - started >= s_.healthy_after)
            restart_backoff.reset();
        const auto delay = restart_backoff.next();
        spdlog::error("{} {}: failed, restarting in {} ms: {}", s_.kind, s_.key, delay.count(),
                      e.to_string());
        stats_.restarts.fetch_add(1, std::memory_order_relaxed);
        if (wait_request(delay)) {
            std::lock_guard lk(mu_);
            if (stop_requested_)
                break;
        }
    }
    std::lock_guard lk(mu_);
    if (status_ != connector_status::error)
        status_ = connector_status::stopped;
    cv_.notify_all();
}

}  // namespace trib::runtime
