#include "connectors/postgres/pgoutput.h"

#include "core/byte_reader.h"

namespace trib::connectors::postgres::pgoutput {

namespace {

using reader = trib::byte_reader;  // big-endian reads: be16/be32/be64

bool read_tuple(reader& r, tuple& t) {
    std::uint16_t n = r.be16();
    // Each column takes at least one byte: a count beyond what is left is malformed.
    if (!r.ok() || n > r.left())
        return false;
    t.values.resize(n);
    for (std::uint16_t i = 0; i < n; ++i) {
        value& v = t.values[i];
        v.kind = static_cast<char>(r.u8());
        switch (v.kind) {
            case 'n':
            case 'u':
                break;
            case 't':
            case 'b': {
                std::uint32_t len = r.be32();
                v.data = r.take(len);
                break;
            }
            default:
                return false;
        }
        if (!r.ok())
            return false;
    }
    return true;
}

unexpected malformed(char type) {
    return fail(errc::protocol_error,
                std::string("malformed pgoutput message '") + (type ? type : '?') + "'");
}

}  // namespace

result<frame> decode_frame(std::string_view copy_data) {
    reader r(copy_data);
    frame f;
    f.type = static_cast<char>(r.u8());
    if (f.type == 'w') {
        f.data.data_start = r.be64();
        f.data.wal_end = r.be64();
        f.data.send_time = static_cast<std::int64_t>(r.be64());
        if (!r.ok())
            return fail(errc::protocol_error, "short XLogData frame");
        f.data.payload = copy_data.substr(25);
        return f;
    }
    if (f.type == 'k') {
        f.alive.wal_end = r.be64();
        f.alive.send_time = static_cast<std::int64_t>(r.be64());
        f.alive.reply_requested = r.u8() != 0;
        if (!r.ok())
            return fail(errc::protocol_error, "short keepalive frame");
        return f;
    }
    return fail(errc::protocol_error,
                "unknown replication frame type " + std::to_string(static_cast<int>(f.type)));
}

std::string status_update(std::uint64_t written, std::uint64_t flushed, std::uint64_t applied,
                          std::int64_t client_time, bool reply_requested) {
    std::string out;
    out.reserve(34);
    out += 'r';
    auto put64 = [&](std::uint64_t v) {
        for (int i = 7; i >= 0; --i)
            out += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    put64(written);
    put64(flushed);
    put64(applied);
    put64(static_cast<std::uint64_t>(client_time));
    out += reply_requested ? '\1' : '\0';
    return out;
}

result<message> decode(std::string_view payload) {
    reader r(payload);
    message m;
    m.type = static_cast<char>(r.u8());
    switch (m.type) {
        case 'B':
            m.begin.final_lsn = r.be64();
            m.begin.commit_time = static_cast<std::int64_t>(r.be64());
            m.begin.xid = r.be32();
            break;
        case 'C':
            m.commit.flags = r.u8();
            m.commit.commit_lsn = r.be64();
            m.commit.end_lsn = r.be64();
            m.commit.commit_time = static_cast<std::int64_t>(r.be64());
            break;
        case 'O':
            (void)r.be64();
            (void)r.cstr();
            break;
        case 'R': {
            m.relation.oid = r.be32();
            m.relation.schema = std::string(r.cstr());
            m.relation.name = std::string(r.cstr());
            m.relation.replica_identity = static_cast<char>(r.u8());
            std::uint16_t n = r.be16();
            if (!r.ok() || n > r.left())
                return malformed(m.type);
            m.relation.columns.resize(n);
            for (auto& c : m.relation.columns) {
                c.key = (r.u8() & 1) != 0;
                c.name = std::string(r.cstr());
                c.type_oid = r.be32();
                c.type_modifier = static_cast<std::int32_t>(r.be32());
            }
            break;
        }
        case 'Y':
            m.type_msg.oid = r.be32();
            m.type_msg.schema = std::string(r.cstr());
            m.type_msg.name = std::string(r.cstr());
            break;
        case 'I': {
            m.change.relation_oid = r.be32();
            if (r.u8() != 'N' || !read_tuple(r, m.change.new_tuple))
                return malformed(m.type);
            m.change.has_new = true;
            break;
        }
        case 'U': {
            m.change.relation_oid = r.be32();
            char k = static_cast<char>(r.u8());
            if (k == 'K' || k == 'O') {
                m.change.old_kind = k;
                if (!read_tuple(r, m.change.old_tuple))
                    return malformed(m.type);
                k = static_cast<char>(r.u8());
            }
            if (k != 'N' || !read_tuple(r, m.change.new_tuple))
                return malformed(m.type);
            m.change.has_new = true;
            break;
        }
        case 'D': {
            m.change.relation_oid = r.be32();
            char k = static_cast<char>(r.u8());
            if (k != 'K' && k != 'O')
                return malformed(m.type);
            m.change.old_kind = k;
            if (!read_tuple(r, m.change.old_tuple))
                return malformed(m.type);
            break;
        }
        case 'T': {
            std::uint32_t n = r.be32();
            m.truncate.options = r.u8();
            if (!r.ok() || n > r.left() / 4)
                return malformed(m.type);
            m.truncate.relation_oids.resize(n);
            for (auto& oid : m.truncate.relation_oids)
                oid = r.be32();
            break;
        }
        case 'M': {
            // Logical decoding message (only with messages = true): flags, lsn, prefix, content.
            (void)r.u8();
            (void)r.be64();
            (void)r.cstr();
            std::uint32_t len = r.be32();
            (void)r.take(len);
            break;
        }
        default:
            return fail(errc::protocol_error, "unknown pgoutput message type " +
                                                  std::to_string(static_cast<int>(m.type)));
    }
    if (!r.ok())
        return malformed(m.type);
    return m;
}

}  // namespace trib::connectors::postgres::pgoutput
