// The routing table of the HTTP server (router.h): no Beast, no sockets.

#include "http/router.h"

#include <algorithm>

#include "http/message.h"
#include "http/server.h"

namespace trib::http {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (!path.empty() && path.front() == '/')
        path.remove_prefix(1);
    while (!path.empty()) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool method_matches(std::string_view route_method, std::string_view method) {
    return route_method == method || (method == "HEAD" && route_method == "GET");
}

path_pattern::path_pattern(std::string_view pattern) {
    for (auto part : split_path(pattern)) {
        segment s;
        if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
            std::string_view name = part.substr(1, part.size() - 2);
            if (!name.empty() && name.back() == '*') {
                s.kind = segment::rest;
                name.remove_suffix(1);
            } else {
                s.kind = segment::param;
            }
            s.text = std::string(name);
        } else {
            s.kind = segment::literal;
            s.text = std::string(part);
        }
        segs_.push_back(std::move(s));
    }
}

std::vector<int> path_pattern::specificity() const {
    std::vector<int> k;
    for (const auto& s : segs_)
        k.push_back(s.kind);
    return k;
}

bool path_pattern::match(const std::vector<std::string>& path, param_map& params) const {
    param_map got;
    std::size_t i = 0;
    for (const auto& s : segs_) {
        if (s.kind == segment::rest) {
            std::string restv;
            for (std::size_t j = i; j < path.size(); ++j) {
                if (j > i)
                    restv += '/';
                restv += path[j];
            }
            got[s.text] = std::move(restv);
            params = std::move(got);
            return true;
        }
        if (i >= path.size())
            return false;
        if (s.kind == segment::literal) {
            if (path[i] != s.text)
                return false;
        } else {
            if (path[i].empty())
                return false;
            got[s.text] = path[i];
        }
        ++i;
    }
    if (i != path.size())
        return false;
    params = std::move(got);
    return true;
}

void router::add(std::string method, std::string_view pattern, std::size_t id) {
    entries_.push_back({std::move(method), path_pattern(pattern), id});
}

void router::sort() {
    std::stable_sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
        return a.pattern.specificity() < b.pattern.specificity();
    });
}

route_lookup router::lookup(std::string_view method, std::string_view path,
                            param_map& params) const {
    route_lookup m;
    std::vector<std::string> decoded;
    for (auto raw : split_path(path)) {
        auto d = percent_decode(raw);
        if (!d) {
            m.bad_encoding = true;
            return m;
        }
        decoded.push_back(std::move(*d));
    }
    for (const auto& e : entries_) {
        param_map p;
        if (!e.pattern.match(decoded, p))
            continue;
        m.path_found = true;
        if (std::find(m.allow.begin(), m.allow.end(), e.method) == m.allow.end())
            m.allow.push_back(e.method);
        if (!m.id && method_matches(e.method, method)) {
            m.id = e.id;
            params = std::move(p);
        }
    }
    return m;
}

std::string allow_header(std::vector<std::string> allow) {
    if (std::find(allow.begin(), allow.end(), "GET") != allow.end())
        allow.push_back("HEAD");
    allow.push_back("OPTIONS");
    return join(allow, ", ");
}

}  // namespace trib::http
