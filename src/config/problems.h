#pragma once
// The problems configuration loading finds. Validation collects every problem (it never stops at
// the first) so that one run of `tributary validate` shows everything to fix.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trib::config {

enum class severity : unsigned char { error, warning };

/// One problem: `file: key.path: message` (the path is empty for whole-file problems).
struct problem {
    severity level = severity::error;
    std::string file;  // the file, or "environment variable NAME" for values from the environment
    std::string path;  // full key path: "plugin_config.batch_size", "streams[0].topics"
    std::string message;

    /// "file: path: message"; warnings read "file: path: warning: message".
    std::string to_string() const;
};

/// An ordered list of problems (errors and warnings, in the order they were found).
class problems {
  public:
    void error(std::string file, std::string path, std::string message);
    void warning(std::string file, std::string path, std::string message);
    void add(problem p) { items_.push_back(std::move(p)); }
    void append(const problems& other);
    /// Turns every error into a warning (for configs that will not run: inactive versions).
    void downgrade_errors();

    bool has_errors() const;
    std::size_t error_count() const;
    std::size_t warning_count() const;
    bool empty() const { return items_.empty(); }
    std::size_t size() const { return items_.size(); }
    const std::vector<problem>& items() const { return items_; }

    /// One problem per line (errors and warnings in order), no trailing newline.
    std::string to_string() const;
    /// Only the errors, one per line.
    std::string errors_to_string() const;

  private:
    std::vector<problem> items_;
};

/// A value, or the problems that prevented it. Warnings ride along either way.
template <class T>
struct [[nodiscard]] loaded {
    std::optional<T> value;  // set exactly when there are no errors
    problems issues;
    explicit operator bool() const { return value.has_value(); }
    T& operator*() { return *value; }
    const T& operator*() const { return *value; }
    T* operator->() { return &*value; }
    const T* operator->() const { return &*value; }
};

}  // namespace trib::config
