#pragma once
// Who may talk to the management API, beyond its API key: the checks that keep a web page in
// the operator's browser from using an API bound to loopback or a private address.
// - DNS rebinding: a page on attacker.example re-resolves its name to 127.0.0.1 and reads the
//   API as "same origin". Its requests carry `Host: attacker.example`, so without an api_key the
//   API answers only requests whose Host is an IP literal, `localhost` (or `*.localhost`), the
//   bound host name, or a name in `[http] allowed_hosts`.
// - Cross-site requests: a form on any page can POST to http://127.0.0.1:8081/sinks/x/restart
//   without a CORS preflight. A state-changing request (POST, PUT, PATCH, DELETE) that carries an
//   Origin is refused unless the Origin is the API's own (scheme://Host) or listed in
//   `[http.cors] allowed_origins` ("*" counts only with an api_key: a page cannot send one
//   without a preflight the CORS rules answer).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trib::runtime {

struct api_access_settings {
    std::string bind_host;                     // "127.0.0.1", "0.0.0.0", "tributary.internal"
    std::vector<std::string> allowed_hosts;    // [http] allowed_hosts; "*" allows any
    std::vector<std::string> allowed_origins;  // [http.cors] allowed_origins when CORS is on
    bool api_key_set = false;
    bool tls = false;
};

/// A refusal: the HTTP status (403) and the reason for the answer's {"error": ...}.
struct api_refusal {
    int status = 403;
    std::string message;
};

/// Decides per request; pure (no I/O), thread-safe.
class api_access {
  public:
    explicit api_access(api_access_settings s);
    /// nullopt when the request may proceed. `host` and `origin` are the headers ("" when
    /// absent).
    std::optional<api_refusal> check(std::string_view method, std::string_view host,
                                     std::string_view origin) const;
    bool host_allowed(std::string_view host_header) const;
    bool origin_allowed(std::string_view origin, std::string_view host_header) const;

  private:
    api_access_settings s_;
};

/// The host part of a Host header or an origin's authority ("[::1]:8081" -> "::1",
/// "Example.COM:80" -> "example.com").
std::string host_of_authority(std::string_view authority);

}  // namespace trib::runtime
