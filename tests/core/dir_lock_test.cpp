#include "core/dir_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "harness/peer.h"

namespace trib {
namespace {

// Runs `acquire` in a child process: its exit code is 0 when it got the lock, 3 when it was
// refused with failed_precondition, 4 for anything else.
int acquire_in_child(const std::filesystem::path& dir) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        auto l = dir_lock::acquire(dir);
        if (l)
            ::_exit(0);
        ::_exit(l.error().code() == errc::failed_precondition ? 3 : 4);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(dir_lock, a_second_holder_is_refused_and_named) {
    test::temp_dir tmp("dirlock");
    const auto dir = tmp.path() / "data";
    auto first = dir_lock::acquire(dir);
    ASSERT_TRUE(first) << first.error().to_string();
    EXPECT_TRUE(first->held());
    EXPECT_TRUE(std::filesystem::exists(dir / ".lock"));

    // Same process, second open file: refused, naming the directory and our pid.
    auto second = dir_lock::acquire(dir);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), errc::failed_precondition);
    EXPECT_NE(second.error().message().find(dir.string()), std::string::npos)
        << second.error().message();
    EXPECT_NE(second.error().message().find("pid " + std::to_string(::getpid())), std::string::npos)
        << second.error().message();

    // Another process: refused too.
    EXPECT_EQ(acquire_in_child(dir), 3);

    // Released: the next one gets it (the file stays behind and does not block).
    first->release();
    EXPECT_FALSE(first->held());
    EXPECT_EQ(acquire_in_child(dir), 0);
    auto third = dir_lock::acquire(dir);
    EXPECT_TRUE(third) << third.error().to_string();
}

TEST(dir_lock, moves_keep_the_lock_and_destruction_releases_it) {
    test::temp_dir tmp("dirlock");
    {
        auto l = dir_lock::acquire(tmp.path());
        ASSERT_TRUE(l);
        dir_lock moved = std::move(*l);
        EXPECT_TRUE(moved.held());
        EXPECT_FALSE(l->held());
        EXPECT_EQ(acquire_in_child(tmp.path()), 3);
    }
    EXPECT_EQ(acquire_in_child(tmp.path()), 0);
}

TEST(dir_lock, a_path_that_is_a_file_is_an_io_error) {
    test::temp_dir tmp("dirlock");
    const auto file = tmp.path() / "plain";
    std::ofstream(file) << "x";
    auto l = dir_lock::acquire(file);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code(), errc::io_error) << l.error().to_string();
}

}  // namespace
}  // namespace trib
