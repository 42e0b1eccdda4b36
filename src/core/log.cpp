#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace trib::log {

void init(format fmt, std::string_view level) {
    auto logger = spdlog::stderr_logger_mt("tributary");
    if (fmt == format::json) {
        // One JSON object per line; the message is escaped by spdlog's %v only as text, so keep
        // messages free of quotes where they may be machine-read (we log key=value pairs).
        logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"msg":"%v"})",
                            spdlog::pattern_time_type::utc);
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(std::string(level)));
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace trib::log
