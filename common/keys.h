/* Issuing and revoking API keys in platform.api_keys: the one implementation that the admin CLI
 * and the worker's key.issue and key.revoke jobs share. Callers check their arguments first (each
 * words its refusals its own way); this module generates, hashes and writes. */
#ifndef BRO_KEYS_H
#define BRO_KEYS_H

#include "common/apikey.h"
#include "common/db.h"
#include "common/error.h"

/* An issued key. */
typedef struct bro_keys_issued {
    char id[BRO_APIKEY_ID_LEN + 1]; /* the key's id */
    char key[BRO_APIKEY_LEN + 1];   /* the whole key: shown once, never stored */
    char *row; /* the stored row as JSON text (id, role, label, tenant, organization_id,
                  created_at), owned: free() it; NULL when not issued */
} bro_keys_issued;

/* Revocation outcomes. */
#define BRO_KEYS_REVOKED     0 /* revoked now */
#define BRO_KEYS_WAS_REVOKED 1 /* already revoked: left as it was */
#define BRO_KEYS_UNKNOWN     2 /* no such key (within tenant, when one is given) */

/* Makes a new key for tenant (NULL: a platform key) with role, org (a partner's organisation
 * id, or NULL) and label (NULL for none), and stores its id and the SHA-256 of its secret on db,
 * inside whatever transaction db has open. Returns 0 with out filled, or -1 with err set:
 * BRO_E_CONFLICT when the new id collides (try again), BRO_E_INTERNAL when no key could be
 * generated, or bro_db_exec's errors. */
int bro_keys_issue(bro_db *db, const char *tenant, const char *role, const char *org,
                   const char *label, bro_keys_issued *out, bro_err *err) BRO_MUST_USE;

/* Revokes key id on db. With tenant not NULL only a key of that tenant is reached; any other
 * looks unknown. Returns BRO_KEYS_REVOKED, BRO_KEYS_WAS_REVOKED or BRO_KEYS_UNKNOWN, or -1 with
 * err set. */
int bro_keys_revoke(bro_db *db, const char *id, const char *tenant, bro_err *err) BRO_MUST_USE;

#endif
