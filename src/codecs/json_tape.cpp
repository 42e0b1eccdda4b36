// RapidJSON values built in place from simdjson's tape (json_tape.h). The tape layout is
// simdjson's doc/tape.md: one 64-bit word per value (two for numbers: the second holds the
// bits), the type in the top byte; an array's or object's opening word holds, below that, the
// element count (bits 32-55, saturated at 0xFFFFFF) and the index just after its closing word
// (bits 0-31); a string's word holds its offset in the string buffer.

#include "codecs/json_tape.h"

#include <cstring>
#include <new>

#include "core/json_parse.h"

namespace trib::codecs::detail {
struct in_place_tag {};
}  // namespace trib::codecs::detail

namespace rapidjson {
/// RapidJSON 1.1 builds arrays and objects only by copying (SetArrayRaw / SetObjectRaw, the
/// SAX document's path) or by growing (PushBack / AddMember; no MemberReserve). GenericValue
/// befriends every GenericDocument specialization; this one, for Tributary's tag type, only
/// hands a value an element or member array that the tape builder allocated at its final size
/// and filled in place: the same field writes as SetArrayRaw / SetObjectRaw, without the copy.
/// It names RapidJSON 1.1's private members (data_, the flags, the pointer setters): a version
/// that changes them fails to compile here rather than building wrong values.
template <>
class GenericDocument<UTF8<>, trib::codecs::json_allocator, trib::codecs::detail::in_place_tag> {
  public:
    using value_type = trib::codecs::json_value;
    static void set_array(value_type& v, value_type* elements, SizeType n) noexcept {
        v.data_.f.flags = value_type::kArrayFlag;
        v.SetElementsPointer(elements);
        v.data_.a.size = v.data_.a.capacity = n;
    }
    static void set_object(value_type& v, value_type::Member* members, SizeType n) noexcept {
        v.data_.f.flags = value_type::kObjectFlag;
        v.SetMembersPointer(members);
        v.data_.o.size = v.data_.o.capacity = n;
    }
};
}  // namespace rapidjson

namespace trib::codecs {
namespace {

using in_place =
    rapidjson::GenericDocument<rapidjson::UTF8<>, json_allocator, detail::in_place_tag>;

/// Builds RapidJSON values from simdjson's tape (its documented layout, simdjson's
/// doc/tape.md), each in its final place: an array's or object's opening word carries its
/// element count, so its element (member) array is allocated once at its final size in the
/// arena and filled directly -- no SAX value stack, no move of finished containers, no spare
/// capacity.
/// Strings and keys are not copied one by one: the parser's string buffer (each string as its
/// 4-byte length, its bytes and a NUL), up to the end of the last string, is copied into the
/// arena once and the values refer to it (RapidJSON const strings, freed with the arena like
/// every other value).
class tape_builder {
  public:
    tape_builder(const std::uint64_t* tape, std::size_t words, const std::uint8_t* strings,
                 json_allocator& pool)
        : tape_(tape), words_(words), parser_strings_(strings), pool_(pool) {}

    [[nodiscard]] tape_build_error build(json_value& out) {
        // tape[0] is the root word; its payload is the index just after the closing root word.
        if (words_ < 3 || type_at(0) != 'r')
            return tape_build_error::bad_tape;
        const std::size_t end = static_cast<std::size_t>(tape_[0] & payload_mask) - 1;
        if (end < 2 || end >= words_ || type_at(end) != 'r')
            return tape_build_error::bad_tape;
        if (!copy_strings(end))
            return error_;
        json_value built;
        const std::size_t next = value(1, &built, 0, end);
        if (next == 0)
            return error_;
        if (next != end)
            return tape_build_error::bad_tape;
        out = built;  // RapidJSON's assignment moves
        return tape_build_error::none;
    }

  private:
    static constexpr std::uint64_t payload_mask = (std::uint64_t{1} << 56) - 1;
    static constexpr std::uint32_t count_saturated = 0xFFFFFF;  // simdjson's JSON_COUNT_MASK

    char type_at(std::size_t i) const { return static_cast<char>(tape_[i] >> 56); }
    static bool two_words(char t) { return t == 'l' || t == 'u' || t == 'd'; }

    /// The index of the closing word of the container opening at `i`, 0 (and error_ set) when
    /// it is not after `i`, not inside `limit` (the enclosing closing word) or not a closing
    /// word of the same kind.
    std::size_t close_of(std::size_t i, std::size_t limit) {
        const std::size_t close = static_cast<std::size_t>(static_cast<std::uint32_t>(tape_[i]));
        // (the opening word holds the index just after the closing word)
        if (close < i + 2 || close - 1 >= limit ||
            type_at(close - 1) != (type_at(i) == '[' ? ']' : '}')) {
            fail(tape_build_error::bad_tape);
            return 0;
        }
        return close - 1;
    }
    /// The index just after the value starting at `i` (always past `i`; a container's end
    /// is checked when it is built).
    std::size_t skip(std::size_t i) const {
        const char t = type_at(i);
        if (t == '[' || t == '{') {
            const std::size_t after = static_cast<std::uint32_t>(tape_[i]);
            return after > i ? after : i + 1;
        }
        return two_words(t) ? i + 2 : i + 1;
    }
    /// Elements (arrays) or members (objects) between the opening word `i` and its closing
    /// word `close`: the count the opening word keeps, counted when the count saturated.
    std::size_t count_at(std::size_t i, std::size_t close, bool object) const {
        const auto n = static_cast<std::uint32_t>((tape_[i] >> 32) & count_saturated);
        if (n < count_saturated)
            return n;
        std::size_t count = 0;
        for (std::size_t j = i + 1; j < close; ++count)
            j = skip(object ? j + 1 : j);  // an object's key is one word
        return count;
    }

    /// The tape index of the last string of the value at `i` (strings are stored in the buffer
    /// in tape order, so it ends the used part), 0 if it has none or on an error (error_ set).
    /// An object's members are stepped over by their values' closing indices up to the last
    /// member, whose key is a string: only that member's value is looked into.
    std::size_t last_string(std::size_t i, std::size_t limit, std::size_t depth) {
        const char t = type_at(i);
        if (t == '"')
            return i;
        if (t != '[' && t != '{')
            return 0;
        if (depth >= json_max_depth) {
            fail(tape_build_error::too_deep);
            return 0;
        }
        const std::size_t close = close_of(i, limit);
        if (close == 0)
            return 0;
        // Most records end with a string: the word before the closing one. It is a value's
        // first word (not a number's raw second word) when the word before it is not a
        // number's first word.
        if (close >= i + 2 && !two_words(type_at(close - 2)) && type_at(close - 1) == '"')
            return close - 1;
        if (t == '{') {
            std::size_t key = 0;
            for (std::size_t j = i + 1; j + 1 < close; j = skip(j + 1))
                key = j;
            if (key == 0)
                return 0;
            const std::size_t inner = last_string(key + 1, close, depth + 1);
            return inner != 0 || error_ != tape_build_error::none ? inner : key;
        }
        // An array: a forward pass over its words (a number's second word holds raw bits, which
        // only its first word tells).
        std::size_t last = 0;
        for (std::size_t j = i + 1; j < close; j += two_words(type_at(j)) ? 2 : 1) {
            if (type_at(j) == '"')
                last = j;
        }
        return last;
    }

    /// Copies the used part of the parser's string buffer into the pool (strings_).
    [[nodiscard]] bool copy_strings(std::size_t end) {
        const std::size_t last = last_string(1, end, 0);
        if (error_ != tape_build_error::none)
            return false;
        if (last == 0)
            return true;
        const std::size_t offset = tape_[last] & payload_mask;
        std::uint32_t len;
        std::memcpy(&len, parser_strings_ + offset, sizeof len);
        const std::size_t used = offset + sizeof len + len + 1;
        auto* copy = static_cast<std::uint8_t*>(pool_.Malloc(used));
        if (copy == nullptr) {
            fail(tape_build_error::no_memory);
            return false;
        }
        std::memcpy(copy, parser_strings_, used);
        strings_ = copy;
        return true;
    }

    const char* string_at(std::uint64_t word, rapidjson::SizeType& len) const {
        const std::uint8_t* at = strings_ + (word & payload_mask);
        std::uint32_t n;
        std::memcpy(&n, at, sizeof n);
        len = n;
        return reinterpret_cast<const char*>(at + sizeof n);
    }

    /// Constructs the value starting at tape index `i` (before `limit`, the enclosing closing
    /// word) in `slot` (raw storage or a value without resources); returns the index after it,
    /// 0 on failure (error_ says why). `depth`: the containers open around it. Inlined into
    /// the container loops: a call per scalar costs about as much as building it.
    [[gnu::always_inline]] std::size_t value(std::size_t i, json_value* slot, std::size_t depth,
                                             std::size_t limit) {
        const std::uint64_t w = tape_[i];
        switch (static_cast<char>(w >> 56)) {
            case '"': {
                rapidjson::SizeType len;
                const char* text = string_at(w, len);
                new (slot) json_value(text, len);
                return i + 1;
            }
            case 'l':
                new (slot) json_value(static_cast<std::int64_t>(tape_[i + 1]));
                return i + 2;
            case 'u':
                new (slot) json_value(static_cast<std::uint64_t>(tape_[i + 1]));
                return i + 2;
            case 'd': {
                double d;
                std::memcpy(&d, &tape_[i + 1], sizeof d);
                new (slot) json_value(d);
                return i + 2;
            }
            case 't':
                new (slot) json_value(true);
                return i + 1;
            case 'f':
                new (slot) json_value(false);
                return i + 1;
            case 'n':
                new (slot) json_value();
                return i + 1;
            case '[':
                return array(i, slot, depth, limit);
            case '{':
                return object(i, slot, depth, limit);
            default:
                return fail(tape_build_error::bad_tape);
        }
    }

    [[gnu::cold]] std::size_t fail(tape_build_error e) {
        error_ = e;
        return 0;
    }

    [[gnu::noinline]] std::size_t array(std::size_t i, json_value* slot, std::size_t depth,
                                        std::size_t limit) {
        if (depth >= json_max_depth)
            return fail(tape_build_error::too_deep);
        const std::size_t close = close_of(i, limit);
        if (close == 0)
            return 0;
        const std::size_t n = count_at(i, close, false);
        json_value* elements = nullptr;
        if (n != 0) {
            if (n > close - i - 1)  // every element takes a word at least
                return fail(tape_build_error::bad_tape);
            elements = static_cast<json_value*>(pool_.Malloc(n * sizeof(json_value)));
            if (elements == nullptr)
                return fail(tape_build_error::no_memory);
        }
        std::size_t j = i + 1;
        for (std::size_t k = 0; k < n; ++k) {
            if (j >= close)
                return fail(tape_build_error::bad_tape);
            j = value(j, elements + k, depth + 1, close);
            if (j == 0)
                return 0;
        }
        if (j != close)
            return fail(tape_build_error::bad_tape);
        new (slot) json_value();
        in_place::set_array(*slot, elements, static_cast<rapidjson::SizeType>(n));
        return close + 1;
    }

    [[gnu::noinline]] std::size_t object(std::size_t i, json_value* slot, std::size_t depth,
                                         std::size_t limit) {
        if (depth >= json_max_depth)
            return fail(tape_build_error::too_deep);
        using member = json_value::Member;
        const std::size_t close = close_of(i, limit);
        if (close == 0)
            return 0;
        const std::size_t n = count_at(i, close, true);
        member* members = nullptr;
        if (n != 0) {
            if (n > (close - i - 1) / 2)  // every member takes two words at least
                return fail(tape_build_error::bad_tape);
            members = static_cast<member*>(pool_.Malloc(n * sizeof(member)));
            if (members == nullptr)
                return fail(tape_build_error::no_memory);
        }
        std::size_t j = i + 1;
        for (std::size_t k = 0; k < n; ++k) {
            const std::uint64_t key = tape_[j];
            if (j + 1 >= close || static_cast<char>(key >> 56) != '"')
                return fail(tape_build_error::bad_tape);
            member* m = members + k;
            rapidjson::SizeType len;
            const char* text = string_at(key, len);
            new (&m->name) json_value(text, len);
            j = value(j + 1, &m->value, depth + 1, close);
            if (j == 0)
                return 0;
        }
        if (j != close)
            return fail(tape_build_error::bad_tape);
        new (slot) json_value();
        in_place::set_object(*slot, members, static_cast<rapidjson::SizeType>(n));
        return close + 1;
    }

    const std::uint64_t* tape_;
    std::size_t words_;
    const std::uint8_t* parser_strings_;
    const std::uint8_t* strings_ = nullptr;
    json_allocator& pool_;
    tape_build_error error_ = tape_build_error::none;
};

}  // namespace

tape_build_error build_from_tape(const std::uint64_t* tape, std::size_t words,
                                 const std::uint8_t* strings, json_allocator& pool,
                                 json_value& out) {
    return tape_builder(tape, words, strings, pool).build(out);
}

}  // namespace trib::codecs
