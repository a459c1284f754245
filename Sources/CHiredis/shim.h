#ifndef SWITCHBOARD_CHIREDIS_SHIM_H
#define SWITCHBOARD_CHIREDIS_SHIM_H
/* The async API only; the libuv adapter lives in CHiredisLibUV. */
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#endif
