#pragma once
// JSON for the PostgreSQL connector. Parsing is RapidJSON's SAX reader building a compact tree
// that keeps each number's original text (a numeric(39,0) id or 123.4500 must reach PostgreSQL
// exactly as written, not through a double). Writing is a few append helpers.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::postgres::json {

enum class kind : std::uint8_t { null, boolean, number, string, object, array };

/// One node of a parsed document. Children of objects/arrays are linked through `next`.
struct node {
    kind k = kind::null;
    bool b = false;
    std::string_view text;  // number: its literal; string: the unescaped value
    std::string_view key;   // member name when the parent is an object
    std::int32_t first = -1;
    std::int32_t next = -1;
    std::uint32_t count = 0;
};

/// A parsed document; views point into its own storage. Reusable: parse() starts over.
class document {
  public:
    /// Parses `text` (whole input must be one JSON value, whitespace around allowed).
    status parse(std::string_view text);
    const node& root() const { return nodes_.at(0); }
    const node& at(std::int32_t i) const { return nodes_[static_cast<std::size_t>(i)]; }
    /// The member `name` of object `obj`, or nullptr.
    const node* member(const node& obj, std::string_view name) const;
    /// Walks a dotted path ("a.b.c") of object members from `from`; nullptr if absent.
    const node* path(const node& from, std::string_view dotted) const;
    /// Serialises a node back to compact JSON.
    void write(const node& n, std::string& out) const;

    // SAX handler plumbing (public for the reader; not part of the API).
    std::int32_t add(node n);
    std::vector<node> nodes_;
    std::vector<std::int32_t> stack_;
    std::vector<std::int32_t> last_child_;
    std::string_view pending_key_;
    std::deque<std::string> arena_;
    std::string buf_;
};

/// Appends a PostgreSQL value, given in the text output format of type `type_oid`, as JSON
/// (the shape Iggy's postgres source gives): booleans and numbers as JSON literals (NaN and
/// infinities as strings), json/jsonb embedded, bytea as base64, timestamptz as RFC 3339,
/// one-dimensional arrays of scalars as JSON arrays, everything else as a string.
void append_pg_value(std::string& out, std::uint32_t type_oid, std::string_view text);

}  // namespace trib::connectors::postgres::json
