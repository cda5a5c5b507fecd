/* Rate limits: one GCRA cell per API key, per tenant and per client address (for key checks),
 * kept in Redis so a limit holds across threads and gateway processes. One Lua script checks the
 * cells and, only when all allow, posts the job with XADD: one round trip, as the plain XADD it
 * replaces. The script reads Redis's clock, so gateways need not agree on the time. */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gw.h"
#include "http.h"
#include "metrics.h"

_Static_assert(BRO_RL_KINDS == BRO_METRICS_LIMITS, "metrics count each rate limit apart");

#define BRO_RL_PROBLEM    "rate-limited"
#define BRO_RL_ADDR_HEX   5  /* hex digits of an address bucket: 20 bits of SHA-256 */
#define BRO_RL_ARGV_MAX   24 /* EVALSHA sha numkeys, cells + stream, two numbers a cell, env */
#define BRO_RL_FIELD_TEXT 160

/* GCRA (the virtual scheduling form of a token bucket) over n cells, then the post.
 * KEYS: the n cells, then the stream. ARGV: per cell its emission interval (us) and burst,
 * then the envelope. A cell holds its theoretical arrival time (TAT, us of Redis's clock) and
 * expires when that time has passed, as an absent cell and an elapsed TAT mean the same.
 * A request passes a cell when burst * interval - (TAT - now) leaves room for one interval;
 * refused requests change nothing. Answer: {refused cell or 0, stream id or wait ms, then per
 * cell: requests left, ms until its full burst is back}. */
static const char bro_rl_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local n = #KEYS - 1\n"
    "local out, tat = {0, 0}, {}\n"
    "local cur = redis.call('MGET', unpack(KEYS, 1, n))\n"
    "for i = 1, n do\n"
    "  local step, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])\n"
    "  local v = tonumber(cur[i]) or now\n"
    "  if v < now then v = now end\n"
    "  tat[i] = v\n"
    "  local left = math.floor((burst * step - (v - now)) / step)\n"
    "  if left < 1 and out[1] == 0 then\n"
    "    out[1] = i\n"
    "    out[2] = math.ceil((v + step - burst * step - now) / 1000)\n"
    "  end\n"
    "  out[2 * i + 1] = math.max(left, 0)\n"
    "  out[2 * i + 2] = math.ceil((v - now) / 1000)\n"
    "end\n"
    "if out[1] ~= 0 then return out end\n"
    "for i = 1, n do\n"
    "  local v = tat[i] + tonumber(ARGV[2 * i - 1])\n"
    "  local ms = math.ceil((v - now) / 1000)\n"
    "  redis.call('SET', KEYS[i], string.format('%d', v), 'PX', string.format('%d', ms))\n"
    "  out[2 * i + 1] = out[2 * i + 1] - 1\n"
    "  out[2 * i + 2] = ms\n"
    "end\n"
    "out[2] = redis.call('XADD', KEYS[n + 1], '*', 'e', ARGV[2 * n + 1])\n"
    "return out\n";

static const char *const bro_rl_names[BRO_RL_KINDS] = {"key", "tenant", "address"};

static const char *const bro_rl_details[BRO_RL_KINDS] = {
    "this API key has made more requests than its rate limit allows (limit: key)",
    "the keys of this tenant together have made more requests than the tenant's rate limit "
    "allows (limit: tenant)",
    "this client address has had more API keys checked than its rate limit allows (limit: "
    "address)"};

const char *bro_ratelimit_name(int kind)
{
    return kind >= 0 && kind < BRO_RL_KINDS ? bro_rl_names[kind] : "unknown";
}

/* The configured rate (per second, 0: off) and burst of one kind of limit. */
static void bro_rl_limits(const bro_config *cfg, int kind, int *rate, int *burst)
{
    switch (kind) {
    case BRO_RL_KEY:
        *rate = cfg->rate_key, *burst = cfg->rate_key_burst;
        break;
    case BRO_RL_TENANT:
        *rate = cfg->rate_tenant, *burst = cfg->rate_tenant_burst;
        break;
    default:
        *rate = cfg->rate_auth, *burst = cfg->rate_auth_burst;
        break;
    }
}

/* ---- configuration and the script --------------------------------------------------------- */

/* Calls fn for each comma-separated entry of list (spaces around it trimmed, empty ones
 * skipped) until it returns nonzero; returns that value, or 0. */
static int bro_rl_each_proxy(const char *list, int (*fn)(const char *entry, void *arg), void *arg)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        char entry[64]; /* a longer entry is cut short, and so is no address */
        size_t len = (size_t)(e - s) < sizeof(entry) ? (size_t)(e - s) : sizeof(entry) - 1;
        memcpy(entry, s, len);
        entry[len] = '\0';
        int rc = len ? fn(entry, arg) : 0;
        if (rc)
            return rc;
        p += n + (p[n] == ',');
    }
    return 0;
}

static int bro_rl_bad_proxy(const char *entry, void *arg)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, entry, buf) == 1 || inet_pton(AF_INET6, entry, buf) == 1)
        return 0;
    bro_log_error(NULL, "BROBYGGER_TRUSTED_PROXIES: \"%s\" is not an IP address", entry);
    return 1;
}

int bro_ratelimit_init(bro_gw *gw)
{
    if (bro_rl_each_proxy(gw->cfg->trusted_proxies, bro_rl_bad_proxy, NULL))
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bro_rl_lua, sizeof(bro_rl_lua) - 1, md, &len, EVP_sha1(), NULL) != 1 ||
        len != 20) {
        bro_log_error(NULL, "SHA-1 of the rate-limit script failed");
        return -1;
    }
    for (unsigned int i = 0; i < len; i++)
        snprintf(gw->rl_sha + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static void bro_rl_on_load(redisAsyncContext *c, void *reply, void *privdata)
{
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR)
        bro_log_warn(NULL, "SCRIPT LOAD of the rate-limit script failed: %s", rep->str);
}

void bro_ratelimit_load(bro_gw *gw, redisAsyncContext *c)
{
    const char *argv[] = {"SCRIPT", "LOAD", bro_rl_lua};
    const size_t lens[] = {6, 4, sizeof(bro_rl_lua) - 1};
    redisAsyncCommandArgv(c, bro_rl_on_load, gw, 3, argv, lens);
}

/* ---- the client's address ----------------------------------------------------------------- */

/* 1 when a and b are the same IPv4 or IPv6 address, however each is written. */
static int bro_rl_same_addr(const char *a, void *arg)
{
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, arg, y) == 1 && memcmp(x, y, 4) == 0;
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, arg, y) == 1 &&
           memcmp(x, y, 16) == 0;
}

/* The last entry of an X-Forwarded-For value: what the nearest proxy saw. 0 when it is an IP
 * address (copied into out), -1 otherwise. */
static int bro_rl_forwarded(const char *xff, char *out, size_t n)
{
    const char *s = strrchr(xff, ',');
    s = s ? s + 1 : xff;
    s += strspn(s, " \t");
    size_t len = strcspn(s, " \t");
    unsigned char buf[16];
    if (len == 0 || len >= n)
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return inet_pton(AF_INET, out, buf) == 1 || inet_pton(AF_INET6, out, buf) == 1 ? 0 : -1;
}

static void bro_rl_client(bro_gw_req *r, char *out, size_t n)
{
    if (bro_http_peer_addr(r, out, n) < 0) {
        snprintf(out, n, "unknown");
        return;
    }
    if (!bro_rl_each_proxy(r->gw->cfg->trusted_proxies, bro_rl_same_addr, out))
        return;
    const char *xff = bro_http_last_header(r, "X-Forwarded-For");
    char fwd[64];
    if (xff && bro_rl_forwarded(xff, fwd, sizeof(fwd)) == 0)
        snprintf(out, n, "%s", fwd);
}

/* The cell of a client address. IPv6 counts per /64, the block one subscriber usually holds.
 * The name keeps 20 bits of a SHA-256 of the address, so Redis never holds an address: a cell
 * stands for one of about 4,000 IPv4 addresses, and two clients share one only by rare chance. */
static void bro_rl_addr_cell(const char *addr, char *out, size_t n)
{
    unsigned char bytes[16];
    size_t len;
    if (inet_pton(AF_INET, addr, bytes) == 1) {
        len = 4;
    } else if (inet_pton(AF_INET6, addr, bytes) == 1) {
        len = 8;
    } else {
        len = strlen(addr) < sizeof(bytes) ? strlen(addr) : sizeof(bytes);
        memcpy(bytes, addr, len);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        memset(md, 0, 3);
    char hex[7];
    snprintf(hex, sizeof(hex), "%02x%02x%02x", md[0], md[1], md[2]);
    snprintf(out, n, "bro:rl:a:%.*s", BRO_RL_ADDR_HEX, hex);
}

/* ---- posting through the script ----------------------------------------------------------- */

/* Adds a cell of kind named name to r's next post, unless that kind of limit is off. */
static void bro_rl_add_cell(bro_gw_req *r, int kind, const char *name)
{
    int rate, burst;
    bro_rl_limits(r->gw->cfg, kind, &rate, &burst);
    if (rate <= 0)
        return;
    bro_rl_outcome *o = &r->rl;
    o->kind[o->ncells] = kind;
    snprintf(o->cell[o->ncells], BRO_RL_CELL, "%s", name);
    o->ncells++;
}

int bro_ratelimit_prepare(bro_gw_req *r)
{
    char cell[BRO_RL_CELL];
    memset(&r->rl, 0, sizeof(r->rl));
    /* A key check, and a job of a route that takes no key (web: a sign-in), count for the
     * client's address: no key is known yet, and one shared cell would let one client's
     * guesses crowd out every other sign-in. */
    if (r->waiting_auth || r->key.id[0] == '\0') {
        if (r->gw->cfg->rate_auth > 0) {
            char addr[64];
            bro_rl_client(r, addr, sizeof(addr));
            bro_rl_addr_cell(addr, cell, sizeof(cell));
            bro_rl_add_cell(r, BRO_RL_ADDR, cell);
        }
        return r->rl.ncells;
    }
    snprintf(cell, sizeof(cell), "bro:rl:k:%s", r->key.id);
    bro_rl_add_cell(r, BRO_RL_KEY, cell);
    if (r->key.tenant[0]) { /* platform keys belong to no tenant */
        snprintf(cell, sizeof(cell), "bro:rl:t:%s", r->key.tenant);
        bro_rl_add_cell(r, BRO_RL_TENANT, cell);
    }
    return r->rl.ncells;
}

int bro_ratelimit_send(bro_gw_req *r, int eval, const char *stream, const char *env, size_t len,
                       redisCallbackFn *cb, void *privdata)
{
    const bro_rl_outcome *o = &r->rl;
    const char *argv[BRO_RL_ARGV_MAX];
    size_t lens[BRO_RL_ARGV_MAX];
    char numkeys[12], nums[2 * BRO_RL_KINDS][24];
    int argc = 0;
    if (r->gw->cmd == NULL)
        return -1;
    argv[argc++] = eval ? "EVAL" : "EVALSHA";
    argv[argc++] = eval ? bro_rl_lua : r->gw->rl_sha;
    snprintf(numkeys, sizeof(numkeys), "%d", o->ncells + 1);
    argv[argc++] = numkeys;
    for (int i = 0; i < o->ncells; i++)
        argv[argc++] = o->cell[i];
    argv[argc++] = stream;
    for (int i = 0; i < o->ncells; i++) {
        int rate, burst;
        bro_rl_limits(r->gw->cfg, o->kind[i], &rate, &burst);
        snprintf(nums[2 * i], sizeof(nums[0]), "%d", 1000000 / rate);
        snprintf(nums[2 * i + 1], sizeof(nums[0]), "%d", burst);
        argv[argc++] = nums[2 * i];
        argv[argc++] = nums[2 * i + 1];
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    argv[argc] = env;
    lens[argc++] = len;
    return redisAsyncCommandArgv(r->gw->cmd, cb, privdata, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

int bro_ratelimit_verdict(bro_gw_req *r, const redisReply *rep)
{
    bro_rl_outcome *o = &r->rl;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)(2 + 2 * o->ncells) ||
        rep->element[0]->type != REDIS_REPLY_INTEGER)
        return -1;
    for (size_t i = 2; i < rep->elements; i++)
        if (rep->element[i]->type != REDIS_REPLY_INTEGER)
            return -1;
    long long refused = rep->element[0]->integer;
    int id_type = refused == 0 ? REDIS_REPLY_STRING : REDIS_REPLY_INTEGER;
    if (refused < 0 || refused > o->ncells || rep->element[1]->type != id_type)
        return -1;
    for (int i = 0; i < o->ncells; i++) {
        o->left[i] = rep->element[2 + 2 * i]->integer;
        o->reset_ms[i] = rep->element[3 + 2 * i]->integer;
    }
    o->refused = (int)refused;
    o->wait_ms = refused ? rep->element[1]->integer : 0;
    o->answered = 1;
    return refused ? 1 : 0;
}

/* ---- answers ------------------------------------------------------------------------------ */

static long long bro_rl_seconds(long long ms)
{
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

/* RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers-11): each checked limit as its burst
 * q over the window w in which the sustained rate refills it, rounded up to whole seconds. */
static void bro_rl_policy_text(const bro_gw_req *r, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < r->rl.ncells && used < n; i++) {
        int rate, burst;
        bro_rl_limits(r->gw->cfg, r->rl.kind[i], &rate, &burst);
        used += (size_t)snprintf(out + used, n - used, "%s\"%s\";q=%d;w=%d", i ? ", " : "",
                                 bro_rl_names[r->rl.kind[i]], burst, (burst + rate - 1) / rate);
    }
}

/* RateLimit: per limit the requests left (r) and the seconds until the full burst is back (t).
 * On a 429 only the refusing limit, with t equal to Retry-After. */
static void bro_rl_limit_text(const bro_gw_req *r, char *out, size_t n)
{
    const bro_rl_outcome *o = &r->rl;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < o->ncells && used < n; i++) {
        if (o->refused && i != o->refused - 1)
            continue;
        long long left = o->refused ? 0 : o->left[i];
        long long t = o->refused ? bro_rl_seconds(o->wait_ms) : bro_rl_seconds(o->reset_ms[i]);
        used += (size_t)snprintf(out + used, n - used, "%s\"%s\";r=%lld;t=%lld", used ? ", " : "",
                                 bro_rl_names[o->kind[i]], left, t > 0 || !o->refused ? t : 1);
    }
}

void bro_ratelimit_headers(bro_gw_req *r)
{
    if (!r->rl.answered || r->rl.ncells == 0)
        return;
    char text[BRO_RL_FIELD_TEXT];
    bro_rl_policy_text(r, text, sizeof(text));
    bro_http_add_header(r, "RateLimit-Policy", text);
    bro_rl_limit_text(r, text, sizeof(text));
    bro_http_add_header(r, "RateLimit", text);
}

void bro_ratelimit_refuse(bro_gw_req *r)
{
    int kind = r->rl.kind[r->rl.refused - 1];
    long long secs = bro_rl_seconds(r->rl.wait_ms);
    char retry[24];
    snprintf(retry, sizeof(retry), "%lld", secs < 1 ? 1 : secs);
    __atomic_add_fetch(&r->gw->metrics->rate_limited[kind], 1, __ATOMIC_RELAXED);
    bro_http_add_header(r, "Retry-After", retry);
    bro_ratelimit_headers(r);
    bro_http_problem(r, BRO_RL_PROBLEM, bro_rl_details[kind], NULL);
}
