#pragma once
// The text of an errno value: one place for the files, sockets and locks that report one.

#include <string>

namespace trib {

/// The text of an errno value ("No such file or directory"); thread-safe (strerror_r).
std::string errno_text(int e);

}  // namespace trib
