/* `brobygger-admin key issue` and `key revoke`: the CLI's checks and words around the one key
 * implementation (common/keys.c) that the worker's key.issue and key.revoke jobs use too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "common/ids.h"
#include "common/keys.h"

/* A partner key names an organisation of its own tenant. The organisation lives in the
 * tenant's schema, which the owner connection reads directly. Returns 0 when org is one of
 * tenant's organisations, -1 after printing why not. */
static int bro_admin_org_known(PGconn *pg, const char *tenant, const char *org)
{
    char schema[48];
    snprintf(schema, sizeof(schema), "t_%s", tenant);
    char *ident = PQescapeIdentifier(pg, schema, strlen(schema));
    if (ident == NULL)
        return -bro_admin_refuse("cannot escape the schema name");
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s.organizations WHERE id = $1::uuid", ident);
    PQfreemem(ident);
    const char *p[] = {org};
    PGresult *r = bro_admin_exec(pg, sql, 1, p, NULL);
    if (r == NULL)
        return -1;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found)
        return -bro_admin_refuse("organisation %s is not one of tenant \"%s\"'s", org, tenant);
    return 0;
}

int bro_admin_key_issue(bro_db *db, const char *tenant, const char *role, const char *label,
                        const char *org)
{
    if (!bro_apikey_role_valid(role))
        return bro_admin_refuse("unknown role \"%s\"", role);
    if (tenant && strcmp(role, "platform_admin") == 0)
        return bro_admin_refuse("a platform_admin key has no tenant: use --platform");
    if (strcmp(role, "partner") == 0 && (org == NULL || !bro_ids_is_uuid(org)))
        return bro_admin_refuse("a partner key needs --organization with the organisation's id");
    if (org && strcmp(role, "partner") != 0)
        return bro_admin_refuse("--organization is only for partner keys");
    if (label && strlen(label) > 100)
        return bro_admin_refuse("label longer than 100 characters");
    if (label && !bro_admin_one_line(label))
        return bro_admin_refuse("label must be one line without control characters");
    if (tenant && !bro_admin_tenant_exists(bro_db_conn(db), tenant))
        return bro_admin_refuse("unknown tenant \"%s\"", tenant);
    if (org && bro_admin_org_known(bro_db_conn(db), tenant, org) < 0)
        return BRO_ADMIN_REFUSED;
    bro_keys_issued k;
    bro_err err = {0};
    if (bro_keys_issue(db, tenant, role, org, label, &k, &err) < 0)
        return bro_admin_refuse("cannot issue a key: %s", err.msg);
    free(k.row);
    printf("issued key %s: role %s, tenant %s\n", k.id, role, tenant ? tenant : "(platform)");
    printf("the key is shown once; only its hash is stored\n");
    printf("%s\n", k.key);
    return BRO_ADMIN_OK;
}

int bro_admin_key_revoke(bro_db *db, const char *id)
{
    bro_err err = {0};
    int rc = bro_keys_revoke(db, id, NULL, &err);
    if (rc < 0)
        return bro_admin_refuse("cannot revoke the key: %s", err.msg);
    if (rc == BRO_KEYS_REVOKED) {
        printf("revoked key %s\n", id);
        return BRO_ADMIN_OK;
    }
    return bro_admin_refuse(
        rc == BRO_KEYS_WAS_REVOKED ? "key %s is already revoked" : "unknown key %s", id);
}
