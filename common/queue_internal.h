/* Doors into a queue handle for the other files of common/ that work on the same Redis keys
 * (deadletter.c): one command on the handle's connection and the handle's dead-letter key. Not
 * for services/; they use queue.h. */
#ifndef BRO_QUEUE_INTERNAL_H
#define BRO_QUEUE_INTERNAL_H

#include <hiredis/hiredis.h>

#include "common/queue.h"

/* Runs one command on q's connection (reconnecting first when it was lost). Returns Redis's
 * reply, owned by the caller (freeReplyObject), which may be an error reply; NULL with err set
 * when Redis could not be reached. lens may be NULL for NUL-terminated arguments. */
redisReply *bro_queue_cmd_(bro_queue *q, int argc, const char **argv, const size_t *lens,
                           bro_err *err);

/* The key q seals dead letters with, or NULL when it has none; borrowed from q. */
const bro_seal_key *bro_queue_seal_(const bro_queue *q);

#endif
