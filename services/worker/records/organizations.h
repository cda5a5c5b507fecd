/* Organisations and their contacts: the register a kommune's partners are in. */
#ifndef BRO_WORKER_RECORDS_ORGANIZATIONS_H
#define BRO_WORKER_RECORDS_ORGANIZATIONS_H

#include "job.h"

/* Validates data (a map of the organisation's fields) and inserts it, with its outbox event, in
 * the job's transaction. Returns 0, or -1 with field errors in job->fields (validation; a
 * duplicate org_number is a field error on org_number with job->err set to conflict) or
 * job->err set (database). When json is not NULL it receives the new organisation as a JSON
 * text; the caller frees it. */
int bro_organizations_insert(bro_job *job, const msgpack_object *data, char **json) BRO_MUST_USE;

#endif
