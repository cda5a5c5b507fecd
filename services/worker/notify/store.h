/* The notify module's statements on a tenant's delivery tables, for the delivery thread:
 * dispatch committed outbox rows into deliveries, lease due ones, record attempts. SQL beside
 * the code that binds it; every statement runs in the tenant's transaction. */
#ifndef BRO_NOTIFY_STORE_H
#define BRO_NOTIFY_STORE_H

/* $1 "notify.turn:<slug>": whether this worker is the tenant's one leaser until commit
 * (deliveries made in outbox order, the per-endpoint cap counted by one worker at a time). */
extern const char *const bro_store_sql_turn_lock;
/* $1 deliveries to start at most, $2 lease ms, $3 per-endpoint cap, $4 tenant slug, $5 outbox
 * rows at most: leases due pending deliveries that wait for no earlier one of their candidate,
 * then turns committed, undispatched outbox rows into one delivery per endpoint that wants them
 * (marked dispatched in the same statement), leased at once where the lease would take them;
 * answers what the attempts of all it leased need (see bro_store_col), then one row with the
 * number of outbox rows dispatched. */
extern const char *const bro_store_sql_turn;
/* Makes deliveries whose lease ran out (their worker died mid-attempt) pending again. */
extern const char *const bro_store_sql_expired;
/* Unix ms of the next due delivery of an active endpoint, and of the first lease to run out;
 * each NULL when there is none. */
extern const char *const bro_store_sql_next_due;
/* $1 JSON array of results, $2 schedule ms (int[]), $3 disable-after ms: records each attempt,
 * moves each delivery on, and disables endpoints (410, or failing too long) with a
 * webhook.disabled event for the others. */
extern const char *const bro_store_sql_record;
/* The delivery thread's session: commits that do not wait for the disk, generic plans, no
 * sequential scans, no JIT (see bro_deliver_session). */
extern const char *const bro_store_sql_session;
/* The slugs of the tenants with committed, undispatched outbox rows (platform transaction). */
extern const char *const bro_store_sql_pending;
/* All tenants' slugs (platform transaction). */
extern const char *const bro_store_sql_tenants;

/* Columns of bro_store_sql_turn. */
enum bro_store_col {
    BRO_STORE_ID,
    BRO_STORE_EVENT_ID,
    BRO_STORE_ENDPOINT,
    BRO_STORE_URL,
    BRO_STORE_SECRET,
    BRO_STORE_SECRET_SEAL,
    BRO_STORE_PREVIOUS,
    BRO_STORE_PREVIOUS_SEAL,
    BRO_STORE_BODY,
    BRO_STORE_DISPATCHED, /* on the last row alone (all else NULL): outbox rows dispatched */
};

#endif
