#include "http/json.h"

#include <array>
#include <charconv>
#include <cmath>

namespace trib::http {

void json_writer::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!has_items_.empty()) {
        if (has_items_.back())
            out_ += ',';
        has_items_.back() = true;
    }
}

json_writer& json_writer::begin_object() {
    before_value();
    out_ += '{';
    has_items_.push_back(false);
    return *this;
}

json_writer& json_writer::end_object() {
    out_ += '}';
    if (!has_items_.empty())
        has_items_.pop_back();
    return *this;
}

json_writer& json_writer::begin_array() {
    before_value();
    out_ += '[';
    has_items_.push_back(false);
    return *this;
}

json_writer& json_writer::end_array() {
    out_ += ']';
    if (!has_items_.empty())
        has_items_.pop_back();
    return *this;
}

json_writer& json_writer::key(std::string_view k) {
    before_value();
    append_json_string(out_, k);
    out_ += ':';
    after_key_ = true;
    return *this;
}

json_writer& json_writer::value(std::string_view v) {
    before_value();
    append_json_string(out_, v);
    return *this;
}

json_writer& json_writer::value(bool v) {
    before_value();
    out_ += v ? "true" : "false";
    return *this;
}

json_writer& json_writer::value(double v) {
    before_value();
    if (!std::isfinite(v)) {
        out_ += "null";
        return *this;
    }
    std::array<char, 32> buf{};
    auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), r.ptr);
    return *this;
}

json_writer& json_writer::value_i64(std::int64_t v) {
    before_value();
    std::array<char, 24> buf{};
    auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), r.ptr);
    return *this;
}

json_writer& json_writer::value_u64(std::uint64_t v) {
    before_value();
    std::array<char, 24> buf{};
    auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), r.ptr);
    return *this;
}

json_writer& json_writer::null() {
    before_value();
    out_ += "null";
    return *this;
}

json_writer& json_writer::raw(std::string_view json) {
    before_value();
    out_ += json;
    return *this;
}

}  // namespace trib::http
