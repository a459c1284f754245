/* hiredis's event hooks on a libuv uv_poll_t, in the shape of hiredis's
   adapters/libuv.h, with one fix that Debian's hiredis 0.14 lacks: when
   libuv reports a socket error (a refused connect, a reset), it passes a
   status with no events and stops the handle, and 0.14's adapter then
   returns without telling hiredis, so a refused connect is never noticed.
   Here hiredis is asked to read or write as it wanted to, and finds the
   error itself (newer hiredis does the same). */
#include "CHiredisLibUV.h"
#include <stdlib.h>
#include <uv.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

typedef struct {
    redisAsyncContext *context; /* NULL once hiredis has cleaned up */
    uv_poll_t handle;
    int events;                 /* UV_READABLE | UV_WRITABLE wanted */
} switchboard_redis_events;

static void on_poll(uv_poll_t *handle, int status, int events) {
    switchboard_redis_events *p = handle->data;
    int ready = status != 0 ? p->events : events;
    /* Reading may end the connection; cleanup then clears p->context. */
    if (p->context != NULL && (ready & UV_READABLE)) redisAsyncHandleRead(p->context);
    if (p->context != NULL && (ready & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

static void watch(switchboard_redis_events *p, int events) {
    if (events == p->events) return; /* hiredis asks again for every command */
    p->events = events;
    if (events) uv_poll_start(&p->handle, events, on_poll);
    else uv_poll_stop(&p->handle);
}

static void add_read(void *data) { switchboard_redis_events *p = data; watch(p, p->events | UV_READABLE); }
static void del_read(void *data) { switchboard_redis_events *p = data; watch(p, p->events & ~UV_READABLE); }
static void add_write(void *data) { switchboard_redis_events *p = data; watch(p, p->events | UV_WRITABLE); }
static void del_write(void *data) { switchboard_redis_events *p = data; watch(p, p->events & ~UV_WRITABLE); }

static void on_close(uv_handle_t *handle) { free(handle->data); }

/* hiredis is freeing the context: the handle closes, and its memory goes
   in the close callback, as libuv requires. */
static void cleanup(void *data) {
    switchboard_redis_events *p = data;
    p->context = NULL;
    uv_close((uv_handle_t *)&p->handle, on_close);
}

int switchboard_redis_attach_libuv(void *async_context, void *uv_loop) {
    redisAsyncContext *context = async_context;
    if (context->ev.data != NULL) return REDIS_ERR;
    switchboard_redis_events *p = calloc(1, sizeof(*p));
    if (p == NULL) return REDIS_ERR;
    if (uv_poll_init((uv_loop_t *)uv_loop, &p->handle, context->c.fd) != 0) {
        free(p);
        return REDIS_ERR;
    }
    p->handle.data = p;
    p->context = context;
    context->ev.addRead = add_read;
    context->ev.delRead = del_read;
    context->ev.addWrite = add_write;
    context->ev.delWrite = del_write;
    context->ev.cleanup = cleanup;
    context->ev.data = p;
    return REDIS_OK;
}
