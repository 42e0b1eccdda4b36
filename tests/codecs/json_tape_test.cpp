// The JSON decoder's tape builder (src/codecs/json_tape.cpp) on tapes written here word by word
// in simdjson's documented layout (simdjson's doc/tape.md): what simdjson writes only for huge
// documents (an element count saturated at 0xFFFFFF) and what it should never write
// (inconsistent words), plus the DOM the codec builds with it staying editable by transforms.

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "codecs/json_tape.h"
#include "core/json_parse.h"

namespace trib::codecs {
namespace {

constexpr std::uint32_t saturated = 0xFFFFFF;

std::uint64_t word(char type, std::uint64_t payload) {
    return (static_cast<std::uint64_t>(static_cast<unsigned char>(type)) << 56) | payload;
}

/// Writes a tape and its string buffer the way simdjson's stage 2 does.
class tape_writer {
  public:
    tape_writer() { tape.push_back(0); }  // the root word, patched by finish()

    void string(std::string_view s) {
        tape.push_back(word('"', strings.size()));
        const auto len = static_cast<std::uint32_t>(s.size());
        const auto* l = reinterpret_cast<const std::uint8_t*>(&len);
        strings.insert(strings.end(), l, l + sizeof len);
        strings.insert(strings.end(), s.begin(), s.end());
        strings.push_back(0);
    }
    void int64(std::int64_t v) {
        tape.push_back(word('l', 0));
        tape.push_back(static_cast<std::uint64_t>(v));
    }
    void null() { tape.push_back(word('n', 0)); }
    /// Opens an array or object; close() writes its count (or `count_override`) and end.
    void open(char type) {
        opened.push_back(tape.size());
        tape.push_back(word(type, 0));
    }
    void close(std::uint32_t count, std::int64_t count_override = -1) {
        const std::size_t at = opened.back();
        opened.pop_back();
        const char type = static_cast<char>(tape[at] >> 56);
        tape.push_back(word(type == '[' ? ']' : '}', at));
        const std::uint64_t n =
            count_override >= 0 ? static_cast<std::uint64_t>(count_override) : count;
        tape[at] = word(type, (std::min<std::uint64_t>(n, saturated) << 32) | tape.size());
    }
    void finish() {
        tape.push_back(word('r', 0));
        tape[0] = word('r', tape.size());
    }

    std::vector<std::uint64_t> tape;
    std::vector<std::uint8_t> strings;
    std::vector<std::size_t> opened;
};

std::string text_of(const json_value& v) {
    arena a;
    std::string out;
    EXPECT_TRUE(write_json(v, a, out));
    return out;
}

tape_build_error build(const tape_writer& w, arena& a, json_value& out) {
    return build_from_tape(w.tape.data(), w.tape.size(), w.strings.data(), allocator_of(a), out);
}

TEST(json_tape, saturated_counts_are_counted) {
    // {"a":[1,"x",[]],"b":null} with both containers' counts saturated (as simdjson writes them
    // for 16,777,215 elements or more) and the inner empty array's too.
    tape_writer w;
    w.open('{');
    w.string("a");
    w.open('[');
    w.int64(1);
    w.string("x");
    w.open('[');
    w.close(0, saturated);
    w.close(3, saturated);
    w.string("b");
    w.null();
    w.close(2, saturated);
    w.finish();
    arena a;
    json_value v;
    ASSERT_EQ(build(w, a, v), tape_build_error::none);
    EXPECT_EQ(text_of(v), R"({"a":[1,"x",[]],"b":null})");
    ASSERT_TRUE(v.IsObject());
    EXPECT_EQ(v.MemberCount(), 2u);
    EXPECT_EQ(v["a"].Size(), 3u);
}

TEST(json_tape, containers_get_exactly_their_size) {
    tape_writer w;
    w.open('[');
    for (int k = 0; k < 37; ++k)
        w.int64(k);
    w.close(37);
    w.finish();
    arena a;
    json_value v;
    ASSERT_EQ(build(w, a, v), tape_build_error::none);
    EXPECT_EQ(v.Size(), 37u);
    EXPECT_EQ(v.Capacity(), 37u) << "allocated once at its final size";
    EXPECT_EQ(v[36].GetInt64(), 36);
}

TEST(json_tape, strings_outlive_the_parser_buffer) {
    const std::string_view text("value with \"quotes\" and a NUL \0 inside", 38);
    tape_writer w;
    w.open('{');
    w.string("key");
    w.string(text);
    w.close(1);
    w.finish();
    arena a;
    json_value v;
    ASSERT_EQ(build(w, a, v), tape_build_error::none);
    std::fill(w.strings.begin(), w.strings.end(), std::uint8_t{'#'});  // the parser reuses it
    EXPECT_EQ(std::string_view(v["key"].GetString(), v["key"].GetStringLength()), text);
}

// The used part of the string buffer ends with the last string word on the tape; a number's
// second word holds raw bits that can look like a string word (its top byte '"').
TEST(json_tape, a_number_that_looks_like_a_string_word_is_not_one) {
    const std::int64_t lookalike = std::int64_t{'"'} << 56;  // "string at offset 0"
    for (bool in_object : {false, true}) {
        tape_writer w;
        w.open(in_object ? '{' : '[');
        w.string("a");  // at offset 0: only it would be copied if the number were taken for it
        w.string("a longer string that must be copied too");
        if (in_object)
            w.string("n");
        w.int64(lookalike);
        w.close(in_object ? 2 : 3);
        w.finish();
        arena a;
        json_value v;
        ASSERT_EQ(build(w, a, v), tape_build_error::none);
        std::fill(w.strings.begin(), w.strings.end(), std::uint8_t{'#'});
        EXPECT_EQ(text_of(v), in_object ? R"({"a":"a longer string that must be copied too","n":)" +
                                              std::to_string(lookalike) + "}"
                                        : R"(["a","a longer string that must be copied too",)" +
                                              std::to_string(lookalike) + "]");
    }
}

// Every inconsistency is bad_tape and leaves `out` alone; none reads outside the tape (the
// dev build's AddressSanitizer would say so: the tapes are exactly sized vectors).
TEST(json_tape, inconsistent_tapes_are_refused) {
    auto good = [] {
        tape_writer w;
        w.open('{');
        w.string("k");
        w.open('[');
        w.int64(7);
        w.string("s");
        w.close(2);
        w.close(1);
        w.finish();
        return w;
    };
    // Word indices in good(): 0 root, 1 '{', 2 "k", 3 '[', 4 'l', 5 bits, 6 "s", 7 ']', 8 '}',
    // 9 root.
    struct breakage {
        const char* what;
        std::size_t index;
        std::uint64_t word;
    };
    const std::vector<breakage> cases = {
        {"array count too large", 3, word('[', (std::uint64_t{3} << 32) | 8)},
        {"array count too small", 3, word('[', (std::uint64_t{1} << 32) | 8)},
        {"array count beyond its words", 3, word('[', (std::uint64_t{100} << 32) | 8)},
        {"object count too large", 1, word('{', (std::uint64_t{2} << 32) | 9)},
        {"object count zero", 1, word('{', 9)},
        {"end beyond the tape", 3, word('[', (std::uint64_t{2} << 32) | 1000)},
        {"end beyond the parent", 3, word('[', (std::uint64_t{2} << 32) | 9)},
        {"end before the start", 3, word('[', (std::uint64_t{2} << 32) | 2)},
        {"end at the start", 3, word('[', (std::uint64_t{2} << 32) | 4)},
        {"end word of the wrong kind", 7, word('}', 3)},
        {"key not a string", 2, word('n', 0)},
        {"unknown word", 6, word('x', 0)},
        {"root word missing", 0, word('n', 10)},
        {"root end beyond the tape", 0, word('r', 11)},
        {"root end too early", 0, word('r', 9)},
    };
    arena a;
    for (const auto& c : cases) {
        tape_writer w = good();
        json_value ok;
        ASSERT_EQ(build(w, a, ok), tape_build_error::none);
        ASSERT_EQ(text_of(ok), R"({"k":[7,"s"]})");
        w.tape[c.index] = c.word;
        json_value v("untouched");
        EXPECT_EQ(build(w, a, v), tape_build_error::bad_tape) << c.what;
        EXPECT_EQ(text_of(v), "\"untouched\"") << c.what;
    }
}

TEST(json_tape, nesting_beyond_the_limit_is_too_deep) {
    for (std::size_t levels : {json_max_depth, json_max_depth + 1}) {
        tape_writer arrays;
        for (std::size_t k = 0; k < levels; ++k)
            arrays.open('[');
        arrays.string("deepest");
        for (std::size_t k = 0; k < levels; ++k)
            arrays.close(1);
        arrays.finish();
        arena a;
        json_value v;
        EXPECT_EQ(build(arrays, a, v),
                  levels > json_max_depth ? tape_build_error::too_deep : tape_build_error::none)
            << levels;
    }
}

// Transforms edit decoded records: members and elements added to containers built at their
// exact size (capacity = size, or no buffer when empty) must grow them like any other value.
TEST(json_tape, decoded_containers_stay_editable) {
    auto c = std::move(make_json_codec({})).value();
    arena a;
    record r;
    ASSERT_TRUE(c->decode(R"({"a":[1,2],"e":[],"o":{},"s":"text"})", a, r));
    json_value& v = json_of(r);
    json_allocator& pool = allocator_of(a);
    v.AddMember("added", json_value(3), pool);
    v["a"].PushBack(json_value(4), pool);
    v["e"].PushBack(json_value("x"), pool);
    v["o"].AddMember("k", json_value(true), pool);
    v.RemoveMember("s");
    json_value copy(v, pool);  // deep copy of const strings and in-place containers
    EXPECT_EQ(text_of(v), R"({"a":[1,2,4],"e":["x"],"o":{"k":true},"added":3})");
    EXPECT_EQ(text_of(copy), text_of(v));
}

}  // namespace
}  // namespace trib::codecs
