#pragma once
// Writing the members of a JSON object by hand (no DOM): one place that puts the commas, the
// quoted keys and the values, for the connectors that write small JSON envelopes and state
// records.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_text.h"

namespace trib {

/// Appends `"key":value` members to `out`, a comma before each but the first. The caller writes
/// the braces. Not a validator: `raw` values and values written after key() must be JSON.
class json_members {
  public:
    /// `first` false: `out` already ends with a member, so the first one here gets a comma too.
    explicit json_members(std::string& out, bool first = true) : out_(out), first_(first) {}

    json_members& str(std::string_view k, std::string_view v) {
        append_json_string(key(k), v);
        return *this;
    }
    json_members& uint(std::string_view k, std::uint64_t v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        key(k).append(buf, r.ptr);
        return *this;
    }
    json_members& raw(std::string_view k, std::string_view json) {
        key(k) += json;
        return *this;
    }
    /// Writes the comma and the key; the caller appends the value to the returned string.
    std::string& key(std::string_view k) {
        if (!first_)
            out_ += ',';
        first_ = false;
        append_json_string(out_, k);
        out_ += ':';
        return out_;
    }

  private:
    std::string& out_;
    bool first_;
};

}  // namespace trib
