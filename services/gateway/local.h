/* The routes the gateway answers itself, without a job: each is a bro_gw_local_fn that the
 * route table names, and each answers its request exactly once. */
#ifndef BRO_LOCAL_H
#define BRO_LOCAL_H

#include "gw.h"

/* GET /healthz: 200 while the process runs. */
void bro_local_healthz(bro_gw_req *r);
/* GET /readyz: 200 when Redis answers and some worker's heartbeat is fresh, else 503. */
void bro_local_readyz(bro_gw_req *r);
/* GET /v1/me: the caller's tenant, role, key id and organisation. */
void bro_local_me(bro_gw_req *r);
/* GET /v1/admin/queues: per queue its length, pending, delayed, dead letters and consumers. */
void bro_local_queues(bro_gw_req *r);
/* GET /v1/admin/workers: live workers and what their heartbeats say. */
void bro_local_workers(bro_gw_req *r);
/* GET /v1/admin/dead-letters?queue=&limit=&cursor=: a page of dead letters, newest first, never
 * their bodies (common/deadletter.h). */
void bro_local_dead_letters(bro_gw_req *r);
/* DELETE /v1/admin/dead-letters/{dead_id}: deletes one; 404 when it is not there. */
void bro_local_dead_purge(bro_gw_req *r);

#endif
