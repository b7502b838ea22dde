/* Dialog table: see call.h. Chained hash on the Call-ID. */
#include "call.h"
#include "hash.h"
#include "media.h"
#include "turn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/su_alloc.h>

#define CALL_BUCKETS 8192   /* power of two */

static unsigned hash_str(const char *s)
{
    return gw_hash_str(s) & (CALL_BUCKETS - 1);
}

int sig_calls_init(sig_daemon_t *sig)
{
    sig->buckets = calloc(CALL_BUCKETS, sizeof *sig->buckets);
    return sig->buckets ? 0 : -1;
}

sig_call_t *sig_call_find(sig_daemon_t *sig, const char *call_id)
{
    for (sig_call_t *c = sig->buckets[hash_str(call_id)]; c; c = c->hnext)
        if (strcmp(c->call_id, call_id) == 0)
            return c;
    return NULL;
}

sig_call_t *sig_call_create(sig_daemon_t *sig, const char *call_id)
{
    sig_call_t *c = su_home_new(sizeof *c);
    unsigned b;

    if (c == NULL)
        return NULL;
    c->call_id = su_strdup(c->home, call_id);
    if (c->call_id == NULL) {
        su_home_unref(c->home);
        return NULL;
    }
    c->sig = sig;
    c->refs = 1;
    c->session_id = ++sig->next_session;
    b = hash_str(call_id);
    c->hnext = sig->buckets[b];
    sig->buckets[b] = c;
    sig->ncalls++;
    return c;
}

void sig_call_ref(sig_call_t *c)
{
    c->refs++;
}

void sig_call_unref(sig_call_t *c)
{
    if (--c->refs > 0)
        return;
    su_home_unref(c->home);
}

void sig_call_end(sig_call_t *c, const char *reason)
{
    sig_daemon_t *sig = c->sig;

    if (c->ended)
        return;
    c->ended = 1;
    if (c->node[0])
        sig_media_delete(sig, c, reason);
    for (sig_call_t **pp = &sig->buckets[hash_str(c->call_id)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            sig->ncalls--;
            break;
        }
    }
    gw_log(GW_LOG_INFO, c->call_id, "call ended: %s", reason);
    sig_turn_call_end(c);   /* may schedule the agent's TURN revocation */
    sig_call_unref(c);  /* the table's reference */
}

void sig_calls_fini(sig_daemon_t *sig)
{
    if (sig->buckets == NULL)
        return;
    for (unsigned b = 0; b < CALL_BUCKETS; b++)
        while (sig->buckets[b])
            sig_call_end(sig->buckets[b], "shutdown");
    sig_turn_stop(sig);     /* revocations still in their grace go now */
    free(sig->buckets);
    sig->buckets = NULL;
}

void sig_call_terminate(sig_call_t *c, const char *reason)
{
    int sent;

    if (c->ended)
        return;
    /* A call still being set up has no dialog to end: its media goes, and
     * the INVITE transaction ends it when the answer comes (or times out). */
    sent = sig_dialog_bye(c, reason);
    if (sent < 0)
        gw_log(GW_LOG_WARN, c->call_id, "terminating call (%s): not confirmed, "
               "media ended only", reason);
    else
        gw_log(GW_LOG_WARN, c->call_id, "terminating call (%s): %d BYE sent",
               reason, sent);
    sig_call_end(c, reason);
}

/* Appended for the node registry (nodes.c): visits every call in the
 * table. fn may end the call it is given (the next one is fetched
 * first), but no other call. */
void sig_calls_foreach(sig_daemon_t *sig, void (*fn)(sig_call_t *c, void *arg),
                       void *arg)
{
    if (sig->buckets == NULL)
        return;
    for (unsigned b = 0; b < CALL_BUCKETS; b++) {
        sig_call_t *next;
        for (sig_call_t *c = sig->buckets[b]; c; c = next) {
            next = c->hnext;
            fn(c, arg);
        }
    }
}

int sig_call_answered(sig_call_t *c, const char *tag, int early,
                      const sig_sdp_ep_t *eps, unsigned n)
{
    sig_early_t *e = (sig_early_t *)sig_call_early(c, tag);

    if (tag == NULL)
        return 0;
    if (c->media_tag == NULL || strcmp(c->media_tag, tag) != 0) {
        char *t = su_strdup(c->home, tag);
        if (t == NULL)
            return -ENOMEM;
        su_free(c->home, c->media_tag);
        c->media_tag = t;
    }
    if (!early)
        return 0;
    if (e == NULL) {
        e = su_zalloc(c->home, sizeof *e);
        if (e == NULL || (e->tag = su_strdup(c->home, tag)) == NULL) {
            su_free(c->home, e);
            return -ENOMEM;
        }
        e->next = c->early;
        c->early = e;
    }
    e->n = n < SIG_SDP_MAX_STREAMS ? n : SIG_SDP_MAX_STREAMS;
    memcpy(e->eps, eps, e->n * sizeof *eps);
    return 0;
}

const sig_early_t *sig_call_early(const sig_call_t *c, const char *tag)
{
    for (const sig_early_t *e = c->early; e && tag; e = e->next)
        if (strcmp(e->tag, tag) == 0)
            return e;
    return NULL;
}

sig_call_t *sig_call_find_session(sig_daemon_t *sig, uint64_t session_id)
{
    for (unsigned b = 0; b < CALL_BUCKETS; b++)
        for (sig_call_t *c = sig->buckets[b]; c; c = c->hnext)
            if (c->session_id == session_id)
                return c;
    return NULL;
}
