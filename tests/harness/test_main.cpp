// The main() of every test binary. GoogleTest counts a skipped test as passed; in CI (CI=true) a
// skip means a peer or tool the suite needs was missing, so the binary fails and names the skipped
// tests (the guide: "a skipped test never counts as passed").

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    int rc = RUN_ALL_TESTS();
    const auto& unit = *::testing::UnitTest::GetInstance();
    if (unit.skipped_test_count() == 0)
        return rc;
    if (!in_ci()) {
        // ctest's SKIP_REGULAR_EXPRESSION (cmake/TributaryHelpers.cmake) matches this line, so the
        // summary counts the binary as skipped rather than passed.
        std::printf("tributary-tests-skipped: %d\n", unit.skipped_test_count());
        return rc;
    }
    std::fprintf(stderr, "FAILED: %d test(s) skipped with CI=true (a skip does not pass in CI):\n",
                 unit.skipped_test_count());
    for (int i = 0; i < unit.total_test_suite_count(); ++i) {
        const auto& suite = *unit.GetTestSuite(i);
        for (int j = 0; j < suite.total_test_count(); ++j) {
            const auto& t = *suite.GetTestInfo(j);
            if (t.result() != nullptr && t.result()->Skipped())
                std::fprintf(stderr, "  %s.%s\n", suite.name(), t.name());
        }
    }
    return 1;
}
