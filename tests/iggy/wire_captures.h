#pragma once
// The real Iggy wire captures in tests/data/iggy-wire-captures (the official Python SDK 0.9.0
// against a real Iggy 0.9 server), one frame a JSON line: read by the codec's capture test and
// the embedded server's replay test.

#include <rapidjson/document.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "iggy/test_util.h"
#include "iggy/wire/bytes.h"

namespace trib::iggy::test {

/// One captured frame: its connection, its place in the capture, its direction and bytes.
struct captured {
    int conn = 0;
    int seq = 0;
    bool c2s = false;  // client to server
    bytes frame;
};

inline std::filesystem::path captures_dir() {
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    std::filesystem::path base = src ? src : ".";
    return base / "tests" / "data" / "iggy-wire-captures";
}

/// The frames of capture file `name` in file order; empty when the file is missing (callers
/// assert on the count, naming captures_dir()).
inline std::vector<captured> load_captures(const std::string& name) {
    std::vector<captured> out;
    std::ifstream in(captures_dir() / name);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        rapidjson::Document d;
        d.Parse(line.c_str());
        if (d.HasParseError() || !d.IsObject())
            continue;
        captured c;
        c.conn = d["conn"].GetInt();
        c.seq = d["seq"].GetInt();
        c.c2s = std::string(d["dir"].GetString()) == "c2s";
        c.frame = from_hex(d["hex"].GetString());
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace trib::iggy::test
