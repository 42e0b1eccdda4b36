// The embedded server's metadata.json reader on hostile files: a clear data_loss error naming
// the file, never a crash (it goes through core's JSON entry point).

#include <gtest/gtest.h>

#include "harness/hostile_json.h"
#include "server/model.h"

namespace trib::server {
namespace {

TEST(metadata_json, hostile_files_are_refused_with_the_reason) {
    for (const auto& [name, bytes] : testing::hostile_json_inputs()) {
        broker::model m;
        auto st = parse_metadata(bytes, m);
        ASSERT_FALSE(st) << name;
        EXPECT_EQ(st.error().code(), errc::data_loss) << name;
        EXPECT_EQ(st.error().message().rfind("metadata.json: not valid JSON: ", 0), 0u)
            << name << ": " << st.error().message();
    }
    broker::model m;
    auto deep = parse_metadata(testing::deep_objects(), m);
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message().find("nested deeper than 128 levels"), std::string::npos);
    EXPECT_FALSE(parse_metadata("[1]", m));
}

}  // namespace
}  // namespace trib::server
