/* The job envelope every process exchanges (DESIGN.md, "Envelope"), and the reply a worker
 * sends back. Decoding is strict: an unknown version, a missing or unknown key or a wrong
 * type rejects the whole message, so nothing is ever half-used. */
#ifndef BRO_ENVELOPE_H
#define BRO_ENVELOPE_H

#include <msgpack.h>
#include <stdint.h>

#include "common/error.h"
#include "common/ids.h"

#define BRO_ENVELOPE_VERSION 1
#define BRO_ENVELOPE_MAX     (2 * 1024 * 1024) /* bytes; larger messages are rejected */
/* A reply may carry a report's file (bro_job_reply_file): a sheet of 100,000 rows is a few MB. */
#define BRO_REPLY_MAX (32 * 1024 * 1024)

typedef struct bro_actor {
    char key_id[48]; /* API key id, "user:<uuid>" for a signed-in user, "" for internal jobs */
    char role[24];   /* platform_admin, tenant_admin, coordinator, partner, reader */
    char org[40];    /* organisation uuid of a partner key, "" otherwise */
} bro_actor;

typedef struct bro_envelope {
    int v;                      /* always BRO_ENVELOPE_VERSION */
    char id[BRO_UUID_LEN + 1];  /* job id, UUIDv7 */
    char kind[64];              /* handler name, e.g. "candidate.create" */
    char tenant[32];            /* tenant slug, "" for platform jobs */
    bro_actor actor;            /* who asked */
    char reply_to[128];         /* Redis channel the asker listens on; "" means nil */
    int64_t deadline;           /* unix ms; past it the reply is pointless */
    int attempt;                /* 1 on first delivery */
    char idem[256];             /* Idempotency-Key; "" means nil */
    char req[72];               /* request id for logs (up to 64 characters) */
    const msgpack_object *body; /* decode: borrowed from the unpacked holder; must be a map */
} bro_envelope;

/* Packs e followed by body (already msgpack: body_len bytes holding exactly one map) into out.
 * e->body is ignored. Returns 0, or -1 with err set (oversize, body not a map). */
int bro_envelope_pack(msgpack_sbuffer *out, const bro_envelope *e, const char *body,
                      size_t body_len, bro_err *err) BRO_MUST_USE;

/* Decodes buf strictly into e. holder must be initialised by the caller
 * (msgpack_unpacked_init) and outlives e->body; the caller destroys it. Returns 0, or -1
 * with err->code BRO_E_DECODE and a message naming the offending key. */
int bro_envelope_decode(bro_envelope *e, msgpack_unpacked *holder, const char *buf, size_t len,
                        bro_err *err) BRO_MUST_USE;

typedef struct bro_reply {
    int v;                      /* BRO_ENVELOPE_VERSION */
    char id[BRO_UUID_LEN + 1];  /* the job id this answers */
    int status;                 /* HTTP status */
    int is_error;               /* 1: payload is a problem map ("error"), 0: "body" */
    const msgpack_object *body; /* decode: borrowed from the holder; any msgpack value */
} bro_reply;

/* Packs a reply {v, id, status, body|error} into out; payload is one msgpack value of
 * payload_len bytes (a problem map when is_error). A NULL payload packs nil. */
int bro_envelope_reply_pack(msgpack_sbuffer *out, const char *id, int status, int is_error,
                            const char *payload, size_t payload_len, bro_err *err) BRO_MUST_USE;

/* Decodes a reply strictly, as bro_envelope_decode does for envelopes. */
int bro_envelope_reply_decode(bro_reply *r, msgpack_unpacked *holder, const char *buf, size_t len,
                              bro_err *err) BRO_MUST_USE;

#endif
