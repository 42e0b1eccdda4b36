#pragma once
// The Iceberg sink's options as a struct (from the validated config values, spec.cpp).
// Internal to connectors/iceberg; public to its tests.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "codecs/parquet.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors::iceberg {

struct sink_options {
    std::vector<std::string> tables;  // "namespace.table"
    std::string uri;                  // the REST catalog's base URL
    std::string warehouse;
    bool dynamic_routing = false;
    std::string route_field;
    bool create_tables = true;
    std::vector<codecs::parquet::column> schema_cols;  // empty: inferred from the first batch
    codecs::parquet::compression compression = codecs::parquet::compression::zstd;
    std::string token;  // bearer token for the catalog (secret)
    std::chrono::milliseconds request_timeout{30000};
    int commit_retries = 10;

    /// The URI without a trailing slash.
    std::string uri_base() const {
        std::string u = uri;
        while (!u.empty() && u.back() == '/')
            u.pop_back();
        return u;
    }
};

result<std::unique_ptr<sink>> make_sink(sink_options o);

}  // namespace trib::connectors::iceberg
