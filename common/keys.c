/* API keys in platform.api_keys (see keys.h): generation from the OpenSSL CSPRNG, the SHA-256
 * of the secret as the only stored form of it, and revocation that keeps the first revocation
 * time. Values travel as parameters only. */
#include "common/keys.h"

#include <stdlib.h>
#include <string.h>

#define BRO_KEYS_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *bro_keys_sql_insert =
    "INSERT INTO platform.api_keys (id, secret_sha256, tenant, role, organization_id, label)"
    " VALUES ($1, $2, $3, $4, $5::uuid, $6)"
    " RETURNING json_build_object('id', id, 'role', role, 'label', label, 'tenant', tenant,"
    " 'organization_id', organization_id, 'created_at', " BRO_KEYS_TIME("created_at") ")::text";

/* $1 key id, $2 tenant or NULL. Answers whether the key was revoked before; no row: unknown. */
static const char *bro_keys_sql_revoke =
    "WITH k AS (SELECT id, revoked_at IS NOT NULL AS was FROM platform.api_keys"
    " WHERE id = $1 AND ($2::text IS NULL OR tenant = $2) FOR UPDATE)"
    " UPDATE platform.api_keys a SET revoked_at = coalesce(a.revoked_at, now())"
    " FROM k WHERE a.id = k.id RETURNING k.was";

int bro_keys_issue(bro_db *db, const char *tenant, const char *role, const char *org,
                   const char *label, bro_keys_issued *out, bro_err *err)
{
    char secret[BRO_APIKEY_SECRET_LEN + 1], hash[BRO_APIKEY_HASH_LEN + 1];
    memset(out, 0, sizeof(*out));
    if (bro_apikey_generate(out->id, secret, out->key, err) < 0 ||
        bro_apikey_hash(secret, hash) < 0)
        return bro_err_set(err, BRO_E_INTERNAL, "key generation failed");
    const char *p[] = {out->id, hash, tenant, role, org, label};
    PGresult *res = bro_db_exec(db, bro_keys_sql_insert, 6, p, err);
    if (res == NULL)
        return -1;
    out->row = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (out->row == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    return 0;
}

int bro_keys_revoke(bro_db *db, const char *id, const char *tenant, bro_err *err)
{
    const char *p[] = {id, tenant};
    PGresult *res = bro_db_exec(db, bro_keys_sql_revoke, 2, p, err);
    if (res == NULL)
        return -1;
    int rc = PQntuples(res) != 1               ? BRO_KEYS_UNKNOWN
             : PQgetvalue(res, 0, 0)[0] == 't' ? BRO_KEYS_WAS_REVOKED
                                               : BRO_KEYS_REVOKED;
    PQclear(res);
    return rc;
}
