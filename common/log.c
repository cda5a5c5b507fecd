/* JSON-lines logging. Lines are built with jansson and written with one write(2), so lines
 * from several threads never interleave. */
#include "common/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BRO_LOG_MSG_MAX 1024 /* bytes of one message before truncation */

int bro_log_level_ = BRO_LOG_INFO;
static char bro_log_service[32] = "brobygger";

static const char *const bro_log_names[] = {"debug", "info", "warn", "error"};

void bro_log_init(const char *service, int level)
{
    snprintf(bro_log_service, sizeof(bro_log_service), "%s", service);
    bro_log_level_ = level;
}

int bro_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, bro_log_names[i]) == 0)
            return i;
    return -1;
}

static void bro_log_time(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, n - len, ".%03ldZ", ts.tv_nsec / 1000000);
}

void bro_log_write_(int level, const bro_log_ctx *ctx, const char *fmt, ...)
{
    char msg[BRO_LOG_MSG_MAX], when[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bro_log_time(when, sizeof(when));
    if (level < 0 || level > 3)
        level = BRO_LOG_ERROR;
    json_t *line = json_object();
    if (line == NULL)
        return;
    json_object_set_new(line, "time", json_string(when));
    json_object_set_new(line, "level", json_string(bro_log_names[level]));
    json_object_set_new(line, "service", json_string(bro_log_service));
    if (ctx && ctx->tenant)
        json_object_set_new(line, "tenant", json_string(ctx->tenant));
    if (ctx && ctx->req)
        json_object_set_new(line, "req", json_string(ctx->req));
    if (ctx && ctx->job)
        json_object_set_new(line, "job", json_string(ctx->job));
    json_t *m = json_string(msg);
    /* A message cut inside a multibyte character is not valid UTF-8; say so rather than drop it. */
    json_object_set_new(line, "msg", m ? m : json_string("(message not valid UTF-8)"));
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps output is NUL-terminated; reuse the NUL slot for the newline */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w;
    free(text);
}
