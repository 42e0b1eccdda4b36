// Feeds arbitrary bytes to the replication frame decoder, the pgoutput message decoder and the
// JSON document reader with its path lookup and re-serialisation; checks that a document written
// back parses again to the same text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/postgres/json.h"
#include "connectors/postgres/pgoutput.h"

using namespace trib::connectors::postgres;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto f = pgoutput::decode_frame(in); f && f->type == 'w') {
        (void)pgoutput::decode(f->data.payload);
    }
    if (auto m = pgoutput::decode(in); m) {
        // Views must lie inside the input.
        for (const auto& v : m->change.new_tuple.values) {
            if (!v.data.empty() && (v.data.data() < in.data() ||
                                    v.data.data() + v.data.size() > in.data() + in.size()))
                std::abort();
        }
    }
    json::document d;
    if (d.parse(in)) {
        std::string once;
        d.write(d.root(), once);
        (void)d.path(d.root(), "a.b");
        json::document d2;
        if (!d2.parse(once))
            std::abort();
        std::string twice;
        d2.write(d2.root(), twice);
        if (once != twice)
            std::abort();
    }
    std::string out;
    json::append_pg_value(out, 1009, in);
    json::append_pg_value(out, 17, in);
    json::append_pg_value(out, 1184, in);
    return 0;
}
