/* Today's route rows: the gateway's whole HTTP surface as data, in the order the matcher tries
 * them. Adding a route is adding a row; the path parameter's name says what it must look like
 * ({id} and {sub_id} a UUID, {slug} a tenant slug, {key_id} an API key id). A table generated
 * from schemas/openapi.yaml can take this file's place: it defines the same two symbols. */
#include "common/queue.h"
#include "local.h"
#include "openapi.h"
#include "routes.h"

#define W BRO_ROLE_TENANT_ADMIN | BRO_ROLE_COORDINATOR
#define P BRO_ROLE_PLATFORM_ADMIN
#define A BRO_ROLE_TENANT_ADMIN

const bro_route bro_routes_table[] = {
    {EVHTTP_REQ_GET, "/healthz", NULL, bro_local_healthz, 0, NULL, 0, 0},
    {EVHTTP_REQ_GET, "/readyz", NULL, bro_local_readyz, 0, NULL, 0, 0},
    {EVHTTP_REQ_GET, "/v1/me", NULL, bro_local_me, BRO_ROLE_ANY, NULL, 0, 0},
    {EVHTTP_REQ_POST, "/v1/candidates", "candidate.create", NULL, W, BRO_QUEUE_RECORDS, 1, 0},
    {EVHTTP_REQ_GET, "/v1/candidates", "candidate.list", NULL, W, BRO_QUEUE_RECORDS, 0, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}", "candidate.get", NULL, W | BRO_ROLE_PARTNER,
     BRO_QUEUE_RECORDS, 0, 0},
    {EVHTTP_REQ_PATCH, "/v1/candidates/{id}", "candidate.update", NULL, W, BRO_QUEUE_RECORDS, 1, 0},
    {EVHTTP_REQ_DELETE, "/v1/candidates/{id}", "candidate.erase", NULL, A, BRO_QUEUE_RECORDS, 0, 0},
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/status", "candidate.status", NULL, W, BRO_QUEUE_RECORDS,
     1, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/history", "candidate.history", NULL, W, BRO_QUEUE_RECORDS,
     0, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/access-log", "candidate.access_log", NULL, A,
     BRO_QUEUE_RECORDS, 0, 0},
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/restrict", "candidate.restrict", NULL, A,
     BRO_QUEUE_RECORDS, 1, 0},
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/unrestrict", "candidate.unrestrict", NULL, A,
     BRO_QUEUE_RECORDS, 0, 0},
    /* The candidate's mapping interviews, consents, plans and append-only journal. */
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/assessments", "assessment.create", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/assessments", "assessment.list", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/assessments/{sub_id}", "assessment.get", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_PATCH, "/v1/candidates/{id}/assessments/{sub_id}", "assessment.update", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/consents", "consent.create", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/consents", "consent.list", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/consents/{sub_id}", "consent.get", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_DELETE, "/v1/candidates/{id}/consents/{sub_id}", "consent.withdraw", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/plans", "plan.create", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/plans", "plan.list", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/plans/{sub_id}", "plan.get", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_PATCH, "/v1/candidates/{id}/plans/{sub_id}", "plan.update", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_POST, "/v1/candidates/{id}/journal", "journal.create", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/journal", "journal.list", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/journal/{sub_id}", "journal.get", NULL, W,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    /* Organisations, openings and the matches on them; partners see their own. */
    {EVHTTP_REQ_POST, "/v1/organizations", "organization.create", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/organizations", "organization.list", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/organizations/{id}", "organization.get", NULL, W | BRO_ROLE_PARTNER,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_PATCH, "/v1/organizations/{id}", "organization.update", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_POST, "/v1/openings", "opening.create", NULL, W, BRO_QUEUE_RECORDS, BRO_BODY_OBJECT,
     0},
    {EVHTTP_REQ_GET, "/v1/openings", "opening.list", NULL, W | BRO_ROLE_PARTNER, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/openings/{id}", "opening.get", NULL, W | BRO_ROLE_PARTNER,
     BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_PATCH, "/v1/openings/{id}", "opening.update", NULL, W | BRO_ROLE_PARTNER,
     BRO_QUEUE_RECORDS, BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/matches", "match.list", NULL, W | BRO_ROLE_PARTNER, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/candidates/{id}/matches", "candidate.matches", NULL, W, BRO_QUEUE_RECORDS,
     BRO_BODY_NONE, 0},
    /* Imports of candidates and organisations, and the state of asynchronous jobs. */
    {EVHTTP_REQ_POST, "/v1/imports", "import.create", NULL, W, BRO_QUEUE_RECORDS, BRO_BODY_OR_CSV,
     0},
    {EVHTTP_REQ_GET, "/v1/imports", "import.list", NULL, W, BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/imports/{id}", "import.get", NULL, W, BRO_QUEUE_RECORDS, BRO_BODY_NONE,
     0},
    {EVHTTP_REQ_GET, "/v1/jobs/{id}", "job.get", NULL, W, BRO_QUEUE_RECORDS, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_POST, "/v1/admin/tenants", "tenant.create", NULL, P, BRO_QUEUE_RECORDS, 1, 0},
    {EVHTTP_REQ_GET, "/v1/admin/tenants", "tenant.list", NULL, P, BRO_QUEUE_RECORDS, 0, 0},
    {EVHTTP_REQ_POST, "/v1/admin/tenants/{slug}/keys", "key.issue", NULL, P, BRO_QUEUE_RECORDS, 1,
     0},
    {EVHTTP_REQ_POST, "/v1/keys", "key.issue", NULL, BRO_ROLE_TENANT_ADMIN, BRO_QUEUE_RECORDS, 1,
     0},
    {EVHTTP_REQ_DELETE, "/v1/keys/{key_id}", "key.revoke", NULL, P | BRO_ROLE_TENANT_ADMIN,
     BRO_QUEUE_RECORDS, 0, BRO_ROUTE_CHANGES_KEYS},
    {EVHTTP_REQ_GET, "/v1/admin/queues", NULL, bro_local_queues, P, NULL, 0, 0},
    {EVHTTP_REQ_GET, "/v1/admin/workers", NULL, bro_local_workers, P, NULL, 0, 0},
    /* The service's own description, built from schemas/openapi.yaml. */
    {EVHTTP_REQ_GET, "/v1/openapi.json", NULL, bro_openapi_serve, 0, NULL, 0, 0},
};
const int bro_routes_table_n = (int)(sizeof(bro_routes_table) / sizeof(bro_routes_table[0]));

#undef W
#undef P
#undef A
