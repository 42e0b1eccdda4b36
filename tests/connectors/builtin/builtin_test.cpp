// The registry and the small built-in connectors: random source, stdout sink, null sink.

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "config/connector_config.h"
#include "config/docs.h"
#include "config/environment.h"
#include "config/validate.h"
#include "connectors/null/null.h"
#include "connectors/random/random.h"
#include "connectors/registry.h"
#include "connectors/stdout/stdout.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;

/// {"id":"<uuid v4>","title":"Hello","name":"World","text":"<n letters/digits>"}
bool is_random_record(std::string_view p, std::size_t n) {
    const std::string_view head = "{\"id\":\"";
    if (!p.starts_with(head))
        return false;
    const std::string_view uuid = p.substr(head.size(), 36);
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (uuid[i] == '-'))
            return false;
        if (!dash && !std::isxdigit(static_cast<unsigned char>(uuid[i])))
            return false;
    }
    if (uuid[14] != '4' || std::string_view("89ab").find(uuid[19]) == std::string_view::npos) {
        return false;
    }
    std::string_view rest = p.substr(head.size() + 36);
    const std::string_view mid = "\",\"title\":\"Hello\",\"name\":\"World\",\"text\":\"";
    if (!rest.starts_with(mid))
        return false;
    rest.remove_prefix(mid.size());
    if (rest.size() != n + 2 || !rest.ends_with("\"}"))
        return false;
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isalnum(static_cast<unsigned char>(rest[i])))
            return false;
    }
    return true;
}

TEST(registry, lists_the_builtins_and_maps_iggy_plugin_names) {
    auto r = registry::builtins();
    ASSERT_TRUE(r) << r.error().to_string();
    const auto& reg = **r;
    ASSERT_NE(reg.find_sink("stdout"), nullptr);
    EXPECT_EQ(reg.find_sink("iggy_connector_stdout_sink"), reg.find_sink("stdout"));
    EXPECT_EQ(reg.find_source("iggy_connector_random_source")->spec.name, "random");
    EXPECT_EQ(reg.find_sink("null")->spec.name, "null");
    EXPECT_EQ(reg.find_sink("iggy_connector_file_sink")->spec.name, "file");
    EXPECT_EQ(reg.find_source("file")->spec.kind, config::spec_kind::source);
    EXPECT_EQ(reg.find_sink("random"), nullptr);  // a source only
    EXPECT_EQ(reg.find_sink("nope"), nullptr);
    EXPECT_EQ(reg.find_connectors("file").size(), 2u);
    ASSERT_EQ(reg.find_connectors("file_sink").size(), 1u);
    EXPECT_EQ(reg.find_connectors("file_sink")[0]->spec.kind, config::spec_kind::sink);
    auto names = reg.names(config::spec_kind::sink);
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(registry, every_builtin_spec_is_sound) {
    auto r = registry::builtins();
    ASSERT_TRUE(r);
    std::vector<const config::spec*> all;
    for (const auto& e : (*r)->sinks())
        all.push_back(&e.spec);
    for (const auto& e : (*r)->sources())
        all.push_back(&e.spec);
    for (const auto& e : (*r)->codecs())
        all.push_back(&e.spec);
    for (const auto& e : (*r)->transforms())
        all.push_back(&e.spec);
    for (const auto* s : all) {
        auto defects = config::check_spec(*s);
        EXPECT_TRUE(defects.empty()) << s->name << ": " << defects.front();
        EXPECT_FALSE(s->summary.empty()) << s->name;
        EXPECT_FALSE(s->description.empty()) << s->name;
        for (const auto& o : s->options)
            EXPECT_FALSE(o.doc.empty()) << s->name << "." << o.name;
    }
    // Every connector states its guarantee in one line, in the three terms (issue 27).
    std::vector<const config::spec*> connectors;
    for (const auto& e : (*r)->sinks())
        connectors.push_back(&e.spec);
    for (const auto& e : (*r)->sources())
        connectors.push_back(&e.spec);
    for (const auto* s : connectors) {
        const auto& g = s->guarantee;
        EXPECT_EQ(g.find('\n'), std::string::npos) << s->name;
        EXPECT_TRUE(g.find("at-most-once") != std::string::npos ||
                    g.find("at-least-once") != std::string::npos ||
                    g.find("exactly-once effect") != std::string::npos ||
                    g.starts_with("not applicable"))
            << s->name << ": '" << g << "'";
        EXPECT_NE(config::render_text(*s, false).find("Guarantee: " + g), std::string::npos)
            << s->name;
    }
    // Each connector makes an instance from its defaults (plus its required options).
    auto required = [](const config::spec& s) -> std::string {
        if (s.name == "file")
            return "path = \"/tmp/x\"";
        if (s.name == "mqtt")
            return s.kind == config::spec_kind::sink ? "topic = \"t\"" : "topics = [\"t\"]";
        if (s.name == "postgres")
            return s.kind == config::spec_kind::sink
                       ? "connection_string = \"x\"\ntarget_table = \"t\""
                       : "connection_string = \"x\"\nmode = \"polling\"\ntables = [\"t\"]";
        if (s.name == "mysql")
            return s.kind == config::spec_kind::sink
                       ? "connection_string = \"mysql://u:p@127.0.0.1/db\"\ntarget_table = \"t\""
                       : "connection_string = \"mysql://u:p@127.0.0.1/db\"\ntables = [\"t\"]";
        if (s.name == "http" || s.name == "http_poll")
            return "url = \"http://127.0.0.1:1/\"";
        if (s.name == "webhook")
            return "port = 0";
        if (s.name == "kafka" && s.kind == config::spec_kind::source)
            return "bootstrap_servers = [\"127.0.0.1:9092\"]\ntopics = [\"t\"]";
        if (s.name == "s3" || s.name == "s3_source" || s.name == "gcs" || s.name == "gcs_source")
            return "bucket = \"b\"";
        if (s.name == "azure_blob" || s.name == "azure_blob_source")
            return "container = \"c\"\naccount_name = \"a\"\nsas_token = \"sv=1\"";
        if (s.name == "hdfs" || s.name == "hdfs_source")
            return "endpoint = \"http://127.0.0.1:1\"\ndirectory = \"/d\"";
        if (s.name == "sqlite")
            return "path = \"/tmp/x.db\"\ntarget_table = \"t\"";
        if (s.name == "nats")
            return s.kind == config::spec_kind::sink ? "subject = \"s\"" : "stream = \"S\"";
        if (s.name == "rabbitmq" && s.kind == config::spec_kind::source)
            return "queue = \"q\"";
        if (s.name == "redis" && s.kind == config::spec_kind::source)
            return "keys = [\"k\"]";
        if (s.name == "iceberg")
            return "uri = \"http://127.0.0.1:1\"\ntables = [\"ns.t\"]";
        if (s.name == "kafka")
            return "bootstrap_servers = [\"127.0.0.1:9092\"]\ntopic = \"t\"";
        if (s.name == "delta")
            return "table_uri = \"/tmp/t\"";
        return "";
    };
    for (const auto& e : (*r)->sinks()) {
        auto v = test::spec_values(e.spec, required(e.spec));
        EXPECT_TRUE(e.make_sink(v)) << e.spec.name;
    }
    for (const auto& e : (*r)->sources()) {
        auto v = test::spec_values(e.spec, required(e.spec));
        EXPECT_TRUE(e.make_source(v)) << e.spec.name;
    }
}

// The examples in the docs are connector files: each one loads and validates against its own spec
// (so that an example cannot rot when an option is renamed or removed).
TEST(registry, every_builtin_example_is_a_valid_connector_file) {
    auto r = registry::builtins();
    ASSERT_TRUE(r);
    const auto& reg = **r;
    config::catalog cat;
    cat.find_connector = [&](config::connector_type t,
                             std::string_view name) -> const config::spec* {
        const auto* e =
            t == config::connector_type::sink ? reg.find_sink(name) : reg.find_source(name);
        return e != nullptr ? &e->spec : nullptr;
    };
    cat.connector_names = [&](config::connector_type t) {
        return reg.names(t == config::connector_type::sink ? config::spec_kind::sink
                                                           : config::spec_kind::source);
    };
    std::size_t checked = 0;
    auto check = [&](const connector_entry& e) {
        SCOPED_TRACE(e.spec.name + " " + std::string(config::to_string(e.spec.kind)));
        ASSERT_FALSE(e.spec.example.empty());
        // The examples name secrets as ${env:NAME}; any value of the right form will do.
        config::environment env;
        const std::string_view ref = "${env:";
        for (auto p = e.spec.example.find(ref); p != std::string::npos;
             p = e.spec.example.find(ref, p + 1)) {
            const auto end = e.spec.example.find('}', p);
            ASSERT_NE(end, std::string::npos);
            const auto name = e.spec.example.substr(p + ref.size(), end - p - ref.size());
            env.set(name,
                    name.ends_with("CONNECTION_STRING") ? "AccountName=a;AccountKey=eA==" : "x");
        }
        auto c =
            config::parse_connector_config(e.spec.example, e.spec.name + ".example.toml", cat, env);
        ASSERT_TRUE(c) << c.issues.to_string();
        EXPECT_EQ(c->plugin_spec, &e.spec);
        ++checked;
    };
    for (const auto& e : reg.sinks())
        check(e);
    for (const auto& e : reg.sources())
        check(e);
    EXPECT_EQ(checked, reg.sinks().size() + reg.sources().size());
}

TEST(registry, refuses_duplicates) {
    registry r;
    ASSERT_TRUE(r.add_sink(stdout_sink_spec(), make_stdout_sink));
    EXPECT_FALSE(r.add_sink(stdout_sink_spec(), make_stdout_sink));
    auto other = null_sink_spec();
    other.plugin_aliases = {"iggy_connector_stdout_sink"};  // an alias clash
    auto st = r.add_sink(other, make_null_sink);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("iggy_connector_stdout_sink"), std::string::npos);
    // The same name as a source is fine.
    auto src = random_source_spec();
    src.name = "stdout";
    EXPECT_TRUE(r.add_source(src, make_random_source));
}

TEST(random_source, follows_iggy_options_and_keeps_count_in_its_state) {
    auto v = test::spec_values(random_source_spec(),
                               "interval = \"1ms\"\nmax_count = 95\nmessages_range = [10, 20]\n"
                               "payload_size = 50\n");
    auto s = make_random_source(v);
    ASSERT_TRUE(s);
    connector_context ctx;
    ASSERT_TRUE((*s)->open(ctx, ""));
    std::uint64_t total = 0;
    std::string state;
    std::set<std::string> ids;

    for (int i = 0; i < 200 && total < 95; ++i) {
        auto b = (*s)->poll(50ms);
        ASSERT_TRUE(b);
        if (b->batch.empty())
            continue;
        EXPECT_GE(b->batch.size(), 1u);
        EXPECT_LE(b->batch.size(), 20u);
        for (const auto& m : b->batch.messages) {
            ASSERT_TRUE(is_random_record(m.payload, 50)) << m.payload;
            ids.insert(std::string(m.payload.substr(7, 36)));
        }
        total += b->batch.size();
        ASSERT_TRUE(b->has_state);
        state = b->state;
    }
    EXPECT_EQ(total, 95u);  // exactly max_count
    EXPECT_EQ(ids.size(), 95u);
    ASSERT_EQ(state.size(), 8u);
    std::uint64_t n = 0;
    std::memcpy(&n, state.data(), 8);
    EXPECT_EQ(n, 95u);
    auto after = (*s)->poll(20ms);
    ASSERT_TRUE(after);
    EXPECT_TRUE(after->batch.empty());

    // Restarted from the state: nothing more to produce.
    auto s2 = make_random_source(v);
    ASSERT_TRUE((*s2)->open(ctx, state));
    auto b2 = (*s2)->poll(20ms);
    ASSERT_TRUE(b2);
    EXPECT_TRUE(b2->batch.empty());
}

TEST(random_source, raw_and_text_formats_have_exact_sizes) {
    for (std::string f : {"raw", "text"}) {
        auto v = test::spec_values(random_source_spec(),
                                   "interval = \"0ms\"\nmessages_range = [100, 100]\n"
                                   "payload_size = 1024\nformat = \"" +
                                       f + "\"\n");
        auto s = make_random_source(v);
        connector_context ctx;
        ASSERT_TRUE((*s)->open(ctx, ""));
        auto b = (*s)->poll(50ms);
        ASSERT_TRUE(b);
        ASSERT_EQ(b->batch.size(), 100u);
        for (const auto& m : b->batch.messages)
            EXPECT_EQ(m.payload.size(), 1024u);
        EXPECT_NE(b->batch.messages[0].payload, b->batch.messages[1].payload);
    }
}

TEST(random_source, rejects_a_bad_range) {
    EXPECT_FALSE(test::spec_problems(random_source_spec(), "messages_range = [5]").empty());
    EXPECT_FALSE(test::spec_problems(random_source_spec(), "messages_range = [9, 3]").empty());
    EXPECT_TRUE(test::spec_problems(random_source_spec(), "messages_range = [3, 9]").empty());
}

TEST(stdout_sink, prints_batches_and_payloads) {
    auto v = test::spec_values(stdout_sink_spec(), "print_payload = true\nprint_headers = true\n");
    auto s = make_stdout_sink(v);
    ASSERT_TRUE(s);
    connector_context ctx;
    ctx.key = "out";
    ASSERT_TRUE((*s)->open(ctx));
    message_batch b;
    message m;
    m.offset = 7;
    m.payload = b.own("hello\nworld");
    m.headers.push_back(header{"k", value_kind::string, "v"});
    b.messages.push_back(m);
    testing::internal::CaptureStdout();
    auto w = (*s)->write(sink_batch{"st", "tp", 2, "text", &b});
    const std::string out = testing::internal::GetCapturedStdout();
    ASSERT_TRUE(w);
    EXPECT_NE(out.find("stdout sink out received 1 messages, schema: text, stream: st, topic: tp, "
                       "partition: 2, offset: 7"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("offset: 7, payload: hello\\nworld, headers: {k: v}"), std::string::npos)
        << out;
}

TEST(null_sink, accepts_everything_and_is_idempotent) {
    auto s = make_null_sink(test::spec_values(null_sink_spec(), ""));
    ASSERT_TRUE(s);
    connector_context ctx;
    ASSERT_TRUE((*s)->open(ctx));
    message_batch b;
    message m;
    m.payload = b.own("x");
    b.messages.push_back(m);
    auto w = (*s)->write(sink_batch{"s", "t", 0, "raw", &b});
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->rejected.empty());
    EXPECT_TRUE((*s)->idempotent());
}

}  // namespace
}  // namespace trib::connectors
