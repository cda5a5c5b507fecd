/* The dead-letter retry job (POST /v1/admin/dead-letters/{dead_id}/retry): answered by a worker
 * because only workers hold the key that opens a dead letter's sealed envelope. The work itself
 * is common/deadletter.c's, shared with `brobygger-admin dead retry`. */

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/deadletter.h"
#include "common/ids.h"
#include "surface_handlers.h"

/* How long a retried job may wait in its queue before a read is pointless: a read dropped past
 * its deadline would never run, and nobody waits for its answer anyway. */
#define BRO_OPS_RETRY_DEADLINE_MS 60000

int bro_ops_dead_retry(bro_job *job)
{
    char id[BRO_DEADLETTER_ID_MAX];
    if (strcmp(job->env->actor.role, "platform_admin") != 0)
        return bro_job_fail(job, BRO_E_FORBIDDEN, "dead letters are the platform's");
    if (job->queue == NULL || bro_job_param(job->path, "dead_id", id, sizeof(id)) < 0)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such dead letter");
    bro_deadletter_retried out;
    bro_err err = {0};
    if (bro_deadletter_retry(job->queue, id, bro_ids_now_ms() + BRO_OPS_RETRY_DEADLINE_MS, &out,
                             &err) < 0)
        return bro_job_fail(job, err.code, "%s", err.msg);
    json_t *reply = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "queue", out.queue, "kind",
                              out.kind, "job_id", out.job, "status", "queued");
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    if (text == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    int rc = bro_job_reply_json(job, 200, text, strlen(text));
    free(text);
    return rc;
}
