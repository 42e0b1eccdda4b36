#pragma once
// Object-store connectors: the `s3` sink (Iggy -> S3 objects, Iggy's s3_sink options, exactly-once
// effect through object names that are a pure function of the offsets; plugin
// iggy_connector_s3_sink) and the `s3_source` (S3 objects -> Iggy, Iggy's s3_source options,
// resumes mid-object; plugin iggy_connector_s3_source). See README.md.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(s3, sink);
TRIB_CONNECTOR_FACE(s3, source);
