#include "runtime/ports.h"

#include <fmt/format.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "core/atomic_file.h"

namespace trib::runtime {

status producer_port::send_sync(std::shared_ptr<const message_batch> batch) {
    struct waiter {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        status result;
    };
    auto w = std::make_shared<waiter>();
    send(std::move(batch), [w](status st) {
        {
            std::lock_guard lk(w->mu);
            w->result = std::move(st);
            w->done = true;
        }
        w->cv.notify_all();
    });
    std::unique_lock lk(w->mu);
    w->cv.wait(lk, [&] { return w->done; });
    return w->result;
}

std::string file_state_store::path_of(std::string_view key) const {
    // Keys are the connectors' `key` values; keep the file name to a safe alphabet.
    std::string name = "source_";
    for (char c : key) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        name.push_back(safe ? c : '_');
    }
    name += ".state";
    return (std::filesystem::path(dir_) / name).string();
}

result<std::optional<std::string>> file_state_store::load(std::string_view key) {
    auto r = read_file(path_of(key), k_max_state_bytes);
    if (!r) {
        if (r.error().code() == errc::not_found)
            return std::optional<std::string>();
        if (r.error().code() == errc::resource_exhausted)
            return fail(errc::data_loss, "source state " + r.error().message());
        return r.error();
    }
    return std::optional<std::string>(std::move(*r));
}

status file_state_store::save(std::string_view key, std::string_view state) {
    if (state.size() > k_max_state_bytes) {
        return fail(errc::internal, fmt::format("source state of {} has {} bytes, more than {}",
                                                key, state.size(), k_max_state_bytes));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
        return fail(errc::io_error, "creating state directory " + dir_ + ": " + ec.message());
    return write_file_atomic(path_of(key), state);
}

}  // namespace trib::runtime
