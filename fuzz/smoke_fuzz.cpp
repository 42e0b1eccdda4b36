// Proves the fuzzing path: decodes a "k=v" line the way config overrides are read, and checks
// that the split is lossless for any input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto eq = in.find('=');
    if (eq == std::string_view::npos)
        return 0;
    std::string_view key = in.substr(0, eq);
    std::string_view value = in.substr(eq + 1);
    if (key.size() + 1 + value.size() != in.size())
        std::abort();
    return 0;
}
