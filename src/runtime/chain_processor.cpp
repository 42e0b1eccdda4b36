#include "runtime/chain_processor.h"

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
    std::string stream, std::string topic) {
    TRIB_ASSIGN_OR_RETURN(auto c, transforms::make_chain(schema, transforms));
    if (c.passthrough())
        return std::unique_ptr<message_processor>();
    return std::unique_ptr<message_processor>(
        std::make_unique<chain_processor>(std::move(c), std::move(stream), std::move(topic)));
}

result<std::unique_ptr<message_processor>> make_chain_processor(
    const transforms::codec_choice& decode, const transforms::codec_choice& encode,
    transforms::codec_mode mode, const std::vector<config::transform_config>& transforms,
    std::string stream, std::string topic) {
    TRIB_ASSIGN_OR_RETURN(auto c, transforms::make_chain(decode, encode, mode, transforms));
    if (c.passthrough())
        return std::unique_ptr<message_processor>();
    return std::unique_ptr<message_processor>(
        std::make_unique<chain_processor>(std::move(c), std::move(stream), std::move(topic)));
}

}  // namespace trib::runtime
