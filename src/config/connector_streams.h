#pragma once
// The [[streams]] section of a connector file (private to config/): its option declarations,
// the codec options taken out of each stream table before the file is validated, and the
// validated streams read into the connector's config. connector_config.cpp does the rest of the
// file.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/connector_config.h"
#include "config/node.h"
#include "config/validate.h"

namespace trib::config::detail {

/// `s` as a JSON string literal (how messages quote names).
std::string quote(std::string_view s);

/// The options of one [[streams]] entry of a sink or source file.
std::vector<option> stream_options(connector_type t);

/// Reports a problem at `path`; `at` (may be null) names the file a value came from.
using report_fn = std::function<void(const std::string& path, std::string message, const node* at)>;

/// The codec options of one [[streams]] entry, taken out of its table before the file is
/// validated (the stream spec does not know them).
struct stream_codec_nodes {
    node schema = node::make_table();
    node source = node::make_table();
};

/// Moves the keys of the `schema` codec's spec from each [[streams]] table (and its
/// `schema_options` sub-table) into a table of their own; Iggy's own stream keys that the codec
/// also declares (avro_schema_json, avro_schema_path) stay and are copied. A key given both on
/// the table and in `schema_options` is an error. Keys that belong to neither stay and are
/// reported as unknown by the file's validation.
std::vector<stream_codec_nodes> take_codec_options(node& tree, connector_type t, const catalog& cat,
                                                   const report_fn& report);

/// The validated codec options of one stream, for the API's view of the file.
/// (A struct, not std::pair<node, node>: clang's libstdc++ pair constraints reject node.)
struct stream_codec_view {
    node schema;
    node source;
};

/// Reads the validated [[streams]] of `fv` into `cc` (sink_streams or source_streams, by
/// cc.type): codec names checked against the catalog, each codec's options validated with its
/// spec and the codec built once, the JSON Schema keys compiled; every problem reported.
std::vector<stream_codec_view> read_streams(const values& fv,
                                            const std::vector<stream_codec_nodes>& codec_opts,
                                            const catalog& cat, const validation_context& ctx,
                                            problems& issues, const report_fn& report,
                                            connector_config& cc);

/// Puts the validated codec options back into the [[streams]] tables of `whole`.
void put_back_codec_options(node& whole, std::vector<stream_codec_view> views);

}  // namespace trib::config::detail
