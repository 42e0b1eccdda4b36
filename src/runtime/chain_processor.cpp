#include "runtime/chain_processor.h"

#include "config/node.h"

namespace trib::runtime {

namespace {

failure_stage stage_of(transforms::stage s) {
    switch (s) {
        case transforms::stage::decode:
            return failure_stage::decode;
        case transforms::stage::transform:
            return failure_stage::transform;
        case transforms::stage::encode:
            return failure_stage::encode;
    }
    return failure_stage::transform;
}

}  // namespace

void chain_processor::process(message_batch& batch, process_report& report) {
    scratch_.filtered = 0;
    scratch_.failed.clear();
    chain_.process(batch, stream_, topic_, scratch_);
    report.filtered += scratch_.filtered;
    for (auto& f : scratch_.failed) {
        report.rejected.push_back(
            rejected_message{std::move(f.original), stage_of(f.where), std::move(f.err)});
    }
}

result<std::unique_ptr<message_processor>> make_chain_processor(
    std::string_view schema, const std::vector<config::transform_config>& transforms,
    std::string stream, std::string topic, const config::node* codec_options) {
    TRIB_ASSIGN_OR_RETURN(
        auto c, transforms::make_chain(schema, transforms, transforms::builtins(), codec_options));
    if (c.passthrough())
        return std::unique_ptr<message_processor>();
    return std::unique_ptr<message_processor>(
        std::make_unique<chain_processor>(std::move(c), std::move(stream), std::move(topic)));
}

std::optional<config::node> stream_codec_options(std::string_view schema,
                                                 const std::optional<std::string>& avro_json,
                                                 const std::optional<std::string>& avro_path) {
    if (schema != "avro" || (!avro_json && !avro_path))
        return std::nullopt;
    config::node t = config::node::make_table();
    if (avro_json)
        t.set("avro_schema_json", config::node::make_string(*avro_json));
    if (avro_path)
        t.set("avro_schema_path", config::node::make_string(*avro_path));
    return t;
}

}  // namespace trib::runtime
