// The template scanner: literals, placeholders, brace escapes and the two errors.

#include "core/template_text.h"

#include <gtest/gtest.h>

namespace trib {
namespace {

TEST(template_text, given_literals_and_placeholders_should_split_them_in_order) {
    auto t = split_template("a{x}b{{c}}{y:z}");
    ASSERT_TRUE(t) << t.error().message();
    ASSERT_EQ(t->size(), 4u);
    EXPECT_FALSE((*t)[0].placeholder);
    EXPECT_EQ((*t)[0].text, "a");
    EXPECT_TRUE((*t)[1].placeholder);
    EXPECT_EQ((*t)[1].text, "x");
    EXPECT_EQ((*t)[2].text, "b{c}");
    EXPECT_TRUE((*t)[3].placeholder);
    EXPECT_EQ((*t)[3].text, "y:z");
    EXPECT_TRUE(split_template("")->empty());
}

TEST(template_text, given_unbalanced_braces_should_name_the_byte) {
    auto lone = split_template("ab}c");
    ASSERT_FALSE(lone);
    EXPECT_NE(lone.error().message().find("byte 2"), std::string::npos);
    auto open = split_template("x{y");
    ASSERT_FALSE(open);
    EXPECT_NE(open.error().message().find("unclosed"), std::string::npos);
}

}  // namespace
}  // namespace trib
