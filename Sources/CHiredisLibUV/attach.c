#include "CHiredisLibUV.h"
#include <hiredis/adapters/libuv.h>

int switchboard_redis_attach_libuv(void *async_context, void *uv_loop) {
    return redisLibuvAttach((redisAsyncContext *)async_context, (uv_loop_t *)uv_loop);
}
