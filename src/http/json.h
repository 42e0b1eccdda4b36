#pragma once
// A small streaming JSON writer for API responses (no DOM, no dependency). It writes what it is
// told in order and puts commas and colons where they belong; nesting errors are the caller's.

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_text.h"  // append_json_string, used with json_writer

namespace trib::http {

/// Example: json_writer w; w.begin_object().key("ok").value(true).end_object(); w.str() is
/// {"ok":true}.
class json_writer {
  public:
    json_writer& begin_object();
    json_writer& end_object();
    json_writer& begin_array();
    json_writer& end_array();
    json_writer& key(std::string_view k);
    json_writer& value(std::string_view v);
    json_writer& value(const char* v) { return value(std::string_view(v)); }
    json_writer& value(const std::string& v) { return value(std::string_view(v)); }
    json_writer& value(bool v);
    json_writer& value(double v);  // NaN and infinities become null
    template <std::signed_integral T>
    json_writer& value(T v) {
        return value_i64(static_cast<std::int64_t>(v));
    }
    template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>) json_writer& value(T v) {
        return value_u64(static_cast<std::uint64_t>(v));
    }
    json_writer& null();
    /// Inserts already-serialized JSON as one value.
    json_writer& raw(std::string_view json);
    /// key(k).value(v) in one call.
    template <class V>
    json_writer& field(std::string_view k, const V& v) {
        key(k);
        return value(v);
    }

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    json_writer& value_i64(std::int64_t v);
    json_writer& value_u64(std::uint64_t v);
    void before_value();

    std::string out_;
    std::vector<bool> has_items_;  // per open container
    bool after_key_ = false;
};

}  // namespace trib::http
