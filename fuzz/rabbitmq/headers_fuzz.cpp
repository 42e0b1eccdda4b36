// Fuzzes the AMQP headers-table mapping of the RabbitMQ connector (connectors/rabbitmq/headers.h):
// a table of any shape rabbitmq-c can decode (every field kind, nesting, long keys and values) is
// built from the input, read into Iggy headers under both unfit policies, and the headers read
// must survive table_of -> headers_from_table unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "connectors/rabbitmq/headers.h"

namespace {

using namespace trib::connectors::rabbitmq;

// Builds tables from the input bytes; owns everything the tables point to.
class builder {
  public:
    builder(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}

    amqp_table_t table(int depth) {
        const int count = byte() % 8;
        auto& entries = tables_.emplace_back(static_cast<std::size_t>(count));
        for (auto& e : entries) {
            e.key = bytes(byte() % 4 == 0 ? 300 : 24);
            e.value = value(depth);
        }
        return amqp_table_t{count, entries.data()};
    }

  private:
    std::uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v = (v << 8) | byte();
        return v;
    }
    amqp_bytes_t bytes(std::size_t max) {
        const std::size_t len = byte() % (max + 1);
        auto& s = strings_.emplace_back();
        for (std::size_t i = 0; i < len; ++i)
            s.push_back(static_cast<char>(byte()));
        return amqp_bytes_t{s.size(), s.data()};
    }
    amqp_field_value_t value(int depth) {
        static constexpr std::uint8_t kinds[] = {
            AMQP_FIELD_KIND_BOOLEAN, AMQP_FIELD_KIND_I8,    AMQP_FIELD_KIND_U8,
            AMQP_FIELD_KIND_I16,     AMQP_FIELD_KIND_U16,   AMQP_FIELD_KIND_I32,
            AMQP_FIELD_KIND_U32,     AMQP_FIELD_KIND_I64,   AMQP_FIELD_KIND_U64,
            AMQP_FIELD_KIND_F32,     AMQP_FIELD_KIND_F64,   AMQP_FIELD_KIND_DECIMAL,
            AMQP_FIELD_KIND_UTF8,    AMQP_FIELD_KIND_ARRAY, AMQP_FIELD_KIND_TIMESTAMP,
            AMQP_FIELD_KIND_TABLE,   AMQP_FIELD_KIND_VOID,  AMQP_FIELD_KIND_BYTES};
        amqp_field_value_t v{};
        v.kind = kinds[byte() % sizeof kinds];
        const std::uint64_t x = u64();
        switch (v.kind) {
            case AMQP_FIELD_KIND_UTF8:
            case AMQP_FIELD_KIND_BYTES:
                v.value.bytes = bytes(300);
                break;
            case AMQP_FIELD_KIND_DECIMAL:
                v.value.decimal = amqp_decimal_t{static_cast<std::uint8_t>(x >> 56),
                                                 static_cast<std::uint32_t>(x)};
                break;
            case AMQP_FIELD_KIND_ARRAY: {
                if (depth > 40) {
                    v.kind = AMQP_FIELD_KIND_VOID;
                    break;
                }
                const int count = byte() % 6;
                auto& items = arrays_.emplace_back(static_cast<std::size_t>(count));
                for (auto& it : items)
                    it = value(depth + 1);
                v.value.array = amqp_array_t{count, items.data()};
                break;
            }
            case AMQP_FIELD_KIND_TABLE:
                if (depth > 40) {
                    v.kind = AMQP_FIELD_KIND_VOID;
                    break;
                }
                v.value.table = table(depth + 1);
                break;
            case AMQP_FIELD_KIND_F32: {
                const auto bits = static_cast<std::uint32_t>(x);
                static_assert(sizeof(float) == 4);
                __builtin_memcpy(&v.value.f32, &bits, 4);
                break;
            }
            case AMQP_FIELD_KIND_F64:
                __builtin_memcpy(&v.value.f64, &x, 8);
                break;
            default:
                v.value.u64 = x;  // the integer members share the union's first bytes
                break;
        }
        return v;
    }

    const std::uint8_t* d_;
    std::size_t n_;
    std::size_t pos_ = 0;
    std::deque<std::string> strings_;
    std::deque<std::vector<amqp_table_entry_t>> tables_;
    std::deque<std::vector<amqp_field_value_t>> arrays_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    builder b(data, size);
    const amqp_table_t t = b.table(0);
    auto rejected = headers_from_table(t, unfit_policy::reject, "amqp_");
    auto skipped = headers_from_table(t, unfit_policy::skip, "amqp_");
    if (!rejected.problem.empty() && skipped.skipped == 0)
        std::abort();  // a reason to reject must be a reason to skip
    for (const auto& h : skipped.headers) {
        if (h.key.empty() || h.key.size() > 255 || h.value.empty() || h.value.size() > 255)
            std::abort();  // Iggy could not carry it
    }
    table_storage st;
    table_of(skipped.headers, {}, st);
    auto again = headers_from_table(st.table(), unfit_policy::reject, "");
    if (!again.problem.empty() || again.headers != skipped.headers)
        std::abort();
    return 0;
}
