#include "connectors/mysql/row_json.h"

#include "core/base64.h"
#include "core/json_parse.h"
#include "core/json_text.h"

namespace trib::connectors::mysql {

namespace {

constexpr unsigned binary_charset = 63;

bool is_number_text(std::string_view v) {
    // What JSON accepts: -?digits(.digits)?([eE][+-]?digits)?
    std::size_t i = 0;
    auto digits = [&] {
        std::size_t s = i;
        while (i < v.size() && v[i] >= '0' && v[i] <= '9')
            ++i;
        return i > s;
    };
    if (i < v.size() && v[i] == '-')
        ++i;
    if (!digits())
        return false;
    if (i < v.size() && v[i] == '.') {
        ++i;
        if (!digits())
            return false;
    }
    if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
        ++i;
        if (i < v.size() && (v[i] == '+' || v[i] == '-'))
            ++i;
        if (!digits())
            return false;
    }
    return i == v.size();
}

}  // namespace

void append_cell_json(std::string& out, const query_result::column& col, std::string_view v) {
    switch (col.type) {
        case MYSQL_TYPE_TINY:
        case MYSQL_TYPE_SHORT:
        case MYSQL_TYPE_LONG:
        case MYSQL_TYPE_LONGLONG:
        case MYSQL_TYPE_INT24:
        case MYSQL_TYPE_YEAR:
        case MYSQL_TYPE_DECIMAL:
        case MYSQL_TYPE_NEWDECIMAL:
        case MYSQL_TYPE_FLOAT:
        case MYSQL_TYPE_DOUBLE:
            // Leading zeros (ZEROFILL) or anything unexpected: a string, never broken JSON.
            if (is_number_text(v) && !(v.size() > 1 && v[0] == '0' && v[1] != '.'))
                out += v;
            else
                append_json_string(out, v);
            return;
        case MYSQL_TYPE_BIT: {
            unsigned long long n = 0;
            for (unsigned char c : v.substr(v.size() > 8 ? v.size() - 8 : 0))
                n = (n << 8) | c;
            out += std::to_string(n);
            return;
        }
        case MYSQL_TYPE_JSON:
            if (check_json(v))
                out += v;
            else
                append_json_string(out, v);
            return;
        default:
            break;
    }
    if (col.charsetnr == binary_charset && col.type != MYSQL_TYPE_DATE &&
        col.type != MYSQL_TYPE_TIME && col.type != MYSQL_TYPE_DATETIME &&
        col.type != MYSQL_TYPE_TIMESTAMP && col.type != MYSQL_TYPE_NEWDATE) {
        append_json_string(out, base64_encode(v));
        return;
    }
    if (valid_utf8(v))
        append_json_string(out, v);
    else
        append_json_string(out, base64_encode(v));
}

}  // namespace trib::connectors::mysql
