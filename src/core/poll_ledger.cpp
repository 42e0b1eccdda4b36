#include "core/poll_ledger.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>

#include "core/json_text.h"
#include "core/message_id.h"
#include "core/parse_number.h"
#include "core/utc_text.h"

namespace trib {

namespace {

std::string_view text_of(const rapidjson::Value& v) {
    return {v.GetString(), v.GetStringLength()};
}

}  // namespace

result<poll_state> parse_poll_state(std::string_view text, std::string_view what) {
    // JSON has no raw NUL byte; RapidJSON would take one as the end and ignore what follows.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos)
        return fail(errc::data_loss, fmt::format("{} has a NUL byte at {}", what, nul));
    constexpr unsigned flags = rapidjson::kParseIterativeFlag |
                               rapidjson::kParseValidateEncodingFlag |
                               rapidjson::kParseNumbersAsStringsFlag;
    rapidjson::Document d;
    d.Parse<flags>(text.data(), text.size());
    if (d.HasParseError()) {
        return fail(errc::data_loss,
                    fmt::format("{} is not JSON (at byte {}: {})", what, d.GetErrorOffset(),
                                rapidjson::GetParseError_En(d.GetParseError())));
    }
    if (!d.IsObject())
        return fail(errc::data_loss, fmt::format("{} is not a JSON object", what));
    poll_state s;
    auto read_map = [&](const char* name, std::map<std::string, std::string>& out) -> status {
        if (!d.HasMember(name) || d[name].IsNull())
            return ok();
        const rapidjson::Value& obj = d[name];
        if (!obj.IsObject())
            return fail(errc::data_loss, fmt::format("{}: `{}` is not an object", what, name));
        for (const auto& m : obj.GetObject()) {
            if (m.value.IsNull())
                continue;
            if (!m.value.IsString()) {  // numbers arrive as their text
                return fail(errc::data_loss,
                            fmt::format("{}: `{}` of table \"{}\" is not a string or number", what,
                                        name, text_of(m.name)));
            }
            out[std::string(text_of(m.name))] = std::string(text_of(m.value));
        }
        return ok();
    };
    TRIB_TRY(read_map("tracking_offsets", s.offsets));
    TRIB_TRY(read_map("tie_breakers", s.ties));
    if (d.HasMember("processed_rows") && !d["processed_rows"].IsNull()) {
        const rapidjson::Value& m = d["processed_rows"];
        const auto v = m.IsString() ? parse_u64(text_of(m)) : std::nullopt;
        if (!v) {
            return fail(
                errc::data_loss,
                fmt::format("{}: `processed_rows` is not an unsigned 64-bit integer", what));
        }
        s.processed_rows = *v;
    }
    return s;
}

status poll_ledger::init(std::vector<std::string> table_keys, std::string_view state,
                         std::string_view what) {
    std::lock_guard lk(mu_);
    keys_ = std::move(table_keys);
    pos_.assign(keys_.size(), {});
    flights_.clear();
    todo_.clear();
    processed_ = 0;
    if (state.empty())
        return ok();
    TRIB_ASSIGN_OR_RETURN(const poll_state s, parse_poll_state(state, what));
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        if (auto it = s.offsets.find(keys_[i]); it != s.offsets.end()) {
            pos_[i].offset = it->second;
            pos_[i].has_offset = true;
        }
        if (auto it = s.ties.find(keys_[i]); it != s.ties.end()) {
            pos_[i].tie = it->second;
            pos_[i].has_tie = true;
        }
    }
    processed_ = s.processed_rows;
    return ok();
}

poll_ledger::start poll_ledger::begin() const {
    std::lock_guard lk(mu_);
    return start{pos_, generation_, next_query_, !todo_.empty()};
}

std::deque<delivered_rows> poll_ledger::take_todo() {
    std::lock_guard lk(mu_);
    std::deque<delivered_rows> out;
    out.swap(todo_);
    return out;
}

void poll_ledger::requeue(std::deque<delivered_rows> ops) {
    std::lock_guard lk(mu_);
    while (!ops.empty()) {
        todo_.push_front(std::move(ops.back()));
        ops.pop_back();
    }
}

std::optional<std::string> poll_ledger::commit(const start& from, std::vector<table_position> to,
                                               std::vector<delivered_rows> ops, std::size_t rows,
                                               bool full, clock::duration interval) {
    std::lock_guard lk(mu_);
    // A full page means more rows are waiting: query again at once.
    next_query_ = full ? clock::now() : clock::now() + interval;
    if (rows == 0 || from.generation != generation_)
        return std::nullopt;
    pos_ = std::move(to);
    processed_ += rows;
    flights_.push_back({next_seq_++, from.pos, std::move(ops)});
    return state_json(pos_, processed_);
}

void poll_ledger::ack(std::uint64_t seq) {
    std::lock_guard lk(mu_);
    while (!flights_.empty() && flights_.front().seq <= seq) {
        for (auto& op : flights_.front().ops)
            todo_.push_back(std::move(op));
        flights_.pop_front();
    }
}

void poll_ledger::nack(std::uint64_t seq) {
    std::lock_guard lk(mu_);
    auto it = std::find_if(flights_.begin(), flights_.end(),
                           [&](const flight& f) { return f.seq >= seq; });
    if (it == flights_.end())
        return;
    pos_ = it->before;  // read those rows again
    flights_.erase(it, flights_.end());
    generation_++;
    next_query_ = clock::time_point{};
}

std::string poll_ledger::state_json(const std::vector<table_position>& p,
                                    std::uint64_t rows) const {
    auto section = [&](bool tie) {
        std::string s = "{";
        bool first = true;
        for (std::size_t i = 0; i < keys_.size() && i < p.size(); ++i) {
            if (!(tie ? p[i].has_tie : p[i].has_offset))
                continue;
            if (!first)
                s += ',';
            first = false;
            append_json_string(s, keys_[i]);
            s += ':';
            append_json_string(s, tie ? p[i].tie : p[i].offset);
        }
        return s + "}";
    };
    return "{\"tracking_offsets\":" + section(false) + ",\"tie_breakers\":" + section(true) +
           ",\"processed_rows\":" + std::to_string(rows) + "}";
}

void check_poll_columns(const poll_columns& need, std::string_view table,
                        const std::function<bool(const std::string&)>& has,
                        std::vector<std::string>& problems) {
    const std::pair<const std::string*, const char*> cols[] = {
        {&need.tracking, "tracking_column"},
        {&need.key, "primary_key_column"},
        {&need.processed, "processed_column"},
        {&need.payload, "payload_column"},
    };
    for (const auto& [c, option] : cols) {
        if (!c->empty() && !has(*c))
            problems.push_back(fmt::format("{} has no column '{}' ({})", table, *c, option));
    }
}

status poll_columns_status(const std::vector<std::string>& problems) {
    if (problems.empty())
        return ok();
    std::string msg;
    for (const auto& p : problems)
        msg += (msg.empty() ? "" : "; ") + p;
    return fail(errc::failed_precondition, msg);
}

message_id polled_row_id(std::string_view domain, std::string_view table,
                         std::optional<std::string_view> key,
                         std::optional<std::string_view> tracking, std::string_view payload) {
    message_id_builder b(domain);
    b.add(table);
    b.add_u32(key ? 1 : 0).add(key.value_or(std::string_view{}));
    b.add_u32(tracking ? 1 : 0).add(tracking.value_or(std::string_view{}));
    if (!key)
        b.add(payload);
    return b.finish();
}

std::string expand_poll_query(std::string q, std::string_view table_sql, std::string_view offset,
                              std::size_t limit, std::uint64_t now_us) {
    auto replace_all = [&](std::string_view from, const std::string& to) {
        for (std::size_t p = 0; (p = q.find(from, p)) != std::string::npos;) {
            q.replace(p, from.size(), to);
            p += to.size();
        }
    };
    replace_all("$table", std::string(table_sql));
    replace_all("$offset", std::string(offset));
    replace_all("$limit", std::to_string(limit));
    replace_all("$now_unix", std::to_string(now_us / 1000000));
    replace_all("$now", rfc3339_us(now_us));
    return q;
}

std::string rfc3339_us(std::uint64_t unix_us) {
    return utc_text(unix_us, 'T', "Z");
}

std::string snake_case(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            if (i > 0 && !out.empty() && out.back() != '_') {
                char p = s[i - 1];
                bool prev_lower = (p >= 'a' && p <= 'z') || (p >= '0' && p <= '9');
                bool next_lower = i + 1 < s.size() && s[i + 1] >= 'a' && s[i + 1] <= 'z';
                bool prev_upper = p >= 'A' && p <= 'Z';
                if (prev_lower || (prev_upper && next_lower))
                    out += '_';
            }
            out += static_cast<char>(c - 'A' + 'a');
        } else if (c == ' ' || c == '-' || c == '.') {
            out += '_';
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace trib
