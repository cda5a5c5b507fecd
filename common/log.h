/* JSON-lines logging to stderr: one object per line with time, level, service, tenant,
 * request id and job id. Messages never carry personal data; identifiers only. */
#ifndef BRO_LOG_H
#define BRO_LOG_H

typedef enum bro_log_level {
    BRO_LOG_DEBUG = 0,
    BRO_LOG_INFO = 1,
    BRO_LOG_WARN = 2,
    BRO_LOG_ERROR = 3,
} bro_log_level;

/* The context a line belongs to. Any member may be NULL (left out of the line). */
typedef struct bro_log_ctx {
    const char *tenant; /* tenant slug */
    const char *req;    /* request id */
    const char *job;    /* job id */
} bro_log_ctx;

/* The process-wide threshold, read by the macros before they evaluate arguments. It is set
 * once at start-up by bro_log_init and only read afterwards. */
extern int bro_log_level_;

/* Sets the service name (copied) and the threshold. Call once before any thread starts. */
void bro_log_init(const char *service, int level);

/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int bro_log_level_parse(const char *name);

/* Writes one line; use the macros instead. ctx may be NULL. Thread-safe (one write(2)). */
void bro_log_write_(int level, const bro_log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define bro_log(level, ctx, ...)                                                                   \
    do {                                                                                           \
        if ((level) >= bro_log_level_)                                                             \
            bro_log_write_((level), (ctx), __VA_ARGS__);                                           \
    } while (0)
#define bro_log_debug(ctx, ...) bro_log(BRO_LOG_DEBUG, ctx, __VA_ARGS__)
#define bro_log_info(ctx, ...)  bro_log(BRO_LOG_INFO, ctx, __VA_ARGS__)
#define bro_log_warn(ctx, ...)  bro_log(BRO_LOG_WARN, ctx, __VA_ARGS__)
#define bro_log_error(ctx, ...) bro_log(BRO_LOG_ERROR, ctx, __VA_ARGS__)

#endif
