#include "core/metrics.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace trib {
namespace {

// A strict reader of the text exposition format 0.0.4, written from the format's description, so
// that the tests check what a Prometheus server would read rather than our own strings.
struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct family_info {
    std::string help;
    std::string type;
};

struct exposition {
    std::map<std::string, family_info> families;
    std::vector<sample> samples;

    const sample* find(const std::string& name,
                       const std::map<std::string, std::string>& labels) const {
        for (const auto& s : samples) {
            if (s.name == name && s.labels == labels)
                return &s;
        }
        return nullptr;
    }
};

bool valid_metric_name(std::string_view n) {
    if (n.empty())
        return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
                  (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
        if (!ok)
            return false;
    }
    return true;
}

bool valid_label_name(std::string_view n) {
    if (n.empty() || n.starts_with("__"))
        return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                  (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
        if (!ok)
            return false;
    }
    return true;
}

double parse_value(const std::string& v) {
    if (v == "+Inf")
        return INFINITY;
    if (v == "-Inf")
        return -INFINITY;
    if (v == "NaN")
        return NAN;
    double d = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), d);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size())
        throw std::runtime_error("bad value: " + v);
    return d;
}

/// The family a sample belongs to: histograms own name_bucket/_sum/_count.
std::string family_of(const exposition& e, const std::string& name) {
    if (e.families.count(name))
        return name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix)) {
            std::string base = name.substr(0, name.size() - suffix.size());
            auto it = e.families.find(base);
            if (it != e.families.end() && it->second.type == "histogram")
                return base;
        }
    }
    return {};
}

/// Parses the text line by line; throws with the line on any deviation from the format.
exposition parse(const std::string& text) {
    exposition e;
    if (!text.empty() && text.back() != '\n')
        throw std::runtime_error("output must end with a newline");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto fail = [&](const std::string& why) {
            throw std::runtime_error(why + " in line: " + line);
        };
        if (line.empty())
            fail("empty line");
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            bool help = line[2] == 'H';
            std::string rest = line.substr(7);
            auto sp = rest.find(' ');
            if (sp == std::string::npos)
                fail("no text");
            std::string name = rest.substr(0, sp);
            if (!valid_metric_name(name))
                fail("bad metric name");
            std::string text_part = rest.substr(sp + 1);
            auto& f = e.families[name];
            if (help) {
                // Unescape \\ and \n.
                std::string h;
                for (std::size_t i = 0; i < text_part.size(); ++i) {
                    if (text_part[i] == '\\' && i + 1 < text_part.size()) {
                        char n = text_part[++i];
                        if (n == 'n')
                            h += '\n';
                        else if (n == '\\')
                            h += '\\';
                        else
                            fail("bad escape in HELP");
                    } else {
                        h += text_part[i];
                    }
                }
                f.help = h;
            } else {
                if (!f.type.empty())
                    fail("second TYPE");
                if (text_part != "counter" && text_part != "gauge" && text_part != "histogram" &&
                    text_part != "summary" && text_part != "untyped")
                    fail("bad type");
                f.type = text_part;
            }
            continue;
        }
        if (line[0] == '#')
            continue;  // a comment
        sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') {
            s.name += line[i++];
        }
        if (!valid_metric_name(s.name))
            fail("bad sample name");
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                std::string lname;
                while (i < line.size() && line[i] != '=') {
                    lname += line[i++];
                }
                if (!valid_label_name(lname))
                    fail("bad label name '" + lname + "'");
                if (i + 1 >= line.size() || line[i + 1] != '"')
                    fail("label value not quoted");
                i += 2;
                std::string lval;
                bool closed = false;
                while (i < line.size()) {
                    char c = line[i++];
                    if (c == '\\') {
                        if (i >= line.size())
                            fail("dangling escape");
                        char n = line[i++];
                        if (n == 'n')
                            lval += '\n';
                        else if (n == '\\')
                            lval += '\\';
                        else if (n == '"')
                            lval += '"';
                        else
                            fail("bad escape");
                    } else if (c == '"') {
                        closed = true;
                        break;
                    } else {
                        lval += c;
                    }
                }
                if (!closed)
                    fail("unterminated label value");
                if (s.labels.count(lname))
                    fail("label twice");
                s.labels[lname] = lval;
                if (i < line.size() && line[i] == ',')
                    ++i;
            }
            if (i >= line.size())
                fail("unterminated label set");
            ++i;  // '}'
        }
        if (i >= line.size() || line[i] != ' ')
            fail("no space before value");
        ++i;
        std::string value = line.substr(i);
        if (value.find(' ') != std::string::npos)
            fail("timestamps are not expected");
        s.value = parse_value(value);
        std::string fam = family_of(e, s.name);
        if (fam.empty() || e.families[fam].type.empty())
            fail("sample before its TYPE line");
        e.samples.push_back(std::move(s));
    }
    return e;
}

TEST(metrics, counter_same_labels_any_order_is_one_counter) {
    metrics_registry reg;
    auto& a =
        reg.counter("trib_messages_total", "Messages.", {{"connector", "pg"}, {"kind", "sink"}});
    auto& b =
        reg.counter("trib_messages_total", "Messages.", {{"kind", "sink"}, {"connector", "pg"}});
    auto& c =
        reg.counter("trib_messages_total", "Messages.", {{"kind", "source"}, {"connector", "pg"}});
    EXPECT_EQ(&a, &b);
    EXPECT_NE(&a, &c);
    a.inc();
    b.inc(41);
    c.inc(7);
    auto e = parse(reg.prometheus_text());
    EXPECT_EQ(e.families["trib_messages_total"].type, "counter");
    EXPECT_EQ(e.families["trib_messages_total"].help, "Messages.");
    const sample* s = e.find("trib_messages_total", {{"connector", "pg"}, {"kind", "sink"}});
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->value, 42);
    s = e.find("trib_messages_total", {{"connector", "pg"}, {"kind", "source"}});
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->value, 7);
    EXPECT_EQ(e.samples.size(), 2u);
}

TEST(metrics, unlabelled_metrics_and_gauges) {
    metrics_registry reg;
    auto& up = reg.gauge("trib_up", "1 when running.");
    up.set(1);
    auto& lag = reg.gauge("trib_lag", "Lag.", {{"topic", "t"}});
    lag.add(5.5);
    lag.dec();
    lag.add(-10);
    std::string text = reg.prometheus_text();
    EXPECT_NE(text.find("\ntrib_up 1\n"), std::string::npos) << text;
    auto e = parse(text);
    EXPECT_EQ(e.families["trib_up"].type, "gauge");
    ASSERT_NE(e.find("trib_lag", {{"topic", "t"}}), nullptr);
    EXPECT_DOUBLE_EQ(e.find("trib_lag", {{"topic", "t"}})->value, -5.5);
}

TEST(metrics, label_values_and_help_are_escaped) {
    metrics_registry reg;
    std::string nasty = "a\"b\\c\nd}e,f=g";
    reg.counter("trib_x_total", "Help with \\ and\nnewline.", {{"v", nasty}}).inc(3);
    std::string text = reg.prometheus_text();
    // One sample line plus HELP and TYPE: the newline inside the value must not split the line.
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
    auto e = parse(text);
    EXPECT_EQ(e.families["trib_x_total"].help, "Help with \\ and\nnewline.");
    const sample* s = e.find("trib_x_total", {{"v", nasty}});
    ASSERT_NE(s, nullptr) << text;
    EXPECT_EQ(s->value, 3);
}

TEST(metrics, invalid_names_are_sanitized) {
    metrics_registry reg;
    reg.counter("9 bad-name.total", "x", {{"conn-ector", "k"}, {"__reserved", "r"}}).inc();
    reg.histogram("trib_h", "x", {{"le", "user"}}, std::vector<double>{1.0}).observe(0.5);
    auto e = parse(reg.prometheus_text());  // throws on any invalid name
    EXPECT_NE(e.find("_9_bad_name_total", {{"conn_ector", "k"}, {"_reserved", "r"}}), nullptr);
    EXPECT_NE(e.find("trib_h_count", {{"le_", "user"}}), nullptr);
}

TEST(metrics, histogram_buckets_are_cumulative_with_inf) {
    metrics_registry reg;
    std::vector<double> bounds{0.01, 0.1, 1};
    auto& h = reg.histogram("trib_write_seconds", "Write latency.", {{"connector", "s3"}}, bounds);
    h.observe(0.01);  // on a bound: `le` is inclusive
    h.observe(0.05);
    h.observe(std::chrono::milliseconds(500));
    h.observe(30.0);
    h.observe(NAN);  // ignored
    auto e = parse(reg.prometheus_text());
    EXPECT_EQ(e.families["trib_write_seconds"].type, "histogram");
    auto bucket = [&](const std::string& le) {
        const sample* s = e.find("trib_write_seconds_bucket", {{"connector", "s3"}, {"le", le}});
        return s ? s->value : -1;
    };
    EXPECT_EQ(bucket("0.01"), 1);
    EXPECT_EQ(bucket("0.1"), 2);
    EXPECT_EQ(bucket("1"), 3);
    EXPECT_EQ(bucket("+Inf"), 4);
    const sample* count = e.find("trib_write_seconds_count", {{"connector", "s3"}});
    const sample* sum = e.find("trib_write_seconds_sum", {{"connector", "s3"}});
    ASSERT_NE(count, nullptr);
    ASSERT_NE(sum, nullptr);
    EXPECT_EQ(count->value, 4);
    EXPECT_NEAR(sum->value, 0.01 + 0.05 + 0.5 + 30.0, 1e-9);

    // The bucket lines of one series come in increasing `le` order and end with +Inf.
    std::vector<std::string> les;
    for (const auto& s : e.samples) {
        if (s.name == "trib_write_seconds_bucket")
            les.push_back(s.labels.at("le"));
    }
    EXPECT_EQ(les, (std::vector<std::string>{"0.01", "0.1", "1", "+Inf"}));
}

TEST(metrics, histogram_family_keeps_first_buckets_and_defaults_to_latency) {
    metrics_registry reg;
    auto& a = reg.histogram("trib_lat", "x", {{"c", "a"}});
    auto& b = reg.histogram("trib_lat", "x", {{"c", "b"}}, std::vector<double>{1, 2});
    EXPECT_EQ(a.bounds().size(), metrics_registry::latency_buckets().size());
    EXPECT_EQ(b.bounds().size(), a.bounds().size());
    auto exp = metrics_registry::exponential_buckets(0.001, 2, 4);
    EXPECT_EQ(exp, (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
}

TEST(metrics, type_conflict_returns_a_detached_metric) {
    metrics_registry reg;
    reg.counter("trib_dual", "x").inc(5);
    auto& g = reg.gauge("trib_dual", "x");
    g.set(99);  // usable, but not exported
    auto e = parse(reg.prometheus_text());
    EXPECT_EQ(e.families["trib_dual"].type, "counter");
    ASSERT_EQ(e.samples.size(), 1u);
    EXPECT_EQ(e.samples[0].value, 5);
}

TEST(metrics, on_collect_refreshes_before_render) {
    metrics_registry reg;
    int calls = 0;
    reg.on_collect([&] {
        ++calls;
        reg.gauge("trib_collected", "Set by a collector.").set(calls);
    });
    auto e1 = parse(reg.prometheus_text());
    auto e2 = parse(reg.prometheus_text());
    EXPECT_EQ(calls, 2);
    ASSERT_NE(e2.find("trib_collected", {}), nullptr);
    EXPECT_EQ(e2.find("trib_collected", {})->value, 2);
}

TEST(metrics, concurrent_updates_and_scrapes_lose_nothing) {
    metrics_registry reg;
    constexpr int threads = 4;
    constexpr int per_thread = 50000;
    std::vector<std::thread> ts;
    std::atomic<bool> done{false};
    // A scraper runs alongside: every scrape must parse and stay consistent.
    std::thread scraper([&] {
        while (!done.load()) {
            auto e = parse(reg.prometheus_text());
            for (const auto& s : e.samples) {
                if (s.name == "trib_c_total") {
                    EXPECT_LE(s.value, threads * per_thread);
                }
            }
        }
    });
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            // Registration races too: every thread asks for the same metrics.
            auto& c = reg.counter("trib_c_total", "x", {{"k", "v"}});
            auto& h = reg.histogram("trib_h_seconds", "x", {{"k", "v"}});
            auto& g = reg.gauge("trib_g", "x", {{"t", std::to_string(t)}});
            for (int i = 0; i < per_thread; ++i) {
                c.inc();
                h.observe(0.002);
                g.inc();
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    done = true;
    scraper.join();
    auto e = parse(reg.prometheus_text());
    EXPECT_EQ(e.find("trib_c_total", {{"k", "v"}})->value, threads * per_thread);
    EXPECT_EQ(e.find("trib_h_seconds_count", {{"k", "v"}})->value, threads * per_thread);
    EXPECT_NEAR(e.find("trib_h_seconds_sum", {{"k", "v"}})->value, threads * per_thread * 0.002,
                1e-6);
    EXPECT_EQ(e.find("trib_h_seconds_bucket", {{"k", "v"}, {"le", "0.001"}})->value, 0);
    EXPECT_EQ(e.find("trib_h_seconds_bucket", {{"k", "v"}, {"le", "0.0025"}})->value,
              threads * per_thread);
    for (int t = 0; t < threads; ++t) {
        EXPECT_EQ(e.find("trib_g", {{"t", std::to_string(t)}})->value, per_thread);
    }
}

TEST(metrics, parser_rejects_malformed_text) {
    // The reader above must be able to fail, or the tests prove nothing.
    EXPECT_THROW(parse("x 1\n"), std::runtime_error);                           // no TYPE
    EXPECT_THROW(parse("# TYPE x counter\nx{a=\"b} 1\n"), std::runtime_error);  // unterminated
    EXPECT_THROW(parse("# TYPE x counter\nx{__a=\"b\"} 1\n"), std::runtime_error);
    EXPECT_THROW(parse("# TYPE x counter\nx one\n"), std::runtime_error);
    EXPECT_THROW(parse("# TYPE x counter\nx 1"), std::runtime_error);  // no final newline
    EXPECT_NO_THROW(parse("# TYPE x counter\nx{a=\"q\\\"\"} 1\n"));
}

}  // namespace
}  // namespace trib
