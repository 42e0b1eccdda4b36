#pragma once
// Reading an enumeration option into a C++ enum: one lookup instead of a chain of string
// comparisons in every connector's options reader.

#include <initializer_list>
#include <string_view>
#include <utility>

#include "config/spec.h"

namespace trib::config {

/// The enum value that `table` pairs with the value of the enumeration option `name`. The spec's
/// `choices` guarantee a value `table` names; one it does not name (a bug) gives the first entry.
template <class E>
E enum_option(const values& v, std::string_view name,
              std::initializer_list<std::pair<std::string_view, E>> table) {
    const std::string text = v.str(name);
    for (const auto& [n, e] : table) {
        if (n == text)
            return e;
    }
    return table.begin()->second;
}

}  // namespace trib::config
