/* The tenant's weights of the score's factors: read with the defaults beside them, and changed
 * by a tenant admin one factor at a time (the stored object is merged, so a factor never set
 * keeps following the default). */
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jmp.h"
#include "matching/world.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* $1 the factors to set (a JSON object), $2 key id. */
static const char *bro_weights_sql_update =
    "INSERT INTO matching_weights (id, weights, updated_by) VALUES (1, $1::jsonb, $2)"
    " ON CONFLICT (id) DO UPDATE SET weights = matching_weights.weights || EXCLUDED.weights,"
    " version = matching_weights.version + 1, updated_by = EXCLUDED.updated_by,"
    " updated_at = now()";

/* The version (0 without a row), locked so If-Match and the change see the same one. */
static const char *bro_weights_sql_version =
    "SELECT coalesce((SELECT version FROM matching_weights WHERE id = 1 FOR UPDATE), 0)";

static json_t *bro_weights_object(const double w[BRO_F__COUNT])
{
    json_t *obj = json_object();
    for (int f = 0; obj && f < BRO_F__COUNT; f++)
        json_object_set_new(obj, bro_model_factor_name(f), json_real(w[f]));
    return obj;
}

/* The weights' version as text into v; 0 or -1 with the job failed. */
static int bro_weights_version(bro_job *job, char v[16])
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_weights_sql_version, 0, NULL, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    snprintf(v, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int bro_weights_reply(bro_job *job)
{
    double w[BRO_F__COUNT], d[BRO_F__COUNT];
    char v[16], etag[20];
    if (bro_world_weights(job, w, NULL, NULL) < 0 || bro_weights_version(job, v) < 0)
        return -1;
    bro_model_default_weights(d);
    snprintf(etag, sizeof(etag), "\"%s\"", v);
    json_t *out = json_pack("{s:o, s:o, s:i, s:s}", "weights", bro_weights_object(w), "defaults",
                            bro_weights_object(d), "version", atoi(v), "etag", etag);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (text == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    int rc = bro_job_reply_json(job, 200, text, strlen(text));
    free(text);
    return rc;
}

int bro_matching_weights_get(bro_job *job)
{
    return bro_weights_reply(job);
}

int bro_matching_weights_update(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_MatchingWeightsPatch, bro_schema_MatchingWeightsPatch_n,
                 1);
    char v[16];
    if (bro_job_check_fields(job) < 0 || bro_weights_version(job, v) < 0 ||
        bro_job_if_match(job, v) < 0)
        return -1;
    json_t *set = json_object();
    for (int f = 0; set && f < BRO_F__COUNT; f++) {
        const msgpack_object *v = bro_jmp_map_get(job->data, bro_model_factor_name(f));
        if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) /* 0..100, as validated */
            json_object_set_new(set, bro_model_factor_name(f),
                                json_integer((json_int_t)v->via.u64));
    }
    if (set && json_object_size(set) == 0) {
        json_decref(set);
        bro_job_field_error(job, "body", "names no factor");
        return bro_job_check_fields(job);
    }
    char *text = set ? json_dumps(set, JSON_COMPACT) : NULL;
    json_decref(set);
    if (text == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    const char *p[] = {text, job->env->actor.key_id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_weights_sql_update, 2, p, &err);
    free(text);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    return bro_weights_reply(job);
}
