/* The handler table. */
#include "handlers.h"

#include <string.h>

#include "common/queue.h"
#include "platform/platform.h"
#include "records/candidates.h"
#include "records/assessments.h"
#include "records/consents.h"
#include "records/imports.h"
#include "records/journal.h"
#include "records/plans.h"
#include "records/matches.h"
#include "records/openings.h"
#include "records/organizations.h"

static const bro_handler bro_handlers[] = {
    {"auth.resolve", BRO_QUEUE_RECORDS, BRO_H_PLATFORM | BRO_H_READONLY, bro_platform_auth_resolve,
     NULL},
    {"tenant.create", BRO_QUEUE_RECORDS, BRO_H_PLATFORM, bro_platform_tenant_create, NULL},
    {"tenant.list", BRO_QUEUE_RECORDS, BRO_H_PLATFORM | BRO_H_READONLY, bro_platform_tenant_list,
     NULL},
    {"key.issue", BRO_QUEUE_RECORDS, BRO_H_PLATFORM, bro_platform_key_issue, NULL},
    {"key.revoke", BRO_QUEUE_RECORDS, BRO_H_PLATFORM, bro_platform_key_revoke, NULL},
    {"candidate.create", BRO_QUEUE_RECORDS, 0, bro_candidates_create, NULL},
    {"candidate.get", BRO_QUEUE_RECORDS, BRO_H_READ, bro_candidates_get, NULL},
    {"candidate.list", BRO_QUEUE_RECORDS, BRO_H_READ, bro_candidates_list, NULL},
    {"candidate.update", BRO_QUEUE_RECORDS, 0, bro_candidates_update, NULL},
    {"candidate.status", BRO_QUEUE_RECORDS, 0, bro_candidates_status, NULL},
    {"candidate.history", BRO_QUEUE_RECORDS, 0, bro_candidates_history, NULL},
    {"candidate.erase", BRO_QUEUE_RECORDS, 0, bro_candidates_erase, NULL},
    {"candidate.restrict", BRO_QUEUE_RECORDS, 0, bro_candidates_restrict, NULL},
    {"candidate.unrestrict", BRO_QUEUE_RECORDS, 0, bro_candidates_unrestrict, NULL},
    {"candidate.access_log", BRO_QUEUE_RECORDS, 0, bro_candidates_access_log, NULL},
    /* Imports (asynchronous: accepted with 202, run in steps) and the state of any job. */
    {"assessment.create", BRO_QUEUE_RECORDS, 0, bro_assessments_create, NULL},
    {"assessment.list", BRO_QUEUE_RECORDS, 0, bro_assessments_list, NULL},
    {"assessment.get", BRO_QUEUE_RECORDS, 0, bro_assessments_get, NULL},
    {"assessment.update", BRO_QUEUE_RECORDS, 0, bro_assessments_update, NULL},
    {"consent.create", BRO_QUEUE_RECORDS, 0, bro_consents_create, NULL},
    {"consent.list", BRO_QUEUE_RECORDS, 0, bro_consents_list, NULL},
    {"consent.get", BRO_QUEUE_RECORDS, 0, bro_consents_get, NULL},
    {"consent.withdraw", BRO_QUEUE_RECORDS, 0, bro_consents_withdraw, NULL},
    {"plan.create", BRO_QUEUE_RECORDS, 0, bro_plans_create, NULL},
    {"plan.list", BRO_QUEUE_RECORDS, 0, bro_plans_list, NULL},
    {"plan.get", BRO_QUEUE_RECORDS, 0, bro_plans_get, NULL},
    {"plan.update", BRO_QUEUE_RECORDS, 0, bro_plans_update, NULL},
    {"journal.create", BRO_QUEUE_RECORDS, 0, bro_journal_create, NULL},
    {"journal.list", BRO_QUEUE_RECORDS, 0, bro_journal_list, NULL},
    {"journal.get", BRO_QUEUE_RECORDS, 0, bro_journal_get, NULL},
    {"organization.create", BRO_QUEUE_RECORDS, 0, bro_organizations_create, NULL},
    {"organization.list", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_organizations_list, NULL},
    {"organization.get", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_organizations_get, NULL},
    {"organization.update", BRO_QUEUE_RECORDS, 0, bro_organizations_update, NULL},
    {"opening.create", BRO_QUEUE_RECORDS, 0, bro_openings_create, NULL},
    {"opening.list", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_openings_list, NULL},
    {"opening.get", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_openings_get, NULL},
    {"opening.update", BRO_QUEUE_RECORDS, 0, bro_openings_update, NULL},
    {"match.list", BRO_QUEUE_RECORDS, 0, bro_matches_list, NULL},
    {"candidate.matches", BRO_QUEUE_RECORDS, 0, bro_matches_of_candidate, NULL},
    {"import.create", BRO_QUEUE_RECORDS, 0, bro_imports_create, bro_imports_run},
    {"import.get", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_imports_get, NULL},
    {"import.list", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_imports_list, NULL},
    {"job.get", BRO_QUEUE_RECORDS, BRO_H_READONLY, bro_jobs_get, NULL},
    /* No route: only a benchmark posts it (tests/bench/bench_runtime.sh), to time the runtime. */
    {"bench.noop", BRO_QUEUE_RECORDS, BRO_H_PLATFORM | BRO_H_READONLY, bro_job_noop, NULL},
};

const bro_handler *bro_handlers_find(const char *kind)
{
    for (size_t i = 0; i < sizeof(bro_handlers) / sizeof(bro_handlers[0]); i++)
        if (strcmp(bro_handlers[i].kind, kind) == 0)
            return &bro_handlers[i];
    return NULL;
}

const bro_handler *bro_handlers_all(int *n)
{
    *n = (int)(sizeof(bro_handlers) / sizeof(bro_handlers[0]));
    return bro_handlers;
}
