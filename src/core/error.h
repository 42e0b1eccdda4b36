#pragma once
// The error and result types every fallible Tributary function returns (STYLE.md "Errors").
// `result<T>` follows the std::expected API (C++23) so it can be swapped for it later.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace trib {

/// A small canonical error code, independent of any vendor.
enum class errc : std::uint16_t {
    ok = 0,
    invalid_argument,     // the caller's input is wrong (bad config, bad message)
    not_found,            // the named resource does not exist
    already_exists,       // create of something that exists
    failed_precondition,  // the system is not in a state where this can run
    unauthenticated,      // credentials missing or wrong
    permission_denied,    // authenticated but not allowed
    resource_exhausted,   // quota, size or rate limit
    unavailable,          // peer down or connection lost; try again
    timeout,              // no answer in time
    cancelled,            // stopped on request
    protocol_error,       // the peer spoke something we cannot understand
    data_loss,            // stored data is corrupt
    io_error,             // local file or socket failure
    unimplemented,        // not supported (yet, or by this build)
    internal,             // a bug in Tributary
};

/// How the runtime should react to an error: retry it, retry it more slowly, or give up.
enum class retry_class : std::uint8_t { retryable, throttled, fatal };

std::string_view to_string(errc code);
std::string_view to_string(retry_class rc);

/// The default retry class of a code; connectors override it per vendor error.
retry_class default_retry_class(errc code);

/// An error: a canonical code, a retry class, a message with context and an optional vendor code
/// (an Iggy status, a PostgreSQL SQLSTATE as an integer, an HTTP status, ...).
class error {
  public:
    error() = default;
    error(errc code, std::string message)
        : code_(code), retry_(default_retry_class(code)), message_(std::move(message)) {}
    error(errc code, retry_class retry, std::string message, std::int64_t vendor_code = 0)
        : code_(code), retry_(retry), message_(std::move(message)), vendor_code_(vendor_code) {}

    errc code() const { return code_; }
    retry_class retry() const { return retry_; }
    const std::string& message() const { return message_; }
    std::int64_t vendor_code() const { return vendor_code_; }
    bool retryable() const { return retry_ != retry_class::fatal; }

    error& with_vendor_code(std::int64_t c) {
        vendor_code_ = c;
        return *this;
    }
    error& with_retry(retry_class r) {
        retry_ = r;
        return *this;
    }
    /// How long the peer asked us to wait before trying again (HTTP Retry-After, a broker's
    /// throttle time); zero when it said nothing. Meaningful for throttled errors: the runtime's
    /// backoff waits at least this long.
    std::chrono::milliseconds retry_after() const { return retry_after_; }
    error& with_retry_after(std::chrono::milliseconds d) {
        retry_after_ = d;
        return *this;
    }
    /// Returns a copy with `context: ` put in front of the message.
    error wrap(std::string_view context) const;

    /// "code (retry): message"
    std::string to_string() const;

  private:
    errc code_ = errc::internal;
    retry_class retry_ = retry_class::fatal;
    std::string message_;
    std::int64_t vendor_code_ = 0;
    std::chrono::milliseconds retry_after_{0};
};

/// Holds an error to construct a failed `result` (std::unexpected's role).
struct unexpected {
    error err;
    explicit unexpected(error e) : err(std::move(e)) {}
};

inline unexpected fail(errc code, std::string message) {
    return unexpected(error(code, std::move(message)));
}

/// A value or an error, with the std::expected API.
template <class T>
class [[nodiscard]] result {
  public:
    using value_type = T;
    result(const T& v) : v_(std::in_place_index<0>, v) {}
    result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
    template <class U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, result> &&
             !std::is_same_v<std::decay_t<U>, unexpected> &&
             !std::is_same_v<std::decay_t<U>, trib::error>) result(U&& v)
        : v_(std::in_place_index<0>, std::forward<U>(v)) {}
    result(unexpected u) : v_(std::in_place_index<1>, std::move(u.err)) {}
    result(trib::error e) : v_(std::in_place_index<1>, std::move(e)) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }
    T&& operator*() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    const trib::error& error() const& { return std::get<1>(v_); }
    trib::error&& error() && { return std::get<1>(std::move(v_)); }
    template <class U>
    T value_or(U&& other) const& {
        return has_value() ? value() : static_cast<T>(std::forward<U>(other));
    }

  private:
    std::variant<T, trib::error> v_;
};

/// Success or an error.
template <>
class [[nodiscard]] result<void> {
  public:
    using value_type = void;
    result() = default;
    result(unexpected u) : err_(std::move(u.err)), ok_(false) {}
    result(trib::error e) : err_(std::move(e)), ok_(false) {}

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    void value() const {}
    const trib::error& error() const& { return err_; }
    trib::error&& error() && { return std::move(err_); }

  private:
    trib::error err_;
    bool ok_ = true;
};

using status = result<void>;

inline status ok() {
    return {};
}

}  // namespace trib

/// Propagates the error of a `result` expression; evaluates to nothing on success.
#define TRIB_TRY(expr)                                      \
    do {                                                    \
        auto&& trib_try_r_ = (expr);                        \
        if (!trib_try_r_)                                   \
            return ::trib::unexpected(trib_try_r_.error()); \
    } while (0)

#define TRIB_CONCAT_INNER_(a, b) a##b
#define TRIB_CONCAT_(a, b) TRIB_CONCAT_INNER_(a, b)
/// `TRIB_ASSIGN_OR_RETURN(auto x, f());` declares x from the value or returns the error.
#define TRIB_ASSIGN_OR_RETURN(decl, expr) \
    TRIB_ASSIGN_OR_RETURN_IMPL_(TRIB_CONCAT_(trib_aor_, __LINE__), decl, expr)
#define TRIB_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr)       \
    auto tmp = (expr);                                     \
    if (!tmp)                                              \
        return ::trib::unexpected(std::move(tmp).error()); \
    decl = std::move(tmp).value()
