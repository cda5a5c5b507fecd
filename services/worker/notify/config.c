/* The notify module's settings: one table (name, default, bounds), read once when the delivery
 * thread starts. They stay beside the module rather than in common/config.c because no other
 * program reads them. */
#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One integer setting: its variable, default and bounds, and where it goes. */
typedef struct bro_notify_setting {
    const char *name;
    long long def, min, max;
    size_t offset; /* of an int in bro_notify_config, or of the long long disable_after_ms */
} bro_notify_setting;

#define BRO_NOTIFY_AT(field) offsetof(bro_notify_config, field)

static const bro_notify_setting bro_notify_settings_table[] = {
    {"BROBYGGER_NOTIFY_CONNECT_TIMEOUT_MS", 5000, 100, 60000, BRO_NOTIFY_AT(connect_timeout_ms)},
    {"BROBYGGER_NOTIFY_TIMEOUT_MS", 15000, 100, 120000, BRO_NOTIFY_AT(timeout_ms)},
    {"BROBYGGER_NOTIFY_DISABLE_AFTER_MS", 5LL * 24 * 3600 * 1000, 100, 365LL * 24 * 3600 * 1000,
     BRO_NOTIFY_AT(disable_after_ms)},
    {"BROBYGGER_NOTIFY_ENDPOINT_IN_FLIGHT", 16, 1, 1000, BRO_NOTIFY_AT(endpoint_in_flight)},
    {"BROBYGGER_NOTIFY_IN_FLIGHT", 1024, 1, 10000, BRO_NOTIFY_AT(in_flight)},
    {"BROBYGGER_NOTIFY_SWEEP_MS", 5000, 50, 3600000, BRO_NOTIFY_AT(sweep_ms)},
    {"BROBYGGER_NOTIFY_POLL_MS", 100, 10, 60000, BRO_NOTIFY_AT(poll_ms)},
    {"BROBYGGER_NOTIFY_ALLOW_LOOPBACK", 0, 0, 1, BRO_NOTIFY_AT(policy.allow_loopback)},
    {"BROBYGGER_NOTIFY_ALLOW_PRIVATE", 0, 0, 1, BRO_NOTIFY_AT(policy.allow_private)},
    {"BROBYGGER_NOTIFY_DELIVER", 1, 0, 1, BRO_NOTIFY_AT(deliver)},
};

/* The delays after each failed attempt: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
 * and 10 h; the last failure makes the delivery failed. */
static const char *const bro_notify_schedule_default =
    "5000,300000,1800000,7200000,18000000,36000000,36000000";

static int bro_notify_schedule(bro_notify_config *cfg, const char *text, bro_err *err)
{
    cfg->nschedule = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 7L * 24 * 3600 * 1000 || (*end != ',' && *end != '\0') ||
            cfg->nschedule == BRO_NOTIFY_SCHEDULE_MAX)
            return bro_err_set(err, BRO_E_CONFIG,
                               "BROBYGGER_NOTIFY_RETRY_SCHEDULE_MS: up to %d delays in ms "
                               "(0 to 7 days), comma-separated",
                               BRO_NOTIFY_SCHEDULE_MAX);
        cfg->schedule_ms[cfg->nschedule++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int bro_notify_config_load(bro_notify_config *cfg, bro_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    size_t n = sizeof(bro_notify_settings_table) / sizeof(bro_notify_settings_table[0]);
    for (size_t i = 0; i < n; i++) {
        const bro_notify_setting *s = &bro_notify_settings_table[i];
        const char *text = getenv(s->name);
        long long v = s->def;
        if (text && *text) {
            char *end;
            v = strtoll(text, &end, 10);
            if (*end != '\0' || v < s->min || v > s->max)
                return bro_err_set(err, BRO_E_CONFIG, "%s: must be an integer from %lld to %lld",
                                   s->name, s->min, s->max);
        }
        char *at = (char *)cfg + s->offset;
        if (s->offset == BRO_NOTIFY_AT(disable_after_ms))
            *(long long *)at = v;
        else
            *(int *)at = (int)v;
    }
    const char *schedule = getenv("BROBYGGER_NOTIFY_RETRY_SCHEDULE_MS");
    return bro_notify_schedule(cfg, schedule && *schedule ? schedule : bro_notify_schedule_default,
                               err);
}
