// The specs of the object-store sinks and sources (s3, gcs, azure_blob, hdfs and their sources).
// S3's keep the option names of Iggy's s3_sink and s3_source (core/connectors/sinks/s3_sink,
// core/connectors/sources/s3_source) and add keys for what they do beyond them (credentials file,
// encryption, CSV, move/delete after read, ...). Prose and options are data (spec.toml, one table
// per spec, the options they share as groups); here are the checks one option cannot express.

#include <array>

#include "config/spec_data.h"
#include "connectors/s3/azure_util.h"
#include "connectors/s3/common.h"
#include "connectors/s3/format.h"
#include "connectors/s3/path.h"
#include "connectors/s3/s3.h"
#include "embedded/s3_spec.h"

namespace trib::connectors {

using s3_detail::store_kind;

namespace {

/// The spec table of each store's sink and source in spec.toml.
struct store_tables {
    store_kind kind;
    const char* sink;
    const char* source;
};
constexpr std::array<store_tables, 4> tables{
    {{store_kind::s3, "s3", "s3_source"},
     {store_kind::gcs, "gcs", "gcs_source"},
     {store_kind::azure_blob, "azure_blob", "azure_blob_source"},
     {store_kind::hdfs, "hdfs", "hdfs_source"}}};

const store_tables& tables_of(store_kind k) {
    for (const auto& t : tables)
        if (t.kind == k)
            return t;
    return tables[0];
}

}  // namespace

namespace s3_detail {

void check_store_options(const config::values& v, const config::check_report& report) {
    if (v.has("access_key_id") != v.has("secret_access_key"))
        report("access_key_id", "access_key_id and secret_access_key go together");
    if (v.str("bucket").empty())
        report("bucket", "must not be empty");
    if (auto ep = v.opt_str("endpoint")) {
        if (!ep->starts_with("http://") && !ep->starts_with("https://"))
            report("endpoint", "must start with http:// or https://");
    }
}

void check_options_for(store_kind k, const config::values& v, const config::check_report& report) {
    auto http_only = [&](const char* name) {
        if (auto ep = v.opt_str(name)) {
            if (!ep->starts_with("http://") && !ep->starts_with("https://"))
                report(name, "must start with http:// or https://");
        }
    };
    switch (k) {
        case store_kind::s3:
            check_store_options(v, report);
            return;
        case store_kind::gcs:
            if (v.str("bucket").empty())
                report("bucket", "must not be empty");
            if (v.has("credentials_file") && v.has("token"))
                report("token", "give credentials_file or token, not both");
            http_only("endpoint");
            return;
        case store_kind::azure_blob:
            if (v.str("container").empty())
                report("container", "must not be empty");
            if (auto cs = v.opt_str("connection_string")) {
                // The message names the part at fault, never a value.
                if (auto c = parse_azure_connection_string(*cs); !c)
                    report("connection_string", c.error().message());
            }
            if (!v.has("connection_string") && !v.has("sas_token") &&
                !(v.has("account_name") && v.has("account_key")))
                report("account_key",
                       "give account_name and account_key, sas_token or connection_string");
            if (!v.has("connection_string") && !v.has("endpoint") && !v.has("account_name"))
                report("account_name", "needed for the endpoint (or give endpoint)");
            http_only("endpoint");
            return;
        case store_kind::hdfs:
            if (!v.str("directory").starts_with('/'))
                report("directory", "must be an absolute HDFS path (starting with '/')");
            http_only("endpoint");
            return;
    }
}

}  // namespace s3_detail

config::spec s3_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::s3);
}

config::spec s3_detail::object_sink_spec(store_kind k) {
    auto s = config::builtin_spec(embedded::s3_spec, embedded::s3_spec_file, tables_of(k).sink);
    s.check = [k](const config::values& v, const config::check_report& report) {
        s3_detail::check_options_for(k, v, report);
        if (auto t = s3_detail::path_template::parse(v.str("path_template")); !t)
            report("path_template", t.error().message());
        auto f = s3_detail::parse_output_format(v.str("output_format"));
        if (!f) {
            report("output_format", f.error().message());
        } else if (*f == s3_detail::output_format::parquet ||
                   *f == s3_detail::output_format::avro) {
            s3_detail::record_options ro;
            s3_detail::columnar_options co;
            co.parquet_schema = v.opt_str("parquet_schema").value_or("");
            co.parquet_compression = v.str("parquet_compression");
            co.avro_schema = v.opt_str("avro_schema").value_or("");
            co.avro_codec = v.str("avro_codec");
            if (auto w = s3_detail::make_format_writer(*f, ro, co); !w)
                report(*f == s3_detail::output_format::parquet
                           ? (co.parquet_schema.empty() ? "output_format" : "parquet_schema")
                           : "avro_schema",
                       w.error().message());
        }
        if (v.str("file_rotation") == "messages" && !v.has("max_messages_per_file"))
            report("max_messages_per_file", "file_rotation = \"messages\" needs it");
        if (v.str("file_rotation") == "time" && !v.has("max_file_age"))
            report("max_file_age", "file_rotation = \"time\" needs it");
        if (k == store_kind::s3 && v.has("sse_kms_key_id") &&
            v.opt_str("server_side_encryption").value_or("") == "AES256")
            report("sse_kms_key_id", "goes with server_side_encryption = \"aws:kms\"");
    };
    return s;
}

config::spec s3_source_spec() {
    return s3_detail::object_source_spec(store_kind::s3);
}

config::spec s3_detail::object_source_spec(store_kind k) {
    auto s = config::builtin_spec(embedded::s3_spec, embedded::s3_spec_file, tables_of(k).source);
    s.check = [k](const config::values& v, const config::check_report& report) {
        s3_detail::check_options_for(k, v, report);
        const auto d = v.str("custom_delimiter");
        if (d.empty() || d.size() > 64)
            report("custom_delimiter", "must be 1 to 64 bytes");
        if (v.size("max_record_bytes") > v.size("max_batch_bytes"))
            report("max_record_bytes", "is larger than max_batch_bytes");
        if (v.str("after_read") == "move" && v.opt_str("move_prefix").value_or("").empty())
            report("move_prefix", "after_read = \"move\" needs it");
    };
    return s;
}
config::spec gcs_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::gcs);
}
config::spec gcs_source_spec() {
    return s3_detail::object_source_spec(store_kind::gcs);
}
config::spec azure_blob_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::azure_blob);
}
config::spec azure_blob_source_spec() {
    return s3_detail::object_source_spec(store_kind::azure_blob);
}
config::spec hdfs_sink_spec() {
    return s3_detail::object_sink_spec(store_kind::hdfs);
}
config::spec hdfs_source_spec() {
    return s3_detail::object_source_spec(store_kind::hdfs);
}

}  // namespace trib::connectors
