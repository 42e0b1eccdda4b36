// One AMQP connection and channel on rabbitmq-c; see connection.h.

#include "connectors/rabbitmq/connection.h"

#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <string>
#include <vector>

namespace trib::connectors::rabbitmq {
namespace {

amqp_bytes_t bytes_of(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

error config_error(std::string msg) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(msg));
}

}  // namespace

result<connection_options> connection_options_from(const config::values& v) {
    connection_options o;
    std::string url = v.str("amqp_url");
    std::vector<char> buf(url.begin(), url.end());
    buf.push_back('\0');
    amqp_connection_info info{};
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
        return config_error(
            "amqp_url: not an amqp:// or amqps:// URL (amqp://user:password@host:port/vhost)");
    o.host = info.host != nullptr ? info.host : "localhost";
    o.port = info.port;
    // amqp_parse_url reads "amqp://host/" as the vhost "" (the AMQP URI spec); no broker has
    // one by default, so an empty vhost means "/" here.
    o.vhost = info.vhost != nullptr && *info.vhost != '\0' ? info.vhost : "/";
    o.user = info.user != nullptr ? info.user : "guest";
    o.password = info.password != nullptr ? info.password : "guest";
    o.tls = info.ssl != 0;
    if (auto x = v.opt_str("vhost"))
        o.vhost = *x;
    if (auto x = v.opt_str("username"))
        o.user = *x;
    if (auto x = v.opt_str("password"))
        o.password = *x;
    if (o.host.empty())
        return config_error("amqp_url: the host is empty");
    o.timeout = std::chrono::seconds(v.integer("timeout_secs"));
    o.heartbeat_s = static_cast<int>(v.integer("heartbeat_secs"));
    o.verbose = v.boolean("verbose_logging");
    auto tls = v.table("tls");
    o.ca_file = tls.opt_str("ca_file").value_or("");
    o.cert_file = tls.opt_str("cert_file").value_or("");
    o.key_file = tls.opt_str("key_file").value_or("");
    o.verify = tls.boolean("verify");
    if (o.cert_file.empty() != o.key_file.empty())
        return config_error("tls: cert_file and key_file go together");
    return o;
}

status connection::open(const connection_options& o) {
    close();
    conn_ = amqp_new_connection();
    if (conn_ == nullptr)
        return fail(errc::resource_exhausted, "amqp_new_connection failed");
    const std::string where = "RabbitMQ " + o.host + ":" + std::to_string(o.port);
    amqp_socket_t* sock = nullptr;
    if (o.tls) {
        sock = amqp_ssl_socket_new(conn_);
        if (sock == nullptr) {
            close();
            return fail(errc::internal, where + ": cannot create a TLS socket");
        }
        amqp_ssl_socket_set_verify_peer(sock, o.verify ? 1 : 0);
        amqp_ssl_socket_set_verify_hostname(sock, o.verify ? 1 : 0);
        if (!o.ca_file.empty() && amqp_ssl_socket_set_cacert(sock, o.ca_file.c_str()) != 0) {
            close();
            return config_error("tls.ca_file: cannot read " + o.ca_file);
        }
        if (!o.cert_file.empty() &&
            amqp_ssl_socket_set_key(sock, o.cert_file.c_str(), o.key_file.c_str()) != 0) {
            close();
            return config_error("tls.cert_file/key_file: cannot read " + o.cert_file + " / " +
                                o.key_file);
        }
    } else {
        sock = amqp_tcp_socket_new(conn_);
        if (sock == nullptr) {
            close();
            return fail(errc::internal, where + ": cannot create a socket");
        }
    }
    timeval tv{static_cast<time_t>(o.timeout.count()), 0};
    (void)amqp_set_handshake_timeout(conn_, &tv);
    (void)amqp_set_rpc_timeout(conn_, &tv);
    int st = amqp_socket_open_noblock(sock, o.host.c_str(), o.port, &tv);
    if (st != AMQP_STATUS_OK) {
        auto e = status_error(st, where + ": connect");
        close();
        return e;
    }
    amqp_rpc_reply_t r =
        amqp_login(conn_, o.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, o.heartbeat_s,
                   AMQP_SASL_METHOD_PLAIN, o.user.c_str(), o.password.c_str());
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        error e =
            reply_error(r, where + ": login as \"" + o.user + "\" to vhost \"" + o.vhost + "\"");
        const bool refused =
            (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && e.vendor_code() == 403) ||
            (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
             r.library_error == AMQP_STATUS_CONNECTION_CLOSED);
        if (refused) {
            // RabbitMQ refuses a wrong user/password with 403 ACCESS_REFUSED (or just closes).
            e = error(errc::unauthenticated, retry_class::fatal,
                      where + ": login as \"" + o.user + "\" to vhost \"" + o.vhost +
                          "\" refused (wrong user name or password, or no access to the vhost)",
                      403);
        }
        drop();
        return e;
    }
    amqp_channel_open(conn_, channel);
    r = amqp_get_rpc_reply(conn_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        auto e = reply_error(r, where + ": channel.open");
        drop();
        return e;
    }
    channel_open_ = true;
    return ok();
}

void connection::drop() {
    if (conn_ != nullptr) {
        amqp_destroy_connection(conn_);  // closes the socket without a handshake
        conn_ = nullptr;
    }
    channel_open_ = false;
}

void connection::close() {
    if (conn_ == nullptr)
        return;
    if (channel_open_)
        (void)amqp_channel_close(conn_, channel, AMQP_REPLY_SUCCESS);
    (void)amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    drop();
}

status connection::declare_exchange(const exchange_decl& d) {
    amqp_exchange_declare(conn_, channel, bytes_of(d.name), bytes_of(d.type), d.passive ? 1 : 0,
                          d.durable ? 1 : 0, 0, 0, amqp_empty_table);
    auto r = amqp_get_rpc_reply(conn_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        auto e = reply_error(r, "exchange \"" + d.name + "\"");
        drop();  // a channel error closes the channel: start over
        return e;
    }
    return ok();
}

status connection::declare_queue(const std::string& name, bool passive, bool durable,
                                 std::string_view queue_type) {
    std::string type(queue_type);
    amqp_table_entry_t arg{};
    arg.key = amqp_cstring_bytes("x-queue-type");
    arg.value.kind = AMQP_FIELD_KIND_UTF8;
    arg.value.value.bytes = bytes_of(type);
    amqp_table_t args{type.empty() || passive ? 0 : 1, &arg};
    amqp_queue_declare(conn_, channel, bytes_of(name), passive ? 1 : 0, durable ? 1 : 0, 0, 0,
                       args);
    auto r = amqp_get_rpc_reply(conn_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        auto e = reply_error(r, "queue \"" + name + "\"");
        drop();
        return e;
    }
    return ok();
}

status connection::bind_queue(const std::string& queue, const std::string& exchange,
                              const std::string& routing_key) {
    amqp_queue_bind(conn_, channel, bytes_of(queue), bytes_of(exchange), bytes_of(routing_key),
                    amqp_empty_table);
    auto r = amqp_get_rpc_reply(conn_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        auto e = reply_error(r, "binding of queue \"" + queue + "\" to \"" + exchange + "\"");
        drop();
        return e;
    }
    return ok();
}

}  // namespace trib::connectors::rabbitmq
