#include "rabbitmq_fixture.h"

#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace trib::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* rabbit_bin = "/usr/lib/rabbitmq/bin/";

bool as_root() {
    return ::geteuid() == 0 && ::getpwnam("rabbitmq") != nullptr;
}

// The broker's environment (also for rabbitmqctl): everything in the peer's folder.
std::vector<std::pair<std::string, std::string>> broker_env(std::uint16_t epmd_port) {
    const std::string erl_args = "-kernel inet_dist_use_interface {127,0,0,1}";
    return {{"HOME", "{dir}"},
            {"RABBITMQ_NODENAME", "trib{port}@localhost"},
            {"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
            {"RABBITMQ_NODE_PORT", "{port}"},
            {"RABBITMQ_DIST_PORT", "{port1}"},
            {"ERL_EPMD_PORT", std::to_string(epmd_port)},
            {"ERL_EPMD_ADDRESS", "127.0.0.1"},
            {"RABBITMQ_MNESIA_BASE", "{dir}/mnesia"},
            {"RABBITMQ_LOG_BASE", "{dir}/log"},
            {"RABBITMQ_CONFIG_FILE", "{dir}/rabbitmq.conf"},
            {"RABBITMQ_ENABLED_PLUGINS_FILE", "{dir}/enabled_plugins"},
            {"RABBITMQ_PID_FILE", "{dir}/rabbit.pid"},
            {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", erl_args},
            {"RABBITMQ_CTL_ERL_ARGS", erl_args}};
}

bool login_works(std::uint16_t port) {
    auto c = amqp_client::connect(port);
    return c.has_value();
}

std::string text(const amqp_bytes_t& b) {
    return std::string(static_cast<const char*>(b.bytes), b.len);
}

amqp_bytes_t bytes(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

error reply(const amqp_rpc_reply_t& r, const std::string& what) {
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return error(errc::unavailable, what + ": " + amqp_error_string2(r.library_error));
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            auto* c = static_cast<amqp_channel_close_t*>(r.reply.decoded);
            return error(errc::failed_precondition,
                         what + ": " + std::to_string(c->reply_code) + " " + text(c->reply_text));
        }
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            auto* c = static_cast<amqp_connection_close_t*>(r.reply.decoded);
            return error(errc::failed_precondition,
                         what + ": " + std::to_string(c->reply_code) + " " + text(c->reply_text));
        }
    }
    return error(errc::internal, what + ": unexpected reply");
}

std::string field_text(const amqp_field_value_t& v) {
    switch (v.kind) {
        case AMQP_FIELD_KIND_UTF8:
        case AMQP_FIELD_KIND_BYTES:
            return text(v.value.bytes);
        case AMQP_FIELD_KIND_BOOLEAN:
            return v.value.boolean ? "true" : "false";
        case AMQP_FIELD_KIND_I8:
            return std::to_string(v.value.i8);
        case AMQP_FIELD_KIND_U8:
            return std::to_string(v.value.u8);
        case AMQP_FIELD_KIND_I16:
            return std::to_string(v.value.i16);
        case AMQP_FIELD_KIND_U16:
            return std::to_string(v.value.u16);
        case AMQP_FIELD_KIND_I32:
            return std::to_string(v.value.i32);
        case AMQP_FIELD_KIND_U32:
            return std::to_string(v.value.u32);
        case AMQP_FIELD_KIND_I64:
            return std::to_string(v.value.i64);
        case AMQP_FIELD_KIND_U64:
        case AMQP_FIELD_KIND_TIMESTAMP:
            return std::to_string(v.value.u64);
        case AMQP_FIELD_KIND_F32:
            return std::to_string(v.value.f32);
        case AMQP_FIELD_KIND_F64:
            return std::to_string(v.value.f64);
        default:
            return "?";
    }
}

}  // namespace

result<std::unique_ptr<rabbitmq_broker>> rabbitmq_broker::start() {
    std::unique_ptr<rabbitmq_broker> b(new rabbitmq_broker);
    peer_spec e;
    e.name = "epmd";
    e.program = "epmd";
    e.args = {"-port", "{port}", "-address", "127.0.0.1"};
    TRIB_ASSIGN_OR_RETURN(b->epmd_, peer::start(e));
    const std::uint16_t epmd_port = b->epmd_->port();

    peer_spec s;
    s.name = "rabbitmq";
    if (as_root()) {
        s.program = "setpriv";
        s.args = {"--reuid=rabbitmq", "--regid=rabbitmq", "--init-groups",
                  std::string(rabbit_bin) + "rabbitmq-server"};
    } else {
        s.program = std::string(rabbit_bin) + "rabbitmq-server";
    }
    s.env = broker_env(epmd_port);
    s.extra_ports = 1;  // the Erlang distribution port
    s.prepare = [](const peer& p) {
        const fs::path dir = p.dir();
        fs::create_directories(dir / "mnesia");
        fs::create_directories(dir / "log");
        std::ofstream(dir / "rabbitmq.conf")
            << "listeners.tcp.default = 127.0.0.1:" << p.port() << "\n"
            << "loopback_users = none\n";
        std::ofstream(dir / "enabled_plugins") << "[].\n";
        if (as_root()) {
            auto* pw = ::getpwnam("rabbitmq");
            for (const auto& f : fs::recursive_directory_iterator(dir))
                (void)::chown(f.path().c_str(), pw->pw_uid, pw->pw_gid);
            (void)::chown(dir.c_str(), pw->pw_uid, pw->pw_gid);
        }
    };
    s.ready = [](const peer& p) { return tcp_connectable(p.port()) && login_works(p.port()); };
    s.ready_timeout = 90s;
    s.attempts = 2;
    TRIB_ASSIGN_OR_RETURN(b->broker_, peer::start(s));
    return b;
}

rabbitmq_broker::~rabbitmq_broker() {
    // The data is thrown away: no graceful stop (the script's TERM trap runs rabbitmqctl, which
    // takes longer than the whole test); SIGKILL reaches beam.smp through the process group.
    if (broker_)
        (void)broker_->kill9();
    broker_.reset();
    epmd_.reset();
}

std::string rabbitmq_broker::url(const std::string& user, const std::string& pass) const {
    return "amqp://" + user + ":" + pass + "@127.0.0.1:" + std::to_string(port());
}

status rabbitmq_broker::restart(bool crash) {
    if (crash) {
        TRIB_TRY(broker_->kill9());
    } else {
        TRIB_TRY(broker_->stop(60s));
    }
    return broker_->restart();
}

status rabbitmq_broker::ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    if (as_root())
        argv = {"/usr/bin/setpriv", "--reuid=rabbitmq", "--regid=rabbitmq", "--init-groups"};
    argv.push_back(std::string(rabbit_bin) + "rabbitmqctl");
    argv.push_back("-q");
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = ::fork();
    if (pid < 0)
        return fail(errc::io_error, "fork failed");
    if (pid == 0) {
        const std::string port = std::to_string(broker_->port());
        const std::string port1 = std::to_string(broker_->port(1));
        for (auto [k, v] : broker_env(epmd_->port())) {
            for (auto [what, with] :
                 {std::pair<std::string, std::string>{"{dir}", broker_->dir().string()},
                  {"{port1}", port1},
                  {"{port}", port}}) {
                for (auto at = v.find(what); at != std::string::npos; at = v.find(what))
                    v.replace(at, what.size(), with);
            }
            ::setenv(k.c_str(), v.c_str(), 1);
        }
        std::vector<char*> cargv;
        for (auto& a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(cargv[0], cargv.data());
        _exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail(errc::internal, "rabbitmqctl failed (status " + std::to_string(st) + ")");
    return ok();
}

result<std::unique_ptr<amqp_client>> amqp_client::connect(std::uint16_t port,
                                                          const std::string& user,
                                                          const std::string& pass) {
    std::unique_ptr<amqp_client> c(new amqp_client);
    c->c_ = amqp_new_connection();
    auto* sock = amqp_tcp_socket_new(c->c_);
    timeval tv{10, 0};
    // A broker that is still starting may accept the connection and not answer: bound every wait.
    (void)amqp_set_handshake_timeout(c->c_, &tv);
    (void)amqp_set_rpc_timeout(c->c_, &tv);
    if (amqp_socket_open_noblock(sock, "127.0.0.1", port, &tv) != AMQP_STATUS_OK)
        return fail(errc::unavailable, "connect failed");
    auto r = amqp_login(c->c_, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN,
                        user.c_str(), pass.c_str());
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "login");
    amqp_channel_open(c->c_, 1);
    r = amqp_get_rpc_reply(c->c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "channel.open");
    amqp_confirm_select(c->c_, 1);
    r = amqp_get_rpc_reply(c->c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "confirm.select");
    c->confirms_ = true;
    return c;
}

amqp_client::~amqp_client() {
    if (c_ != nullptr) {
        (void)amqp_channel_close(c_, 1, AMQP_REPLY_SUCCESS);
        (void)amqp_connection_close(c_, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(c_);
    }
}

status amqp_client::declare_queue(const std::string& name, const std::string& type) {
    amqp_table_entry_t arg{};
    arg.key = amqp_cstring_bytes("x-queue-type");
    arg.value.kind = AMQP_FIELD_KIND_UTF8;
    arg.value.value.bytes = amqp_cstring_bytes(type.c_str());
    amqp_table_t args{1, &arg};
    amqp_queue_declare(c_, 1, bytes(name), 0, 1, 0, 0, args);
    auto r = amqp_get_rpc_reply(c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "queue.declare " + name);
    return ok();
}

status amqp_client::declare_exchange(const std::string& name, const std::string& type) {
    amqp_exchange_declare(c_, 1, bytes(name), bytes(type), 0, 1, 0, 0, amqp_empty_table);
    auto r = amqp_get_rpc_reply(c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "exchange.declare " + name);
    return ok();
}

status amqp_client::bind(const std::string& queue, const std::string& exchange,
                         const std::string& key) {
    amqp_queue_bind(c_, 1, bytes(queue), bytes(exchange), bytes(key), amqp_empty_table);
    auto r = amqp_get_rpc_reply(c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "queue.bind " + queue);
    return ok();
}

status amqp_client::delete_queue(const std::string& name) {
    amqp_queue_delete(c_, 1, bytes(name), 0, 0);
    auto r = amqp_get_rpc_reply(c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "queue.delete " + name);
    return ok();
}

status amqp_client::publish(const std::string& exchange, const std::string& routing_key,
                            const std::string& body, const std::string& message_id,
                            const amqp_table_t* headers) {
    amqp_basic_properties_t p{};
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = 2;
    if (!message_id.empty()) {
        p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        p.message_id = bytes(message_id);
    }
    if (headers != nullptr) {
        p._flags |= AMQP_BASIC_HEADERS_FLAG;
        p.headers = *headers;
    }
    if (amqp_basic_publish(c_, 1, bytes(exchange), bytes(routing_key), 0, 0, &p, bytes(body)) !=
        AMQP_STATUS_OK)
        return fail(errc::unavailable, "publish failed");
    const std::uint64_t tag = next_tag_++;
    for (;;) {
        amqp_frame_t f{};
        timeval tv{30, 0};
        if (amqp_simple_wait_frame_noblock(c_, &f, &tv) != AMQP_STATUS_OK)
            return fail(errc::timeout, "no confirm");
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            auto* a = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
            if (a->delivery_tag >= tag)
                return ok();
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            return fail(errc::unavailable, "nacked");
        } else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
            return fail(errc::failed_precondition, "channel closed");
        }
    }
}

status amqp_client::publish_many(const std::string& exchange, const std::string& routing_key,
                                 const std::vector<std::string>& bodies, bool with_ids) {
    std::uint64_t last = 0;
    for (const auto& body : bodies) {
        amqp_basic_properties_t p{};
        p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
        p.delivery_mode = 2;
        if (with_ids) {
            p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
            p.message_id = bytes(body);
        }
        if (amqp_basic_publish(c_, 1, bytes(exchange), bytes(routing_key), 0, 0, &p, bytes(body)) !=
            AMQP_STATUS_OK)
            return fail(errc::unavailable, "publish failed");
        last = next_tag_++;
    }
    while (last != 0) {
        amqp_frame_t f{};
        timeval tv{60, 0};
        if (amqp_simple_wait_frame_noblock(c_, &f, &tv) != AMQP_STATUS_OK)
            return fail(errc::timeout, "no confirm");
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            auto* a = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
            if (a->delivery_tag >= last)
                return ok();
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            return fail(errc::unavailable, "nacked");
        }
    }
    return ok();
}

result<std::optional<amqp_msg>> amqp_client::get(const std::string& queue) {
    auto r = amqp_basic_get(c_, 1, bytes(queue), 1);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "basic.get " + queue);
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
        return std::optional<amqp_msg>{};
    auto* ok_m = static_cast<amqp_basic_get_ok_t*>(r.reply.decoded);
    amqp_msg out;
    out.exchange = text(ok_m->exchange);
    out.routing_key = text(ok_m->routing_key);
    out.redelivered = ok_m->redelivered != 0;
    amqp_message_t m{};
    r = amqp_read_message(c_, 1, &m, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply(r, "read_message");
    out.body = text(m.body);
    if (m.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        out.message_id = text(m.properties.message_id);
    if (m.properties._flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
        out.delivery_mode = m.properties.delivery_mode;
    if (m.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < m.properties.headers.num_entries; ++i) {
            const auto& e = m.properties.headers.entries[i];
            out.headers[text(e.key)] = field_text(e.value);
            out.kinds[text(e.key)] = static_cast<char>(e.value.kind);
        }
    }
    amqp_destroy_message(&m);
    amqp_maybe_release_buffers(c_);
    return std::optional<amqp_msg>(std::move(out));
}

result<std::uint32_t> amqp_client::count(const std::string& queue) {
    auto* ok_m = amqp_queue_declare(c_, 1, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    auto r = amqp_get_rpc_reply(c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL || ok_m == nullptr)
        return reply(r, "queue.declare (passive) " + queue);
    return ok_m->message_count;
}

}  // namespace trib::test
