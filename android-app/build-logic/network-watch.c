/*
 * Counts the process's attempts to reach the network, for the Android tests'
 * "no network while answering" check: loaded with LD_PRELOAD into the JVM that
 * runs them, it sits in front of libc's connect, sendto, sendmsg and
 * getaddrinfo, which the JVM's sockets and the Rust core's (std::net, through
 * the libc crate) both call. Local sockets (AF_UNIX) are not counted. The
 * tests read the count through JNA (imp_network_attempts) before and after
 * answering; every call still goes on to libc unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

static atomic_long attempts;

long imp_network_attempts(void) { return atomic_load(&attempts); }

static int is_internet(const struct sockaddr *address) {
    return address != NULL && (address->sa_family == AF_INET || address->sa_family == AF_INET6);
}

static void *next(const char *name) { return dlsym(RTLD_NEXT, name); }

int connect(int fd, const struct sockaddr *address, socklen_t length) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (real == NULL) real = next("connect");
    if (is_internet(address)) atomic_fetch_add(&attempts, 1);
    return real(fd, address, length);
}

ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *address,
               socklen_t address_length) {
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (real == NULL) real = next("sendto");
    if (is_internet(address)) atomic_fetch_add(&attempts, 1);
    return real(fd, buffer, length, flags, address, address_length);
}

ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
    static ssize_t (*real)(int, const struct msghdr *, int);
    if (real == NULL) real = next("sendmsg");
    if (message != NULL && is_internet(message->msg_name)) atomic_fetch_add(&attempts, 1);
    return real(fd, message, flags);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **result) {
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (real == NULL) real = next("getaddrinfo");
    atomic_fetch_add(&attempts, 1);
    return real(node, service, hints, result);
}
