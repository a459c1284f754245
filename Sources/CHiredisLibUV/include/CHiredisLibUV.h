#ifndef SWITCHBOARD_CHIREDIS_LIBUV_H
#define SWITCHBOARD_CHIREDIS_LIBUV_H

/* Attaches a hiredis async context to a libuv loop (attach.c). Both are
   passed untyped so this header needs neither hiredis's nor libuv's
   headers: Swift sees those types through CHiredis and CLibUV only.
   Returns 0 (REDIS_OK) on success, -1 otherwise. */
int switchboard_redis_attach_libuv(void *async_context, void *uv_loop);

#endif
