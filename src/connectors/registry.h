#pragma once
// The one visible list of Tributary's built-in connectors, codecs and transforms (STYLE.md
// "Registration"): registry.cpp names every one explicitly, no static initialisers. Duplicate
// names fail at start. Iggy's plugin names (the library file name without `lib`, directory and
// extension, e.g. iggy_connector_postgres_sink) select the built-in of the same system.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

using sink_maker = std::function<result<std::unique_ptr<sink>>(const config::values&)>;
using source_maker = std::function<result<std::unique_ptr<source>>(const config::values&)>;

/// One built-in connector (a source or a sink; a system with both has two entries).
struct connector_entry {
    config::spec spec;
    sink_maker make_sink;      // spec.kind == sink
    source_maker make_source;  // spec.kind == source
    /// Iggy plugin names that select this entry: iggy_connector_{name}_{kind} and the spec's
    /// plugin_aliases.
    std::vector<std::string> plugin_names;
};

/// A codec or a transform: its spec (its factory lives with its module).
struct component_entry {
    config::spec spec;
};

/// Built-ins by kind and name. Immutable once built; safe to share between threads.
class registry {
  public:
    /// Every built-in, from the list in registry.cpp, built once. An error lists every duplicate
    /// name or plugin alias (a bug in the list: the runtime refuses to start).
    static result<std::shared_ptr<const registry>> builtins();

    /// Adds an entry; fails on a name or plugin name already taken by an entry of the same kind.
    [[nodiscard]] status add_sink(config::spec s, sink_maker make);
    [[nodiscard]] status add_source(config::spec s, source_maker make);
    [[nodiscard]] status add_codec(config::spec s);
    [[nodiscard]] status add_transform(config::spec s);

    /// A sink by its name ("stdout") or an Iggy plugin name ("iggy_connector_stdout_sink");
    /// nullptr if unknown.
    const connector_entry* find_sink(std::string_view name) const;
    const connector_entry* find_source(std::string_view name) const;
    const component_entry* find_codec(std::string_view name) const;
    const component_entry* find_transform(std::string_view name) const;
    /// Any connector, source first, by name (for `connectors describe NAME`); "name/kind" or
    /// "name_kind" picks one kind when a system has both.
    std::vector<const connector_entry*> find_connectors(std::string_view name) const;

    const std::vector<connector_entry>& sinks() const { return sinks_; }
    const std::vector<connector_entry>& sources() const { return sources_; }
    const std::vector<component_entry>& codecs() const { return codecs_; }
    const std::vector<component_entry>& transforms() const { return transforms_; }

    /// Names (and plugin names) of a kind, sorted, for "did you mean".
    std::vector<std::string> names(config::spec_kind kind) const;

  private:
    status add_connector(std::vector<connector_entry>& list, connector_entry e);
    static const connector_entry* find_in(const std::vector<connector_entry>& list,
                                          std::string_view name);

    std::vector<connector_entry> sinks_;
    std::vector<connector_entry> sources_;
    std::vector<component_entry> codecs_;
    std::vector<component_entry> transforms_;
};

}  // namespace trib::connectors
