/* sigd's side of TURN: see turn.h.
 *
 * The secret list is module state (one per process, like the bus), kept
 * out of sig_daemon_t so that this module stays in this file. Pushes and
 * revocations are fire-and-forget: each node answers with a TurnReply,
 * which is logged; a node that missed a push asks again when it
 * registers, and a lost revoke is bounded by the credential's expiry.
 */
#include "turn.h"
#include "nodes.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TTL_S 3600
#define MAX_TTL_S (7 * 86400)

static char secrets[SIG_TURN_SECRETS][SIG_TURN_SECRETLEN];
static unsigned nsecrets;

void sig_turn_reset(void)
{
    memset(secrets, 0, sizeof secrets);
    nsecrets = 0;
}

/* Fills a TurnSecrets with the current list (pointers into `secrets`). */
static void fill_secrets(Gw__TurnSecrets *ts, char **ptrs)
{
    for (unsigned i = 0; i < nsecrets; i++)
        ptrs[i] = secrets[i];
    ts->n_secrets = nsecrets;
    ts->secrets = ptrs;
}

/* Sends env to every live or draining TURN node; returns how many. */
static int to_turn_nodes(sig_daemon_t *sig, Gw__Envelope *env)
{
    int n = 0;

    for (sig_node_t *node = sig->nodes; node != NULL; node = node->next) {
        if (node->role != GW__ROLE__ROLE_TURN || node->state == GW__NODE_STATE__NODE_DEAD)
            continue;
        env->request_id = 0;   /* a fresh id per node */
        if (gw_bus_send(sig->bus, node->name, env) == 0)
            n++;
    }
    return n;
}

int sig_turn_rotate(sig_daemon_t *sig, const char *secret)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__TurnSecrets ts = GW__TURN_SECRETS__INIT;
    char *ptrs[SIG_TURN_SECRETS];

    if (secret[0] == '\0' || strlen(secret) >= SIG_TURN_SECRETLEN)
        return -EINVAL;
    memmove(secrets[1], secrets[0], (SIG_TURN_SECRETS - 1) * SIG_TURN_SECRETLEN);
    snprintf(secrets[0], SIG_TURN_SECRETLEN, "%s", secret);
    if (nsecrets < SIG_TURN_SECRETS)
        nsecrets++;
    fill_secrets(&ts, ptrs);
    env.body_case = GW__ENVELOPE__BODY_TURN_SECRETS;
    env.turn_secrets = &ts;
    return to_turn_nodes(sig, &env);
}

int sig_turn_mint(const char *user, unsigned ttl_s, int64_t now,
                  char username[SIG_TURN_USERLEN], char *password,
                  size_t passlen)
{
    uint8_t mac[20];
    gnutls_datum_t in = { mac, sizeof mac }, b64 = { NULL, 0 };
    int n, rc = 0;

    if (nsecrets == 0)
        return -ENOENT;
    if (user[0] == '\0' || strchr(user, ':') != NULL || ttl_s == 0 ||
        ttl_s > MAX_TTL_S)
        return -EINVAL;
    n = snprintf(username, SIG_TURN_USERLEN, "%lld:%s",
                 (long long)(now + ttl_s), user);
    if (n < 0 || n >= SIG_TURN_USERLEN)
        return -EINVAL;
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, secrets[0], strlen(secrets[0]),
                         username, (size_t)n, mac) < 0 ||
        gnutls_base64_encode2(&in, &b64) < 0)
        return -EIO;
    if (b64.size + 1 > passlen) {
        rc = -ENOSPC;
    } else {
        memcpy(password, b64.data, b64.size);
        password[b64.size] = '\0';
    }
    gnutls_free(b64.data);
    return rc;
}

int sig_turn_revoke(sig_daemon_t *sig, const char *username)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__TurnRevoke r = GW__TURN_REVOKE__INIT;

    if (username[0] == '\0' || strlen(username) >= SIG_TURN_USERLEN)
        return -EINVAL;
    r.username = (char *)username;
    env.body_case = GW__ENVELOPE__BODY_TURN_REVOKE;
    env.turn_revoke = &r;
    return to_turn_nodes(sig, &env);
}

static void ctl_answer(sig_daemon_t *sig, const char *peer,
                       const Gw__Envelope *req, Gw__Status st, const char *text)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;

    r.status = st;
    r.text = (char *)text;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    gw_bus_reply(sig->bus, peer, req, &reply);
}

void sig_turn_on_ctl(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    const Gw__CtlRequest *c = env->ctl;
    char text[600], user[SIG_TURN_USERLEN], pass[64];
    unsigned ttl = DEFAULT_TTL_S;
    int n;

    if (strcmp(c->command, "turn-secret") == 0 && c->n_args == 1) {
        n = sig_turn_rotate(sig, c->args[0]);
        if (n < 0) {
            ctl_answer(sig, peer, env, GW__STATUS__ST_EINVAL, "bad secret");
            return;
        }
        GW_INFO("turn: REST secret rotated by '%s'; %u active, pushed to %d "
                "node(s)", peer, nsecrets, n);
        snprintf(text, sizeof text, "secrets=%u nodes=%d", nsecrets, n);
        ctl_answer(sig, peer, env, GW__STATUS__ST_OK, text);
        return;
    }
    if (strcmp(c->command, "turn-cred") == 0 &&
        (c->n_args == 1 || c->n_args == 2)) {
        if (c->n_args == 2)
            ttl = (unsigned)strtoul(c->args[1], NULL, 10);
        n = sig_turn_mint(c->args[0], ttl, (int64_t)time(NULL), user, pass,
                          sizeof pass);
        if (n < 0) {
            ctl_answer(sig, peer, env, n == -ENOENT ? GW__STATUS__ST_ENOENT
                                                    : GW__STATUS__ST_EINVAL,
                       n == -ENOENT ? "no TURN secret yet (turn-secret)"
                                    : "bad user or ttl");
            return;
        }
        GW_INFO("turn: credentials minted for '%s' (ttl %u s) by '%s'",
                user, ttl, peer);
        snprintf(text, sizeof text, "username=%s password=%s ttl=%u", user,
                 pass, ttl);
        ctl_answer(sig, peer, env, GW__STATUS__ST_OK, text);
        return;
    }
    if (strcmp(c->command, "turn-revoke") == 0 && c->n_args == 1) {
        n = sig_turn_revoke(sig, c->args[0]);
        if (n < 0) {
            ctl_answer(sig, peer, env, GW__STATUS__ST_EINVAL, "bad username");
            return;
        }
        GW_INFO("turn: '%s' revoked by '%s' on %d node(s)", c->args[0], peer, n);
        snprintf(text, sizeof text, "nodes=%d", n);
        ctl_answer(sig, peer, env, GW__STATUS__ST_OK, text);
        return;
    }
    ctl_answer(sig, peer, env, GW__STATUS__ST_EINVAL,
               "usage: turn-secret SECRET | turn-cred USER [TTL] | "
               "turn-revoke USERNAME");
}

/* A node asks for the list after registering. */
void sig_turn_on_secrets(gw_bus_t *bus, const char *peer,
                         const Gw__Envelope *env, void *ctx)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__TurnSecrets ts = GW__TURN_SECRETS__INIT;
    char *ptrs[SIG_TURN_SECRETS];

    (void)ctx;
    if (!env->turn_secrets->request) {
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_EINVAL,
                           "only sigd pushes TURN secrets");
        return;
    }
    fill_secrets(&ts, ptrs);
    reply.body_case = GW__ENVELOPE__BODY_TURN_SECRETS;
    reply.turn_secrets = &ts;
    gw_bus_reply(bus, peer, env, &reply);
}

void sig_turn_on_reply(gw_bus_t *bus, const char *peer,
                       const Gw__Envelope *env, void *ctx)
{
    const Gw__TurnReply *r = env->turn_reply;

    (void)bus;
    (void)ctx;
    if (r->status != GW__STATUS__ST_OK)
        GW_WARN("turn: node '%s' refused: %s", peer, r->error ? r->error : "?");
    else
        GW_INFO("turn: node '%s': %u done, %u allocation(s) now", peer,
                r->count, r->allocations);
}
