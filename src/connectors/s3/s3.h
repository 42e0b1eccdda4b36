#pragma once
// Object-store connectors: the `s3` sink (Iggy -> S3 objects, Iggy's s3_sink options, exactly-once
// effect through object names that are a pure function of the offsets) and the `s3_source`
// (S3 objects -> Iggy, Iggy's s3_source options, resumes mid-object). See README.md.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

/// Sink "s3" (Iggy plugin iggy_connector_s3_sink).
config::spec s3_sink_spec();
result<std::unique_ptr<sink>> make_s3_sink(const config::values& v);

/// Source "s3_source" (Iggy plugin iggy_connector_s3_source).
config::spec s3_source_spec();
result<std::unique_ptr<source>> make_s3_source(const config::values& v);

/// The same sink and source over Google Cloud Storage ("gcs", "gcs_source"), Azure Blob Storage
/// ("azure_blob", "azure_blob_source") and HDFS through WebHDFS ("hdfs", "hdfs_source").
config::spec gcs_sink_spec();
result<std::unique_ptr<sink>> make_gcs_sink(const config::values& v);
config::spec gcs_source_spec();
result<std::unique_ptr<source>> make_gcs_source(const config::values& v);
config::spec azure_blob_sink_spec();
result<std::unique_ptr<sink>> make_azure_blob_sink(const config::values& v);
config::spec azure_blob_source_spec();
result<std::unique_ptr<source>> make_azure_blob_source(const config::values& v);
config::spec hdfs_sink_spec();
result<std::unique_ptr<sink>> make_hdfs_sink(const config::values& v);
config::spec hdfs_source_spec();
result<std::unique_ptr<source>> make_hdfs_source(const config::values& v);

}  // namespace trib::connectors
