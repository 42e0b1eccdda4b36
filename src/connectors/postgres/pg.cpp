#include "connectors/postgres/pg.h"

#include <cstring>

#include "connectors/postgres/errors.h"
#include "core/message_id.h"
#include "core/parse_number.h"
#include "core/redact.h"

namespace trib::connectors::postgres {

namespace {
__extension__ typedef unsigned __int128 uint128_t;
}  // namespace

std::uint64_t pg_result::affected() const {
    if (!r_)
        return 0;
    const char* t = PQcmdTuples(r_.get());
    // "INSERT 0 5" -> "5"; empty for commands without a count.
    return t != nullptr ? parse_u64(t).value_or(0) : 0;
}

result<db_conn> db_conn::connect(const conn_settings& s) {
    // Later keywords override what the expanded connection string says (libpq rule), so TLS and
    // timeout options from the config win over the string.
    std::vector<std::pair<std::string, std::string>> kv;
    // The password inside the connection string is a secret of its own: hidden wherever a
    // library or server message repeats it (core/redact.h).
    if (PQconninfoOption* opts = PQconninfoParse(s.connection_string.c_str(), nullptr)) {
        for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
            if (o->val != nullptr && (std::strcmp(o->keyword, "password") == 0 ||
                                      std::strcmp(o->keyword, "sslpassword") == 0)) {
                register_secret(o->val);
            }
        }
        PQconninfoFree(opts);
    }
    kv.emplace_back("dbname", s.connection_string);
    kv.emplace_back("application_name", s.application_name);
    kv.emplace_back("connect_timeout",
                    std::to_string(std::max<long>(1, s.connect_timeout.count())));
    // Keepalives make a dead peer (pulled cable, frozen VM) show up as an error, not a hang.
    kv.emplace_back("keepalives", "1");
    kv.emplace_back("keepalives_idle", "30");
    kv.emplace_back("keepalives_interval", "10");
    kv.emplace_back("keepalives_count", "3");
    if (!s.tls.sslmode.empty())
        kv.emplace_back("sslmode", s.tls.sslmode);
    if (!s.tls.sslrootcert.empty())
        kv.emplace_back("sslrootcert", s.tls.sslrootcert);
    if (!s.tls.sslcert.empty())
        kv.emplace_back("sslcert", s.tls.sslcert);
    if (!s.tls.sslkey.empty())
        kv.emplace_back("sslkey", s.tls.sslkey);
    if (!s.tls.sslcrl.empty())
        kv.emplace_back("sslcrl", s.tls.sslcrl);
    if (s.replication)
        kv.emplace_back("replication", "database");
    std::vector<const char*> keys;
    std::vector<const char*> vals;
    for (const auto& [k, v] : kv) {
        keys.push_back(k.c_str());
        vals.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    vals.push_back(nullptr);
    db_conn out;
    out.c_.reset(PQconnectdbParams(keys.data(), vals.data(), 1));
    if (!out.c_ || PQstatus(out.c_.get()) != CONNECTION_OK) {
        return unexpected(from_connect(out.c_.get(), "connect to PostgreSQL"));
    }
    return out;
}

result<pg_result> db_conn::check(PGresult* raw, std::string_view what) {
    pg_result r(raw);
    auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_BOTH) {
        return r;
    }
    return unexpected(from_result(c_.get(), r.get(), what));
}

result<pg_result> db_conn::exec(std::string_view sql) {
    if (!c_)
        return fail(errc::unavailable, "not connected");
    std::string s(sql);
    return check(PQexec(c_.get(), s.c_str()), "query");
}

result<pg_result> db_conn::exec_params(const std::string& sql,
                                       const std::vector<const char*>& values,
                                       const std::vector<int>& lengths,
                                       const std::vector<int>& formats) {
    if (!c_)
        return fail(errc::unavailable, "not connected");
    return check(PQexecParams(c_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), lengths.empty() ? nullptr : lengths.data(),
                              formats.empty() ? nullptr : formats.data(), 0),
                 "query");
}

result<pg_result> db_conn::exec_prepared(const std::string& name,
                                         const std::vector<const char*>& values,
                                         const std::vector<int>& lengths,
                                         const std::vector<int>& formats) {
    if (!c_)
        return fail(errc::unavailable, "not connected");
    return check(PQexecPrepared(c_.get(), name.c_str(), static_cast<int>(values.size()),
                                values.data(), lengths.empty() ? nullptr : lengths.data(),
                                formats.empty() ? nullptr : formats.data(), 0),
                 "statement");
}

status db_conn::prepare(const std::string& name, const std::string& sql) {
    if (!c_)
        return fail(errc::unavailable, "not connected");
    auto r = check(PQprepare(c_.get(), name.c_str(), sql.c_str(), 0, nullptr), "prepare");
    if (!r)
        return unexpected(r.error());
    return trib::ok();
}

result<std::uint64_t> db_conn::copy_in(const std::string& copy_sql, std::string_view data) {
    if (!c_)
        return fail(errc::unavailable, "not connected");
    pg_result start(PQexec(c_.get(), copy_sql.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
        return unexpected(from_result(c_.get(), start.get(), "COPY"));
    }
    // Chunks keep libpq's output buffer small; the server parses as the bytes arrive.
    constexpr std::size_t chunk = 1 << 20;
    for (std::size_t off = 0; off < data.size(); off += chunk) {
        std::size_t n = std::min(chunk, data.size() - off);
        if (PQputCopyData(c_.get(), data.data() + off, static_cast<int>(n)) != 1) {
            return unexpected(from_result(c_.get(), nullptr, "COPY data"));
        }
    }
    if (PQputCopyEnd(c_.get(), nullptr) != 1) {
        return unexpected(from_result(c_.get(), nullptr, "COPY end"));
    }
    std::uint64_t rows = 0;
    std::optional<error> err;
    while (PGresult* raw = PQgetResult(c_.get())) {
        pg_result r(raw);
        if (PQresultStatus(raw) == PGRES_COMMAND_OK) {
            rows = r.affected();
        } else if (!err) {
            err = from_result(c_.get(), raw, "COPY");
        }
    }
    if (err)
        return unexpected(std::move(*err));
    return rows;
}

status db_conn::set_output_defaults() {
    auto r = exec(
        "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
        "SET bytea_output = 'hex'; SET IntervalStyle = 'postgres'");
    if (!r)
        return unexpected(r.error());
    return trib::ok();
}

void db_conn::rollback_quietly() {
    if (c_ && PQstatus(c_.get()) == CONNECTION_OK &&
        PQtransactionStatus(c_.get()) != PQTRANS_IDLE) {
        PQclear(PQexec(c_.get(), "ROLLBACK"));
    }
}

// ---- pool -------------------------------------------------------------------------------------

conn_pool::conn_pool(conn_settings s, std::size_t max) : settings_(std::move(s)), max_(max) {
    if (max_ == 0)
        max_ = 1;
}

conn_pool::~conn_pool() {
    clear();
}

void conn_pool::lease::discard() {
    if (pool_ != nullptr && c_) {
        pool_->give_back(std::move(c_), false);
    }
    pool_ = nullptr;
}

void conn_pool::lease::release() {
    if (pool_ != nullptr && c_) {
        bool keep = c_->ok() && PQtransactionStatus(c_->get()) == PQTRANS_IDLE;
        pool_->give_back(std::move(c_), keep);
    }
    pool_ = nullptr;
}

void conn_pool::give_back(std::unique_ptr<db_conn> c, bool keep) {
    std::lock_guard<std::mutex> lk(mu_);
    if (keep) {
        idle_.push_back(std::move(c));
    } else {
        c.reset();
        --open_;
    }
    cv_.notify_one();
}

result<conn_pool::lease> conn_pool::acquire(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
        while (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            if (c->ok())
                return lease(this, std::move(c));
            --open_;  // broken while idle (server restarted): drop it, try the next
        }
        if (open_ < max_) {
            ++open_;
            lk.unlock();
            auto c = db_conn::connect(settings_);
            if (!c) {
                std::lock_guard<std::mutex> relock(mu_);
                --open_;
                cv_.notify_one();
                return unexpected(c.error());
            }
            return lease(this, std::make_unique<db_conn>(std::move(*c)));
        }
        if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
            return fail(errc::resource_exhausted,
                        "all " + std::to_string(max_) + " PostgreSQL connections are busy");
        }
    }
}

void conn_pool::clear() {
    std::lock_guard<std::mutex> lk(mu_);
    open_ -= idle_.size();
    idle_.clear();
}

std::size_t conn_pool::open_count() const {
    std::lock_guard<std::mutex> lk(mu_);
    return open_;
}

// ---- names ------------------------------------------------------------------------------------

std::string quote_ident(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string quote_literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += '\'';
        out += c;
    }
    return out + "'";
}

std::string qualified_name::sql() const {
    return schema.empty() ? quote_ident(name) : quote_ident(schema) + "." + quote_ident(name);
}

result<qualified_name> parse_qualified_name(std::string_view s) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    auto bad = [&](const std::string& why) {
        return fail(errc::invalid_argument, "table name '" + std::string(s) + "': " + why);
    };
    while (i < s.size()) {
        std::string part;
        if (s[i] == '"') {
            ++i;
            bool closed = false;
            while (i < s.size()) {
                if (s[i] == '"') {
                    if (i + 1 < s.size() && s[i + 1] == '"') {
                        part += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                part += s[i++];
            }
            if (!closed)
                return bad("unterminated quote");
        } else {
            while (i < s.size() && s[i] != '.') {
                char c = s[i++];
                if (c == '"' || c == ' ' || c == ';' || c == '\'' || c == '(' || c == ')')
                    return bad("unexpected character; quote the name");
                part += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
            }
        }
        if (part.empty())
            return bad("empty part");
        parts.push_back(std::move(part));
        if (i < s.size()) {
            if (s[i] != '.')
                return bad("expected '.'");
            ++i;
            if (i == s.size())
                return bad("ends with '.'");
        }
    }
    if (parts.empty())
        return bad("empty");
    if (parts.size() > 2)
        return bad("at most schema.table");
    qualified_name q;
    if (parts.size() == 2) {
        q.schema = parts[0];
        q.name = parts[1];
    } else {
        q.name = parts[0];
    }
    return q;
}

// ---- binary encodings ---------------------------------------------------------------------

namespace binary {

void put16(std::string& out, std::uint16_t v) {
    char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(b, 2);
}
void put32(std::string& out, std::uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    out.append(b, 4);
}
void put64(std::string& out, std::uint64_t v) {
    put32(out, static_cast<std::uint32_t>(v >> 32));
    put32(out, static_cast<std::uint32_t>(v));
}

void numeric_u128(std::string& out, std::uint64_t hi, std::uint64_t lo) {
    // numeric binary: ndigits, weight, sign, dscale, then base-10000 digits (most significant
    // first). Trailing zero digits may be left out; the weight keeps the magnitude.
    std::uint16_t digits[10];  // 2^128 < 10000^10
    int n = 0;
    uint128_t v = (static_cast<uint128_t>(hi) << 64) | lo;
    while (v != 0) {
        digits[n++] = static_cast<std::uint16_t>(v % 10000);
        v /= 10000;
    }
    int low = 0;
    while (low < n && digits[low] == 0)
        ++low;
    put16(out, static_cast<std::uint16_t>(n - low));
    put16(out, static_cast<std::uint16_t>(n == 0 ? 0 : n - 1));
    put16(out, 0);  // positive
    put16(out, 0);  // dscale
    for (int i = n - 1; i >= low; --i)
        put16(out, digits[i]);
}

std::int64_t pg_timestamp(std::uint64_t unix_us) {
    constexpr std::int64_t pg_epoch_offset_us = 946684800LL * 1000000LL;
    return static_cast<std::int64_t>(unix_us) - pg_epoch_offset_us;
}

}  // namespace binary

void copy_text_escape(std::string& out, std::string_view v) {
    for (char c : v) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
}

std::string u128_to_decimal(std::uint64_t hi, std::uint64_t lo) {
    return to_decimal(message_id{lo, hi});
}

std::optional<std::uint64_t> parse_lsn(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= s.size())
        return std::nullopt;
    auto hex = [](std::string_view h) -> std::optional<std::uint64_t> {
        if (h.size() > 8)
            return std::nullopt;
        std::uint64_t v = 0;
        for (char c : h) {
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return std::nullopt;
            v = (v << 4) | static_cast<std::uint64_t>(d);
        }
        return v;
    };
    auto hi = hex(s.substr(0, slash));
    auto lo = hex(s.substr(slash + 1));
    if (!hi || !lo)
        return std::nullopt;
    return (*hi << 32) | *lo;
}

std::string format_lsn(std::uint64_t lsn) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                  static_cast<unsigned>(lsn & 0xffffffffu));
    return buf;
}

}  // namespace trib::connectors::postgres
