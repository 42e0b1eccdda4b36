// The file source and file sink on real files in a temporary directory.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "connectors/file/file.h"
#include "connectors/file/state.h"
#include "core/json_parse.h"
#include "core/message_id.h"
#include "core/metrics.h"
#include "harness/hostile.h"
#include "harness/hostile_json.h"
#include "harness/peer.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void append_text(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::app | std::ios::binary);
    f << s;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string l;
    while (std::getline(ss, l))
        out.push_back(l);
    return out;
}

struct source_run {
    std::unique_ptr<source> src;
    connector_context ctx;
    std::string state;
    std::vector<std::string> got;
    std::vector<message_id> ids;
    std::uint64_t seq = 0;

    void open(const config::values& v, const std::string& st = "") {
        auto s = make_file_source(v);
        ASSERT_TRUE(s) << s.error().to_string();
        src = std::move(*s);
        ctx.key = "tail";
        auto r = src->open(ctx, st);
        ASSERT_TRUE(r) << r.error().to_string();
    }
    /// Polls until `n` messages arrived in total (acking each batch) or the deadline.
    bool poll_until(std::size_t n, std::chrono::milliseconds deadline = 5s) {
        return test::wait_until(
            [&] {
                auto b = src->poll(20ms);
                EXPECT_TRUE(b);
                if (!b)
                    return true;
                for (const auto& m : b->batch.messages) {
                    got.emplace_back(m.payload);
                    ids.push_back(m.id);
                }
                if (b->has_state)
                    state = b->state;
                if (!b->batch.empty())
                    src->ack(++seq);
                return got.size() >= n;
            },
            deadline);
    }
};

std::string src_toml(const fs::path& p, const std::string& extra = "") {
    return "path = \"" + p.string() + "\"\npoll_interval = \"5ms\"\n" + extra;
}

TEST(file_source, reads_complete_lines_and_resumes_from_its_state) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "in.log";
    append_text(p, "one\ntwo\r\n\nthree\npart");
    const auto v = test::spec_values(file_source_spec(), src_toml(p));
    source_run r;
    r.open(v);
    ASSERT_TRUE(r.poll_until(3));
    EXPECT_EQ(r.got, (std::vector<std::string>{"one", "two", "three"}));  // no \r, no empty line
    // "part" has no newline yet: not a line.
    auto b = r.src->poll(30ms);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->batch.empty());
    append_text(p, "ial\nfour\n");
    ASSERT_TRUE(r.poll_until(5));
    EXPECT_EQ(r.got[3], "partial");
    EXPECT_EQ(r.got[4], "four");
    r.src->close();

    // A new instance with the saved state continues after "four".
    append_text(p, "five\n");
    source_run r2;
    r2.open(v, r.state);
    ASSERT_TRUE(r2.poll_until(1));
    EXPECT_EQ(r2.got, (std::vector<std::string>{"five"}));
}

TEST(file_source, start_position_end_skips_existing_lines) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "in.log";
    append_text(p, "old1\nold2\n");
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p, "start_position = \"end\"\n")));
    append_text(p, "new\n");
    ASSERT_TRUE(r.poll_until(1));
    EXPECT_EQ(r.got, (std::vector<std::string>{"new"}));
}

TEST(file_source, waits_for_a_file_that_does_not_exist_yet) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "later.log";
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p)));
    auto b = r.src->poll(20ms);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->batch.empty());
    append_text(p, "hello\n");
    ASSERT_TRUE(r.poll_until(1));
}

TEST(file_source, survives_rename_rotation_without_loss) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "app.log";
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p, "max_batch_lines = 7\n")));
    int n = 0;
    auto write = [&](int count) {
        std::string s;
        for (int i = 0; i < count; ++i)
            s += "line" + std::to_string(++n) + "\n";
        append_text(p, s);
    };
    write(20);
    ASSERT_TRUE(r.poll_until(5));
    write(10);  // appended to the old file before the rename, not read yet
    fs::rename(p, dir.path() / "app.log.1");
    write(15);  // a new file at the path
    ASSERT_TRUE(r.poll_until(45));
    write(3);  // the writer still appends just before the next rotation
    fs::rename(p, dir.path() / "app.log.2");
    write(2);
    ASSERT_TRUE(r.poll_until(50));
    ASSERT_EQ(r.got.size(), 50u);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(r.got[i], "line" + std::to_string(i + 1));
}

TEST(file_source, survives_copytruncate) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "app.log";
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p)));
    append_text(p, "a1\na2\na3\n");
    ASSERT_TRUE(r.poll_until(3));
    fs::copy_file(p, dir.path() / "app.log.1");
    fs::resize_file(p, 0);
    append_text(p, "b1\nb2\n");
    ASSERT_TRUE(r.poll_until(5));
    EXPECT_EQ(r.got, (std::vector<std::string>{"a1", "a2", "a3", "b1", "b2"}));
}

TEST(file_source, copytruncate_then_longer_rewrite_is_noticed_by_fingerprint) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "app.log";
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p)));
    append_text(p, "first-generation-1\nfirst-generation-2\n");
    ASSERT_TRUE(r.poll_until(2));
    // Truncated and rewritten past the old offset before the source looked again.
    fs::resize_file(p, 0);
    append_text(p, "second-generation-1\nsecond-generation-2\nsecond-generation-3\n");
    ASSERT_TRUE(r.poll_until(5));
    EXPECT_EQ(r.got[2], "second-generation-1");
    EXPECT_EQ(r.got[4], "second-generation-3");
}

std::set<std::string> hex_set(const std::vector<message_id>& ids) {
    std::set<std::string> out;
    for (const auto& id : ids)
        out.insert(to_hex(id));
    return out;
}

TEST(file_source, line_ids_are_stable_across_restarts_and_distinct) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "app.log";
    std::string text;
    for (int i = 0; i < 200; ++i)
        text += "same line\n";  // equal text: only the position tells the lines apart
    append_text(p, text);
    const auto v = test::spec_values(file_source_spec(), src_toml(p, "max_batch_lines = 50\n"));
    source_run r;
    r.open(v);
    ASSERT_TRUE(r.poll_until(200));
    ASSERT_EQ(r.ids.size(), 200u);
    EXPECT_EQ(hex_set(r.ids).size(), 200u);
    for (const auto& id : r.ids)
        EXPECT_FALSE(id.is_zero());
    r.src->close();

    // A restart that lost its state (a crash before the position was saved) reads the lines
    // again: the same ids, which a de-duplicating server drops.
    source_run again;
    again.open(v);
    ASSERT_TRUE(again.poll_until(200));
    EXPECT_EQ(again.ids, r.ids);
    again.src->close();

    // A restart from a saved position mid-file: the remaining lines keep their ids.
    source_run first_half;
    first_half.open(v);
    ASSERT_TRUE(first_half.poll_until(50));
    const std::size_t n = first_half.ids.size();
    first_half.src->close();
    source_run rest;
    rest.open(v, first_half.state);
    ASSERT_TRUE(rest.poll_until(200 - n));
    ASSERT_EQ(rest.ids.size(), 200 - n);
    EXPECT_TRUE(std::equal(rest.ids.begin(), rest.ids.end(), r.ids.begin() + n));

    // Another file (another inode) with the same text: other ids.
    const auto q = dir.path() / "other.log";
    append_text(q, text);
    source_run other;
    other.open(test::spec_values(file_source_spec(), src_toml(q)));
    ASSERT_TRUE(other.poll_until(200));
    auto all = hex_set(r.ids);
    for (const auto& id : other.ids)
        all.insert(to_hex(id));
    EXPECT_EQ(all.size(), 400u);
}

TEST(file_source, lines_rewritten_after_copytruncate_get_new_ids) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "app.log";
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p)));
    append_text(p, "2026-12-07T10:00:00 a1\n2026-12-07T10:00:01 a2\n");
    ASSERT_TRUE(r.poll_until(2));
    fs::resize_file(p, 0);
    // Same lengths, so the same offsets: only the file's first line tells them apart.
    append_text(p, "2026-12-07T11:00:00 b1\n2026-12-07T11:00:01 b2\n");
    ASSERT_TRUE(r.poll_until(4));
    ASSERT_EQ(r.ids.size(), 4u);
    EXPECT_EQ(hex_set(r.ids).size(), 4u);
}

TEST(file_source, resumes_a_file_rotated_while_the_runtime_was_down) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "app.log";
    append_text(p, "l1\nl2\nl3\n");
    const auto v = test::spec_values(file_source_spec(), src_toml(p));
    source_run r;
    r.open(v);
    ASSERT_TRUE(r.poll_until(3));
    r.src->close();
    // While down: more lines into the old file, then rotation and a new file.
    append_text(p, "l4\nl5\n");
    fs::rename(p, dir.path() / "app.log.1");
    append_text(p, "l6\n");
    source_run r2;
    r2.open(v, r.state);
    ASSERT_TRUE(r2.poll_until(3));
    EXPECT_EQ(r2.got, (std::vector<std::string>{"l4", "l5", "l6"}));
}

TEST(file_source, cuts_over_long_lines_and_adds_headers) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "big.log";
    append_text(p, std::string(40, 'x') + "\nshort\n");
    source_run r;
    r.open(test::spec_values(file_source_spec(),
                             src_toml(p, "max_line_bytes = 16\nadd_headers = true\n")));
    ASSERT_TRUE(r.poll_until(4));
    EXPECT_EQ(r.got[0], std::string(16, 'x'));
    EXPECT_EQ(r.got[2], std::string(8, 'x'));
    EXPECT_EQ(r.got[3], "short");
}

TEST(file_source, line_encoding_decodes_binary_payloads_and_rejects_bad_lines_as_read) {
    test::temp_dir dir("trib-fsrc");
    // Bytes with newlines, carriage returns and NULs: what binary formats carry.
    const std::string bin1("\x00\n\x01\r\n\xff", 6);
    const std::string bin2 = "plain";
    struct row {
        std::string encoding;
        std::string line1, line2;  // bin1 and bin2 written in that encoding
        std::string bad;           // a line that is not valid in it
    };
    const std::vector<row> rows = {
        {"base64", "AAoBDQr_", "cGxhaW4", "AAo*AQ=="},  // URL-safe/unpadded accepted; '*' is not
        {"hex", "000A010d0aff", "706c61696e", "0g"},    // either case; 'g' is no hex digit
    };
    for (const auto& rw : rows) {
        SCOPED_TRACE(rw.encoding);
        const auto p = dir.path() / (rw.encoding + ".txt");
        append_text(p, rw.line1 + "\r\n" + rw.bad + "\n" + rw.line2 + "\n");
        source_run r;
        r.open(test::spec_values(
            file_source_spec(),
            src_toml(p, "line_encoding = \"" + rw.encoding + "\"\nadd_headers = true\n")));
        std::vector<source_reject> rejected;
        std::vector<std::string> rejected_payloads;
        ASSERT_TRUE(test::wait_until(
            [&] {
                auto b = r.src->poll(20ms);
                EXPECT_TRUE(b);
                if (!b)
                    return true;
                for (const auto& m : b->batch.messages)
                    r.got.emplace_back(m.payload);
                for (auto& rj : b->rejected) {
                    rejected_payloads.emplace_back(rj.original.payload);  // valid until b dies
                    rejected.push_back(std::move(rj));
                }
                return r.got.size() + rejected.size() >= 3;
            },
            5s));
        EXPECT_EQ(r.got, (std::vector<std::string>{bin1, bin2}));
        ASSERT_EQ(rejected.size(), 1u);
        // Kept as it was read, with its place in the file, and the reason.
        EXPECT_EQ(rejected_payloads[0], rw.bad);
        EXPECT_NE(rejected[0].err.message().find(rw.encoding), std::string::npos)
            << rejected[0].err.to_string();
        EXPECT_NE(rejected[0].err.message().find(p.string()), std::string::npos);
        const auto& hs = rejected[0].original.headers;
        auto off = std::find_if(hs.begin(), hs.end(),
                                [](const header& h) { return h.key == "file.offset"; });
        ASSERT_NE(off, hs.end());
        std::uint64_t at = 0;
        ASSERT_EQ(off->value.size(), 8u);
        std::memcpy(&at, off->value.data(), 8);
        EXPECT_EQ(at, rw.line1.size() + 2);
    }
    // The option is an enumeration: a typo is refused at load.
    const auto p = dir.path() / "x.txt";
    EXPECT_NE(test::spec_problems(file_source_spec(), src_toml(p, "line_encoding = \"b64\"\n"))
                  .find("line_encoding"),
              std::string::npos);
}

TEST(file_source, nack_rewinds_to_the_batch) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "in.log";
    append_text(p, "a\nb\nc\n");
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p, "max_batch_lines = 2\n")));
    auto b1 = r.src->poll(100ms);
    ASSERT_TRUE(b1);
    ASSERT_EQ(b1->batch.size(), 2u);
    r.src->nack(1);
    auto b2 = r.src->poll(100ms);
    ASSERT_TRUE(b2);
    ASSERT_EQ(b2->batch.size(), 2u);
    EXPECT_EQ(b2->batch.messages[0].payload, "a");
}

// ---- sink -----------------------------------------------------------------------------------

struct sink_run {
    std::unique_ptr<sink> snk;
    connector_context ctx;
    void open(const config::values& v, file_sink_clock now = {}) {
        auto s = make_file_sink_with_clock(v, std::move(now));
        ASSERT_TRUE(s) << s.error().to_string();
        snk = std::move(*s);
        ctx.key = "out";
        auto r = snk->open(ctx);
        ASSERT_TRUE(r) << r.error().to_string();
    }
    /// Messages at offsets first_offset.. with Iggy timestamps first_ts.. (0: all zero).
    result<write_outcome> write(const std::vector<std::string>& payloads,
                                std::uint64_t first_offset, std::string_view schema = "json",
                                std::uint32_t partition = 0, std::uint64_t first_ts = 0) {
        message_batch b;
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            message m;
            m.offset = first_offset + i;
            m.timestamp_us = first_ts == 0 ? 0 : first_ts + i;
            m.partition = partition;
            m.id = message_id{first_offset + i, 0};
            m.payload = b.own(payloads[i]);
            m.headers.push_back(header{"h", value_kind::string, "v"});
            b.messages.push_back(std::move(m));
        }
        sink_batch sb{"s", "t", partition, schema, &b};
        return snk->write(sb);
    }
};

std::string sink_toml(const fs::path& p, const std::string& extra = "") {
    return "path = \"" + p.string() + "\"\n" + extra;
}

TEST(file_sink, writes_json_lines_by_schema) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "sub" / "out.jsonl";
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p)));
    auto w = r.write({"{\"a\": 1,\n \"b\": [1, 2]}", "not json"}, 0, "json");
    ASSERT_TRUE(w);
    ASSERT_EQ(w->rejected.size(), 1u);  // invalid JSON goes to the error policy
    EXPECT_EQ(w->rejected[0].index, 1u);
    ASSERT_TRUE(r.write({"line \"quoted\"\n"}, 2, "text"));
    ASSERT_TRUE(r.write({std::string("\x00\x01\xff", 3)}, 3, "raw"));
    r.snk->close();
    auto lines = lines_of(slurp(p));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "{\"payload\":{\"a\": 1,  \"b\": [1, 2]}}");
    EXPECT_EQ(lines[1], "{\"payload\":\"line \\\"quoted\\\"\\n\"}");
    EXPECT_EQ(lines[2], "{\"payload\":\"AAH/\"}");
}

TEST(file_sink, hostile_json_goes_to_the_error_policy_and_is_not_written) {
    // Issue 12: 200,000 '[' crashed the sink's recursive check, and {"k":1}\0garbage passed it
    // and left an invalid line in the file.
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p)));
    auto hostile = testing::hostile_json_inputs();
    std::vector<std::string> payloads{"{\"good\":1}"};
    for (const auto& [name, bytes] : hostile)
        payloads.push_back(bytes);
    payloads.push_back("{\"good\":2}");
    auto w = r.write(payloads, 0, "json");
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_EQ(w->rejected.size(), hostile.size());
    for (std::size_t i = 0; i < hostile.size(); ++i) {
        EXPECT_EQ(w->rejected[i].index, i + 1) << hostile[i].first;
        EXPECT_EQ(w->rejected[i].err.retry(), retry_class::fatal) << hostile[i].first;
        EXPECT_EQ(w->rejected[i].err.message().rfind("not valid JSON: ", 0), 0u)
            << hostile[i].first << ": " << w->rejected[i].err.message();
    }
    r.snk->close();
    auto lines = lines_of(slurp(p));
    ASSERT_EQ(lines.size(), 2u);
    for (const auto& l : lines)
        EXPECT_TRUE(check_json(l)) << l;
    EXPECT_NE(lines[1].find("\"good\":2"), std::string::npos);
}

TEST(file_sink, metadata_and_raw_format) {
    test::temp_dir dir("trib-fsink");
    sink_run r;
    r.open(test::spec_values(file_sink_spec(),
                             sink_toml(dir.path() / "m.jsonl", "include_metadata = true\n")));
    ASSERT_TRUE(r.write({"{\"x\":true}"}, 41, "json", 3));
    r.snk->close();
    const auto line = lines_of(slurp(dir.path() / "m.jsonl")).at(0);
    EXPECT_EQ(line.rfind("{\"stream\":\"s\",\"topic\":\"t\",\"partition\":3,\"offset\":41,", 0), 0u)
        << line;
    EXPECT_NE(line.find("\"headers\":{\"h\":\"v\"}"), std::string::npos);
    EXPECT_NE(line.find("\"payload\":{\"x\":true}}"), std::string::npos);

    sink_run raw;
    raw.open(
        test::spec_values(file_sink_spec(), sink_toml(dir.path() / "r.txt", "format = \"raw\"\n")));
    ASSERT_TRUE(raw.write({"abc", "def"}, 0, "text"));
    raw.snk->close();
    EXPECT_EQ(slurp(dir.path() / "r.txt"), "abc\ndef\n");
}

TEST(file_sink, rotates_by_size) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p, "max_file_size = 100\n")));
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(r.write({"\"message number " + std::to_string(i) + "\""}, i, "json"));
    }
    r.snk->close();
    std::size_t total = 0;
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) {
        ++files;
        EXPECT_LE(fs::file_size(e.path()), 100u) << e.path();
        total += lines_of(slurp(e.path())).size();
    }
    EXPECT_EQ(total, 10u);
    EXPECT_GE(files, 3u);
    EXPECT_TRUE(fs::exists(dir.path() / "out.jsonl.1"));
}

TEST(file_sink, rotates_by_time) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    sink_run r;
    // The sink's clock is ours: time passes only when the test says so.
    auto now = std::chrono::steady_clock::now();
    r.open(test::spec_values(file_sink_spec(), sink_toml(p, "rotate_interval = \"30ms\"\n")),
           [&now] { return now; });
    ASSERT_TRUE(r.write({"1"}, 0));
    now += 29ms;
    ASSERT_TRUE(r.write({"2"}, 1));
    EXPECT_FALSE(fs::exists(dir.path() / "out.jsonl.1")) << "rotated before the interval";
    now += 1ms;
    ASSERT_TRUE(r.write({"3"}, 2));
    r.snk->close();
    EXPECT_EQ(lines_of(slurp(dir.path() / "out.jsonl.1")).size(), 2u);
    EXPECT_EQ(lines_of(slurp(p)).size(), 1u);
}

TEST(file_sink, cuts_a_torn_last_line_at_open) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    append_text(p, "{\"payload\":1}\n{\"payload\":2}\n{\"payl");
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p)));
    ASSERT_TRUE(r.write({"3"}, 2));
    r.snk->close();
    EXPECT_EQ(slurp(p), "{\"payload\":1}\n{\"payload\":2}\n{\"payload\":3}\n");
}

TEST(file_sink, idempotent_mode_leaves_no_duplicates_on_replay) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    const auto v = test::spec_values(file_sink_spec(),
                                     sink_toml(p, "idempotent = true\nmax_file_size = 400\n"));
    std::vector<std::string> payloads;
    for (int i = 0; i < 30; ++i)
        payloads.push_back(std::to_string(i));
    {
        sink_run r;
        r.open(v);
        ASSERT_TRUE(r.write({payloads.begin(), payloads.begin() + 10}, 0, "json", 0));
        ASSERT_TRUE(r.write({payloads.begin(), payloads.begin() + 5}, 100, "json", 1));
        ASSERT_TRUE(r.write({payloads.begin() + 10, payloads.begin() + 20}, 10, "json", 0));
        r.snk->close();
    }
    EXPECT_TRUE(fs::exists(dir.path() / "out.jsonl.1"));
    {
        // A restart replays from an older commit: 5..29 of partition 0 and all of partition 1.
        sink_run r;
        r.open(v);
        ASSERT_TRUE(r.write({payloads.begin() + 5, payloads.end()}, 5, "json", 0));
        ASSERT_TRUE(r.write({payloads.begin(), payloads.begin() + 6}, 100, "json", 1));
        EXPECT_TRUE(r.snk->idempotent());
        r.snk->close();
    }
    std::map<std::pair<int, int>, int> seen;
    for (const auto& e : fs::directory_iterator(dir.path())) {
        if (e.path().extension() == ".offsets")
            continue;
        for (const auto& l : lines_of(slurp(e.path()))) {
            const auto pp = l.find("\"partition\":");
            const auto oo = l.find("\"offset\":");
            ASSERT_NE(pp, std::string::npos) << l;
            ++seen[{std::stoi(l.substr(pp + 12)), std::stoi(l.substr(oo + 9))}];
        }
    }
    EXPECT_EQ(seen.size(), 30u + 6u);
    for (const auto& [k, n] : seen)
        EXPECT_EQ(n, 1) << k.first << "/" << k.second;
}

// ---- hostile state and files (issue 12) --------------------------------------------------------

std::uint64_t status_kb(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.starts_with(field))
            return std::stoull(line.substr(std::strlen(field)));  // trusted: the kernel's text
    }
    return 0;
}

TEST(file_source, every_hostile_state_is_refused_with_a_clear_error) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "in.log";
    append_text(p, "a\nb\n");
    auto cases = test::hostile_inputs("state/file_source");
    ASSERT_GE(cases.size(), 10u);
    // And generated ones: a field of a million digits, a megabyte of garbage.
    cases.emplace_back("million_digit_offset",
                       "v1 1 2 " + std::string(1'000'000, '9') + " 4 0000000000000000");
    cases.emplace_back("megabyte_of_spaces", std::string(1u << 20, ' '));
    for (const auto& [name, state] : cases) {
        auto made = make_file_source(test::spec_values(file_source_spec(), src_toml(p)));
        ASSERT_TRUE(made);
        connector_context ctx;
        ctx.key = "tail";
        auto st = (*made)->open(ctx, state);
        ASSERT_FALSE(st) << name << " was accepted";
        EXPECT_EQ(st.error().code(), errc::data_loss) << name;
        EXPECT_NE(st.error().message().find("file source state"), std::string::npos)
            << name << ": " << st.error().message();
        EXPECT_LT(st.error().message().size(), 400u) << name;  // an excerpt, not the whole state
        (*made)->close();
    }
}

TEST(file_source, a_valid_state_still_resumes) {
    test::temp_dir dir("trib-fsrc");
    const auto p = dir.path() / "in.log";
    append_text(p, "one\ntwo\n");
    source_run r;
    r.open(test::spec_values(file_source_spec(), src_toml(p)));
    ASSERT_TRUE(r.poll_until(2));
    r.src->close();
    auto decoded = file_detail::decode_source_position(r.state);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(decoded->encode(), r.state);
    append_text(p, "three\n");
    source_run r2;
    r2.open(test::spec_values(file_source_spec(), src_toml(p)), r.state);
    ASSERT_TRUE(r2.poll_until(1));
    EXPECT_EQ(r2.got, std::vector<std::string>{"three"});
}

TEST(file_sink, every_hostile_offsets_sidecar_stops_the_sink_and_is_left_alone) {
    const auto files = test::hostile_inputs("state/file_sink_offsets");
    ASSERT_GE(files.size(), 10u);
    for (const auto& [name, bad] : files) {
        test::temp_dir dir("trib-fsink");
        const auto p = dir.path() / "out.jsonl";
        append_text(fs::path(p.string() + ".offsets"), bad);
        auto made = make_file_sink(
            test::spec_values(file_sink_spec(), sink_toml(p, "idempotent = true\n")));
        ASSERT_TRUE(made);
        connector_context ctx;
        ctx.key = "out";
        auto st = (*made)->open(ctx);
        ASSERT_FALSE(st) << name << " was accepted";
        EXPECT_EQ(st.error().code(), errc::data_loss) << name;
        EXPECT_NE(st.error().message().find(p.string() + ".offsets"), std::string::npos)
            << st.error().message();
        (*made)->close();
        EXPECT_EQ(slurp(fs::path(p.string() + ".offsets")), bad) << name;
    }
}

TEST(file_sink, an_oversized_offsets_sidecar_is_refused_without_reading_it) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    {
        std::ofstream f(p.string() + ".offsets", std::ios::binary);
        f.seekp((64 << 20) + 1);  // sparse: 64 MiB + 2 bytes
        f << '\n';
    }
    auto made =
        make_file_sink(test::spec_values(file_sink_spec(), sink_toml(p, "idempotent = true\n")));
    ASSERT_TRUE(made);
    connector_context ctx;
    auto st = (*made)->open(ctx);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::data_loss);
    EXPECT_NE(st.error().message().find("more than"), std::string::npos) << st.error().message();
}

TEST(file_sink, stray_rotation_suffixes_are_ignored) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    for (const char* stray : {".99999999999999999999999", ".18446744073709551615", ".1000000000",
                              ".0", ".-1", ".1e3", ".offsets.5"}) {
        append_text(fs::path(p.string() + stray), "not ours\n");
    }
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p, "max_file_size = 20\n")));
    ASSERT_TRUE(r.write({"1"}, 0));
    ASSERT_TRUE(r.write({"2"}, 1));
    r.snk->close();
    EXPECT_EQ(slurp(fs::path(p.string() + ".1")), "{\"payload\":1}\n");
    EXPECT_EQ(slurp(p), "{\"payload\":2}\n");
    EXPECT_EQ(slurp(fs::path(p.string() + ".99999999999999999999999")), "not ours\n");
}

TEST(file_sink, rotation_never_replaces_a_file_that_appeared_later) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p, "max_file_size = 20\n")));
    ASSERT_TRUE(r.write({"1"}, 0));
    append_text(fs::path(p.string() + ".1"), "somebody else's\n");  // after open()
    ASSERT_TRUE(r.write({"2"}, 1));
    r.snk->close();
    EXPECT_EQ(slurp(fs::path(p.string() + ".1")), "somebody else's\n");
    EXPECT_EQ(slurp(fs::path(p.string() + ".2")), "{\"payload\":1}\n");
}

TEST(file_sink, keeps_a_last_line_without_newline_that_it_did_not_write) {
    // The case was a 1 GiB file without any newline (cut to 0 bytes); 8 MiB behaves the
    // same (the search for its start stops after 64 MiB either way) and keeps the test quick.
    for (const std::string format : {"json", "raw"}) {
        test::temp_dir dir("trib-fsink");
        const auto p = dir.path() / "out.txt";
        std::string text(8u << 20, 'x');
        text += "the end";
        append_text(p, text);
        sink_run r;
        r.open(test::spec_values(file_sink_spec(), sink_toml(p, "format = \"" + format + "\"\n")));
        ASSERT_TRUE(r.write({"1"}, 0, "json"));
        r.snk->close();
        const std::string want = format == "json" ? "{\"payload\":1}\n" : "1\n";
        EXPECT_EQ(slurp(p), text + "\n" + want) << format;
    }
    // Another program's unterminated line of a few bytes, and one that looks like JSON.
    for (const std::string theirs : {"hello", "{\"a\":1}", "{\"stream\":5}", "{\"payload\"x"}) {
        test::temp_dir dir("trib-fsink");
        const auto p = dir.path() / "out.jsonl";
        append_text(p, "{\"payload\":0}\n" + theirs);
        sink_run r;
        r.open(test::spec_values(file_sink_spec(), sink_toml(p)));
        ASSERT_TRUE(r.write({"1"}, 0));
        r.snk->close();
        EXPECT_EQ(slurp(p), "{\"payload\":0}\n" + theirs + "\n{\"payload\":1}\n") << theirs;
    }
}

TEST(file_sink, hostile_file_endings_are_cut_only_when_they_are_its_own_torn_line) {
    // ours_*: the start of a line of the sink's own shape: cut back to the last newline.
    // theirs_*: anything else: kept whole, the next line starts after a newline.
    const auto files = test::hostile_inputs("file");
    ASSERT_GE(files.size(), 10u);
    for (const auto& [name, content] : files) {
        test::temp_dir dir("trib-fsink");
        const auto p = dir.path() / "out.jsonl";
        append_text(p, content);
        sink_run r;
        r.open(test::spec_values(file_sink_spec(), sink_toml(p)));
        ASSERT_TRUE(r.write({"9"}, 0));
        r.snk->close();
        const bool ours = name.starts_with("ours_");
        ASSERT_TRUE(ours || name.starts_with("theirs_")) << name;
        const std::string kept = ours ? content.substr(0, content.rfind('\n') + 1) : content + "\n";
        EXPECT_EQ(slurp(p), kept + "{\"payload\":9}\n") << name;
    }
}

TEST(file_sink, cuts_its_own_torn_line_with_metadata) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    const auto v = test::spec_values(file_sink_spec(), sink_toml(p, "include_metadata = true\n"));
    {
        sink_run r;
        r.open(v);
        ASSERT_TRUE(r.write({"1", "2"}, 0));
        r.snk->close();
    }
    const std::string whole = slurp(p);
    const auto second = whole.find('\n') + 1;
    // Every prefix of the second line is a torn write of ours: cut at open.
    for (std::size_t cut = second + 1; cut < whole.size() - 1; cut += 7) {
        test::temp_dir d2("trib-fsink");
        const auto p2 = d2.path() / "out.jsonl";
        append_text(p2, whole.substr(0, cut));
        sink_run r;
        r.open(test::spec_values(file_sink_spec(), sink_toml(p2, "include_metadata = true\n")));
        r.snk->close();
        EXPECT_EQ(slurp(p2), whole.substr(0, second)) << "cut at " << cut;
    }
}

TEST(file_sink, idempotent_start_up_memory_does_not_grow_with_the_file) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    // 300 MiB of lines of our shape (no sidecar: the worst case, all of it is read), written in
    // 4 MiB pieces.
    constexpr std::uint64_t k_size = 300u << 20;
    std::uint64_t offset = 0;
    {
        std::ofstream f(p, std::ios::binary);
        std::string piece;
        const std::string pad(900, 'x');
        std::uint64_t written = 0;
        while (written < k_size) {
            piece.clear();
            while (piece.size() < (4u << 20)) {
                piece += "{\"stream\":\"s\",\"topic\":\"t\",\"partition\":0,\"offset\":" +
                         std::to_string(offset++) +
                         ",\"id\":\"00000000000000000000000000000000\",\"timestamp\":0,"
                         "\"origin_timestamp\":0,\"payload\":\"" +
                         pad + "\"}\n";
            }
            f << piece;
            written += piece.size();
        }
    }
    const std::uint64_t last = offset - 1;
    {
        std::ofstream clear("/proc/self/clear_refs");
        clear << "5";  // resets VmHWM to the current RSS
    }
    const std::uint64_t before = status_kb("VmRSS:");
    sink_run r;
    r.open(test::spec_values(file_sink_spec(), sink_toml(p, "idempotent = true\n")));
    const std::uint64_t peak = status_kb("VmHWM:");
    std::printf(
        "RSS before open %llu KiB, peak during open %llu KiB (+%llu KiB) for a %llu MiB file\n",
        static_cast<unsigned long long>(before), static_cast<unsigned long long>(peak),
        static_cast<unsigned long long>(peak - before),
        static_cast<unsigned long long>(fs::file_size(p) >> 20));
    EXPECT_LT(peak - before, 32u * 1024) << "start-up read the file into memory";
    // And the marks are right: the last offset is skipped, the next one written.
    const auto size = fs::file_size(p);
    ASSERT_TRUE(r.write({"1", "2"}, last));
    EXPECT_GT(fs::file_size(p), size);
    const std::string tail = [&] {
        std::ifstream f(p, std::ios::binary);
        f.seekg(static_cast<std::streamoff>(size));
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }();
    EXPECT_EQ(lines_of(tail).size(), 1u) << tail;
    EXPECT_NE(tail.find("\"offset\":" + std::to_string(last + 1)), std::string::npos);
    r.snk->close();
    // close() saved a checkpoint of the whole file: the next start reads none of it.
    const std::string sidecar = slurp(fs::path(p.string() + ".offsets"));
    EXPECT_NE(sidecar.find(",\"size\":" + std::to_string(fs::file_size(p)) + "}}"),
              std::string::npos)
        << sidecar;
}

TEST(file_sink, idempotent_marks_come_from_the_checkpoint_and_the_lines_after_it) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    const auto v = test::spec_values(file_sink_spec(), sink_toml(p, "idempotent = true\n"));
    {
        sink_run r;
        r.open(v);
        ASSERT_TRUE(r.write({"0", "1", "2"}, 0));
        r.snk->close();  // checkpoint at 3 lines
    }
    // Lines after the checkpoint, as a crash before the next checkpoint leaves them.
    const std::string line3 =
        "{\"stream\":\"s\",\"topic\":\"t\",\"partition\":0,\"offset\":3,\"id\":"
        "\"00000000000000000000000000000003\",\"timestamp\":0,\"origin_timestamp\":0,"
        "\"payload\":3}\n";
    append_text(p, line3);
    sink_run r;
    r.open(v);
    ASSERT_TRUE(r.write({"0", "1", "2", "3", "4"}, 0));
    r.snk->close();
    const auto lines = lines_of(slurp(p));
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_NE(lines[4].find("\"offset\":4"), std::string::npos);
}

TEST(file_sink, idempotent_mode_writes_messages_after_a_topic_purge) {
    test::temp_dir dir("trib-fsink");
    const auto p = dir.path() / "out.jsonl";
    const auto v = test::spec_values(file_sink_spec(), sink_toml(p, "idempotent = true\n"));
    metrics_registry reg;
    std::vector<std::string> ten;
    for (int i = 0; i < 10; ++i)
        ten.push_back(std::to_string(i));
    {
        sink_run r;
        r.ctx.metrics = &reg;
        r.open(v);
        ASSERT_TRUE(r.write(ten, 0, "json", 0, 1000));  // offsets 0..9, timestamps 1000..1009
        ASSERT_TRUE(r.write(ten, 0, "json", 0, 1000));  // a replay: nothing
        EXPECT_EQ(lines_of(slurp(p)).size(), 10u);
        // The topic was purged: offsets start at 0 again, with newer timestamps.
        ASSERT_TRUE(r.write({"100", "101", "102"}, 0, "json", 0, 5000));
        EXPECT_EQ(lines_of(slurp(p)).size(), 13u);
        ASSERT_TRUE(
            r.write({"100", "101", "102"}, 0, "json", 0, 5000));  // a replay after the purge
        EXPECT_EQ(lines_of(slurp(p)).size(), 13u);
        r.snk->close();
    }
    EXPECT_NE(reg.prometheus_text().find("trib_file_sink_offset_resets_total{connector=\"out\"} 1"),
              std::string::npos)
        << reg.prometheus_text();
    {
        // After a restart (marks from the file) the same: replays skipped, new ones written.
        fs::remove(p.string() + ".offsets");
        sink_run r;
        r.open(v);
        ASSERT_TRUE(r.write({"100", "101", "102", "103"}, 0, "json", 0, 5000));
        r.snk->close();
    }
    const auto lines = lines_of(slurp(p));
    ASSERT_EQ(lines.size(), 14u);
    EXPECT_NE(lines[13].find("\"offset\":3,"), std::string::npos) << lines[13];
    EXPECT_NE(lines[13].find("\"payload\":103}"), std::string::npos) << lines[13];
}

TEST(file_sink, max_file_size_defaults_to_a_finite_size) {
    const auto v = test::spec_values(file_sink_spec(), "path = \"x\"\n");
    EXPECT_EQ(v.size("max_file_size"), 1ull << 30);
}

}  // namespace
}  // namespace trib::connectors
