#pragma once
// Object-store connectors: the `s3` sink (Iggy -> S3 objects, Iggy's s3_sink options, exactly-once
// effect through object names that are a pure function of the offsets; plugin
// iggy_connector_s3_sink) and the `s3_source` (S3 objects -> Iggy, Iggy's s3_source options,
// resumes mid-object; plugin iggy_connector_s3_source). See README.md.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(s3, sink);
TRIB_CONNECTOR_FACE(s3, source);
// The same sink and source over Google Cloud Storage ("gcs", "gcs_source"), Azure Blob Storage
// ("azure_blob", "azure_blob_source") and HDFS through WebHDFS ("hdfs", "hdfs_source").
TRIB_CONNECTOR_FACE(gcs, sink);
TRIB_CONNECTOR_FACE(gcs, source);
TRIB_CONNECTOR_FACE(azure_blob, sink);
TRIB_CONNECTOR_FACE(azure_blob, source);
TRIB_CONNECTOR_FACE(hdfs, sink);
TRIB_CONNECTOR_FACE(hdfs, source);
