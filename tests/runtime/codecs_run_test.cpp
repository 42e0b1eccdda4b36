// Issue 13 through `tributary run` as a child process (embedded server, real connectors): a
// stream's codec is applied with or without transforms.
// - source side: the file source's payloads are in one format (`source_schema`), the stream's
//   `schema` is JSON, so the runtime converts before Iggy; the file sink writes the JSON;
// - sink side: a stream of a binary schema is decoded and handed to the file sink as JSON;
// - a payload that does not decode is dead-lettered with the decoder's message in the headers,
//   and the pipeline goes on (the good payloads after it arrive);
// - codec options on [[streams]]: a bad key or value exits 2 naming the file and the key.
//
// Every format is one row of `rows()`: proto and FlatBuffers (base64 lines, `line_encoding`)
// on the source side; msgpack, Avro through a schema registry (the stand-in, payloads from
// confluent-kafka's AvroSerializer), bson and latin1 text on the sink side; JSON Schema as a
// [[streams]] option on both sides.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "../codecs/registry/registry_fixture.h"
#include "harness/peer.h"
#include "runtime/iggy_port.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::wait_until;

fs::path tributary_binary() {
    const char* b = std::getenv("TRIB_BINARY_DIR");
    return fs::path(b != nullptr ? b : ".") / "src" / "app" / "tributary";
}

/// The schema registry's URL, for rows whose options name it ({registry}).
std::string& registry_base_url() {
    static std::string url;
    return url;
}

std::string with_dir(std::string text, const fs::path& dir) {
    for (std::size_t at; (at = text.find("{dir}")) != std::string::npos;)
        text.replace(at, 5, dir.string());
    for (std::size_t at; (at = text.find("{registry}")) != std::string::npos;)
        text.replace(at, 10, registry_base_url());
    return text;
}

void write_file(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::size_t count_of(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size()))
        ++n;
    return n;
}

// ---- payload builders (wire formats written out by hand, so the test does not use the code
// under test to make its input) ---------------------------------------------------------------

std::string varint(std::uint64_t v) {
    std::string out;
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
    return out;
}

/// test.Reading {string device = 2; double temp = 3; int32 seq = 4;} (field numbers chosen so
/// that no tag byte is a newline: the file source reads lines).
std::string proto_reading(const std::string& device, double temp, std::uint32_t seq) {
    std::string out;
    out += '\x12' + varint(device.size()) + device;
    out += '\x19';
    char d[8];
    std::memcpy(d, &temp, 8);  // little-endian machines only, as the whole project
    out.append(d, 8);
    out += '\x20' + varint(seq);
    return out;
}

std::string mp_str(const std::string& s) {
    return std::string(1, static_cast<char>(0xa0 | s.size())) + s;  // fixstr (< 32 bytes)
}

/// {"device": device, "n": n, "ok": ok} as a msgpack fixmap.
std::string msgpack_reading(const std::string& device, std::uint8_t n, bool ok) {
    return std::string("\x83") + mp_str("device") + mp_str(device) + mp_str("n") +
           std::string(1, static_cast<char>(n & 0x7f)) + mp_str("ok") + (ok ? "\xc3" : "\xc2");
}

/// Standard base64 with padding (the file source's line_encoding = "base64").
std::string base64(std::string_view in) {
    static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                       (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6)
            out += k[(n >> s) & 63];
    }
    if (i < in.size()) {
        std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (i + 1 < in.size())
            n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out += k[(n >> 18) & 63];
        out += k[(n >> 12) & 63];
        out += i + 1 < in.size() ? k[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

/// Runs a command; its output, or "" with a failed expectation.
std::string run_command(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) {
        ADD_FAILURE() << "popen " << cmd;
        return out;
    }
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    const int st = ::pclose(p);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << cmd << ":\n" << out;
    return out;
}

fs::path source_path(const std::string& rel) {
    return test::source_dir() / rel;
}

/// A FlatBuffer of iot.Reading written by `flatc -b` from JSON (the reference compiler, not the
/// codec under test).
std::string flatc_reading(const fs::path& work, const std::string& name, const std::string& json) {
    write_file(work / (name + ".json"), json);
    run_command("flatc -b -o " + work.string() + " " +
                source_path("tests/data/codecs/flatbuffers/iot.fbs").string() + " " +
                (work / (name + ".json")).string());
    return read_file(work / (name + ".bin"));
}

/// A BSON document {device: string, n: int32}, written out by hand.
std::string bson_reading(const std::string& device, std::int32_t n) {
    auto le32 = [](std::int32_t v) {
        std::string b(4, '\0');
        std::memcpy(b.data(), &v, 4);
        return b;
    };
    std::string body;
    body += '\x02';
    body += std::string("device") + '\0';
    body += le32(static_cast<std::int32_t>(device.size() + 1)) + device + '\0';
    body += '\x10';
    body += std::string("n") + '\0';
    body += le32(n);
    body += '\0';
    return le32(static_cast<std::int32_t>(body.size() + 4)) + body;
}

// ---- the table -----------------------------------------------------------------------------

enum class side : std::uint8_t {
    /// File source (lines in `source_schema`) -> stream of schema json -> file sink.
    source,
    /// Payloads produced to a stream of `schema` -> the file sink, which reads them as JSON.
    sink,
};

struct format_row {
    std::string name;     // used for connector keys, topics and file names
    std::string schema;   // the codec
    std::string options;  // its options as TOML lines ({dir}: the run's directory)
    std::function<void(const fs::path&)> files;  // schema files the options name
    side where = side::source;
    std::vector<std::string> good;
    std::vector<std::string> expect;  // the JSON the sink writes for each good payload
    std::string bad;                  // a payload the codec must refuse ("": none can be)
    std::string error_contains;       // in the dead letter's tributary.error header
    /// Source side: the file source's `line_encoding`; each payload is written encoded.
    std::string line_encoding;
    /// Source side with a line_encoding: a line that does not decode in it (dead-lettered by
    /// the source with `line_encoding` in the reason).
    std::string bad_line;
    /// Extra [[streams]] lines of the stream that decodes.
    std::string stream_extra;
    /// The dead letter's tributary.error.stage for the bad payload.
    std::string stage = "decode";
    /// The number of dead letters the row makes.
    std::size_t dead_letters() const { return (bad.empty() ? 0 : 1) + (bad_line.empty() ? 0 : 1); }
    /// [transforms.*] tables of the connector that decodes (empty: none), to run the codec with
    /// transforms as well as without.
    std::string transforms;
};

/// `work`: a directory for generated payloads; `registry`: the schema registry's URL.
std::vector<format_row> rows(const fs::path& work, const std::string& registry) {
    std::vector<format_row> r;
    {
        format_row p;
        p.name = "proto";
        p.schema = "proto";
        p.options =
            "schema_path = \"{dir}/schemas/reading.proto\"\nmessage_type = \"test.Reading\"\n";
        p.files = [](const fs::path& dir) {
            write_file(dir / "schemas" / "reading.proto",
                       "syntax = \"proto3\";\npackage test;\n"
                       "message Reading {\n  string device = 2;\n  double temp = 3;\n"
                       "  int32 seq = 4;\n}\n");
        };
        p.where = side::source;
        p.good = {proto_reading("sensor-a", 21.5, 7), proto_reading("sensor-b", -3.5, 8)};
        p.expect = {R"({"device":"sensor-a","temp":21.5,"seq":7})",
                    R"({"device":"sensor-b","temp":-3.5,"seq":8})"};
        p.bad = std::string("\x12\x50") + "abc";  // a string of 80 bytes with 3 left
        p.error_contains = "proto";
        r.push_back(std::move(p));
    }
    {
        format_row m;
        m.name = "msgpack";
        m.schema = "msgpack";
        m.options = "max_depth = 16\n";
        m.where = side::sink;
        m.good = {msgpack_reading("m-1", 5, true), msgpack_reading("m-2", 6, false)};
        // With a transform: the decoded record goes through it before the sink sees its JSON.
        m.transforms =
            "[transforms.add_fields]\n[[transforms.add_fields.fields]]\nkey = \"via\"\n"
            "value.static = \"tributary\"\n";
        m.expect = {R"({"device":"m-1","n":5,"ok":true,"via":"tributary"})",
                    R"({"device":"m-2","n":6,"ok":false,"via":"tributary"})"};
        m.bad = "\xc1";  // the one byte msgpack never uses
        m.error_contains = "msgpack";
        r.push_back(std::move(m));
    }
    {
        // FlatBuffers from a file of base64 lines, converted to JSON on the source side.
        format_row f;
        f.name = "flat_buffer";
        f.schema = "flat_buffer";
        f.options = "schema_path = \"" +
                    source_path("tests/data/codecs/flatbuffers/iot.fbs").string() +
                    "\"\nroot_table_name = \"iot.Reading\"\n";
        f.where = side::source;
        f.line_encoding = "base64";
        f.good = {flatc_reading(work, "fb0",
                                R"({"device_id":"fb-1","seq":1,"temperature":21.5,)"
                                R"("humidity":0.5,"ok":true,"tags":["a","b"]})"),
                  flatc_reading(work, "fb1", R"({"device_id":"fb-2","seq":2})")};
        f.expect = {R"({"device_id":"fb-1","seq":1,"temperature":21.5,"humidity":0.5,"ok":true,)"
                    R"("tags":["a","b"]})",
                    R"({"device_id":"fb-2","seq":2,"temperature":0.0,"humidity":0.0,"ok":false})"};
        // A root offset past the end of the buffer: the verifier refuses it.
        f.bad = std::string("\xf0\x00\x00\x00\x00\x00\x00\x00", 8);
        f.error_contains = "flat_buffer";
        f.bad_line = "not*base64";
        r.push_back(std::move(f));
    }
    {
        // Confluent-framed Avro written by confluent-kafka's AvroSerializer (schema registered
        // in the stand-in registry), produced to the topic and decoded on the sink side.
        format_row a;
        a.name = "avro_registry";
        a.schema = "schema_registry";
        a.options = "schema_registry_url = \"{registry}\"\n";
        a.where = side::sink;
        run_command(test::venv_python().string() + " " +
                    source_path("tests/runtime/registry_avro_produce.py").string() + " " +
                    registry + " avro_registry " + work.string());
        a.good = {read_file(work / "avro_0.bin"), read_file(work / "avro_1.bin")};
        a.expect = {R"({"device":"av-é","seq":1,"temp":20.25})",
                    R"({"device":"av-2","seq":2,"temp":null})"};
        // A schema id the registry does not have.
        a.bad = std::string("\x00\x00\x00\x7f\x00\x02\x04", 7);
        a.error_contains = "schema id 32512";
        r.push_back(std::move(a));
    }
    {
        format_row b;
        b.name = "bson";
        b.schema = "bson";
        b.where = side::sink;
        b.good = {bson_reading("b-1", 5), bson_reading("b-\xc3\xa9", -6)};
        b.expect = {R"({"device":"b-1","n":5})", "{\"device\":\"b-\xc3\xa9\",\"n\":-6}"};
        b.bad = bson_reading("b-3", 7);
        b.bad[0] = '\x7f';  // a length beyond the payload
        b.error_contains = "bson";
        r.push_back(std::move(b));
    }
    {
        // JSON Schema as a sink stream option: checked on the decoded record before the
        // transforms; a record that does not match is dead-lettered with the JSON pointer and
        // the keyword.
        format_row j;
        j.name = "json_schema";
        j.schema = "json";
        j.stream_extra =
            "json_schema_json = '{\"type\":\"object\",\"required\":[\"device\"],"
            "\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":0}}}'\n"
            "json_schema_draft = \"2020-12\"\n";
        j.where = side::sink;
        j.good = {R"({"device":"j-1","n":1})", R"({"device":"j-2"})"};
        j.transforms =
            "[transforms.add_fields]\n[[transforms.add_fields.fields]]\nkey = \"checked\"\n"
            "value.static = true\n";
        j.expect = {R"({"device":"j-1","n":1,"checked":true})",
                    R"({"device":"j-2","checked":true})"};
        j.bad = R"({"device":"j-3","n":-4})";
        j.error_contains = "\"json_schema: /n: minimum";  // the value's start: said once
        j.stage = "transform";
        r.push_back(std::move(j));
    }
    {
        // The same on a source stream: JSON lines from the file source checked before Iggy.
        format_row j;
        j.name = "json_schema_source";
        j.schema = "json";
        j.stream_extra = "json_schema_path = \"{dir}/schemas/reading.schema.json\"\n";
        j.files = [](const fs::path& dir) {
            write_file(dir / "schemas" / "reading.schema.json",
                       R"({"$schema":"http://json-schema.org/draft-07/schema#",)"
                       R"("type":"object","properties":{"tags":{"type":"array",)"
                       R"("items":{"type":"string"}}}})");
        };
        j.where = side::source;
        j.good = {R"({"tags":["a"]})", R"({"tags":[]})"};
        j.expect = j.good;
        j.bad = R"({"tags":["a",2]})";
        j.error_contains = "\"json_schema: /tags/1: type";
        j.stage = "transform";
        r.push_back(std::move(j));
    }
    {
        // Latin-1 text handed to the sink as UTF-8 text. Every byte is a Latin-1 character, so
        // no payload can fail: the row has no bad one.
        format_row t;
        t.name = "text_latin1";
        t.schema = "text";
        t.options = "encoding = \"latin1\"\n";
        t.where = side::sink;
        t.good = {"caf\xe9 \xbd", "na\xefve"};
        t.expect = {"\"caf\xc3\xa9 \xc2\xbd\"", "\"na\xc3\xafve\""};
        r.push_back(std::move(t));
    }
    return r;
}

std::string runtime_toml(std::uint16_t server_port, std::uint16_t api_port) {
    return "[server]\naddress = \"127.0.0.1:" + std::to_string(server_port) +
           "\"\n[state]\npath = \"{dir}/state\"\n"
           "[connectors]\nconfig_type = \"local\"\nconfig_dir = \"{dir}/connectors\"\n"
           "[http]\nenabled = true\naddress = \"127.0.0.1:" +
           std::to_string(api_port) + "\"\n[logging]\nlevel = \"info\"\n";
}

std::string file_sink(const std::string& key, const std::string& stream, const std::string& topic,
                      const std::string& schema_lines, const std::string& out,
                      const std::string& extra) {
    return "type = \"sink\"\nkey = \"" + key + "\"\nplugin = \"file\"\n[[streams]]\nstream = \"" +
           stream + "\"\ntopics = [\"" + topic + "\"]\n" + schema_lines +
           "batch_length = 100\npoll_interval = \"5ms\"\n" + extra + "[plugin_config]\npath = \"" +
           out + "\"\ninclude_metadata = true\n";
}

std::string dead_letter(const std::string& topic) {
    return "[error_policy]\nmode = \"dead_letter\"\ndead_letter_stream = \"dlq\"\n"
           "dead_letter_topic = \"" +
           topic + "\"\n";
}

void write_connectors(const format_row& row, const fs::path& dir) {
    const fs::path conn = dir / "connectors";
    if (row.files)
        row.files(dir);
    const std::string out = (dir / "out" / (row.name + ".jsonl")).string();
    if (row.where == side::source) {
        auto line = [&](const std::string& payload) {
            return (row.line_encoding == "base64" ? base64(payload) : payload) + "\n";
        };
        std::string lines;
        for (std::size_t i = 0; i < row.good.size(); ++i) {
            // The bad payload (and a line that does not decode) between two good ones: the
            // pipeline must go on after them.
            if (i == 1) {
                if (!row.bad.empty())
                    lines += line(row.bad);
                if (!row.bad_line.empty())
                    lines += row.bad_line + "\n";
            }
            lines += line(row.good[i]);
        }
        write_file(dir / "in" / (row.name + ".bin"), lines);
        write_file(
            conn / ("src_" + row.name + ".toml"),
            with_dir(
                "type = \"source\"\nkey = \"src_" + row.name +
                    "\"\nplugin = \"file\"\n[[streams]]\nstream = \"codecs\"\n"
                    "topic = \"" +
                    row.name + "\"\nschema = \"json\"\nsource_schema = \"" + row.schema +
                    "\"\nlinger_time = \"5ms\"\n" + row.stream_extra +
                    "[streams.source_schema_options]\n" + row.options + dead_letter(row.name) +
                    row.transforms + "[plugin_config]\npath = \"{dir}/in/" + row.name +
                    ".bin\"\npoll_interval = \"20ms\"\n" +
                    (row.line_encoding.empty() ? std::string()
                                               : "line_encoding = \"" + row.line_encoding + "\"\n"),
                dir));
        write_file(
            conn / ("out_" + row.name + ".toml"),
            file_sink("out_" + row.name, "codecs", row.name, "schema = \"json\"\n", out, ""));
    } else {
        // The codec's options written on the [[streams]] table itself.
        write_file(
            conn / ("out_" + row.name + ".toml"),
            with_dir(file_sink("out_" + row.name, "codecs", row.name,
                               "schema = \"" + row.schema + "\"\n" + row.options + row.stream_extra,
                               out, dead_letter(row.name) + row.transforms),
                     dir));
    }
    write_file(conn / ("dlq_" + row.name + ".toml"),
               file_sink("dlq_" + row.name, "dlq", row.name, "schema = \"raw\"\n",
                         (dir / "out" / ("dlq_" + row.name + ".jsonl")).string(), ""));
}

void produce(std::uint16_t port, const std::string& stream, const std::string& topic,
             const std::vector<std::string>& payloads) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    auto iggy = iggy_client_port::connect(o);
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic(stream, topic, 1));
    auto p = (*iggy)->open_producer(producer_options{stream, topic, 1000, 1ms});
    ASSERT_TRUE(p);
    auto b = std::make_shared<message_batch>();
    for (const auto& s : payloads) {
        message m;
        m.payload = b->own(s);
        b->messages.push_back(std::move(m));
    }
    ASSERT_TRUE((*p)->send_sync(b));
    (*p)->close();
}

TEST(codecs_run, every_format_converts_and_dead_letters_what_does_not_decode) {
    TRIB_START_PEER(registry, test::ccompat_standin_spec());
    registry_base_url() = test::registry_url(*registry);
    test::temp_dir work("trib-codecs-payloads");
    const auto table = rows(work.path(), registry_base_url());
    for (const auto& row : table) {
        if (row.where != side::source || !row.line_encoding.empty())
            continue;
        // The file source reads lines: its payloads must hold no line break.
        for (const auto& g : row.good)
            ASSERT_EQ(g.find('\n'), std::string::npos) << row.name;
        ASSERT_EQ(row.bad.find('\n'), std::string::npos) << row.name;
    }
    test::peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.extra_ports = 1;
    s.prepare = [&table](const test::peer& p) {
        write_file(p.dir() / "runtime.toml", with_dir(runtime_toml(p.port(0), p.port(1)), p.dir()));
        for (const auto& row : table)
            write_connectors(row, p.dir());
    };
    s.ready = [](const test::peer& p) { return test::tcp_connectable(p.port(1)); };
    s.ready_timeout = 30000ms;
    s.attempts = 1;
    TRIB_START_PEER(rt, s);

    for (const auto& row : table) {
        if (row.where != side::sink)
            continue;
        std::vector<std::string> payloads = {row.good[0]};
        if (!row.bad.empty())
            payloads.push_back(row.bad);
        payloads.insert(payloads.end(), row.good.begin() + 1, row.good.end());
        produce(rt->port(0), "codecs", row.name, payloads);
    }

    for (const auto& row : table) {
        SCOPED_TRACE(row.name);
        const fs::path out = rt->dir() / "out" / (row.name + ".jsonl");
        const fs::path dlq = rt->dir() / "out" / ("dlq_" + row.name + ".jsonl");
        ASSERT_TRUE(wait_until(
            [&] {
                return count_of(read_file(out), "\n") >= row.good.size() &&
                       count_of(read_file(dlq), "\n") >= row.dead_letters();
            },
            60s))
            << "out: " << read_file(out) << "\ndlq: " << read_file(dlq) << "\n"
            << rt->log();
        const std::string written = read_file(out);
        EXPECT_EQ(count_of(written, "\n"), row.good.size()) << written;
        // In order, each good payload as JSON; the bad one is not there.
        std::size_t at = 0;
        for (const auto& e : row.expect) {
            const auto found = written.find("\"payload\":" + e, at);
            EXPECT_NE(found, std::string::npos) << e << " in\n" << written;
            if (found != std::string::npos)
                at = found;
        }
        const std::string dead = read_file(dlq);
        // (A row without bad payloads: the good ones after where the bad one would be arrived,
        // so nothing was dead-lettered before them.)
        EXPECT_EQ(count_of(dead, "\n"), row.dead_letters()) << dead;
        if (row.dead_letters() == 0)
            continue;
        EXPECT_NE(dead.find("\"tributary.error.stage\":\"" + row.stage + "\""), std::string::npos)
            << dead;
        const auto err = dead.find("\"tributary.error\":\"");
        ASSERT_NE(err, std::string::npos) << dead;
        if (!row.bad.empty()) {
            EXPECT_NE(dead.find(row.error_contains, err), std::string::npos) << dead;
        }
        if (!row.bad_line.empty()) {
            // The line that did not decode is dead-lettered as it was read, with the reason.
            EXPECT_NE(dead.find("line_encoding", err), std::string::npos) << dead;
            EXPECT_NE(dead.find("\"payload\":\"" + base64(row.bad_line) + "\""), std::string::npos)
                << dead;
        }
    }
    ASSERT_TRUE(rt->stop());
}

// ---- configuration -------------------------------------------------------------------------

struct run_result {
    int exit_code = -1;
    std::string output;
};

run_result tributary(const std::string& args) {
    run_result r;
    const std::string cmd = "timeout 60 " + tributary_binary().string() + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr)
        return r;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        r.output.append(buf, n);
    const int st = ::pclose(p);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

TEST(codecs_run, bad_codec_options_exit_2_naming_file_and_key) {
    test::temp_dir dir("trib-codecs");
    const fs::path conn = dir.path() / "connectors";
    write_file(dir.path() / "runtime.toml",
               with_dir("[connectors]\nconfig_dir = \"{dir}/connectors\"\n[http]\nenabled = "
                        "false\n[server]\naddress = \"127.0.0.1:0\"\n",
                        dir.path()));
    // A key of no option (a typo of the codec's), a value out of range in the sub-table, a key
    // given twice, and options of a schema file that does not exist.
    write_file(conn / "a.toml",
               "type = \"sink\"\nkey = \"a\"\nplugin = \"stdout\"\n[[streams]]\nstream = \"s\"\n"
               "topics = [\"t\"]\nschema = \"msgpack\"\nmax_dept = 4\nmax_depth = 8\n"
               "[streams.schema_options]\nmax_depth = 9\n");
    write_file(conn / "b.toml",
               "type = \"sink\"\nkey = \"b\"\nplugin = \"stdout\"\n[[streams]]\nstream = \"s\"\n"
               "topics = [\"t\"]\nschema = \"msgpack\"\n[streams.schema_options]\n"
               "max_depth = 0\n");
    write_file(conn / "c.toml",
               with_dir("type = \"source\"\nkey = \"c\"\nplugin = \"random\"\n[[streams]]\n"
                        "stream = \"s\"\ntopic = \"t\"\nschema = \"json\"\n"
                        "source_schema = \"proto\"\n[streams.source_schema_options]\n"
                        "schema_path = \"{dir}/missing.proto\"\nmessage_type = \"x.Y\"\n",
                        dir.path()));
    // JSON Schema stream keys: a schema that is not JSON, a file that does not exist.
    write_file(conn / "d.toml",
               "type = \"sink\"\nkey = \"d\"\nplugin = \"stdout\"\n[[streams]]\nstream = \"s\"\n"
               "topics = [\"t\"]\nschema = \"json\"\njson_schema_json = '{\"type\": '\n");
    write_file(conn / "e.toml",
               with_dir("type = \"source\"\nkey = \"e\"\nplugin = \"random\"\n[[streams]]\n"
                        "stream = \"s\"\ntopic = \"t\"\nschema = \"json\"\n"
                        "json_schema_path = \"{dir}/missing.schema.json\"\n",
                        dir.path()));
    for (const char* cmd : {"validate", "run"}) {
        auto r = tributary(std::string(cmd) + " " + (dir.path() / "runtime.toml").string());
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.output;
        const std::string a = (conn / "a.toml").string();
        EXPECT_NE(r.output.find(a + ": streams[0].max_dept: "), std::string::npos) << r.output;
        EXPECT_NE(r.output.find(a + ": streams[0].schema_options.max_depth: given twice"),
                  std::string::npos)
            << r.output;
        EXPECT_NE(r.output.find((conn / "b.toml").string() + ": streams[0].max_depth: "),
                  std::string::npos)
            << r.output;
        const auto c = r.output.find((conn / "c.toml").string() + ": streams[0].source_schema: ");
        ASSERT_NE(c, std::string::npos) << r.output;
        EXPECT_NE(r.output.find("missing.proto", c), std::string::npos) << r.output;
        EXPECT_NE(r.output.find((conn / "d.toml").string() + ": streams[0].json_schema_json: "),
                  std::string::npos)
            << r.output;
        const auto e =
            r.output.find((conn / "e.toml").string() + ": streams[0].json_schema_path: ");
        ASSERT_NE(e, std::string::npos) << r.output;
        EXPECT_NE(r.output.find("missing.schema.json", e), std::string::npos) << r.output;
    }
}

}  // namespace
}  // namespace trib::runtime
