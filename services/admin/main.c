/* brobygger-admin: migrations, tenants and API keys from the command line, on the owner
 * connection (BROBYGGER_PG_ADMIN), and dead letters on Redis. Exit 0 on success, 1 on a refused
 * request, 2 on bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "common/log.h"

static const char bro_admin_usage_text[] =
    "usage: brobygger-admin migrate\n"
    "       brobygger-admin tenant create --slug S --name N --kommunenummer K\n"
    "       brobygger-admin tenant list\n"
    "       brobygger-admin key issue (--tenant S --role R | --platform) [--label L]\n"
    "                                 [--organization UUID]\n"
    "       brobygger-admin key revoke ID\n"
    "       brobygger-admin dead list [--queue Q] [--limit N] [--cursor ID]\n"
    "       brobygger-admin dead retry ID     (needs BROBYGGER_DEAD_LETTER_KEY_FILE)\n"
    "       brobygger-admin dead purge ID | --queue Q --all\n"
    "Roles: tenant_admin, coordinator, partner (needs --organization), reader.\n"
    "Configuration comes from BROBYGGER_* environment variables (see README).\n";

static int bro_admin_usage(void)
{
    fputs(bro_admin_usage_text, stderr);
    return BRO_ADMIN_USAGE;
}

typedef struct bro_admin_args {
    const char *slug, *name, *knr, *tenant, *role, *label, *org;
    int platform;
} bro_admin_args;

/* Parses the options after "<noun> <verb>"; returns -1 on an unknown option or stray word. */
static int bro_admin_parse(int argc, char **argv, bro_admin_args *a)
{
    static const struct option opts[] = {{"slug", required_argument, NULL, 's'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"kommunenummer", required_argument, NULL, 'k'},
                                         {"tenant", required_argument, NULL, 't'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"organization", required_argument, NULL, 'o'},
                                         {"platform", no_argument, NULL, 'p'},
                                         {0}};
    memset(a, 0, sizeof(*a));
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            a->slug = optarg;
            break;
        case 'n':
            a->name = optarg;
            break;
        case 'k':
            a->knr = optarg;
            break;
        case 't':
            a->tenant = optarg;
            break;
        case 'r':
            a->role = optarg;
            break;
        case 'l':
            a->label = optarg;
            break;
        case 'o':
            a->org = optarg;
            break;
        case 'p':
            a->platform = 1;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* Checks the usage of a command before any connection is made. */
static int bro_admin_check(const char *noun, const char *verb, int argc, char **argv,
                           bro_admin_args *a)
{
    if (strcmp(noun, "key") == 0 && strcmp(verb, "revoke") == 0)
        return argc == 2 ? 0 : -1;
    if (bro_admin_parse(argc, argv, a) < 0 || optind != argc)
        return -1;
    if (strcmp(noun, "tenant") == 0 && strcmp(verb, "create") == 0)
        return a->slug && a->name && a->knr ? 0 : -1;
    if (strcmp(noun, "tenant") == 0 && strcmp(verb, "list") == 0)
        return argc == 1 ? 0 : -1;
    if (strcmp(noun, "key") == 0 && strcmp(verb, "issue") == 0) {
        if (a->platform)
            return a->tenant || a->role || a->org ? -1 : 0;
        return a->tenant && a->role ? 0 : -1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(bro_admin_usage_text, stdout);
        return BRO_ADMIN_OK;
    }
    bro_config cfg;
    bro_err err = {0};
    if (bro_config_load(&cfg, &err) < 0)
        return bro_admin_refuse("%s", err.msg);
    bro_log_init("admin", cfg.log_level);
    if (argc < 2)
        return bro_admin_usage();
    if (strcmp(argv[1], "dead") == 0) {
        int rc = bro_admin_dead(&cfg, argc - 2, argv + 2);
        return rc == BRO_ADMIN_USAGE ? bro_admin_usage() : rc;
    }
    bro_admin_args a;
    int is_migrate = strcmp(argv[1], "migrate") == 0;
    if (is_migrate ? argc != 2
                   : argc < 3 || bro_admin_check(argv[1], argv[2], argc - 2, argv + 2, &a) < 0)
        return bro_admin_usage();
    bro_db *db = bro_admin_connect(&cfg);
    if (db == NULL)
        return BRO_ADMIN_REFUSED;
    PGconn *pg = bro_db_conn(db);
    int rc;
    if (is_migrate)
        rc = bro_admin_migrate(pg, &cfg, argv[0]);
    else if (strcmp(argv[1], "tenant") == 0 && strcmp(argv[2], "create") == 0)
        rc = bro_admin_tenant_create(pg, a.slug, a.name, a.knr);
    else if (strcmp(argv[1], "tenant") == 0)
        rc = bro_admin_tenant_list(pg);
    else if (strcmp(argv[2], "issue") == 0)
        rc = bro_admin_key_issue(db, a.platform ? NULL : a.tenant,
                                 a.platform ? "platform_admin" : a.role, a.label, a.org);
    else
        rc = bro_admin_key_revoke(db, argv[3]);
    bro_db_free(db);
    return rc;
}
