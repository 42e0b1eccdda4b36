#include "core/metrics.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

namespace trib {

void gauge::add(double d) {
    v_.fetch_add(d, std::memory_order_relaxed);
}

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    // The +Inf bucket is implicit, NaN has no place, and `le` must increase strictly.
    std::erase_if(bounds_, [](double b) { return !std::isfinite(b); });
    std::sort(bounds_.begin(), bounds_.end());
    bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
    buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void histogram::observe(double v) {
    if (std::isnan(v))
        return;  // would poison the sum and belongs in no bucket
    // `le` is inclusive: the first bound >= v.
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    auto idx = static_cast<std::size_t>(it - bounds_.begin());
    buckets_[idx].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

std::uint64_t histogram::bucket_count(std::size_t i) const {
    return i <= bounds_.size() ? buckets_[i].load(std::memory_order_relaxed) : 0;
}

std::uint64_t histogram::count() const {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        n += buckets_[i].load(std::memory_order_relaxed);
    }
    return n;
}

namespace {

enum class metric_type { counter, gauge, histogram };

std::string_view type_name(metric_type t) {
    switch (t) {
        case metric_type::counter:
            return "counter";
        case metric_type::gauge:
            return "gauge";
        case metric_type::histogram:
            return "histogram";
    }
    return "untyped";
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string sanitize_metric_name(std::string_view in) {
    std::string out(in);
    if (out.empty())
        return "_";
    if (is_digit(out[0]))
        out.insert(0, 1, '_');  // keeps the digit rather than losing it
    for (std::size_t i = 0; i < out.size(); ++i) {
        char c = out[i];
        bool ok = is_alpha(c) || c == '_' || c == ':' || (i > 0 && is_digit(c));
        if (!ok)
            out[i] = '_';
    }
    return out;
}

std::string sanitize_label_name(std::string_view in, bool histogram) {
    std::string out(in);
    if (out.empty())
        return "_";
    if (is_digit(out[0]))
        out.insert(0, 1, '_');  // keeps the digit rather than losing it
    for (std::size_t i = 0; i < out.size(); ++i) {
        char c = out[i];
        bool ok = is_alpha(c) || c == '_' || (i > 0 && is_digit(c));
        if (!ok)
            out[i] = '_';
    }
    // Names starting with "__" are reserved for Prometheus itself.
    while (out.size() > 1 && out[0] == '_' && out[1] == '_') {
        out.erase(0, 1);
    }
    // A histogram's own `le` label would clash with a user label of that name.
    if (histogram && out == "le")
        out = "le_";
    return out;
}

metric_labels normalize(const metric_labels& in, bool histogram) {
    metric_labels out;
    out.reserve(in.size());
    for (const auto& [k, v] : in) {
        out.emplace_back(sanitize_label_name(k, histogram), v);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // A label named twice keeps its first value.
    out.erase(std::unique(out.begin(), out.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              out.end());
    return out;
}

void append_escaped_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

void append_escaped_help(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

void append_double(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        std::array<char, 32> buf{};
        auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
        out.append(buf.data(), r.ptr);
    }
}

void append_uint(std::string& out, std::uint64_t v) {
    std::array<char, 24> buf{};
    auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), r.ptr);
}

/// `{a="x",b="y"}` with an optional extra label (histogram `le`) at the end; nothing when empty.
void append_labels(std::string& out, const metric_labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty())
        return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first)
            out += ',';
        first = false;
        out += k;
        out += "=\"";
        append_escaped_label_value(out, v);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!first)
            out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

struct family {
    std::string help;
    metric_type type = metric_type::counter;
    std::vector<double> bounds;  // histograms
    std::map<metric_labels, std::unique_ptr<trib::counter>> counters;
    std::map<metric_labels, std::unique_ptr<trib::gauge>> gauges;
    std::map<metric_labels, std::unique_ptr<trib::histogram>> histograms;
};

constexpr std::array<double, 14> k_latency_buckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

}  // namespace

struct metrics_registry::impl {
    mutable std::mutex mu;
    std::map<std::string, family, std::less<>> families;
    // Metrics handed out on a type conflict: usable, never rendered.
    std::vector<std::unique_ptr<trib::counter>> detached_counters;
    std::vector<std::unique_ptr<trib::gauge>> detached_gauges;
    std::vector<std::unique_ptr<trib::histogram>> detached_histograms;
    std::set<std::string, std::less<>> warned;
    std::vector<std::function<void()>> collectors;

    /// The family `name` of type `t`, or null on a type conflict. Holds mu.
    family* get_family(const std::string& name, std::string_view help, metric_type t) {
        auto it = families.find(name);
        if (it == families.end()) {
            family f;
            f.help = std::string(help);
            f.type = t;
            it = families.emplace(name, std::move(f)).first;
        }
        if (it->second.type != t) {
            if (warned.insert(name).second) {
                spdlog::error(
                    "metrics: {} registered as {} and again as {}; the second is not "
                    "exported",
                    name, type_name(it->second.type), type_name(t));
            }
            return nullptr;
        }
        return &it->second;
    }
};

metrics_registry::metrics_registry() : impl_(std::make_unique<impl>()) {}
metrics_registry::~metrics_registry() = default;

trib::counter& metrics_registry::counter(std::string_view name, std::string_view help,
                                         const metric_labels& labels) {
    std::string n = sanitize_metric_name(name);
    metric_labels l = normalize(labels, false);
    std::lock_guard lk(impl_->mu);
    family* f = impl_->get_family(n, help, metric_type::counter);
    if (f == nullptr) {
        return *impl_->detached_counters.emplace_back(std::make_unique<trib::counter>());
    }
    auto& slot = f->counters[std::move(l)];
    if (!slot)
        slot = std::make_unique<trib::counter>();
    return *slot;
}

trib::gauge& metrics_registry::gauge(std::string_view name, std::string_view help,
                                     const metric_labels& labels) {
    std::string n = sanitize_metric_name(name);
    metric_labels l = normalize(labels, false);
    std::lock_guard lk(impl_->mu);
    family* f = impl_->get_family(n, help, metric_type::gauge);
    if (f == nullptr) {
        return *impl_->detached_gauges.emplace_back(std::make_unique<trib::gauge>());
    }
    auto& slot = f->gauges[std::move(l)];
    if (!slot)
        slot = std::make_unique<trib::gauge>();
    return *slot;
}

trib::histogram& metrics_registry::histogram(std::string_view name, std::string_view help,
                                             const metric_labels& labels,
                                             std::span<const double> bounds) {
    std::string n = sanitize_metric_name(name);
    metric_labels l = normalize(labels, true);
    if (bounds.empty())
        bounds = latency_buckets();
    std::lock_guard lk(impl_->mu);
    family* f = impl_->get_family(n, help, metric_type::histogram);
    if (f == nullptr) {
        return *impl_->detached_histograms.emplace_back(
            std::make_unique<trib::histogram>(std::vector<double>(bounds.begin(), bounds.end())));
    }
    if (f->histograms.empty() && f->bounds.empty()) {
        // The first registration fixes the family's buckets (normalized by the constructor).
        trib::histogram probe(std::vector<double>(bounds.begin(), bounds.end()));
        f->bounds.assign(probe.bounds().begin(), probe.bounds().end());
    }
    auto& slot = f->histograms[std::move(l)];
    if (!slot)
        slot = std::make_unique<trib::histogram>(f->bounds);
    return *slot;
}

void metrics_registry::on_collect(std::function<void()> fn) {
    std::lock_guard lk(impl_->mu);
    impl_->collectors.push_back(std::move(fn));
}

std::string metrics_registry::prometheus_text() const {
    std::vector<std::function<void()>> collectors;
    {
        std::lock_guard lk(impl_->mu);
        collectors = impl_->collectors;
    }
    // Outside the lock: a collector may register the gauges it sets.
    for (auto& c : collectors) {
        c();
    }

    std::string out;
    std::lock_guard lk(impl_->mu);
    for (const auto& [name, f] : impl_->families) {
        out += "# HELP ";
        out += name;
        out += ' ';
        append_escaped_help(out, f.help);
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += type_name(f.type);
        out += '\n';
        switch (f.type) {
            case metric_type::counter:
                for (const auto& [labels, c] : f.counters) {
                    out += name;
                    append_labels(out, labels);
                    out += ' ';
                    append_uint(out, c->value());
                    out += '\n';
                }
                break;
            case metric_type::gauge:
                for (const auto& [labels, g] : f.gauges) {
                    out += name;
                    append_labels(out, labels);
                    out += ' ';
                    append_double(out, g->value());
                    out += '\n';
                }
                break;
            case metric_type::histogram:
                for (const auto& [labels, h] : f.histograms) {
                    // Buckets are stored per range and rendered cumulatively; _count is the
                    // +Inf bucket so that the two always agree within one scrape.
                    std::uint64_t cumulative = 0;
                    auto bounds = h->bounds();
                    for (std::size_t i = 0; i <= bounds.size(); ++i) {
                        cumulative += h->bucket_count(i);
                        std::string le;
                        if (i < bounds.size())
                            append_double(le, bounds[i]);
                        else
                            le = "+Inf";
                        out += name;
                        out += "_bucket";
                        append_labels(out, labels, "le", le);
                        out += ' ';
                        append_uint(out, cumulative);
                        out += '\n';
                    }
                    out += name;
                    out += "_sum";
                    append_labels(out, labels);
                    out += ' ';
                    append_double(out, h->sum());
                    out += '\n';
                    out += name;
                    out += "_count";
                    append_labels(out, labels);
                    out += ' ';
                    append_uint(out, cumulative);
                    out += '\n';
                }
                break;
        }
    }
    return out;
}

std::span<const double> metrics_registry::latency_buckets() {
    return k_latency_buckets;
}

std::vector<double> metrics_registry::exponential_buckets(double start, double factor,
                                                          std::size_t count) {
    std::vector<double> out;
    out.reserve(count);
    double v = start;
    for (std::size_t i = 0; i < count; ++i) {
        out.push_back(v);
        v *= factor;
    }
    return out;
}

}  // namespace trib
