#ifndef SWITCHBOARD_CLIBUV_SHIM_H
#define SWITCHBOARD_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>

/* glibc declares accept4 only under _GNU_SOURCE, which Swift's Glibc module
   is not built with; the function itself is always there. Accepting with
   SOCK_NONBLOCK | SOCK_CLOEXEC saves two system calls per connection. */
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif
