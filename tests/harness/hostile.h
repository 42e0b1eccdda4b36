#pragma once
// The hostile-input regression corpus under tests/data/hostile/<area>/ (issue 12): every file there
// is fed through the real code path by a unit test of its area.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace trib::test {

/// tests/data/hostile/<area>: under $TRIB_SOURCE_DIR (ctest sets it), else under the first
/// parent of the test binary's directory that has tests/data/hostile (the build tree is inside
/// the source tree).
inline std::filesystem::path hostile_dir(const std::string& area) {
    if (const char* src = std::getenv("TRIB_SOURCE_DIR"))
        return std::filesystem::path(src) / "tests" / "data" / "hostile" / area;
    std::error_code ec;
    auto dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    for (; !dir.empty() && dir != dir.parent_path(); dir = dir.parent_path()) {
        if (std::filesystem::is_directory(dir / "tests" / "data" / "hostile", ec))
            return dir / "tests" / "data" / "hostile" / area;
    }
    return std::filesystem::path("tests") / "data" / "hostile" / area;
}

/// (file name, content) of every file in tests/data/hostile/<area>, sorted by name; empty when
/// the folder is missing (callers assert a minimum count, so a wrong path fails).
inline std::vector<std::pair<std::string, std::string>> hostile_inputs(const std::string& area) {
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(hostile_dir(area), ec)) {
        if (!e.is_regular_file())
            continue;
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        out.emplace_back(e.path().filename().string(), ss.str());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace trib::test
