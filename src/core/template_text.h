#pragma once
// Splitting a `{placeholder}` template (keys, topics, paths built from message values) into
// literal text and placeholder names, with `{{` and `}}` as literal braces. Each user of a
// template decides what its names mean; the scanning and its errors are the same everywhere.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib {

/// One piece of a template: literal text, or the name between `{` and `}`.
struct template_token {
    bool placeholder = false;
    std::string text;
};

/// The tokens of `text` (adjacent literals merged). Errors (invalid_argument): a lone `}`, a `{`
/// without its `}`, with the byte offset.
result<std::vector<template_token>> split_template(std::string_view text);

}  // namespace trib
