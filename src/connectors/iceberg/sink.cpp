// The Iceberg sink: Iggy messages (JSON objects) appended to Iceberg tables through a REST
// catalog, one snapshot per table and batch: a Parquet data file, a manifest and a manifest list
// written to the table's location, then a commit (assert-table-uuid, assert-ref-snapshot-id main;
// add-snapshot, set-snapshot-ref) that carries the batch's last Iggy offset in the snapshot
// summary. A replay (after a crash, a lost answer, a conflict) reads the offsets back from the
// main branch's snapshots and skips what is committed: exactly-once effect.

#include <chrono>
#include <filesystem>
#include <map>
#include <random>

#include <spdlog/spdlog.h>
#include "codecs/codec.h"
#include "codecs/parquet.h"
#include "codecs/value.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/iceberg/catalog.h"
#include "connectors/iceberg/errors.h"
#include "connectors/iceberg/iceberg.h"
#include "connectors/iceberg/manifest.h"
#include "connectors/iceberg/rows.h"
#include "connectors/iceberg/sink_options.h"
#include "core/atomic_file.h"
#include "core/net/http_client.h"

namespace trib::connectors::iceberg {

namespace {

namespace pq = codecs::parquet;

/// A local path for a table location or file URI ("file:///a", "file:/a", "/a"); nullopt for
/// any other scheme (s3://, gs://, ...), which this sink does not write yet.
std::optional<std::filesystem::path> local_path(std::string_view uri) {
    if (uri.starts_with("file://"))
        uri.remove_prefix(7);
    else if (uri.starts_with("file:"))
        uri.remove_prefix(5);
    if (!uri.starts_with("/"))
        return std::nullopt;
    return std::filesystem::path(std::string(uri));
}

std::string join(std::string_view base, std::string_view rel) {
    std::string out(base);
    while (!out.empty() && out.back() == '/')
        out.pop_back();
    out += '/';
    out += rel;
    return out;
}

struct table_state {
    table_ident ident;
    bool loaded = false;
    table_meta meta;
    std::vector<pq::column> cols;
};

class iceberg_sink final : public sink {
  public:
    explicit iceberg_sink(sink_options o) : o_(std::move(o)) {}

    status open(connector_context& ctx) override {
        key_ = ctx.key.empty() ? std::string("iceberg") : ctx.key;
        stop_ = ctx.stop;
        net::client_options co;
        co.timeout = o_.request_timeout;
        co.connect_timeout = o_.request_timeout;
        if (!o_.token.empty())
            co.bearer_token = o_.token;
        http_ = std::make_unique<net::http_client>(co);
        {
            auto n = config::node::make_table();
            config::problems pr;
            auto v = config::validate(codecs::json_codec_spec(), n, "iceberg sink", "json", pr);
            TRIB_ASSIGN_OR_RETURN(json_, codecs::make_json_codec(v));
        }
        std::string url = base_ + "/v1/config";
        if (!o_.warehouse.empty())
            url += "?warehouse=" + path_segment(o_.warehouse);
        TRIB_ASSIGN_OR_RETURN(auto resp, request("GET", url, ""));
        if (!resp.ok())
            return unexpected(catalog_error(resp, "GET /v1/config"));
        TRIB_ASSIGN_OR_RETURN(auto prefix, parse_config_prefix(resp.body));
        api_ = base_ + "/v1" + (prefix.empty() ? "" : "/" + prefix);
        for (const auto& t : o_.tables) {
            TRIB_ASSIGN_OR_RETURN(auto id, parse_table_ident(t));
            auto& st = tables_[id.text()];
            st.ident = id;
            // Tables that exist are loaded now (a wrong schema fails at start); the others are
            // created with the first batch when their schema is inferred.
            auto loaded = load(st, /*create=*/o_.create_tables && !o_.schema_cols.empty());
            const bool deferred = !loaded && loaded.error().code() == errc::not_found &&
                                  o_.create_tables && o_.schema_cols.empty();
            if (!loaded && !deferred)
                return loaded;
        }
        spdlog::info("iceberg sink {}: catalog {} ({} table(s))", key_, api_, tables_.size());
        return ok();
    }

    result<write_outcome> write(const sink_batch& batch) override {
        write_outcome out;
        const auto& msgs = batch.messages->messages;
        if (msgs.empty())
            return out;
        codecs::arena a;
        std::vector<codecs::value> rows(msgs.size());
        // Table name -> message indexes, in offset order.
        std::map<std::string, std::vector<std::size_t>> routed;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            codecs::record r;
            if (auto st = json_->decode(msgs[i].payload, a, r); !st) {
                out.rejected.push_back(
                    {i, codecs::bad_payload("iceberg: the payload is not JSON: " +
                                            st.error().message())});
                continue;
            }
            if (auto st = codecs::to_typed(r, a, rows[i]); !st) {
                out.rejected.push_back({i, codecs::bad_payload(st.error().message())});
                continue;
            }
            if (rows[i].type != codecs::value_type::record) {
                out.rejected.push_back(
                    {i, codecs::bad_payload("iceberg: the payload is not a JSON object")});
                continue;
            }
            if (!o_.dynamic_routing) {
                for (const auto& [name, st] : tables_)
                    routed[name].push_back(i);
                continue;
            }
            auto target = route_of(rows[i]);
            if (!target) {
                out.rejected.push_back(
                    {i, codecs::bad_payload("iceberg: the route field \"" + o_.route_field +
                                            "\" is missing or not a string")});
                continue;
            }
            auto id = parse_table_ident(*target);
            if (!id) {
                out.rejected.push_back({i, codecs::bad_payload(id.error().message())});
                continue;
            }
            routed[id->text()].push_back(i);
            if (!tables_.contains(id->text()))
                tables_[id->text()].ident = *id;
        }
        for (const auto& [name, idx] : routed) {
            auto st = append(tables_[name], batch, rows, idx, out);
            if (!st && o_.dynamic_routing && st.error().code() == errc::not_found) {
                // A route to a table that is not there (and is not to be created): those
                // messages go to the error policy, the other tables' are written.
                for (auto i : idx)
                    out.rejected.push_back({i, st.error()});
                continue;
            }
            if (!st)
                return unexpected(st.error());
        }
        return out;
    }

    void close() override { http_.reset(); }

    bool idempotent() const override { return true; }

  private:
    std::optional<std::string> route_of(const codecs::value& row) const {
        for (std::uint32_t k = 0; k < row.n; ++k) {
            const auto& e = row.entries[k];
            if (e.key.type == codecs::value_type::string && e.key.str() == o_.route_field) {
                if (e.val.type == codecs::value_type::string)
                    return std::string(e.val.str());
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    result<net::http_response> request(const char* method, std::string url, std::string body) {
        net::http_request rq;
        rq.method = method;
        rq.url = std::move(url);
        rq.body = std::move(body);
        if (!rq.body.empty())
            rq.headers["Content-Type"] = "application/json";
        rq.stop = stop_;
        return http_->perform(rq);
    }

    std::string table_url(const table_ident& id) const {
        return api_ + "/namespaces/" + namespace_path(id.ns) + "/tables/" + path_segment(id.name);
    }

    /// Loads the table's metadata; with `create`, makes the namespace and table first when the
    /// catalog has none (schema: the option's, else `infer_from`).
    status load(table_state& st, bool create, const std::vector<pq::column>* inferred = nullptr) {
        TRIB_ASSIGN_OR_RETURN(auto resp, request("GET", table_url(st.ident), ""));
        if (resp.status == 404 && create) {
            const auto& cols = !o_.schema_cols.empty() ? o_.schema_cols : *inferred;
            auto ns = request("POST", api_ + "/namespaces", create_namespace_body(st.ident.ns));
            if (!ns)
                return unexpected(ns.error());
            if (!ns->ok() && ns->status != 409)
                return unexpected(catalog_error(*ns, "create namespace"));
            TRIB_ASSIGN_OR_RETURN(
                resp,
                request("POST", api_ + "/namespaces/" + namespace_path(st.ident.ns) + "/tables",
                        create_table_body(st.ident.name, fields_for(cols))));
            if (resp.status == 409) {  // created by someone else meanwhile
                TRIB_ASSIGN_OR_RETURN(resp, request("GET", table_url(st.ident), ""));
            }
            if (resp.ok())
                spdlog::info("iceberg sink {}: created table {}", key_, st.ident.text());
        }
        if (!resp.ok())
            return unexpected(catalog_error(resp, "load table " + st.ident.text()));
        return adopt(st, resp.body);
    }

    status adopt(table_state& st, std::string_view body) {
        TRIB_ASSIGN_OR_RETURN(auto meta, parse_load_table(body));
        if (meta.format_version != 2)
            return fail(errc::unimplemented,
                        "iceberg: table " + st.ident.text() + " has format version " +
                            std::to_string(meta.format_version) + "; this sink writes version 2");
        if (meta.partitioned)
            return fail(errc::unimplemented, "iceberg: table " + st.ident.text() +
                                                 " is partitioned; this sink writes "
                                                 "unpartitioned tables only");
        if (!local_path(meta.location))
            return fail(errc::unimplemented,
                        "iceberg: table " + st.ident.text() + " is at " + meta.location +
                            "; this sink writes local (file:) warehouses only");
        TRIB_ASSIGN_OR_RETURN(st.cols, parquet_columns(meta.fields));
        st.meta = std::move(meta);
        st.loaded = true;
        return ok();
    }

    status append(table_state& st, const sink_batch& batch, const std::vector<codecs::value>& rows,
                  const std::vector<std::size_t>& idx, write_outcome& out) {
        const auto& msgs = batch.messages->messages;
        const std::uint64_t last = msgs.back().offset;
        const auto prop = offset_property(key_, batch.stream, batch.topic, batch.partition);
        std::mt19937_64 rng(std::random_device{}());
        const auto snapshot_id = static_cast<std::int64_t>(rng() >> 1);
        std::vector<std::size_t> rejected_here;
        for (int attempt = 0;; ++attempt) {
            if (stop_.stop_requested())
                return fail(errc::cancelled, "iceberg: stopping");
            if (!st.loaded) {
                std::vector<pq::column> inferred;
                if (o_.schema_cols.empty()) {
                    std::vector<codecs::value> sample;
                    for (auto i : idx)
                        sample.push_back(rows[i]);
                    inferred = pq::infer_columns(sample);
                }
                TRIB_TRY(load(st, o_.create_tables, &inferred));
            }
            const auto done = committed_offset(st.meta, prop);
            std::vector<codecs::value> todo;
            std::vector<std::uint64_t> sizes;
            std::uint64_t first = 0;
            rejected_here.clear();
            for (auto i : idx) {
                if (done && msgs[i].offset <= *done)
                    continue;
                if (auto c = check_row(st.meta.fields, st.cols, rows[i]); !c) {
                    rejected_here.push_back(i);
                    continue;
                }
                if (todo.empty())
                    first = msgs[i].offset;
                todo.push_back(rows[i]);
                sizes.push_back(msgs[i].payload.size());
            }
            if (todo.empty()) {
                reject(st, rows, rejected_here, out);
                return ok();
            }
            auto committed = commit(st, batch, todo, sizes, first, last, prop, snapshot_id);
            if (committed) {
                reject(st, rows, rejected_here, out);
                return ok();
            }
            st.loaded = false;  // the catalog's state is unknown: read it again
            if (committed.error().code() != errc::already_exists ||
                attempt + 1 >= o_.commit_retries)
                return unexpected(committed.error());
            spdlog::info("iceberg sink {}: commit to {} conflicted (attempt {}); retrying", key_,
                         st.ident.text(), attempt + 1);
        }
    }

    void reject(const table_state& st, const std::vector<codecs::value>& rows,
                const std::vector<std::size_t>& which, write_outcome& out) {
        for (auto i : which) {
            auto c = check_row(st.meta.fields, st.cols, rows[i]);
            bool seen = false;
            for (const auto& r : out.rejected)
                seen = seen || r.index == i;
            if (!seen && !c)
                out.rejected.push_back({i, codecs::bad_payload(c.error().message())});
        }
    }

    /// One append commit. errc::already_exists: the catalog refused it for a conflict (retry
    /// after reloading); any other error: the outcome may be unknown.
    status commit(table_state& st, const sink_batch& batch, const std::vector<codecs::value>& todo,
                  const std::vector<std::uint64_t>& sizes, std::uint64_t first, std::uint64_t last,
                  const std::string& prop, std::int64_t snapshot_id) {
        const auto& m = st.meta;
        const auto base = *local_path(m.location);
        // The data file: its name is a pure function of the messages it holds.
        pq::write_options wo;
        wo.codec = o_.compression;
        TRIB_ASSIGN_OR_RETURN(auto bytes, pq::write_file(st.cols, todo, sizes, wo));
        const auto name =
            data_file_name(key_, batch.stream, batch.topic, batch.partition, first, last);
        std::error_code ec;
        std::filesystem::create_directories(base / "data", ec);
        std::filesystem::create_directories(base / "metadata", ec);
        TRIB_TRY(io(write_file_atomic(base / "data" / name, bytes, file_sync::durable, 0644)));
        data_file df;
        df.path = join(m.location, "data/" + name);
        df.records = static_cast<std::int64_t>(todo.size());
        df.size = static_cast<std::int64_t>(bytes.size());
        df.stats = compute_stats(st.cols, todo);

        const std::int64_t seq = m.last_sequence + 1;
        const auto manifest = write_manifest(m.fields, m.schema_id, m.spec_id, snapshot_id, {df});
        const auto manifest_name =
            "tributary-" + std::to_string(snapshot_id) + "-" + std::to_string(seq) + "-m0.avro";
        TRIB_TRY(io(write_file_atomic(base / "metadata" / manifest_name, manifest,
                                      file_sync::durable, 0644)));
        std::vector<manifest_entry> list;
        const snapshot* parent = m.main ? m.find(*m.main) : nullptr;
        if (parent) {
            auto p = local_path(parent->manifest_list);
            if (!p)
                return fail(errc::unimplemented, "iceberg: the manifest list " +
                                                     parent->manifest_list + " is not local");
            TRIB_ASSIGN_OR_RETURN(auto text, io_r(read_file(*p, 256u << 20)));
            TRIB_ASSIGN_OR_RETURN(list, read_manifest_list(text));
        }
        manifest_entry me;
        me.path = join(m.location, "metadata/" + manifest_name);
        me.length = static_cast<std::int64_t>(manifest.size());
        me.spec_id = m.spec_id;
        me.sequence = seq;
        me.min_sequence = seq;
        me.added_snapshot_id = snapshot_id;
        me.added_files = 1;
        me.added_rows = df.records;
        me.partitions = std::vector<partition_summary>{};
        list.insert(list.begin(), std::move(me));
        const auto list_name =
            "snap-" + std::to_string(snapshot_id) + "-" + std::to_string(seq) + "-tributary.avro";
        TRIB_TRY(io(write_file_atomic(base / "metadata" / list_name,
                                      write_manifest_list(snapshot_id, m.main, seq, list),
                                      file_sync::durable, 0644)));

        new_snapshot s;
        s.id = snapshot_id;
        s.parent = m.main;
        s.sequence = seq;
        s.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        s.manifest_list = join(m.location, "metadata/" + list_name);
        s.schema_id = m.schema_id;
        auto total = [&](const char* k, std::int64_t add) {
            std::int64_t prev = 0;
            if (parent) {
                if (auto v = parent->summary_value(k))
                    prev = std::strtoll(std::string(*v).c_str(), nullptr, 10);
            }
            s.summary.emplace_back(k, std::to_string(prev + add));
        };
        s.summary.emplace_back("added-data-files", "1");
        s.summary.emplace_back("added-records", std::to_string(df.records));
        s.summary.emplace_back("added-files-size", std::to_string(df.size));
        total("total-data-files", 1);
        total("total-records", df.records);
        total("total-files-size", df.size);
        total("total-delete-files", 0);
        total("total-position-deletes", 0);
        total("total-equality-deletes", 0);
        s.summary.emplace_back(prop, std::to_string(last));

        TRIB_ASSIGN_OR_RETURN(
            auto resp, request("POST", table_url(st.ident), commit_body(st.ident, m.uuid, s)));
        if (resp.status == 409)
            return fail(errc::already_exists, "iceberg: commit conflict on " + st.ident.text() +
                                                  ": " + error_message(resp.body));
        if (!resp.ok())
            return unexpected(catalog_error(resp, "commit to " + st.ident.text()));
        TRIB_TRY(adopt(st, resp.body));
        return ok();
    }

    static status io(status st) {
        if (!st)
            return fail(errc::io_error, "iceberg: " + st.error().message());
        return st;
    }
    template <class T>
    static result<T> io_r(result<T> r) {
        if (!r)
            return fail(errc::io_error, "iceberg: " + r.error().message());
        return r;
    }

    sink_options o_;
    std::string base_ = o_.uri_base();
    std::string api_;
    std::string key_;
    std::stop_token stop_;
    std::unique_ptr<net::http_client> http_;
    std::unique_ptr<codecs::codec> json_;
    std::map<std::string, table_state> tables_;
};

}  // namespace

result<std::unique_ptr<sink>> make_sink(sink_options o) {
    return std::unique_ptr<sink>(std::make_unique<iceberg_sink>(std::move(o)));
}

}  // namespace trib::connectors::iceberg
