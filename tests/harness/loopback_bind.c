/* An LD_PRELOAD shim for test peers that cannot be told which address to listen on (Iggy's peers
 * bind 127.0.0.1 only; Iceberg's RESTCatalogServer has no host option and binds every interface):
 * a bind() to the IPv4 wildcard address binds 127.0.0.1 instead, and one to the IPv6 wildcard
 * binds ::ffff:127.0.0.1 (a dual-stack socket then takes IPv4 loopback connections only).
 * Loaded only into such peers (TRIB_LOOPBACK_BIND_LIB); built without sanitizers, as it is loaded
 * into programs that are not. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr*, socklen_t);

int bind(int fd, const struct sockaddr* addr, socklen_t len) {
    static bind_fn real;
    if (real == NULL)
        real = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (addr != NULL && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in a;
        memcpy(&a, addr, sizeof a);
        if (a.sin_addr.s_addr == htonl(INADDR_ANY)) {
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real(fd, (const struct sockaddr*)&a, sizeof a);
        }
    } else if (addr != NULL && addr->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 a;
        memcpy(&a, addr, sizeof a);
        if (IN6_IS_ADDR_UNSPECIFIED(&a.sin6_addr)) {
            inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
            return real(fd, (const struct sockaddr*)&a, sizeof a);
        }
    }
    return real(fd, addr, len);
}
