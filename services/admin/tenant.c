/* Tenants from the command line. Tenant creation is the database function
 * platform.provision_tenant, the same one the worker calls for POST /v1/admin/tenants. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "common/ids.h"

int bro_admin_tenant_exists(PGconn *pg, const char *slug)
{
    const char *p[] = {slug};
    PGresult *r = bro_admin_exec(pg, "SELECT 1 FROM platform.tenants WHERE slug = $1", 1, p, NULL);
    int found = r && PQntuples(r) == 1;
    PQclear(r);
    return found;
}

int bro_admin_tenant_create(PGconn *pg, const char *slug, const char *name, const char *knr)
{
    if (!bro_ids_is_slug(slug))
        return bro_admin_refuse("invalid slug \"%s\": use 2 to 31 of a-z, 0-9 and _, starting "
                                "with a letter",
                                slug);
    if (strlen(knr) != 4 || strspn(knr, "0123456789") != 4)
        return bro_admin_refuse("invalid kommunenummer \"%s\": four digits", knr);
    if (name[0] == '\0' || strlen(name) > 200)
        return bro_admin_refuse("invalid name: 1 to 200 characters");
    if (!bro_admin_one_line(name))
        return bro_admin_refuse("invalid name: one line without control characters");
    if (bro_admin_tenant_exists(pg, slug))
        return bro_admin_refuse("tenant \"%s\" already exists", slug);
    const char *p[] = {slug, name, knr};
    char state[6];
    PGresult *r = bro_admin_exec(pg, "SELECT platform.provision_tenant($1, $2, $3)", 3, p, state);
    if (r == NULL)
        return strcmp(state, "23505") == 0
                   ? bro_admin_refuse("kommunenummer %s is already used by another tenant", knr)
                   : BRO_ADMIN_REFUSED;
    PQclear(r);
    printf("%s\n", slug);
    return BRO_ADMIN_OK;
}

int bro_admin_tenant_list(PGconn *pg)
{
    PGresult *r = bro_admin_exec(pg,
                                 "SELECT slug, name, kommunenummer, schema_version "
                                 "FROM platform.tenants ORDER BY slug",
                                 0, NULL, NULL);
    if (r == NULL)
        return BRO_ADMIN_REFUSED;
    for (int i = 0; i < PQntuples(r); i++)
        printf("%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
               PQgetvalue(r, i, 3));
    PQclear(r);
    return BRO_ADMIN_OK;
}
