#include "app/signals.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace trib::app {

namespace {

sigset_t stop_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void block_stop_signals() {
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::optional<std::string_view> wait_stop_signal(std::chrono::seconds timeout) {
    const sigset_t set = stop_set();
    timespec ts{static_cast<time_t>(timeout.count()), 0};
    const int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGINT)
        return "SIGINT";
    if (sig == SIGTERM)
        return "SIGTERM";
    return std::nullopt;
}

void exit_on_second_signal() {
    std::thread second([set = stop_set()] {
        int s = 0;
        if (::sigwait(&set, &s) == 0 && (s == SIGINT || s == SIGTERM)) {
            std::fprintf(stderr, "tributary: second signal, exiting without draining\n");
            std::_Exit(130);
        }
    });
    second.detach();
}

}  // namespace trib::app
