#ifndef SWITCHBOARD_CLIBUV_SHIM_H
#define SWITCHBOARD_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The loop's three system calls per turn (epoll_wait, recv, send) are made
   with syscall(2), not through their glibc wrappers: those are thread
   cancellation points, and in a process with more than one thread (every
   Swift server) each call then switches the thread's cancellation type on
   and off around the system call, an atomic compare-and-swap each way.
   perf put ~9 ns of an echoed message's ~270 there. Switchboard never
   cancels a thread, so the wrappers buy nothing. */

/* glibc declares accept4 only under _GNU_SOURCE, which Swift's Glibc module
   is not built with; the function itself is always there. Accepting with
   SOCK_NONBLOCK | SOCK_CLOEXEC saves two system calls per connection. */
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/* Hands bytes to a socket in one send(2)/sendmsg(2) call: libuv's own
   writes use write(2)/writev(2), whose trip through the file layer (position
   lock, write checks) measured ~15% of a small loopback send here.
   MSG_NOSIGNAL: a reset peer gives EPIPE, never SIGPIPE. Returns the bytes
   taken or a negative errno, as libuv reports errors (UV_EAGAIN: full).
   `beforeShutdown`: the last bytes before shutdown(SHUT_WR). MSG_MORE keeps
   a short tail in the kernel, and the FIN that follows is set on it (Linux
   tcp_send_fin) instead of going out as a segment of its own. */
static inline long switchboard_send(int fd, const uv_buf_t *buffers, unsigned count, bool beforeShutdown) {
    long sent;
    int flags = MSG_NOSIGNAL | MSG_DONTWAIT | (beforeShutdown ? MSG_MORE : 0);
    do {
        if (count == 1) {
            sent = syscall(SYS_sendto, fd, buffers[0].base, buffers[0].len, flags, NULL, 0);
        } else {
            struct msghdr message = {0};
            message.msg_iov = (struct iovec *)buffers; /* uv_buf_t is laid out as struct iovec on Unix */
            message.msg_iovlen = count;
            sent = syscall(SYS_sendmsg, fd, &message, flags);
        }
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

/* One recv(2) into `base`: the bytes read, 0 at the end of input, or a
   negative errno (UV_EAGAIN: nothing to read now). */
static inline long switchboard_receive(int fd, void *base, size_t length) {
    long received;
    do {
        received = syscall(SYS_recvfrom, fd, base, length, MSG_DONTWAIT, NULL, NULL);
    } while (received < 0 && errno == EINTR);
    return received < 0 ? -errno : received;
}

/* The error pending on a socket (SO_ERROR) as a negative errno, or 0. */
static inline int switchboard_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return -errno;
    return -error;
}
/* Connections' sockets are watched by one epoll set per loop, where the
   loop's thread blocks; libuv's own descriptor is one of its members (see
   SocketWatcher.swift). struct epoll_event is packed on x86_64, so Swift
   only ever sees it through these helpers. */
enum {
    SWITCHBOARD_EPOLL_IN = EPOLLIN,
    SWITCHBOARD_EPOLL_OUT = EPOLLOUT,
    SWITCHBOARD_EPOLL_ERR = EPOLLERR,
    SWITCHBOARD_EPOLL_HUP = EPOLLHUP,
    SWITCHBOARD_EPOLL_RDHUP = EPOLLRDHUP,
    SWITCHBOARD_EPOLL_ADD = EPOLL_CTL_ADD,
    SWITCHBOARD_EPOLL_MOD = EPOLL_CTL_MOD,
    SWITCHBOARD_EPOLL_DEL = EPOLL_CTL_DEL,
};

static inline int switchboard_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Adds, changes or removes `fd`; `object` comes back with its events.
   Returns 0 or a negative errno. */
static inline int switchboard_epoll_control(int epfd, int op, int fd, unsigned events, void *object) {
    struct epoll_event event;
    event.events = events;
    event.data.ptr = object;
    return epoll_ctl(epfd, op, fd, &event) < 0 ? -errno : 0;
}

static inline struct epoll_event *switchboard_epoll_events_allocate(int count) {
    return (struct epoll_event *)calloc((size_t)count, sizeof(struct epoll_event));
}

/* Waits up to `timeout` ms (-1: without limit) for ready members: their
   count, 0 when the time ran out or a signal came, or a negative errno. */
static inline int switchboard_epoll_wait(int epfd, struct epoll_event *events, int capacity, int timeout) {
    /* epoll_pwait without a signal mask is epoll_wait, and exists on every
       architecture (arm64 has no epoll_wait). */
    int count = (int)syscall(SYS_epoll_pwait, epfd, events, capacity, timeout, NULL, 0);
    if (count < 0) return errno == EINTR ? 0 : -errno;
    return count;
}

static inline void *switchboard_epoll_object(const struct epoll_event *events, int index) {
    return events[index].data.ptr;
}

static inline unsigned switchboard_epoll_flags(const struct epoll_event *events, int index) {
    return events[index].events;
}
#endif
