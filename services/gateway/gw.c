/* The life of a gateway request (gw.h): it is freed only when nothing can reach it any more, so
 * a callback that answers a request never frees it under its caller's feet. */
#include "gw.h"

#include <stdlib.h>

void bro_gw_req_release(bro_gw_req *r)
{
    if (r->req != NULL || r->redis_refs > 0 || r->in_pending || r->done != NULL)
        return;
    if (r->timer_armed) {
        event_del(&r->timer);
        r->timer_armed = 0;
    }
    free(r);
}
