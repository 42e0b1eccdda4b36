// The text codec's `encoding` option against Python's codecs (text_encoding.py): Python's bytes
// decode to the same text, ours decode in Python, invalid input is refused at the offset Python
// names.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../runtime/spec_values.h"
#include "codecs/codec.h"

namespace trib::codecs {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return s ? fs::path(s) : fs::current_path();
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spill(const fs::path& p, std::string_view data) {
    std::ofstream f(p, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

int run(const std::string& cmd, std::string& out) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::unique_ptr<codec> text_codec(const std::string& enc) {
    auto c = make_text_codec(test::spec_values(text_codec_spec(), "encoding = \"" + enc + "\"\n"));
    EXPECT_TRUE(c) << enc;
    return c ? std::move(*c) : nullptr;
}

TEST(text_encoding, agrees_with_python) {
    const fs::path python = source_dir() / ".venv" / "bin" / "python";
    ASSERT_TRUE(fs::exists(python)) << "no Python venv (run scripts/setup.sh)";
    const fs::path dir = fs::temp_directory_path() / ("trib-text-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string script = (source_dir() / "tests" / "codecs" / "text_encoding.py").string();
    std::string out;
    ASSERT_EQ(run(python.string() + " " + script + " gen " + dir.string(), out), 0) << out;
    int encodings = 0, bad = 0;
    for (const char* enc : {"ascii", "latin1", "iso-8859-15", "windows-1252", "utf-16", "utf-16le",
                            "utf-16be", "utf-32", "utf-32le", "utf-32be"}) {
        auto c = text_codec(enc);
        ASSERT_NE(c, nullptr);
        const std::string in = slurp(dir / (std::string(enc) + ".in"));
        const std::string utf8 = slurp(dir / (std::string(enc) + ".utf8"));
        ASSERT_FALSE(in.empty()) << enc;
        arena a;
        record r;
        auto st = c->decode(in, a, r);
        ASSERT_TRUE(st) << enc << ": " << st.error().message();
        EXPECT_EQ(r.kind, record_kind::text);
        EXPECT_EQ(r.bytes, utf8) << enc;
        record t{record_kind::text, utf8};
        std::string encoded;
        st = c->encode(t, a, encoded);
        ASSERT_TRUE(st) << enc << ": " << st.error().message();
        spill(dir / (std::string(enc) + ".ours"), encoded);
        // Without a byte-order mark the bytes are Python's exactly.
        if (std::string_view(enc) != "utf-16" && std::string_view(enc) != "utf-32") {
            EXPECT_EQ(encoded, in) << enc;
        }
        ++encodings;
        if (fs::exists(dir / (std::string(enc) + ".bad"))) {
            const std::string b = slurp(dir / (std::string(enc) + ".bad"));
            const std::string offset = slurp(dir / (std::string(enc) + ".bad_offset"));
            auto bst = c->decode(b, a, r);
            ASSERT_FALSE(bst) << enc;
            EXPECT_EQ(bst.error().code(), errc::invalid_argument);
            EXPECT_NE(bst.error().message().find("byte offset " + offset), std::string::npos)
                << enc << ": " << bst.error().message() << " (Python: " << offset << ")";
            ++bad;
        }
    }
    EXPECT_EQ(encodings, 10);
    EXPECT_EQ(bad, 6);
    out.clear();
    EXPECT_EQ(run(python.string() + " " + script + " check " + dir.string(), out), 0) << out;
    EXPECT_EQ(out, "ok 10\n");
    if (!HasFailure())
        fs::remove_all(dir);
}

TEST(text_encoding, refusals_and_limits) {
    arena a;
    record r;
    std::string out;
    // A character latin1 cannot hold, named by its offset in the UTF-8 text.
    auto l1 = text_codec("latin1");
    record euro{record_kind::text, "ab\xe2\x82\xac"};
    auto st = l1->encode(euro, a, out);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("byte offset 2"), std::string::npos)
        << st.error().message();
    EXPECT_TRUE(out.empty());
    // Truncated UTF-16 and UTF-32.
    auto u16 = text_codec("utf-16le");
    st = u16->decode(std::string("a\0b", 3), a, r);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("incomplete"), std::string::npos) << st.error().message();
    auto u32 = text_codec("utf-32be");
    EXPECT_FALSE(u32->decode(std::string("\0\0\0a\0\0", 6), a, r));
    // 1 MiB of latin1 high bytes: 2 MiB of UTF-8, within the bound.
    std::string big(1 << 20, '\xe9');
    ASSERT_TRUE(l1->decode(big, a, r));
    EXPECT_EQ(r.bytes.size(), 2u << 20);
    // 1 MiB of cp1252 euro signs: 3 MiB of UTF-8.
    auto cp = text_codec("windows-1252");
    std::string euros(1 << 20, '\x80');
    ASSERT_TRUE(cp->decode(euros, a, r));
    EXPECT_EQ(r.bytes.size(), 3u << 20);
    // utf-16/utf-32: the byte-order mark is read and written on every message, not only on
    // a converter's first use (glibc's converters keep that state; found by fuzz_codecs_text).
    auto u16b = text_codec("utf-16");
    auto u32b = text_codec("utf-32");
    for (int k = 0; k < 3; ++k) {
        ASSERT_TRUE(u16b->decode(std::string("\xfe\xff\xff\xf9", 4), a, r));
        EXPECT_EQ(r.bytes, "\xef\xbf\xb9");
        std::string o;
        ASSERT_TRUE(u16b->encode(r, a, o));
        EXPECT_EQ(o, std::string("\xfe\xff\xff\xf9", 4));
        ASSERT_TRUE(u16b->decode(std::string("\xff\xfe\x41\x00", 4), a, r));
        EXPECT_EQ(r.bytes, "A");
        ASSERT_TRUE(u16b->decode(std::string("\x00\x42", 2), a, r));  // no mark: big-endian
        EXPECT_EQ(r.bytes, "B");
        ASSERT_TRUE(u32b->decode(std::string("\xff\xfe\0\0\x43\0\0\0", 8), a, r));
        EXPECT_EQ(r.bytes, "C");
        o.clear();
        ASSERT_TRUE(u32b->encode(r, a, o));
        EXPECT_EQ(o, std::string("\0\0\xfe\xff\0\0\0\x43", 8));
    }
    // An error after a mark names the offset in the whole payload.
    st = u16b->decode(std::string("\xff\xfe\x41\x00\x00\xdc", 6), a, r);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("byte offset 4"), std::string::npos)
        << st.error().message();
    // The default stays UTF-8, zero-copy.
    auto u8 = make_text_codec(config::values());
    ASSERT_TRUE(u8);
    std::string s = "h\xc3\xa9";
    ASSERT_TRUE((*u8)->decode(s, a, r));
    EXPECT_EQ(r.bytes.data(), s.data());
    EXPECT_FALSE((*u8)->decode("\xff", a, r));
    // Unknown encodings are refused by the spec.
    EXPECT_NE(test::spec_problems(text_codec_spec(), "encoding = \"ebcdic\"\n"), "");
}

}  // namespace
}  // namespace trib::codecs
