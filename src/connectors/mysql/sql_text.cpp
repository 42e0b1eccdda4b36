#include "connectors/mysql/sql_text.h"

#include "core/hex.h"
#include "core/parse_number.h"
#include "core/utc_text.h"

namespace trib::connectors::mysql {

result<conn_target> parse_url(std::string_view url) {
    conn_target t;
    std::string_view rest = url;
    if (rest.starts_with("mysql://")) {
        rest.remove_prefix(8);
    } else if (rest.starts_with("mariadb://")) {
        rest.remove_prefix(10);
    } else {
        return fail(errc::invalid_argument,
                    "connection_string: expected mysql://user:pass@host:port/db");
    }
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view path;
    if (auto s = rest.find('/'); s != std::string_view::npos) {
        path = rest.substr(s + 1);
        rest = rest.substr(0, s);
    }
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view cred = rest.substr(0, at);
        rest = rest.substr(at + 1);
        std::string_view user = cred, pass;
        if (auto c = cred.find(':'); c != std::string_view::npos) {
            user = cred.substr(0, c);
            pass = cred.substr(c + 1);
        }
        auto u = percent_decode(user);
        auto p = percent_decode(pass);
        if (!u || !p)
            return fail(errc::invalid_argument,
                        "connection_string: bad percent escape in the user or password");
        t.user = std::move(*u);
        t.password = std::move(*p);
    }
    std::string_view host = rest, port;
    if (host.starts_with('[')) {
        auto close = host.find(']');
        if (close == std::string_view::npos)
            return fail(errc::invalid_argument, "connection_string: unclosed '[' in the host");
        port = host.substr(close + 1);
        host = host.substr(1, close - 1);
        if (!port.empty()) {
            if (port.front() != ':')
                return fail(errc::invalid_argument, "connection_string: bad host");
            port.remove_prefix(1);
        }
    } else if (auto c = host.find(':'); c != std::string_view::npos) {
        port = host.substr(c + 1);
        host = host.substr(0, c);
    }
    if (!host.empty())
        t.host = std::string(host);
    if (!port.empty()) {
        auto n = parse_u64(port);
        if (!n || *n == 0 || *n > 65535)
            return fail(errc::invalid_argument,
                        "connection_string: port '" + std::string(port) + "' is not 1-65535");
        t.port = static_cast<std::uint16_t>(*n);
    }
    if (!path.empty()) {
        auto d = percent_decode(path);
        if (!d)
            return fail(errc::invalid_argument, "connection_string: bad percent escape in the db");
        t.database = std::move(*d);
    }
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view kv = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        auto eq = kv.find('=');
        std::string_view k = kv.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
        if (k == "socket") {
            auto s = percent_decode(v);
            if (!s)
                return fail(errc::invalid_argument, "connection_string: bad socket path");
            t.unix_socket = std::move(*s);
        }
        // Other parameters (ssl-mode, ...) are options of their own here (sslmode, ssl_ca...).
    }
    if (t.database.find('\0') != std::string::npos || t.user.find('\0') != std::string::npos)
        return fail(errc::invalid_argument, "connection_string: NUL byte in the user or database");
    return t;
}

status check_identifier(std::string_view name) {
    if (name.empty())
        return fail(errc::invalid_argument, "empty identifier");
    if (name.find('\0') != std::string_view::npos)
        return fail(errc::invalid_argument, "identifier with a NUL byte");
    if (name.size() > 64)
        return fail(errc::invalid_argument,
                    "identifier '" + std::string(name.substr(0, 64)) + "...' is over 64 bytes");
    return ok();
}

std::string quote_ident(std::string_view name) {
    std::string out = "`";
    for (char c : name) {
        if (c == '`')
            out += '`';
        out += c;
    }
    out += '`';
    return out;
}

std::string table_name::sql() const {
    return schema.empty() ? quote_ident(name) : quote_ident(schema) + "." + quote_ident(name);
}

result<table_name> parse_table_name(std::string_view text) {
    table_name t;
    // `a`.`b`, a.b, or a; backquoted parts may hold dots.
    auto part = [](std::string_view& s, std::string& out) -> status {
        if (s.starts_with('`')) {
            std::size_t i = 1;
            for (; i < s.size(); ++i) {
                if (s[i] == '`') {
                    if (i + 1 < s.size() && s[i + 1] == '`') {
                        out += '`';
                        ++i;
                        continue;
                    }
                    break;
                }
                out += s[i];
            }
            if (i >= s.size())
                return fail(errc::invalid_argument, "unclosed backquote");
            s.remove_prefix(i + 1);
        } else {
            auto dot = s.find('.');
            out = std::string(s.substr(0, dot));
            s = dot == std::string_view::npos ? std::string_view() : s.substr(dot);
        }
        return check_identifier(out);
    };
    std::string_view s = text;
    std::string first;
    if (auto st = part(s, first); !st)
        return unexpected(st.error().wrap("table '" + std::string(text) + "'"));
    if (s.empty()) {
        t.name = std::move(first);
        return t;
    }
    if (!s.starts_with('.'))
        return fail(errc::invalid_argument, "table '" + std::string(text) + "': expected '.'");
    s.remove_prefix(1);
    std::string second;
    if (auto st = part(s, second); !st)
        return unexpected(st.error().wrap("table '" + std::string(text) + "'"));
    if (!s.empty())
        return fail(errc::invalid_argument,
                    "table '" + std::string(text) + "': expected table or db.table");
    t.schema = std::move(first);
    t.name = std::move(second);
    return t;
}

namespace {

// Writes `bytes` with each byte of `specials` replaced by a backslash and the letter at the same
// place in `letters`.
void append_escaped(std::string& out, std::string_view bytes, std::string_view specials,
                    std::string_view letters) {
    for (char c : bytes) {
        auto k = specials.find(c);
        if (k == std::string_view::npos) {
            out += c;
        } else {
            out += '\\';
            out += letters[k];
        }
    }
}

}  // namespace

void append_literal(std::string& out, std::string_view bytes, bool binary) {
    if (binary)
        out += "_binary";
    out += '\'';
    append_escaped(out, bytes, std::string_view("\0'\\\n\r\x1a", 6), "0'\\nrZ");
    out += '\'';
}

void append_tsv_field(std::string& out, std::string_view bytes) {
    append_escaped(out, bytes, std::string_view("\0\b\n\r\t\x1a\\", 7), "0bnrtZ\\");
}

std::string datetime_text(std::uint64_t unix_us) {
    return utc_text(unix_us, ' ');
}

}  // namespace trib::connectors::mysql
