#include <fmt/format.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "connectors/stdout/stdout.h"

namespace trib::connectors {
namespace {

/// One lock for the process's stdout: lines of different sinks never interleave.
std::mutex& stdout_mutex() {
    static std::mutex m;
    return m;
}

void append_printable(std::string& out, std::string_view s) {
    for (unsigned char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
                case '\n':
                    out += "\\n";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                default:
                    fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
            }
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
}

class stdout_sink final : public sink {
  public:
    stdout_sink(bool print_payload, bool print_headers, std::uint64_t max_payload)
        : print_payload_(print_payload), print_headers_(print_headers), max_payload_(max_payload) {}

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        std::string out;
        const auto& msgs = b.messages->messages;
        fmt::format_to(std::back_inserter(out),
                       "stdout sink {} received {} messages, schema: {}, stream: {}, topic: {}, "
                       "partition: {}, offset: {}\n",
                       key_, msgs.size(), b.schema, b.stream, b.topic, b.partition,
                       msgs.empty() ? 0 : msgs.front().offset);
        if (print_payload_) {
            for (const auto& m : msgs) {
                fmt::format_to(std::back_inserter(out), "  offset: {}, payload: ", m.offset);
                std::string_view p = m.payload;
                const bool cut = max_payload_ != 0 && p.size() > max_payload_;
                if (cut)
                    p = p.substr(0, max_payload_);
                append_printable(out, p);
                if (cut)
                    fmt::format_to(std::back_inserter(out), "... ({} bytes)", m.payload.size());
                if (print_headers_ && !m.headers.empty()) {
                    out += ", headers: {";
                    for (std::size_t i = 0; i < m.headers.size(); ++i) {
                        if (i != 0)
                            out += ", ";
                        append_printable(out, m.headers[i].key);
                        out += ": ";
                        if (m.headers[i].kind == value_kind::string) {
                            append_printable(out, m.headers[i].value);
                        } else {
                            for (unsigned char c : m.headers[i].value) {
                                fmt::format_to(std::back_inserter(out), "{:02x}", c);
                            }
                        }
                    }
                    out += "}";
                }
                out.push_back('\n');
            }
        }
        std::lock_guard lk(stdout_mutex());
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() ||
            std::fflush(stdout) != 0) {
            return fail(errc::io_error, "writing to standard output failed");
        }
        return write_outcome{};
    }

    void close() override {}

  private:
    bool print_payload_;
    bool print_headers_;
    std::uint64_t max_payload_;
    std::string key_;
};

}  // namespace

result<std::unique_ptr<sink>> make_stdout_sink(const config::values& v) {
    return std::unique_ptr<sink>(std::make_unique<stdout_sink>(
        v.boolean("print_payload"), v.boolean("print_headers"), v.size("max_payload_bytes")));
}

}  // namespace trib::connectors
