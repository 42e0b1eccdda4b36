#pragma once
// Object names of the object sink, as pure functions: the path template ({stream}, {topic},
// {partition}, {date}, {hour}, ... from the message or the receive time, {payload.a.b} from a JSON
// payload) and the file name from the offsets. Internal to connectors/s3; public to its tests and
// fuzz targets.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::s3_detail {

/// What a template may refer to when it is rendered for one message.
struct path_context {
    std::string_view stream;
    std::string_view topic;
    std::uint32_t partition = 0;
    std::uint64_t message_time_us = 0;  // Iggy's append time of the message
    std::uint64_t receive_time_us = 0;  // when the sink got it (wall clock)
    std::string_view payload;           // for {payload.*}: the payload (JSON or not)
};

/// A parsed path template. Placeholders: {stream} {topic} {partition}; from the message time
/// {date} (YYYY-MM-DD) {hour} (HH) {year} {month} {day} {minute}; from the receive time
/// {timestamp} (epoch ms, as Iggy's sink) {receive_date} {receive_hour}; {payload.a.b} a JSON
/// field of the payload ("unknown" when absent or not JSON). Rendered values that would change
/// the key's structure (`/`, control characters, `..`) are replaced by `_`.
class path_template {
  public:
    static result<path_template> parse(std::string_view text);
    std::string render(const path_context& ctx) const;
    bool uses(std::string_view name) const;
    /// True when rendering depends on the wall clock: names are then not a pure function of
    /// the messages (README: what that means after a crash).
    bool uses_receive_time() const;
    bool uses_payload() const;

  private:
    struct part {
        bool literal = true;
        std::string text;  // literal text or the placeholder's name
    };
    std::vector<part> parts_;
};

/// The object's file name: `{first:06}-{last:06}.{ext}` as Iggy's sink names it, with
/// `p{partition}_` in front when the template does not separate partitions (so that two
/// partitions never write the same name).
std::string object_file_name(bool partition_in_path, std::uint32_t partition, std::uint64_t first,
                             std::uint64_t last, std::string_view ext);
/// What every object name that starts at `first` begins with (the replay check lists it).
std::string object_file_prefix(bool partition_in_path, std::uint32_t partition,
                               std::uint64_t first);
/// Parses the last offset from a name object_file_name made; false when it is not one.
bool parse_object_last_offset(std::string_view file_name, std::uint64_t first, std::uint64_t& last);

/// `prefix` (slashes trimmed) + "/" + `dir` (slashes trimmed) + "/" + `file`, without empty
/// segments.
std::string join_key(std::string_view prefix, std::string_view dir, std::string_view file);

/// "2026-03-16T14:02:31Z" for a time in µs since the epoch.
std::string rfc3339_seconds(std::uint64_t us);

}  // namespace trib::connectors::s3_detail
