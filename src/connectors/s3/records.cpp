// Splitting objects into records: lines, JSON array elements, CSV rows.

#include "connectors/s3/records.h"

#include <algorithm>

#include "core/json_text.h"

namespace trib::connectors::s3_detail {

record_framer::record_framer(record_format f, std::string delimiter, std::size_t max_record)
    : f_(f), delim_(std::move(delimiter)), max_(max_record) {
    if (delim_.empty())
        delim_ = "\n";
    if (max_ == 0)
        max_ = 1;
}

void record_framer::reset(bool at_object_start) {
    skipping_ = false;
    scanned_ = 0;
    in_quotes_ = false;
    at_start_ = at_object_start;
    closed_ = false;
    depth_ = 0;
    in_string_ = false;
    escape_ = false;
    started_ = false;
    elem_begin_ = 0;
}

record_framer::step record_framer::next(std::string_view buf, bool eof) {
    switch (f_) {
        case record_format::lines:
            return next_line(buf, eof);
        case record_format::csv:
            return next_csv(buf, eof);
        case record_format::json_array:
            return next_json(buf, eof);
        case record_format::parquet:
        case record_format::avro:
            break;  // read by row index (source.cpp)
    }
    step s;
    s.what = kind::end;
    return s;
}

record_framer::step record_framer::next_line(std::string_view buf, bool eof) {
    step s;
    const std::size_t from = scanned_ >= delim_.size() ? scanned_ - (delim_.size() - 1) : 0;
    const auto d = buf.find(delim_, from);
    if (d != std::string_view::npos) {
        scanned_ = 0;
        s.consumed = d + delim_.size();
        if (skipping_) {
            skipping_ = false;
            s.what = kind::skipped;
        } else if (d == 0) {
            s.what = kind::skipped;  // empty records are omitted (Iggy's rule)
        } else if (d > max_) {
            s.what = kind::too_long;
            s.end = max_;
        } else {
            s.what = kind::record;
            s.end = d;
        }
        return s;
    }
    if (eof) {
        scanned_ = 0;
        if (buf.empty()) {
            s.what = kind::end;
            return s;
        }
        s.consumed = buf.size();
        if (skipping_) {
            skipping_ = false;
            s.what = kind::skipped;
        } else {
            s.what = buf.size() > max_ ? kind::too_long : kind::record;
            s.end = std::min(buf.size(), max_);
        }
        return s;
    }
    // No delimiter yet: a record already longer than the limit is cut here, its rest skipped.
    const std::size_t keep = delim_.size() - 1;  // a delimiter may straddle the next read
    if (buf.size() > max_ + keep) {
        s.consumed = buf.size() - keep;
        scanned_ = keep;
        if (skipping_) {
            s.what = kind::skipped;
        } else {
            s.what = kind::too_long;
            s.end = max_;
            skipping_ = true;
        }
        return s;
    }
    scanned_ = buf.size();
    s.what = kind::need_more;
    return s;
}

record_framer::step record_framer::next_csv(std::string_view buf, bool eof) {
    step s;
    std::size_t i = scanned_;
    for (; i < buf.size(); ++i) {
        const char c = buf[i];
        if (c == '"') {
            in_quotes_ = !in_quotes_;  // "" inside quotes toggles twice: stays quoted
        } else if (c == '\n' && !in_quotes_) {
            break;
        }
    }
    if (i < buf.size() || (eof && !buf.empty())) {
        const std::size_t end = i < buf.size() ? i : buf.size();
        std::size_t rec_end = end;
        if (rec_end > 0 && buf[rec_end - 1] == '\r')
            --rec_end;
        s.consumed = i < buf.size() ? i + 1 : buf.size();
        scanned_ = 0;
        in_quotes_ = false;
        if (skipping_) {
            skipping_ = false;
            s.what = kind::skipped;
        } else if (rec_end == 0) {
            s.what = kind::skipped;
        } else if (rec_end > max_) {
            s.what = kind::too_long;
            s.end = max_;
        } else {
            s.what = kind::record;
            s.end = rec_end;
        }
        return s;
    }
    if (eof) {
        s.what = kind::end;
        return s;
    }
    if (buf.size() > max_ + 1) {
        s.consumed = buf.size();
        scanned_ = 0;  // quote state carries on
        if (skipping_) {
            s.what = kind::skipped;
        } else {
            s.what = kind::too_long;
            s.end = max_;
            skipping_ = true;
        }
        return s;
    }
    scanned_ = buf.size();
    s.what = kind::need_more;
    return s;
}

record_framer::step record_framer::next_json(std::string_view buf, bool eof) {
    step s;
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t i = scanned_;
    if (at_start_ || closed_) {
        // Before '[' (a UTF-8 BOM allowed) or after ']': only blanks.
        if (at_start_ && i == 0 && buf.starts_with("\xEF\xBB\xBF"))
            i = 3;
        while (i < buf.size() && blank(buf[i]))
            ++i;
        if (i == buf.size()) {
            scanned_ = 0;
            s.consumed = i;
            if (!eof) {
                s.what = i == 0 ? kind::need_more : kind::skipped;
                return s;
            }
            if (at_start_ && !closed_) {
                if (i == 0 && buf.empty()) {
                    s.what = kind::end;  // an empty object holds no records
                    return s;
                }
                s.what = kind::malformed;
                s.error = "the object is not a JSON array (it is empty)";
                return s;
            }
            s.what = kind::end;
            return s;
        }
        if (closed_) {
            s.what = kind::malformed;
            s.error = "bytes after the JSON array's closing ']'";
            return s;
        }
        if (buf[i] != '[') {
            s.what = kind::malformed;
            s.error = "the object is not a JSON array (it does not start with '[')";
            return s;
        }
        at_start_ = false;
        scanned_ = 0;
        s.what = kind::skipped;
        s.consumed = i + 1;
        return s;
    }
    for (; i < buf.size(); ++i) {
        const char c = buf[i];
        if (!started_) {
            if (blank(c))
                continue;
            if (c == ']' || c == ',') {
                if (c == ']')
                    closed_ = true;
                scanned_ = 0;
                s.what = kind::skipped;  // "[]", "[1,]" or a stray comma: nothing to emit
                s.consumed = i + 1;
                return s;
            }
            started_ = true;
            elem_begin_ = i;
        }
        if (in_string_) {
            if (escape_)
                escape_ = false;
            else if (c == '\\')
                escape_ = true;
            else if (c == '"')
                in_string_ = false;
            continue;
        }
        if (c == '"') {
            in_string_ = true;
        } else if (c == '[' || c == '{') {
            ++depth_;
        } else if ((c == ']' || c == '}') && depth_ > 0) {
            --depth_;
        } else if (depth_ == 0 && (c == ',' || c == ']')) {
            std::size_t end = i;
            while (end > elem_begin_ && blank(buf[end - 1]))
                --end;
            if (c == ']')
                closed_ = true;
            s.consumed = i + 1;
            scanned_ = 0;
            started_ = false;
            if (skipping_) {
                skipping_ = false;
                s.what = kind::skipped;
            } else if (end - elem_begin_ > max_) {
                s.what = kind::too_long;
                s.begin = elem_begin_;
                s.end = elem_begin_ + max_;
            } else {
                s.what = kind::record;
                s.begin = elem_begin_;
                s.end = end;
            }
            elem_begin_ = 0;
            return s;
        }
    }
    if (eof) {
        s.what = kind::malformed;
        s.error = "the JSON array ends before its closing ']'";
        return s;
    }
    if (started_ && buf.size() - elem_begin_ > max_ + 1) {
        // Too long: hand out its start, then skip the rest keeping the scanner's state.
        scanned_ = 0;
        s.consumed = buf.size();
        if (skipping_) {
            s.what = kind::skipped;
        } else {
            s.what = kind::too_long;
            s.begin = elem_begin_;
            s.end = elem_begin_ + max_;
            skipping_ = true;
        }
        elem_begin_ = 0;
        return s;
    }
    scanned_ = buf.size();
    s.what = kind::need_more;
    return s;
}

std::vector<std::string> split_csv_row(std::string_view row) {
    if (!row.empty() && row.back() == '\r')
        row.remove_suffix(1);
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < row.size(); ++i) {
        const char c = row[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < row.size() && row[i + 1] == '"') {
                    cur += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                cur += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(std::move(cur));
    return out;
}

std::string csv_row_json(const std::vector<std::string>& header, std::string_view row) {
    const auto fields = split_csv_row(row);
    std::string out = "{";
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0)
            out += ',';
        append_json_string(out, i < header.size() ? header[i] : "_" + std::to_string(i + 1));
        out += ':';
        append_json_string(out, fields[i]);
    }
    out += '}';
    return out;
}

}  // namespace trib::connectors::s3_detail
