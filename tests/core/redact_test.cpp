// core/redact.h: credentials in URLs, key=value credentials (libpq conninfo and its error texts)
// and registered secret values never survive redact().

#include "core/redact.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace trib {
namespace {

TEST(redact, passwords_in_urls) {
    EXPECT_EQ(redact("http://user:pa55@example.com:8080/path?q=1"),
              "http://user:***@example.com:8080/path?q=1");
    EXPECT_EQ(redact("url mqtt://bob:hunter2@broker:1883, retrying"),
              "url mqtt://bob:***@broker:1883, retrying");
    EXPECT_EQ(redact("postgresql://app:p%40ss@db:5432/orders"),
              "postgresql://app:***@db:5432/orders");
    // A password holding '@' (not valid in a URL, written anyway): the last '@' ends it.
    EXPECT_EQ(redact("mqtts://u:a@b@host"), "mqtts://u:***@host");
    // Two URLs in one line, JSON around them.
    EXPECT_EQ(redact(R"({"url":"https://a:b1@h1/x","other":"wss://c:d2@h2"})"),
              R"({"url":"https://a:***@h1/x","other":"wss://c:***@h2"})");
    // The authority alone, as libraries print it.
    EXPECT_EQ(redact("cannot resolve mqttuser:MqttSecret456@127.0.0.1: Name or service not known"),
              "cannot resolve mqttuser:***@127.0.0.1: Name or service not known");
    EXPECT_EQ(redact("(bob:pw@host)"), "(bob:***@host)");
    // Nothing to hide.
    EXPECT_EQ(redact("http://example.com/a@b"), "http://example.com/a@b");
    EXPECT_EQ(redact("mqtt://user@host"), "mqtt://user@host");
    EXPECT_EQ(redact("mail bob@example.com at 10:30"), "mail bob@example.com at 10:30");
    EXPECT_EQ(redact("no url here"), "no url here");
    // Idempotent.
    EXPECT_EQ(redact(redact("http://user:pw@h")), "http://user:***@h");
}

TEST(redact, key_value_credentials_as_libpq_writes_them) {
    EXPECT_EQ(redact("host=db port=5432 user=app password=s3cret dbname=x"),
              "host=db port=5432 user=app password=*** dbname=x");
    EXPECT_EQ(redact("host=db password = 'pa ss\\'w' dbname=x"),
              "host=db password = '***' dbname=x");
    EXPECT_EQ(redact(R"(missing "=" after "PASSWORD=abc" in connection info string)"),
              R"(missing "=" after "PASSWORD=***" in connection info string)");
    EXPECT_EQ(redact("sslpassword=k3y token=t0k api_key=xyz"),
              "sslpassword=*** token=*** api_key=***");
    EXPECT_EQ(redact("https://h/x?token=abc&page=2"), "https://h/x?token=***&page=2");
    // Words that merely contain a key, or keys without a value, stay.
    EXPECT_EQ(redact("password authentication failed for user \"app\""),
              "password authentication failed for user \"app\"");
    EXPECT_EQ(redact("passwords=3 tokens=4 mytoken=5"), "passwords=3 tokens=4 mytoken=5");
}

TEST(redact, registered_secret_values_anywhere) {
    clear_registered_secrets();
    register_secret("abc");  // too short: would mangle words
    register_secret("correct-horse-battery");
    register_secret("correct-horse");
    EXPECT_EQ(redact("login with correct-horse-battery failed; abc"), "login with *** failed; abc");
    EXPECT_EQ(redact("x correct-horse y"), "x *** y");
    EXPECT_TRUE(needs_redaction("correct-horse"));
    EXPECT_FALSE(needs_redaction("plain text"));
    clear_registered_secrets();
    EXPECT_EQ(redact("correct-horse"), "correct-horse");
}

// The hostile-input corpus: every text in tests/data/hostile/redaction carries secrets spelled
// "Sekr3t-N" in one of the forms that reach logs and API answers; none may survive.
TEST(redact, the_hostile_corpus_leaks_nothing) {
    clear_registered_secrets();
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    const std::filesystem::path dir =
        std::filesystem::path(src != nullptr ? src : ".") / "tests/data/hostile/redaction";
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream text;
        text << f.rdbuf();
        ASSERT_NE(text.str().find("Sekr3t"), std::string::npos) << e.path();
        const std::string out = redact(text.str());
        EXPECT_EQ(out.find("Sekr3t"), std::string::npos) << e.path() << ": " << out;
        EXPECT_NE(out.find("***"), std::string::npos) << e.path();
        ++files;
    }
    EXPECT_GE(files, 7u);
}

}  // namespace
}  // namespace trib
