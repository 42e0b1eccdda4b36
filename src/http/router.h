#pragma once
// The HTTP server's routing table, apart from the Beast translation unit so that it is tested
// without a socket (tests/http/router_test.cpp). server.cpp keeps one table and the handlers by
// the ids it registers.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trib::http {

using param_map = std::map<std::string, std::string, std::less<>>;

/// Splits a path into its segments; "/" is none, a trailing '/' adds nothing.
std::vector<std::string_view> split_path(std::string_view path);

/// True when a route registered for `route_method` answers `method` (a GET route answers HEAD).
bool method_matches(std::string_view route_method, std::string_view method);

/// A route's path pattern: literal segments, `{name}` segments (one segment each) and an
/// optional last `{name*}` that takes the rest of the path.
class path_pattern {
  public:
    explicit path_pattern(std::string_view pattern);
    /// Matches percent-decoded path segments; fills `params` only on a match.
    bool match(const std::vector<std::string>& path, param_map& params) const;
    /// Orders patterns: literal segments before parameters before the rest.
    std::vector<int> specificity() const;

  private:
    struct segment {
        enum kind_t { literal = 0, param = 1, rest = 2 } kind = literal;
        std::string text;  // the literal, or the parameter's name
    };
    std::vector<segment> segs_;
};

/// What a lookup found.
struct route_lookup {
    std::optional<std::size_t> id;   // the matched route's id
    bool path_found = false;         // some route has this path (for 405 rather than 404)
    bool bad_encoding = false;       // a path segment is not valid percent-encoding (400)
    std::vector<std::string> allow;  // methods of the routes with this path, in table order
};

/// Routes in registration order until sort(); then most specific first, ties in registration
/// order. Not thread-safe for add()/sort(); lookup() is const and may run on many threads.
class router {
  public:
    void add(std::string method, std::string_view pattern, std::size_t id);
    /// Most specific first: literal segments win over parameters whatever the registration order.
    void sort();
    /// The first route (in table order) whose path matches and whose method answers `method`;
    /// `params` gets its decoded {name} segments.
    route_lookup lookup(std::string_view method, std::string_view path, param_map& params) const;
    std::size_t size() const { return entries_.size(); }

  private:
    struct entry {
        std::string method;
        path_pattern pattern;
        std::size_t id;
    };
    std::vector<entry> entries_;
};

/// The Allow header of a 405 (or of an OPTIONS answer) for the methods a lookup found, then HEAD
/// when one of them is GET, then OPTIONS.
std::string allow_header(std::vector<std::string> allow);

}  // namespace trib::http
