#include "connectors/mysql/conn.h"

#include <cstring>

#include "connectors/mysql/errors.h"
#include "connectors/mysql/sql_text.h"

namespace trib::connectors::mysql {

namespace {

// LOAD DATA LOCAL INFILE reads "the file" through these callbacks: the file is `data`.
struct infile_source {
    std::string_view data;
    std::size_t pos = 0;
};

int infile_init(void** ptr, const char*, void* userdata) {
    *ptr = userdata;
    return 0;
}

int infile_read(void* ptr, char* buf, unsigned int len) {
    auto* src = static_cast<infile_source*>(ptr);
    std::size_t n = std::min<std::size_t>(len, src->data.size() - src->pos);
    std::memcpy(buf, src->data.data() + src->pos, n);
    src->pos += n;
    return static_cast<int>(n);
}

void infile_end(void*) {}

int infile_error(void*, char* msg, unsigned int len) {
    std::snprintf(msg, len, "tributary: in-memory infile failed");
    return 2000;
}

}  // namespace

result<std::unique_ptr<db_conn>> db_conn::connect(const conn_settings& s) {
    TRIB_ASSIGN_OR_RETURN(auto t, parse_url(s.connection_string));
    MYSQL* m = mysql_init(nullptr);
    if (m == nullptr)
        return fail(errc::resource_exhausted, "mysql_init failed (out of memory)");
    std::unique_ptr<db_conn> c(new db_conn(m));
    unsigned ct = static_cast<unsigned>(s.connect_timeout.count());
    unsigned io = static_cast<unsigned>(s.io_timeout.count());
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    my_bool local = 1;
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local);
    my_bool no = 0, yes = 1;
    const tls_options& tls = s.tls;
    if (tls.mode == ssl_mode::disabled) {
        // Connector/C 3.3 turns TLS on only when asked: nothing to set.
    } else {
        if (!tls.ca.empty())
            mysql_optionsv(m, MYSQL_OPT_SSL_CA, tls.ca.c_str());
        if (!tls.cert.empty())
            mysql_optionsv(m, MYSQL_OPT_SSL_CERT, tls.cert.c_str());
        if (!tls.key.empty())
            mysql_optionsv(m, MYSQL_OPT_SSL_KEY, tls.key.c_str());
        if (!tls.crl.empty())
            mysql_optionsv(m, MYSQL_OPT_SSL_CRL, tls.crl.c_str());
        bool enforce = tls.mode != ssl_mode::preferred;
        bool verify = tls.mode == ssl_mode::verify_ca || tls.mode == ssl_mode::verify_identity;
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, enforce ? &yes : &no);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, verify ? &yes : &no);
    }
    const char* sock = t.unix_socket.empty() ? nullptr : t.unix_socket.c_str();
    if (mysql_real_connect(m, t.host.c_str(), t.user.c_str(), t.password.c_str(),
                           t.database.empty() ? nullptr : t.database.c_str(), t.port, sock,
                           CLIENT_FOUND_ROWS) == nullptr) {
        return unexpected(c->last_error("connect to " + t.host + ":" + std::to_string(t.port)));
    }
    TRIB_TRY(
        c->exec("SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
                "NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'"));
    return c;
}

db_conn::~db_conn() {
    if (m_ != nullptr)
        mysql_close(m_);
}

error db_conn::last_error(std::string_view context) {
    unsigned n = mysql_errno(m_);
    std::string text = mysql_error(m_);
    if (n == 0) {
        n = 2000;
        text = "unknown error";
    }
    error e = classify(n, std::string(context) + ": " + text + " (" + std::to_string(n) + ")");
    if (is_connection_error(e))
        ok_ = false;
    return e;
}

result<std::uint64_t> db_conn::exec(std::string_view sql) {
    if (mysql_real_query(m_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        return unexpected(last_error("query"));
    MYSQL_RES* r = mysql_store_result(m_);
    if (r != nullptr)
        mysql_free_result(r);
    else if (mysql_field_count(m_) != 0)
        return unexpected(last_error("read result"));
    return static_cast<std::uint64_t>(mysql_affected_rows(m_));
}

result<query_result> db_conn::query(std::string_view sql) {
    if (mysql_real_query(m_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        return unexpected(last_error("query"));
    MYSQL_RES* r = mysql_store_result(m_);
    query_result out;
    if (r == nullptr) {
        if (mysql_field_count(m_) != 0)
            return unexpected(last_error("read result"));
        return out;
    }
    unsigned nf = mysql_num_fields(r);
    MYSQL_FIELD* f = mysql_fetch_fields(r);
    for (unsigned i = 0; i < nf; ++i)
        out.columns.push_back(
            {std::string(f[i].name, f[i].name_length), f[i].type, f[i].flags, f[i].charsetnr});
    while (MYSQL_ROW row = mysql_fetch_row(r)) {
        unsigned long* len = mysql_fetch_lengths(r);
        std::vector<std::optional<std::string>> cells;
        cells.reserve(nf);
        for (unsigned i = 0; i < nf; ++i) {
            if (row[i] == nullptr)
                cells.emplace_back(std::nullopt);
            else
                cells.emplace_back(std::string(row[i], len[i]));
        }
        out.rows.push_back(std::move(cells));
    }
    mysql_free_result(r);
    return out;
}

result<std::uint64_t> db_conn::load_data(std::string_view sql, std::string_view data) {
    infile_source src{data, 0};
    mysql_set_local_infile_handler(m_, infile_init, infile_read, infile_end, infile_error, &src);
    auto r = exec(sql);
    mysql_set_local_infile_default(m_);
    return r;
}

void db_conn::rollback_quietly() {
    if (ok_)
        (void)mysql_query(m_, "ROLLBACK");
}

std::string db_conn::server_version() const {
    const char* v = mysql_get_server_info(m_);
    return v != nullptr ? v : "";
}

}  // namespace trib::connectors::mysql
