// The registry client and the schema_registry codec against a registry peer (the stand-in of
// the Confluent REST API, registry_fixture.h), and against confluent-kafka 2.16's own
// SchemaRegistryClient, ProtobufSerializer/JSONSerializer (+ MockSchemaRegistryClient) and
// deserializers (registry_interop.py).

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "../../runtime/spec_values.h"
#include "codecs/codec.h"
#include "codecs/registry/client.h"
#include "codecs/registry/framing.h"
#include "codecs/registry/registry_codec.h"
#include "core/net/http_client.h"
#include "registry_fixture.h"

namespace trib::codecs::registry {
namespace {

namespace fs = std::filesystem;
using test::registry_peer_options;

const char* const reading_proto =
    "syntax = \"proto3\";\npackage trib.reg;\nmessage Reading { string device = 1; double temp "
    "= 2; }\n";
const char* const other_proto =
    "syntax = \"proto3\";\npackage trib.reg;\nmessage Other { int64 n = 1; }\n";

schema proto_schema(const char* text) {
    schema s;
    s.type = std::string(protobuf_type);
    s.text = text;
    return s;
}

struct sleeps {
    std::vector<std::chrono::milliseconds> waits;
};

client_options options_for(const std::string& url, sleeps* record = nullptr) {
    client_options o;
    o.urls = {url};
    o.timeout = std::chrono::milliseconds(10000);
    if (record != nullptr)
        o.sleep = [record](std::chrono::milliseconds d) { record->waits.push_back(d); };
    return o;
}

std::unique_ptr<client> make_client(client_options o) {
    auto c = client::make(std::move(o));
    EXPECT_TRUE(c) << c.error().to_string();
    return c ? std::move(c).value() : nullptr;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spit(const fs::path& p, std::string_view bytes) {
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

int run(const std::string& cmd, std::string& out) {
    out.clear();
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
        out.append(buf.data(), n);
    return pclose(p);
}

/// Control requests to the stand-in (failure injection).
void standin_fail_next(const std::string& base, int status, int count) {
    net::http_client h;
    auto r = h.post(base + "/_standin/fail?status=" + std::to_string(status) +
                        "&count=" + std::to_string(count),
                    "{}");
    ASSERT_TRUE(r && r->ok());
}

// --- the client ------------------------------------------------------------------------------

TEST(registry_client, registers_looks_up_and_reads_back_with_caching) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    auto c = make_client(options_for(test::registry_url(*reg)));
    ASSERT_TRUE(c);
    auto id = c->register_schema("readings-value", proto_schema(reading_proto));
    ASSERT_TRUE(id) << id.error().to_string();
    const auto after_register = c->requests();
    // The same schema again: the id from the cache, no request.
    auto again = c->register_schema("readings-value", proto_schema(reading_proto));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *id);
    EXPECT_EQ(c->requests(), after_register);

    auto s = c->schema_by_id(static_cast<std::uint32_t>(*id));
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ((*s)->type, "PROTOBUF");
    EXPECT_EQ((*s)->text, reading_proto);
    const auto after_get = c->requests();
    ASSERT_TRUE(c->schema_by_id(static_cast<std::uint32_t>(*id)));
    EXPECT_EQ(c->requests(), after_get);

    auto found = c->lookup("readings-value", proto_schema(reading_proto));
    ASSERT_TRUE(found) << found.error().to_string();
    EXPECT_EQ(found->id, *id);
    EXPECT_EQ(found->version, 1);

    auto id2 = c->register_schema("readings-value", proto_schema(other_proto));
    ASSERT_TRUE(id2);
    EXPECT_NE(*id2, *id);
    auto latest = c->latest("readings-value");
    ASSERT_TRUE(latest) << latest.error().to_string();
    EXPECT_EQ(latest->id, *id2);
    EXPECT_EQ(latest->version, 2);
    EXPECT_EQ(latest->s.text, other_proto);
    auto v1 = c->version("readings-value", 1);
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->id, *id);

    // A schema registered under a second subject keeps its id (ids are global).
    auto same = c->register_schema("other-value", proto_schema(reading_proto));
    ASSERT_TRUE(same);
    EXPECT_EQ(*same, *id);

    auto compat = c->compatible("readings-value", proto_schema(reading_proto));
    ASSERT_TRUE(compat) << compat.error().to_string();
    EXPECT_TRUE(*compat);
    schema json;
    json.type = "JSON";
    json.text = "{\"type\":\"object\"}";
    auto incompatible = c->compatible("readings-value", json);
    ASSERT_TRUE(incompatible);
    EXPECT_FALSE(*incompatible);
    auto fresh = c->compatible("no-such-subject", json);
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    EXPECT_TRUE(*fresh);
}

TEST(registry_client, missing_ids_subjects_and_versions_are_fatal_not_found) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    auto c = make_client(options_for(test::registry_url(*reg)));
    auto s = c->schema_by_id(4242);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::not_found);
    EXPECT_FALSE(s.error().retryable());
    EXPECT_EQ(s.error().vendor_code(), 40403);
    EXPECT_NE(s.error().message().find("4242"), std::string::npos);
    auto l = c->latest("nothing-value");
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().vendor_code(), 40401);
    ASSERT_TRUE(c->register_schema("one-value", proto_schema(reading_proto)));
    auto v = c->version("one-value", 9);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().vendor_code(), 40402);
    auto lk = c->lookup("one-value", proto_schema(other_proto));
    ASSERT_FALSE(lk);
    EXPECT_EQ(lk.error().vendor_code(), 40403);
    schema empty = proto_schema("");
    auto bad = c->register_schema("one-value", empty);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), errc::invalid_argument);
    EXPECT_EQ(bad.error().vendor_code(), 42201);
}

TEST(registry_client, unknown_ids_are_remembered_for_a_while) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    auto o = options_for(test::registry_url(*reg));
    auto t = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    o.now = [&t] { return t; };
    o.missing_id_ttl = std::chrono::milliseconds(5000);
    auto c = make_client(o);
    ASSERT_FALSE(c->schema_by_id(99));
    EXPECT_EQ(c->requests(), 1u);
    auto again = c->schema_by_id(99);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().vendor_code(), 40403);
    EXPECT_EQ(c->requests(), 1u);  // from memory
    t += std::chrono::milliseconds(5001);
    ASSERT_FALSE(c->schema_by_id(99));
    EXPECT_EQ(c->requests(), 2u);  // asked again after the TTL
    // Registered meanwhile: found once the TTL is over.
    auto writer = make_client(options_for(test::registry_url(*reg)));
    std::int32_t last = 0;
    for (int i = 0; i < 99; ++i) {
        auto id = writer->register_schema(
            "fill-value",
            proto_schema(("syntax = \"proto3\"; message F" + std::to_string(i) + " {}").c_str()));
        ASSERT_TRUE(id);
        last = *id;
    }
    ASSERT_GE(last, 99);
    EXPECT_FALSE(c->schema_by_id(99));  // still remembered as missing
    t += std::chrono::milliseconds(5001);
    EXPECT_TRUE(c->schema_by_id(99));
}

TEST(registry_client, an_unreachable_registry_is_retryable_after_backoff) {
    const auto port = test::free_port();
    sleeps waits;
    auto o = options_for("http://127.0.0.1:" + std::to_string(port), &waits);
    o.max_retries = 3;
    o.retry_backoff = std::chrono::milliseconds(100);
    o.max_retry_backoff = std::chrono::milliseconds(250);
    auto c = make_client(o);
    auto s = c->schema_by_id(1);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().retryable()) << s.error().to_string();
    EXPECT_EQ(s.error().code(), errc::unavailable);
    EXPECT_EQ(c->requests(), 4u);
    const std::vector<std::chrono::milliseconds> expected = {std::chrono::milliseconds(100),
                                                             std::chrono::milliseconds(200),
                                                             std::chrono::milliseconds(250)};
    EXPECT_EQ(waits.waits, expected);
}

TEST(registry_client, server_errors_are_retried_then_succeed_or_stay_retryable) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    sleeps waits;
    auto c = make_client(options_for(url, &waits));  // max_retries 2
    standin_fail_next(url, 503, 2);
    auto id = c->register_schema("r-value", proto_schema(reading_proto));
    ASSERT_TRUE(id) << id.error().to_string();
    EXPECT_EQ(waits.waits.size(), 2u);

    standin_fail_next(url, 500, 3);
    auto s = c->latest("r-value");
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().retryable());
    EXPECT_EQ(s.error().vendor_code(), 50000);
    EXPECT_EQ(waits.waits.size(), 4u);
    // Throttled stays throttled.
    standin_fail_next(url, 429, 3);
    auto t = c->latest("r-value");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().retry(), retry_class::throttled);
}

TEST(registry_client, a_second_url_is_tried_when_the_first_is_down) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    sleeps waits;
    auto o = options_for("http://127.0.0.1:" + std::to_string(test::free_port()), &waits);
    o.urls.push_back(test::registry_url(*reg));
    auto c = make_client(o);
    auto id = c->register_schema("fo-value", proto_schema(reading_proto));
    ASSERT_TRUE(id) << id.error().to_string();
    EXPECT_TRUE(waits.waits.empty());
}

TEST(registry_client, basic_and_bearer_auth_and_no_secret_in_errors) {
    registry_peer_options po;
    po.user_info = "alice:s3cret-pass";
    po.bearer = "tok-123456789";
    TRIB_START_PEER(reg, test::ccompat_standin_spec(po));
    const std::string url = test::registry_url(*reg, po);
    auto anon = make_client(options_for(url));
    auto a = anon->register_schema("x-value", proto_schema(reading_proto));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code(), errc::unauthenticated);
    EXPECT_FALSE(a.error().retryable());

    auto wrong_o = options_for(url);
    wrong_o.basic_user_info = "alice:wrong-password";
    auto wrong = make_client(wrong_o);
    auto w = wrong->register_schema("x-value", proto_schema(reading_proto));
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code(), errc::unauthenticated);
    EXPECT_EQ(w.error().message().find("wrong-password"), std::string::npos) << w.error().message();

    auto basic_o = options_for(url);
    basic_o.basic_user_info = po.user_info;
    auto basic = make_client(basic_o);
    EXPECT_TRUE(basic->register_schema("x-value", proto_schema(reading_proto)));

    auto bearer_o = options_for(url);
    bearer_o.bearer_token = po.bearer;
    auto bearer = make_client(bearer_o);
    EXPECT_TRUE(bearer->latest("x-value"));

    // Credentials in the URL are libcurl's userinfo; errors print the URL redacted.
    const std::string in_url = "http://alice:s3cret-pass@127.0.0.1:" + std::to_string(reg->port());
    auto u = make_client(options_for(in_url));
    EXPECT_TRUE(u->latest("x-value"));
    auto down = make_client(
        options_for("http://alice:s3cret-pass@127.0.0.1:" + std::to_string(test::free_port())));
    auto d = down->latest("x-value");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().message().find("s3cret-pass"), std::string::npos) << d.error().message();
}

TEST(registry_client, tls_verifies_by_default_and_takes_a_ca_and_a_client_certificate) {
    registry_peer_options po;
    po.tls = true;
    po.require_client_certificate = true;
    TRIB_START_PEER(reg, test::ccompat_standin_spec(po));
    const std::string url = test::registry_url(*reg, po);
    auto o = options_for(url);
    o.max_retries = 0;
    // Without the test CA the server is not trusted.
    auto untrusted = make_client(o);
    auto u = untrusted->latest("t-value");
    ASSERT_FALSE(u);
    EXPECT_NE(u.error().code(), errc::not_found) << u.error().to_string();

    o.tls.ca_file = (reg->dir() / "ca.crt").string();
    // Trusted, but the server demands a client certificate.
    auto no_cert = make_client(o);
    auto n = no_cert->latest("t-value");
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().code(), errc::not_found) << n.error().to_string();

    o.tls.client_cert = (reg->dir() / "client.crt").string();
    o.tls.client_key = (reg->dir() / "client.key").string();
    auto ok = make_client(o);
    auto id = ok->register_schema("t-value", proto_schema(reading_proto));
    ASSERT_TRUE(id) << id.error().to_string();
    auto l = ok->latest("t-value");
    ASSERT_TRUE(l) << l.error().to_string();
    EXPECT_EQ(l->id, *id);
}

TEST(registry_client, serves_under_a_path_prefix_like_apicurio_ccompat) {
    registry_peer_options po;
    po.prefix = "/apis/ccompat/v7";
    TRIB_START_PEER(reg, test::ccompat_standin_spec(po));
    auto c = make_client(options_for(test::registry_url(*reg, po) + "/"));
    auto id = c->register_schema("p-value", proto_schema(reading_proto));
    ASSERT_TRUE(id) << id.error().to_string();
    ASSERT_TRUE(c->schema_by_id(static_cast<std::uint32_t>(*id)));
}

TEST(registry_client, oversized_schemas_and_full_caches_stay_bounded) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    auto big_o = options_for(url);
    auto writer = make_client(big_o);
    std::string big = "syntax = \"proto3\";\n// " + std::string(5000, 'x') + "\nmessage B {}\n";
    auto id = writer->register_schema("big-value", proto_schema(big.c_str()));
    ASSERT_TRUE(id);
    auto small_o = options_for(url);
    small_o.max_schema_bytes = 1000;
    small_o.cache_capacity = 2;
    auto reader = make_client(small_o);
    auto s = reader->schema_by_id(static_cast<std::uint32_t>(*id));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::resource_exhausted);
    // Three ids through a cache of two: the first is fetched again after the third.
    std::vector<std::int32_t> ids;
    for (const char* t :
         {"syntax = \"proto3\"; message A1 {}", "syntax = \"proto3\"; message A2 {}",
          "syntax = \"proto3\"; message A3 {}"}) {
        auto i = writer->register_schema("many-value", proto_schema(t));
        ASSERT_TRUE(i);
        ids.push_back(*i);
    }
    for (auto i : ids)
        ASSERT_TRUE(reader->schema_by_id(static_cast<std::uint32_t>(i)));
    const auto before = reader->requests();
    ASSERT_TRUE(reader->schema_by_id(static_cast<std::uint32_t>(ids[2])));
    EXPECT_EQ(reader->requests(), before);  // still cached
    ASSERT_TRUE(reader->schema_by_id(static_cast<std::uint32_t>(ids[0])));
    EXPECT_EQ(reader->requests(), before + 1);  // evicted, fetched again
}

// --- the codec -------------------------------------------------------------------------------

fs::path data_dir() {
    return test::source_dir() / "tests" / "data" / "codecs" / "registry";
}

std::unique_ptr<codec> registry_codec(const std::string& toml) {
    auto r = make_schema_registry_codec(test::spec_values(schema_registry_codec_spec(), toml));
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? std::move(r).value() : nullptr;
}

/// The record as JSON text (typed records through the json codec's encoder).
std::string as_json(const record& r, arena& a) {
    auto j = make_json_codec(config::values());
    std::string out;
    status s = (*j)->encode(r, a, out);
    EXPECT_TRUE(s) << s.error().to_string();
    return out;
}

record json_record(std::string_view text, arena& a) {
    auto j = make_json_codec(config::values());
    record r;
    status s = (*j)->decode(text, a, r);
    EXPECT_TRUE(s) << s.error().to_string();
    return r;
}

class registry_interop : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(test::venv_python()))
            GTEST_SKIP() << "no Python venv (run scripts/setup.sh)";
        std::string out;
        if (run(test::venv_python().string() + " -c 'import confluent_kafka.schema_registry'",
                out) != 0)
            GTEST_SKIP() << "confluent-kafka is not installed in the venv: " << out;
    }
    std::string script() const {
        return (test::source_dir() / "tests" / "codecs" / "registry" / "registry_interop.py")
            .string();
    }
};

TEST_F(registry_interop, confluent_serializers_write_what_we_decode) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    test::temp_dir dir("trib-registry");
    std::string out;
    ASSERT_EQ(run(test::venv_python().string() + " " + script() + " produce " + url + " " +
                      dir.path().string(),
                  out),
              0)
        << out;
    auto c = registry_codec("schema_registry_url = \"" + url + "\"");
    ASSERT_TRUE(c);
    arena a;
    struct expect {
        const char* file;
        const char* json;
        std::vector<std::int32_t> indexes;
    };
    const std::vector<expect> cases = {
        {"proto_reading.bin",
         "{\"device\":\"dev-\xc3\xa9\",\"temp\":21.5,\"ts\":1700000000123,\"tags\":[\"a\",\"b\"]}",
         {0}},
        {"proto_point.bin", "{\"x\":-3,\"y\":4}", {0, 0}},
        {"proto_alert.bin", "{\"code\":7,\"text\":\"hot\"}", {1}},
        {"json_order.bin", "{\"order\":42,\"item\":\"bolt\",\"price\":0.25}", {}},
    };
    for (const auto& e : cases) {
        const std::string bytes = slurp(dir.path() / e.file);
        record r;
        status s = c->decode(bytes, a, r);
        ASSERT_TRUE(s) << e.file << ": " << s.error().to_string();
        EXPECT_EQ(as_json(r, a), e.json) << e.file;
        // The mock registry client's bytes frame the same body the same way.
        const std::string mock = slurp(dir.path() / (std::string("mock_") + e.file));
        auto f = read_frame(bytes);
        auto m = read_frame(mock);
        ASSERT_TRUE(f && m);
        std::string_view fb = f->body, mb = m->body;
        if (!e.indexes.empty()) {
            auto fi = read_message_indexes(fb);
            auto mi = read_message_indexes(mb);
            ASSERT_TRUE(fi && mi);
            EXPECT_EQ(*fi, e.indexes) << e.file;
            EXPECT_EQ(*mi, e.indexes) << e.file;
        }
        EXPECT_EQ(fb, mb) << e.file;
    }
}

TEST_F(registry_interop, confluent_deserializers_read_what_we_encode) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    test::temp_dir dir("trib-registry");
    const std::string proto = (data_dir() / "reading.proto").string();
    struct enc {
        const char* message_type;
        const char* file;
        const char* json;
    };
    const std::vector<enc> cases = {
        {"trib.reg.Reading", "ours_proto_reading.bin",
         "{\"device\":\"d1\",\"temp\":-4.25,\"ts\":17,\"tags\":[\"x\"]}"},
        {"trib.reg.Reading.Point", "ours_proto_point.bin", "{\"x\":5,\"y\":-6}"},
        {"trib.reg.Alert", "ours_proto_alert.bin", "{\"code\":3,\"text\":\"cold\"}"},
    };
    arena a;
    std::vector<std::int32_t> ids;
    for (const auto& e : cases) {
        auto c = registry_codec(
            "schema_registry_url = \"" + url + "\"\nformat = \"protobuf\"\nschema_path = \"" +
            proto + "\"\nmessage_type = \"" + e.message_type + "\"\ntopic = \"readings\"");
        ASSERT_TRUE(c);
        std::string bytes;
        status s = c->encode(json_record(e.json, a), a, bytes);
        ASSERT_TRUE(s) << s.error().to_string();
        spit(dir.path() / e.file, bytes);
        // And we read our own bytes back through the registry.
        record back;
        ASSERT_TRUE(c->decode(bytes, a, back));
        EXPECT_EQ(as_json(back, a), e.json);
        ids.push_back(static_cast<std::int32_t>(read_frame(bytes)->schema_id));
    }
    // One .proto file, one subject, one id for all three messages.
    EXPECT_EQ(ids[0], ids[1]);
    EXPECT_EQ(ids[0], ids[2]);

    auto jc = registry_codec(
        "schema_registry_url = \"" + url + "\"\nformat = \"json\"\nschema_path = \"" +
        (data_dir() / "order.schema.json").string() + "\"\nsubject_name_strategy = \"record\"");
    ASSERT_TRUE(jc);
    std::string jbytes;
    ASSERT_TRUE(jc->encode(json_record("{\"order\":9,\"item\":\"nut\"}", a), a, jbytes));
    spit(dir.path() / "ours_json_order.bin", jbytes);

    std::string out;
    ASSERT_EQ(
        run(test::venv_python().string() + " " + script() + " consume " + dir.path().string(), out),
        0)
        << out;
    EXPECT_NE(out.find("reading {\"device\": \"d1\", \"tags\": [\"x\"], \"temp\": -4.25, \"ts\": "
                       "\"17\"}"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("point {\"x\": 5, \"y\": -6}"), std::string::npos) << out;
    EXPECT_NE(out.find("alert {\"code\": 3, \"text\": \"cold\"}"), std::string::npos) << out;
    EXPECT_NE(out.find("order {\"item\": \"nut\", \"order\": 9}"), std::string::npos) << out;

    // The record strategy named the JSON subject after the schema's title.
    auto cl = make_client(options_for(url));
    auto latest = cl->latest("trib.reg.Order");
    ASSERT_TRUE(latest) << latest.error().to_string();
    EXPECT_EQ(static_cast<std::uint32_t>(latest->id), read_frame(jbytes)->schema_id);
    EXPECT_TRUE(cl->latest("readings-value"));
}

// Enabled with the Avro codec (src/codecs/registry/README.md, "Avro"): confluent-kafka's
// AvroSerializer writes what the Avro table entry decodes.
TEST_F(registry_interop, confluent_avro_serializer_writes_what_we_decode) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    test::temp_dir dir("trib-registry");
    std::string out;
    ASSERT_EQ(run(test::venv_python().string() + " " + script() + " produce " + url + " " +
                      dir.path().string(),
                  out),
              0)
        << out;
    auto c = registry_codec("schema_registry_url = \"" + url + "\"");
    arena a;
    record r;
    const std::string bytes = slurp(dir.path() / "avro_sample.bin");
    status s = c->decode(bytes, a, r);
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(as_json(r, a), "{\"id\":5,\"name\":\"five\",\"score\":2.5}");
    // Mock and real registry clients frame the same Avro body.
    EXPECT_EQ(read_frame(bytes)->body,
              read_frame(slurp(dir.path() / "mock_avro_sample.bin"))->body);
}

TEST(registry_codec, threads_share_one_codec_through_small_caches) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    auto cl = make_client(options_for(url));
    // Three schemas, each a message with one field of another type, through caches of two:
    // entries are evicted and rebuilt while other threads decode.
    const std::array<const char*, 3> texts = {
        "syntax = \"proto3\";\nmessage T0 { int32 v = 1; }\n",
        "syntax = \"proto3\";\nmessage T1 { string v = 1; }\n",
        "syntax = \"proto3\";\nmessage T2 { bool v = 1; }\n"};
    const std::array<std::string, 3> bodies = {
        std::string("\x08\x2a", 2), std::string("\x0a\x02hi", 4), std::string("\x08\x01", 2)};
    const std::array<const char*, 3> expected = {"{\"v\":42}", "{\"v\":\"hi\"}", "{\"v\":true}"};
    std::array<std::string, 3> payloads;
    for (std::size_t i = 0; i < 3; ++i) {
        auto id = cl->register_schema("mt-" + std::to_string(i), proto_schema(texts[i]));
        ASSERT_TRUE(id);
        write_frame_header(static_cast<std::uint32_t>(*id), payloads[i]);
        payloads[i] += std::string("\x00", 1) + bodies[i];
    }
    auto c =
        registry_codec("schema_registry_url = \"" + url + "\"\nschema_registry_cache_capacity = 2");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            arena a;
            for (int n = 0; n < 20; ++n) {
                const std::size_t i = static_cast<std::size_t>(n + t) % 3;
                record r;
                if (!c->decode(payloads[i], a, r)) {
                    ++wrong;
                    continue;
                }
                std::string j;
                auto json = make_json_codec(config::values());
                if (!(*json)->encode(r, a, j) || j != expected[i])
                    ++wrong;
                a.reset();
            }
        });
    }
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST(registry_codec, hostile_payloads_are_bad_payloads_and_a_down_registry_is_retryable) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    auto cl = make_client(options_for(url));
    auto id = cl->register_schema("h-value", proto_schema(reading_proto));
    ASSERT_TRUE(id);
    auto c = registry_codec("schema_registry_url = \"" + url + "\"");
    arena a;
    record r;
    std::string unknown;
    write_frame_header(777777, unknown);
    unknown += "\x00\x0a\x01x";
    status s = c->decode(unknown, a, r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_FALSE(s.error().retryable());
    EXPECT_NE(s.error().message().find("777777"), std::string::npos) << s.error().message();

    std::string bad_index;
    write_frame_header(static_cast<std::uint32_t>(*id), bad_index);
    bad_index += "\x02\x0a";  // [5]: the file has one message
    s = c->decode(bad_index, a, r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    EXPECT_NE(s.error().message().find("message index 5"), std::string::npos)
        << s.error().message();

    std::string bad_body;
    write_frame_header(static_cast<std::uint32_t>(*id), bad_body);
    bad_body += std::string("\x00\x0a\xff", 3);  // field 1 with a length beyond the bytes
    s = c->decode(bad_body, a, r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);

    s = c->decode("\x01\x00\x00\x00\x01", a, r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument);

    // The registry goes away: an id not cached yet is a retryable error, not a bad payload.
    auto id2 = cl->register_schema("h-value", proto_schema(other_proto));
    ASSERT_TRUE(id2);
    ASSERT_TRUE(reg->stop());
    std::string later;
    write_frame_header(static_cast<std::uint32_t>(*id2), later);
    later += std::string("\x00\x08\x01", 3);
    auto quick =
        registry_codec("schema_registry_url = \"" + url + "\"\nschema_registry_max_retries = 0");
    s = quick->decode(later, a, r);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().retryable()) << s.error().to_string();
    EXPECT_NE(s.error().code(), errc::invalid_argument);
}

TEST(registry_codec, encode_without_auto_register_needs_a_registered_schema) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    const std::string proto = (data_dir() / "reading.proto").string();
    const std::string base = "schema_registry_url = \"" + url +
                             "\"\nformat = \"protobuf\"\nschema_path = \"" + proto +
                             "\"\nmessage_type = \"trib.reg.Alert\"\n";
    auto lookup_only = registry_codec(base + "topic = \"alerts\"\nauto_register_schemas = false");
    arena a;
    std::string out;
    status s = lookup_only->encode(json_record("{\"code\":1}", a), a, out);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::not_found) << s.error().to_string();
    // Registered by another codec (topic_record strategy), then found by look-up.
    auto writer = registry_codec(base +
                                 "topic = \"alerts\"\nsubject_name_strategy = "
                                 "\"topic_record\"");
    ASSERT_TRUE(writer->encode(json_record("{\"code\":1}", a), a, out));
    auto cl = make_client(options_for(url));
    auto v = cl->latest("alerts-trib.reg.Alert");
    ASSERT_TRUE(v) << v.error().to_string();
    auto finder = registry_codec(base +
                                 "subject = \"alerts-trib.reg.Alert\"\n"
                                 "auto_register_schemas = false");
    std::string framed;
    ASSERT_TRUE(finder->encode(json_record("{\"code\":2}", a), a, framed));
    EXPECT_EQ(read_frame(framed)->schema_id, static_cast<std::uint32_t>(v->id));
    // use_latest_version without a local schema: the registry's schema is used.
    auto latest = registry_codec("schema_registry_url = \"" + url +
                                 "\"\nsubject = \"alerts-trib.reg.Alert\"\nuse_latest_version = "
                                 "true\nmessage_type = \"trib.reg.Alert\"");
    std::string l;
    ASSERT_TRUE(latest->encode(json_record("{\"code\":3,\"text\":\"t\"}", a), a, l));
    record back;
    ASSERT_TRUE(latest->decode(l, a, back));
    EXPECT_EQ(as_json(back, a), "{\"code\":3,\"text\":\"t\"}");
}

// The writer's JSON Schema (from the registry) validates JSON bodies: a body it refuses is a bad
// payload naming the JSON pointer and the keyword, on decode and on encode; a schema the validator
// cannot compile refuses the payloads naming it rather than passing them unvalidated.
TEST(registry_codec, json_bodies_are_validated_against_the_writers_json_schema) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    auto cl = make_client(options_for(url));
    schema order;
    order.type = "JSON";
    order.text = slurp(data_dir() / "order.schema.json");
    auto id = cl->register_schema("orders-value", order);
    ASSERT_TRUE(id) << id.error().to_string();
    auto c = registry_codec("schema_registry_url = \"" + url + "\"");
    auto framed = [&](std::int32_t schema_id, const std::string& body) {
        std::string out;
        write_frame_header(static_cast<std::uint32_t>(schema_id), out);
        return out + body;
    };
    arena a;
    record r;
    status s = c->decode(framed(*id, R"({"order":1,"item":"bolt","price":0.5})"), a, r);
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(as_json(r, a), R"({"order":1,"item":"bolt","price":0.5})");
    struct bad_case {
        std::string body, pointer, keyword;
    };
    for (const auto& b :
         std::vector<bad_case>{{R"({"order":"one","item":"bolt"})", "/order", "type"},
                               {R"({"order":2})", "", "required"},
                               {R"({"order":3,"item":"nut","price":"cheap"})", "/price", "type"}}) {
        SCOPED_TRACE(b.body);
        s = c->decode(framed(*id, b.body), a, r);
        ASSERT_FALSE(s);
        EXPECT_EQ(s.error().code(), errc::invalid_argument);
        const std::string m = s.error().message();
        EXPECT_NE(m.find("json_schema: " + b.pointer), std::string::npos) << m;
        EXPECT_NE(m.find(b.keyword), std::string::npos) << m;
    }
    // Encoding with the same schema refuses a record it does not accept.
    auto enc = registry_codec(
        "schema_registry_url = \"" + url + "\"\nformat = \"json\"\nschema_path = \"" +
        (data_dir() / "order.schema.json").string() + "\"\ntopic = \"orders\"");
    std::string out;
    s = enc->encode(json_record(R"({"order":"x","item":"y"})", a), a, out);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("/order"), std::string::npos) << s.error().to_string();
    ASSERT_TRUE(enc->encode(json_record(R"({"order":4,"item":"y"})", a), a, out));
    EXPECT_EQ(read_frame(out)->schema_id, static_cast<std::uint32_t>(*id));
    // A schema the validator cannot compile (a remote $ref): its payloads are refused with why.
    schema remote;
    remote.type = "JSON";
    remote.text = R"({"$ref":"http://example.com/other.json"})";
    auto rid = cl->register_schema("remote-value", remote);
    ASSERT_TRUE(rid) << rid.error().to_string();
    s = c->decode(framed(*rid, R"({"any":1})"), a, r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), errc::invalid_argument) << s.error().to_string();
    EXPECT_NE(s.error().message().find("JSON Schema"), std::string::npos) << s.error().to_string();
}

TEST(registry_codec, protobuf_imports_resolve_through_schema_references) {
    TRIB_START_PEER(reg, test::ccompat_standin_spec());
    const std::string url = test::registry_url(*reg);
    auto cl = make_client(options_for(url));
    // common.proto under its own subject; the main schema imports it by reference, which itself
    // imports another one (references are resolved transitively).
    ASSERT_TRUE(cl->register_schema(
        "units", proto_schema("syntax = \"proto3\";\npackage u;\nmessage Unit { string name = "
                              "1; }\n")));
    schema common = proto_schema(
        "syntax = \"proto3\";\npackage c;\nimport \"units.proto\";\nmessage Qty { double v = 1; "
        "u.Unit unit = 2; }\n");
    common.references.push_back({"units.proto", "units", 1});
    ASSERT_TRUE(cl->register_schema("common", common));
    schema main = proto_schema(
        "syntax = \"proto3\";\npackage m;\nimport \"common.proto\";\nmessage Order { string id = "
        "1; c.Qty qty = 2; }\n");
    main.references.push_back({"common.proto", "common", 1});
    auto id = cl->register_schema("orders-value", main);
    ASSERT_TRUE(id) << id.error().to_string();
    auto refs = cl->resolve_references(main);
    ASSERT_TRUE(refs) << refs.error().to_string();
    EXPECT_EQ(refs->size(), 2u);

    // Order{id: "o1", qty: {v: 2.5, unit: {name: "kg"}}} in protobuf bytes, framed.
    std::string payload;
    write_frame_header(static_cast<std::uint32_t>(*id), payload);
    payload += std::string("\x00", 1);
    payload +=
        std::string("\x0a\x02o1\x12\x0f\x09\x00\x00\x00\x00\x00\x00\x04\x40\x12\x04\x0a\x02kg", 21);
    auto c = registry_codec("schema_registry_url = \"" + url + "\"");
    arena a;
    record r;
    status st = c->decode(payload, a, r);
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_EQ(as_json(r, a), "{\"id\":\"o1\",\"qty\":{\"v\":2.5,\"unit\":{\"name\":\"kg\"}}}");
}

TEST(registry_codec, bad_configuration_fails_at_start) {
    auto no_format = make_schema_registry_codec(test::spec_values(
        schema_registry_codec_spec(),
        "schema_registry_url = \"http://127.0.0.1:1\"\nformat = \"protobuf\"\nschema_path = "
        "\"/nonexistent.proto\""));
    ASSERT_FALSE(no_format);
    EXPECT_NE(no_format.error().message().find("/nonexistent.proto"), std::string::npos);
    auto bad_url = make_schema_registry_codec(
        test::spec_values(schema_registry_codec_spec(), "schema_registry_url = \"ftp://x\""));
    ASSERT_FALSE(bad_url);
    EXPECT_NE(test::spec_problems(schema_registry_codec_spec(),
                                  "schema_registry_url = \"http://x\"\n"
                                  "subject_name_strategy = \"by_topic\""),
              "");
}

}  // namespace
}  // namespace trib::codecs::registry
