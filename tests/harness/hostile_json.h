#pragma once
// The hostile JSON corpus (tests/data/hostile/json/) plus the inputs too big to commit (made
// here): every one must be refused by each JSON reader with a clear error, never a crash.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace trib::testing {

/// `n` repetitions of `unit`.
inline std::string repeat(std::string_view unit, std::size_t n) {
    std::string s;
    s.reserve(unit.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        s.append(unit);
    return s;
}

/// 200,000 levels: what segfaulted RapidJSON's recursive parser (issue 12).
inline std::string deep_arrays(std::size_t n = 200'000) {
    return repeat("[", n) + repeat("]", n);
}
inline std::string deep_objects(std::size_t n = 200'000) {
    return repeat("{\"a\":", n) + "1" + repeat("}", n);
}

/// (name, bytes) of every hostile JSON input: the files, then the generated ones.
inline std::vector<std::pair<std::string, std::string>> hostile_json_inputs() {
    std::vector<std::pair<std::string, std::string>> out;
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    std::filesystem::path dir =
        std::filesystem::path(src != nullptr ? src : ".") / "tests/data/hostile/json";
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".json")
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
        std::ifstream in(p, std::ios::binary);
        out.emplace_back(p.filename().string(),
                         std::string(std::istreambuf_iterator<char>(in), {}));
    }
    out.emplace_back("200000 [", deep_arrays());
    out.emplace_back("200000 {\"a\":", deep_objects());
    out.emplace_back("200000 [ unclosed", repeat("[", 200'000));
    out.emplace_back("200000 {\"a\": unclosed", repeat("{\"a\":", 200'000));
    return out;
}

}  // namespace trib::testing
