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

/* turn-cred USER [TTL] [call|ttl] */
static void ctl_cred(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    const Gw__CtlRequest *c = env->ctl;
    char text[600], user[SIG_TURN_USERLEN], pass[64], *end;
    unsigned long ttl = DEFAULT_TTL_S;
    int64_t now = (int64_t)time(NULL);
    int scoped = 1, n = 0;

    for (size_t i = 1; i < c->n_args; i++) {
        if (strcmp(c->args[i], "call") == 0) {
            scoped = 1;
        } else if (strcmp(c->args[i], "ttl") == 0) {
            scoped = 0;
        } else {
            ttl = strtoul(c->args[i], &end, 10);
            if (c->args[i][0] < '0' || c->args[i][0] > '9' || *end != '\0' ||
                ttl > MAX_TTL_S) {
                ctl_answer(sig, peer, env, GW__STATUS__ST_EINVAL, "bad ttl");
                return;
            }
        }
    }
    /* A call-scoped name revoked in this same second would be minted again
     * identical, and turnd refuses it until its expiry: one second more. */
    for (unsigned k = 0; k < 8; k++) {
        n = sig_turn_mint(c->args[0], (unsigned)ttl + k, now, user, pass, sizeof pass);
        if (n < 0 || !scoped || !sig_turn_scope_was_revoked(user)) {
            ttl += k;
            break;
        }
        n = -EAGAIN;   /* never hand out a revoked name */
    }
    if (n == 0 && scoped)
        n = sig_turn_scope_add(sig, c->args[0], user, now + (int64_t)ttl);
    if (n < 0) {
        ctl_answer(sig, peer, env, gw_bus_status(n),
                   n == -ENOENT ? "no TURN secret yet (turn-secret)"
                   : n == -ENOSPC ? "too many call-scoped agents"
                   : n == -ENOMEM ? "out of memory"
                   : n == -EIO ? "cannot compute the password (GnuTLS HMAC)"
                   : n == -EAGAIN ? "every candidate name was just revoked; retry in a few seconds"
                                  : "bad user or ttl");
        return;
    }
    GW_INFO("turn: %s credentials minted for '%s' (ttl %lu s) by '%s'",
            scoped ? "call-scoped" : "ttl-scoped", user, ttl, peer);
    snprintf(text, sizeof text, "username=%s password=%s ttl=%lu scope=%s", user,
             pass, ttl, scoped ? "call" : "ttl");
    ctl_answer(sig, peer, env, GW__STATUS__ST_OK, text);
}

/* turn-agents: the call-scoped agents, one line each. */
static void ctl_agents(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    size_t len = 32768;
    char *text = malloc(len);
    unsigned n;

    if (text == NULL) {
        ctl_answer(sig, peer, env, GW__STATUS__ST_EIO, "out of memory");
        return;
    }
    n = sig_turn_scope_list(text, len - 64);
    snprintf(text + strlen(text), 64, "%sagents=%u grace=%d", n ? "\n" : "", n,
             sig_turn_cfg.revoke_grace);
    ctl_answer(sig, peer, env, GW__STATUS__ST_OK, text);
    free(text);
}

/* turn-grace [SECONDS]: revoke_grace at run time, checked against the
 * directive itself (its bounds and syntax, as in a file). */
static void ctl_grace(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    const Gw__CtlRequest *c = env->ctl;
    sig_turn_config_t next = sig_turn_cfg;
    gw_cfg_section_t sec = { "turn", sig_turn_directives, &next };
    char text[32], err[GW_CFG_STRLEN];

    if (c->n_args == 1) {
        if (gw_cfg_apply(&sec, 1, "turn", "revoke_grace", c->args[0], err,
                         sizeof err) < 0) {
            ctl_answer(sig, peer, env, GW__STATUS__ST_EINVAL, err);
            return;
        }
        GW_INFO("turn: revoke_grace set to %d s by '%s' (was %d s)",
                next.revoke_grace, peer, sig_turn_cfg.revoke_grace);
        sig_turn_cfg = next;
    }
    snprintf(text, sizeof text, "grace=%d", sig_turn_cfg.revoke_grace);
    ctl_answer(sig, peer, env, GW__STATUS__ST_OK, text);
}

void sig_turn_on_ctl(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    const Gw__CtlRequest *c = env->ctl;
    char text[160];
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
    if (strcmp(c->command, "turn-cred") == 0 && c->n_args >= 1 && c->n_args <= 3) {
        ctl_cred(sig, peer, env);
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
    if (strcmp(c->command, "turn-agents") == 0 && c->n_args == 0) {
        ctl_agents(sig, peer, env);
        return;
    }
    if (strcmp(c->command, "turn-grace") == 0 && c->n_args <= 1) {
        ctl_grace(sig, peer, env);
        return;
    }
    ctl_answer(sig, peer, env, GW__STATUS__ST_EINVAL,
               "usage: turn-secret SECRET | turn-cred USER [TTL] [call|ttl] | "
               "turn-revoke USERNAME | turn-agents | turn-grace [SECONDS]");
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
