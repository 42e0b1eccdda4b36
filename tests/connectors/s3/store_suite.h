#pragma once
// The checks every object store passes against its real peer (one suite for GCS, Azure Blob and
// HDFS; the S3 tests have their own): the store contract (conditional put refused twice, list
// order, prefix, start_after and paging, ranged get, delete, copy, move, large objects), and the
// sink and source over the store (exactly one object per offset range after a replay in a fresh
// sink, the source reading every line back).

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "config/spec.h"
#include "connectors/s3/object_store.h"
#include "core/connector.h"
#include "harness/peer.h"
#include "runtime/spec_values.h"
#include "store_peers.h"

namespace trib::test {

using connectors::s3_detail::object_store;
using connectors::s3_detail::put_outcome;

/// The store contract. `tags`: the store keeps tag_of() (HDFS does not).
inline void check_store_contract(object_store& st, bool tags, std::uint64_t part_size) {
    // Conditional put: created once, refused twice, the first bytes kept.
    auto p1 = st.put_if_absent("c/one.txt", "first", "text/plain", "7/123");
    ASSERT_TRUE(p1) << p1.error().to_string();
    EXPECT_EQ(*p1, put_outcome::created);
    for (int i = 0; i < 2; ++i) {
        auto again = st.put_if_absent("c/one.txt", "second", "text/plain", "8/456");
        ASSERT_TRUE(again) << again.error().to_string();
        EXPECT_EQ(*again, put_outcome::already_existed) << "attempt " << i;
    }
    auto body = st.get("c/one.txt", 0, 0, {});
    ASSERT_TRUE(body) << body.error().to_string();
    EXPECT_EQ(*body, "first");
    auto tag = st.tag_of("c/one.txt");
    ASSERT_TRUE(tag) << tag.error().to_string();
    if (tags) {
        EXPECT_EQ(*tag, "7/123");
    }
    auto missing = st.tag_of("c/none.txt");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), errc::not_found);

    // Keys in order, prefix, start_after, paging.
    for (const char* k : {"c/b/2.txt", "c/a.txt", "c/b/1.txt", "c/z.txt", "d/x.txt"}) {
        auto r = st.put_if_absent(k, std::string("body of ") + k, {}, {});
        ASSERT_TRUE(r) << r.error().to_string();
    }
    auto all = st.list("c/", {}, {}, 1000);
    ASSERT_TRUE(all) << all.error().to_string();
    std::vector<std::string> keys;
    for (const auto& o : all->objects)
        keys.push_back(o.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"c/a.txt", "c/b/1.txt", "c/b/2.txt", "c/one.txt",
                                              "c/z.txt"}));
    EXPECT_FALSE(all->truncated);
    EXPECT_EQ(all->objects[0].size, std::string("body of c/a.txt").size());
    EXPECT_FALSE(all->objects[0].etag.empty());
    auto after = st.list("c/", "c/b/1.txt", {}, 1000);
    ASSERT_TRUE(after) << after.error().to_string();
    keys.clear();
    for (const auto& o : after->objects)
        keys.push_back(o.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"c/b/2.txt", "c/one.txt", "c/z.txt"}));
    std::vector<std::string> paged;
    std::string token;
    for (int i = 0; i < 10; ++i) {
        auto page = st.list("c/", {}, token, 2);
        ASSERT_TRUE(page) << page.error().to_string();
        EXPECT_LE(page->objects.size(), 2u);
        for (const auto& o : page->objects)
            paged.push_back(o.key);
        if (!page->truncated)
            break;
        token = page->next_token;
    }
    EXPECT_EQ(paged.size(), 5u);
    EXPECT_EQ(paged.front(), "c/a.txt");
    EXPECT_EQ(paged.back(), "c/z.txt");

    // Ranged get, with the listed etag; past the end: nothing.
    const auto etag = all->objects[0].etag;
    auto part = st.get("c/a.txt", 3, 4, etag);
    ASSERT_TRUE(part) << part.error().to_string();
    EXPECT_EQ(*part, "y of");
    auto tail = st.get("c/a.txt", 8, 0, etag);
    ASSERT_TRUE(tail) << tail.error().to_string();
    EXPECT_EQ(*tail, "c/a.txt");
    auto past = st.get("c/a.txt", 100, 10, etag);
    ASSERT_TRUE(past) << past.error().to_string();
    EXPECT_EQ(*past, "");

    // Copy, move, delete.
    ASSERT_TRUE(st.copy("c/a.txt", "copies/a.txt"));
    auto copied = st.get("copies/a.txt", 0, 0, {});
    ASSERT_TRUE(copied) << copied.error().to_string();
    EXPECT_EQ(*copied, "body of c/a.txt");
    auto moved = st.move("c/z.txt", "moved/c/z.txt");
    ASSERT_TRUE(moved) << moved.error().to_string();
    EXPECT_FALSE(st.tag_of("c/z.txt"));
    auto mz = st.get("moved/c/z.txt", 0, 0, {});
    ASSERT_TRUE(mz) << mz.error().to_string();
    EXPECT_EQ(*mz, "body of c/z.txt");
    ASSERT_TRUE(st.remove("c/a.txt"));
    ASSERT_TRUE(st.remove("c/a.txt"));  // absent: fine
    auto gone = st.tag_of("c/a.txt");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code(), errc::not_found);

    // An object above the part size: read back equal, refused a second time.
    std::string big(part_size * 2 + 12345, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
    auto pb = st.put_if_absent("big/one.bin", big, "application/octet-stream", "1/1");
    ASSERT_TRUE(pb) << pb.error().to_string();
    EXPECT_EQ(*pb, put_outcome::created);
    auto pb2 = st.put_if_absent("big/one.bin", "small", "application/octet-stream", "1/1");
    ASSERT_TRUE(pb2) << pb2.error().to_string();
    EXPECT_EQ(*pb2, put_outcome::already_existed);
    std::string big2(big.size() + 1, 'z');  // a large second write too
    auto pb3 = st.put_if_absent("big/one.bin", big2, "application/octet-stream", "2/2");
    ASSERT_TRUE(pb3) << pb3.error().to_string();
    EXPECT_EQ(*pb3, put_outcome::already_existed);
    auto back = st.get("big/one.bin", 0, 0, {});
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->size(), big.size());
    EXPECT_TRUE(*back == big);
    auto mid = st.get("big/one.bin", part_size - 3, 10, {});
    ASSERT_TRUE(mid) << mid.error().to_string();
    EXPECT_EQ(*mid, big.substr(part_size - 3, 10));
}

/// Messages [first, first + n) with JSON payloads naming their offset.
inline message_batch numbered_batch(std::uint64_t first, std::size_t n) {
    message_batch b;
    for (std::size_t i = 0; i < n; ++i) {
        message m;
        m.offset = first + i;
        m.partition = 1;
        m.timestamp_us = 1'773'669'600'000'000ull + m.offset * 1000;  // 2026-03-16T14:00Z on
        m.payload = b.own(fmt::format(R"({{"n":{}}})", m.offset));
        b.messages.push_back(std::move(m));
    }
    return b;
}

/// offset -> how many times it is in JSON-lines bodies.
inline std::map<std::uint64_t, int> offsets_in(const std::vector<object_bytes>& objs) {
    std::map<std::uint64_t, int> seen;
    for (const auto& o : objs) {
        std::string_view body = o.body;
        while (!body.empty()) {
            const auto nl = body.find('\n');
            auto line = body.substr(0, nl);
            body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
            rapidjson::Document d;
            d.Parse(line.data(), line.size());
            EXPECT_FALSE(d.HasParseError()) << o.key;
            if (d.HasParseError() || !d.IsObject() || !d.HasMember("offset"))
                continue;
            ++seen[d["offset"].GetUint64()];
        }
    }
    return seen;
}

struct sink_source_env {
    config::spec sink_spec;
    std::function<result<std::unique_ptr<sink>>(const config::values&)> make_sink;
    config::spec source_spec;
    std::function<result<std::unique_ptr<source>>(const config::values&)> make_source;
    std::string store_toml;  // bucket/container/directory, endpoint, credentials
    std::function<std::unique_ptr<object_store>()> store;  // to read back
};

/// The sink writes two batches; a fresh sink (a restart after kill -9 before the commit)
/// replays them as one longer batch and goes on: every offset in exactly one object, no object
/// written twice. Then the source reads every line back.
inline void check_sink_and_source(const sink_source_env& env, const std::string& prefix) {
    using namespace std::chrono_literals;
    connector_context ctx{"store-sink", "store sink", {}, nullptr, {}};
    const auto toml = env.store_toml + "prefix = \"" + prefix +
                      "\"\npath_template = \"{stream}/{topic}\"\noutput_format = "
                      "\"json_lines\"\n";
    auto open_sink = [&]() -> std::unique_ptr<sink> {
        auto s = env.make_sink(spec_values(env.sink_spec, toml));
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        auto st = (*s)->open(ctx);
        EXPECT_TRUE(st) << st.error().to_string();
        return st ? std::move(s).value() : nullptr;
    };
    auto b1 = numbered_batch(0, 100);
    auto b2 = numbered_batch(100, 50);
    {
        auto s = open_sink();
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->write(sink_batch{"logs", "api", 1, "json", &b1}));
        ASSERT_TRUE(s->write(sink_batch{"logs", "api", 1, "json", &b2}));
        s->close();
    }
    auto store = env.store();
    auto objs = read_all(*store, prefix + "/");
    ASSERT_TRUE(objs) << objs.error().to_string();
    std::set<std::string> keys;
    for (const auto& o : objs.value())
        keys.insert(o.key);
    EXPECT_EQ(keys, (std::set<std::string>{prefix + "/logs/api/p1_000000-000099.jsonl",
                                           prefix + "/logs/api/p1_000100-000149.jsonl"}));
    {
        // The replay after a crash: offsets 0..169 in one batch.
        auto s = open_sink();
        ASSERT_TRUE(s);
        auto replay = numbered_batch(0, 170);
        auto w = s->write(sink_batch{"logs", "api", 1, "json", &replay});
        ASSERT_TRUE(w) << w.error().to_string();
        s->close();
    }
    objs = read_all(*store, prefix + "/");
    ASSERT_TRUE(objs) << objs.error().to_string();
    keys.clear();
    for (const auto& o : objs.value())
        keys.insert(o.key);
    EXPECT_EQ(keys, (std::set<std::string>{prefix + "/logs/api/p1_000000-000099.jsonl",
                                           prefix + "/logs/api/p1_000100-000149.jsonl",
                                           prefix + "/logs/api/p1_000150-000169.jsonl"}));
    auto seen = offsets_in(*objs);
    EXPECT_EQ(seen.size(), 170u);
    for (const auto& [off, n] : seen)
        EXPECT_EQ(n, 1) << "offset " << off;

    // The source reads the lines back, in key order, in small batches.
    connector_context sctx{"store-source", "store source", {}, nullptr, {}};
    auto v = spec_values(env.source_spec, env.store_toml + "prefix = \"" + prefix +
                                              "/\"\npoll_interval = \"50ms\"\n"
                                              "max_batch_messages = 40\n");
    auto src = env.make_source(v);
    ASSERT_TRUE(src) << src.error().to_string();
    auto st = (*src)->open(sctx, {});
    ASSERT_TRUE(st) << st.error().to_string();
    std::vector<std::uint64_t> got;
    std::uint64_t seq = 0;
    wait_until(
        [&] {
            auto r = (*src)->poll(100ms);
            EXPECT_TRUE(r) << r.error().to_string();
            if (!r)
                return true;
            for (const auto& m : r->batch.messages) {
                rapidjson::Document d;
                d.Parse(m.payload.data(), m.payload.size());
                if (!d.HasParseError() && d.IsObject() && d.HasMember("offset"))
                    got.push_back(d["offset"].GetUint64());
            }
            if (!r->batch.empty())
                (*src)->ack(++seq);
            return got.size() >= 170;
        },
        std::chrono::milliseconds(30000));
    ASSERT_EQ(got.size(), 170u);
    for (std::uint64_t i = 0; i < 170; ++i)
        EXPECT_EQ(got[i], i);
    EXPECT_GE(seq, 5u);  // 170 lines in batches of at most 40
}

}  // namespace trib::test
