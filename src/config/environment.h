#pragma once
// A snapshot of environment variables. Loading takes one explicitly, so tests can pass their own
// and configuration never depends on setenv() races.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trib::config {

class environment {
  public:
    environment() = default;
    explicit environment(std::map<std::string, std::string, std::less<>> vars)
        : vars_(std::move(vars)) {}

    /// The current process environment (a copy taken now).
    static environment from_process();

    std::optional<std::string> get(std::string_view name) const;
    /// Variables whose name starts with `prefix` (ASCII case-insensitive, as Iggy's runtime
    /// matches), in name order.
    std::vector<std::pair<std::string, std::string>> with_prefix(std::string_view prefix) const;
    void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }

  private:
    std::map<std::string, std::string, std::less<>> vars_;
};

}  // namespace trib::config
