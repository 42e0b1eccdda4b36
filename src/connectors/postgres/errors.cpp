// PostgreSQL SQLSTATEs to retry classes: the one place where the connector decides which failures
// the runtime retries (and how), which it hands to the error policy, and which are per row.

#include "connectors/postgres/errors.h"

#include <cstring>

#include "core/redact.h"

namespace trib::connectors::postgres {

std::int64_t sqlstate_code(std::string_view s) {
    std::int64_t v = 0;
    for (std::size_t i = 0; i < 5 && i < s.size(); ++i) {
        v = (v << 8) | static_cast<unsigned char>(s[i]);
    }
    return v;
}

std::string sqlstate_text(std::int64_t code) {
    std::string s;
    for (int i = 4; i >= 0; --i) {
        char c = static_cast<char>((code >> (8 * i)) & 0xff);
        if (c != 0)
            s += c;
    }
    return s;
}

namespace {

bool starts(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

struct mapping {
    errc code;
    retry_class retry;
};

mapping map_sqlstate(std::string_view st) {
    using rc = retry_class;
    if (st.size() != 5)
        return {errc::internal, rc::fatal};
    // Exact states first, then classes.
    if (st == "40001" || st == "40P01")  // serialization failure, deadlock: run it again
        return {errc::failed_precondition, rc::retryable};
    if (st == "57P01" || st == "57P02" || st == "57P03")  // server shutting down / starting
        return {errc::unavailable, rc::retryable};
    if (st == "57014")  // statement cancelled (timeout or pg_cancel_backend)
        return {errc::cancelled, rc::retryable};
    if (st == "55P03" || st == "55006")  // lock not available; object (e.g. a slot) in use
        return {errc::failed_precondition, rc::retryable};
    if (st == "25P02" || st == "25P03")  // aborted transaction / idle timeout: a new one works
        return {errc::failed_precondition, rc::retryable};
    if (st == "42501")
        return {errc::permission_denied, rc::fatal};
    if (st == "3D000" || st == "3F000" || st == "42P01" || st == "42704" || st == "42883")
        return {errc::not_found, rc::fatal};
    if (st == "42710" || st == "42P07")
        return {errc::already_exists, rc::fatal};
    if (st == "XX001" || st == "XX002")
        return {errc::data_loss, rc::fatal};
    if (st == "58P01" || st == "58P02")
        return {errc::not_found, rc::fatal};
    if (starts(st, "08"))  // connection exception
        return {errc::unavailable, rc::retryable};
    if (starts(st, "40"))  // other transaction rollbacks
        return {errc::failed_precondition, rc::retryable};
    if (starts(st, "53"))  // insufficient resources: disk full, out of memory, too many conns
        return {errc::resource_exhausted, rc::throttled};
    if (starts(st, "58"))  // system error (I/O)
        return {errc::io_error, rc::retryable};
    if (starts(st, "22") || starts(st, "23"))  // data exception, integrity constraint
        return {errc::invalid_argument, rc::fatal};
    if (starts(st, "28"))  // invalid authorization
        return {errc::unauthenticated, rc::fatal};
    if (starts(st, "42"))  // syntax error or access rule violation (schema mismatch)
        return {errc::failed_precondition, rc::fatal};
    if (starts(st, "0A"))
        return {errc::unimplemented, rc::fatal};
    if (starts(st, "54"))  // program limit exceeded (too many columns/arguments)
        return {errc::invalid_argument, rc::fatal};
    return {errc::internal, rc::fatal};
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

// libpq quotes pieces of the connection string in its parse errors (`missing "=" after "..."
// in connection info string`, `invalid percent-encoded token: "..."`, `invalid connection
// option "..."`): a piece may be part of the password. Those quotes are dropped; every other
// text goes through the core redactor (URL userinfo, password=..., the registered secrets).
std::string scrub(std::string msg) {
    const bool parse_error = msg.find("connection info string") != std::string::npos ||
                             msg.find("URI") != std::string::npos ||
                             msg.find("percent-encoded") != std::string::npos ||
                             msg.find("invalid connection option") != std::string::npos ||
                             msg.find("unterminated quoted string") != std::string::npos;
    if (parse_error) {
        std::string out;
        bool quoted = false;
        for (char c : msg) {
            if (c == '"') {
                if (!quoted)
                    out += "\"***\"";
                quoted = !quoted;
                continue;
            }
            if (!quoted)
                out.push_back(c);
        }
        msg = std::move(out);
    }
    return redact(msg);
}

}  // namespace

error classify(std::string_view sqlstate, std::string message) {
    mapping m = map_sqlstate(sqlstate);
    std::string text = std::move(message);
    if (!sqlstate.empty())
        text += " (SQLSTATE " + std::string(sqlstate) + ")";
    return error(m.code, m.retry, std::move(text), sqlstate_code(sqlstate));
}

error from_result(const PGconn* c, const PGresult* r, std::string_view context) {
    const char* st = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg;
    if (r != nullptr && PQresultErrorMessage(r) != nullptr && *PQresultErrorMessage(r) != 0) {
        msg = PQresultErrorMessage(r);
    } else if (c != nullptr) {
        msg = PQerrorMessage(c);
    }
    msg = scrub(trim(std::move(msg)));
    if (msg.empty())
        msg = "no result from server";
    std::string full = std::string(context) + ": " + msg;
    if (st == nullptr || *st == 0) {
        // libpq made the error itself: the connection broke, or a protocol problem.
        if (c == nullptr || PQstatus(c) == CONNECTION_BAD) {
            return error(errc::unavailable, retry_class::retryable, std::move(full));
        }
        return error(errc::protocol_error, retry_class::retryable, std::move(full));
    }
    return classify(st, std::move(full));
}

error from_connect(const PGconn* c, std::string_view context) {
    std::string msg = c != nullptr ? scrub(trim(PQerrorMessage(c))) : std::string("out of memory");
    std::string full = std::string(context) + ": " + msg;
    auto has = [&](const char* s) { return msg.find(s) != std::string::npos; };
    // libpq does not expose the SQLSTATE of a failed start-up; the server's message does tell.
    if (has("password authentication failed") || has("no password supplied") ||
        has("pg_hba.conf") || has("authentication failed")) {
        return error(errc::unauthenticated, retry_class::fatal, std::move(full),
                     sqlstate_code("28P01"));
    }
    if (has("database") && has("does not exist")) {
        return error(errc::not_found, retry_class::fatal, std::move(full), sqlstate_code("3D000"));
    }
    if (has("role") && has("does not exist")) {
        return error(errc::unauthenticated, retry_class::fatal, std::move(full),
                     sqlstate_code("28000"));
    }
    if (has("invalid connection option") || has("invalid sslmode") || has("invalid URI") ||
        has("missing \"=\"") || has("invalid integer value") || has("percent-encoded") ||
        has("connection info string") || has("unterminated quoted string")) {
        return error(errc::invalid_argument, retry_class::fatal, std::move(full));
    }
    if (has("too many connections") || has("remaining connection slots")) {
        return error(errc::resource_exhausted, retry_class::throttled, std::move(full),
                     sqlstate_code("53300"));
    }
    if (has("certificate") || has("SSL")) {
        // A TLS failure is usually configuration (wrong CA, server without TLS): do not spin.
        if (has("SSL SYSCALL") || has("EOF detected"))
            return error(errc::unavailable, retry_class::retryable, std::move(full));
        return error(errc::failed_precondition, retry_class::fatal, std::move(full));
    }
    // Refused, timed out, starting up, shutting down, in recovery: try again later.
    return error(errc::unavailable, retry_class::retryable, std::move(full),
                 sqlstate_code("08001"));
}

bool is_row_error(const error& e) {
    std::string st = sqlstate_text(e.vendor_code());
    return st.size() == 5 && (starts(st, "22") || starts(st, "23"));
}

bool is_connection_error(const error& e) {
    return e.code() == errc::unavailable;
}

}  // namespace trib::connectors::postgres
