#ifndef SWITCHBOARD_CLIBUV_SHIM_H
#define SWITCHBOARD_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>
#include <errno.h>

/* glibc declares accept4 only under _GNU_SOURCE, which Swift's Glibc module
   is not built with; the function itself is always there. Accepting with
   SOCK_NONBLOCK | SOCK_CLOEXEC saves two system calls per connection. */
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/* Hands bytes to a socket in one send(2)/sendmsg(2) call: libuv's own
   writes use write(2)/writev(2), whose trip through the file layer (position
   lock, write checks) measured ~15% of a small loopback send here.
   MSG_NOSIGNAL: a reset peer gives EPIPE, never SIGPIPE. Returns the bytes
   taken or a negative errno, as libuv reports errors (UV_EAGAIN: full). */
static inline long switchboard_send(int fd, const uv_buf_t *buffers, unsigned count) {
    long sent;
    do {
        if (count == 1) {
            sent = send(fd, buffers[0].base, buffers[0].len, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            struct msghdr message = {0};
            message.msg_iov = (struct iovec *)buffers; /* uv_buf_t is laid out as struct iovec on Unix */
            message.msg_iovlen = count;
            sent = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

/* One recv(2) into `base`: the bytes read, 0 at the end of input, or a
   negative errno (UV_EAGAIN: nothing to read now). */
static inline long switchboard_receive(int fd, void *base, size_t length) {
    long received;
    do {
        received = recv(fd, base, length, MSG_DONTWAIT);
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
#endif
