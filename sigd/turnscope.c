/* Call-scoped TURN credentials: the REST names minted for an agent are
 * revoked on every TURN node once the agent's last call ends (see turn.h).
 *
 * State: a hash of agents (SIP user -> sig_turn_agent_t) holding the names
 * minted for the agent, the number of its calls in progress and, once the
 * last one ended, the time its revocation is due. A call keeps pointers to
 * the agents it is counted for (sig_call_t.turn_agent), so that its end
 * costs no lookup. An agent is freed only when no call counts it (after
 * its revocation, or when its names have all expired), so those pointers
 * never dangle.
 *
 * Which names a revocation takes: those that have seen a call of the
 * agent, i.e. minted before or during one. A name minted during the grace
 * (credentials for the next call) is kept for that next call.
 *
 * Pending revocations sit on a list served by one Sofia timer armed for
 * the earliest deadline. With a constant grace, a new deadline is never
 * earlier than the armed one, so scheduling is O(1); the list is walked
 * only when the timer fires, and holds only agents inside their grace.
 *
 * Agents are matched by their SIP user byte for byte, as it appears in the
 * From, Request-URI or To (escapes are not decoded): integrators mint for
 * the user their agents register and call with. A restarted sigd forgets
 * the scope; names it minted then end at their expiry.
 */
#include "call.h"
#include "hash.h"
#include "nodes.h"
#include "turn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/su_alloc.h>

#define AGENT_BUCKETS 16384     /* power of two: chains of ~4 at SIG_TURN_MAX_AGENTS */
#define RECENT_REVOKED 32

sig_turn_config_t sig_turn_cfg = { 5 };

const gw_cfg_directive_t sig_turn_directives[] = {
    { "revoke_grace", GW_CFG_INT, offsetof(sig_turn_config_t, revoke_grace),
      "5", 0, 3600,
      "seconds between the end of an agent's last call and the revocation "
      "of its call-scoped TURN credentials; a new call of the agent within "
      "them keeps its relay (0 = revoke at once)" },
    GW_CFG_END
};

typedef struct {
    char name[SIG_TURN_USERLEN];  /* "expiry:user" */
    int64_t expiry;               /* Unix s */
    int seen_call;                /* minted before or during a call of the agent */
} turn_name_t;

typedef struct sig_turn_agent_s {
    /* read-only */
    char *user;                   /* the SIP user (malloc) */
    turn_name_t names[SIG_TURN_AGENT_NAMES];
    unsigned nnames;
    unsigned calls;               /* calls in progress counted for it */
    int64_t revoke_at;            /* ms (sig_now_ms); 0 = none pending */
    char last_call[128];          /* Call-ID whose end scheduled the revoke */
    /* private */
    struct sig_turn_agent_s *hnext;
    struct sig_turn_agent_s *pnext, **pprev;   /* pending list */
} sig_turn_agent_t;

static sig_turn_agent_t *agents[AGENT_BUCKETS];
static unsigned nagents;
static sig_turn_agent_t *pending;
static su_timer_t *timer;
static int64_t armed_for;         /* deadline the timer is set for; 0 = idle */
static char recent[RECENT_REVOKED][SIG_TURN_USERLEN];
static unsigned recent_next;

static unsigned hash_user(const char *s)
{
    return gw_hash_str(s) & (AGENT_BUCKETS - 1);
}

static sig_turn_agent_t *find_agent(const char *user)
{
    for (sig_turn_agent_t *a = agents[hash_user(user)]; a; a = a->hnext)
        if (strcmp(a->user, user) == 0)
            return a;
    return NULL;
}

static void unpend(sig_turn_agent_t *a)
{
    if (a->revoke_at == 0)
        return;
    if ((*a->pprev = a->pnext))
        a->pnext->pprev = a->pprev;
    a->pnext = NULL;
    a->pprev = NULL;
    a->revoke_at = 0;
}

static void agent_free(sig_turn_agent_t *a)
{
    GW_ASSERT(a->calls == 0);
    unpend(a);
    for (sig_turn_agent_t **pp = &agents[hash_user(a->user)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == a) {
            *pp = a->hnext;
            break;
        }
    }
    nagents--;
    free(a->user);
    free(a);
}

int sig_turn_scope_was_revoked(const char *username)
{
    for (unsigned i = 0; i < RECENT_REVOKED; i++)
        if (strcmp(recent[i], username) == 0)
            return 1;
    return 0;
}

/* Sends the revocation of every name of `a` that has seen a call; frees
 * the agent when no name is left. */
static void revoke_agent(sig_daemon_t *sig, sig_turn_agent_t *a)
{
    int64_t now = (int64_t)time(NULL);
    unsigned kept = 0, revoked = 0;
    int nodes = 0, n;

    unpend(a);
    for (unsigned i = 0; i < a->nnames; i++) {
        turn_name_t *tn = &a->names[i];

        if (!tn->seen_call) {
            a->names[kept++] = *tn;
            continue;
        }
        if (tn->expiry < now)
            continue;            /* turnd refuses it already */
        n = sig_turn_revoke(sig, tn->name);
        if (n > nodes)
            nodes = n;
        snprintf(recent[recent_next], SIG_TURN_USERLEN, "%s", tn->name);
        recent_next = (recent_next + 1) % RECENT_REVOKED;
        revoked++;
        gw_log(GW_LOG_DEBUG, a->last_call, "turn: revoking '%s'", tn->name);
    }
    a->nnames = kept;
    if (revoked > 0 && nodes == 0)
        gw_log(GW_LOG_WARN, a->last_call, "turn: agent '%s': calls ended but no "
               "live TURN node to revoke %u name(s) on; they end at their expiry",
               a->user, revoked);
    else
        gw_log(GW_LOG_INFO, a->last_call, "turn: agent '%s': calls ended; %u "
               "call-scoped name(s) revoked on %d TURN node(s), %u kept for "
               "the next call", a->user, revoked, nodes, kept);
    if (kept == 0)
        agent_free(a);
}

static void arm(sig_daemon_t *sig, int64_t deadline);

static void on_timer(sig_daemon_t *magic, su_timer_t *t, sig_daemon_t *sig)
{
    int64_t now = sig_now_ms(), next = 0;
    sig_turn_agent_t *a, *pnext;

    (void)magic;
    (void)t;
    armed_for = 0;
    for (a = pending; a; a = pnext) {
        pnext = a->pnext;
        if (a->revoke_at <= now)
            revoke_agent(sig, a);
        else if (next == 0 || a->revoke_at < next)
            next = a->revoke_at;
    }
    if (next)
        arm(sig, next);
}

/* Sets the timer for `deadline` unless it is already set for an earlier
 * one (which re-arms itself for the rest when it fires). */
static void arm(sig_daemon_t *sig, int64_t deadline)
{
    int64_t delta = deadline - sig_now_ms();

    if (armed_for != 0 && armed_for <= deadline)
        return;
    if (timer == NULL)
        timer = su_timer_create(su_root_task(sig->root), 0);
    if (timer == NULL ||
        su_timer_set_interval(timer, on_timer, sig,
                              (su_duration_t)(delta > 0 ? delta : 1)) < 0) {
        GW_ERR("turn: cannot set the revocation timer");
        armed_for = 0;
        return;
    }
    armed_for = deadline;
}

/* The agent's last call ended: revoke now or after the grace. */
static void schedule(sig_daemon_t *sig, sig_turn_agent_t *a, const char *call_id)
{
    snprintf(a->last_call, sizeof a->last_call, "%s", call_id);
    if (sig_turn_cfg.revoke_grace == 0 || sig->root == NULL) {
        revoke_agent(sig, a);
        return;
    }
    a->revoke_at = sig_now_ms() + (int64_t)sig_turn_cfg.revoke_grace * 1000;
    if ((a->pnext = pending))
        pending->pprev = &a->pnext;
    a->pprev = &pending;
    pending = a;
    gw_log(GW_LOG_INFO, call_id, "turn: agent '%s': last call ended; its "
           "call-scoped TURN names are revoked in %d s unless it calls again",
           a->user, sig_turn_cfg.revoke_grace);
    arm(sig, a->revoke_at);
}

/* Counts call c (slot i) for agent a. */
static void count_call(sig_call_t *c, unsigned i, sig_turn_agent_t *a)
{
    c->turn_agent[i] = a;
    a->calls++;
    for (unsigned k = 0; k < a->nnames; k++)
        a->names[k].seen_call = 1;
    if (a->revoke_at != 0) {
        unpend(a);
        gw_log(GW_LOG_INFO, c->call_id, "turn: agent '%s' calls again: "
               "revocation of its TURN names canceled", a->user);
    }
    gw_log(GW_LOG_DEBUG, c->call_id, "turn: call counted for agent '%s' (%u "
           "call(s))", a->user, a->calls);
}

static void add_agent_slot(sig_call_t *c, const char *user)
{
    unsigned i;
    sig_turn_agent_t *a;

    if (user == NULL || user[0] == '\0')
        return;
    for (i = 0; i < SIG_CALL_AGENTS && c->agent[i]; i++)
        if (strcmp(c->agent[i], user) == 0)
            return;
    if (i == SIG_CALL_AGENTS)
        return;
    c->agent[i] = su_strdup(c->home, user);
    if (c->agent[i] == NULL || nagents == 0 || (a = find_agent(user)) == NULL)
        return;
    count_call(c, i, a);
}

void sig_turn_call_seen(sig_call_t *c, Gw__Side side, const sip_t *req)
{
    if (side == GW__SIDE__SIDE_EXT) {
        /* The agent places the call. */
        if (req->sip_from)
            add_agent_slot(c, req->sip_from->a_url->url_user);
        return;
    }
    /* The platform calls the agent: its Contact (Request-URI) or AOR (To). */
    if (req->sip_request)
        add_agent_slot(c, req->sip_request->rq_url->url_user);
    if (req->sip_to)
        add_agent_slot(c, req->sip_to->a_url->url_user);
}

void sig_turn_call_end(sig_call_t *c)
{
    for (unsigned i = 0; i < SIG_CALL_AGENTS; i++) {
        sig_turn_agent_t *a = c->turn_agent[i];

        if (a == NULL)
            continue;
        c->turn_agent[i] = NULL;
        GW_ASSERT(a->calls > 0);
        if (--a->calls == 0)
            schedule(c->sig, a, c->call_id);
    }
}

/* sig_calls_foreach: counts the calls in progress of a newly tracked agent. */
static void attach_existing(sig_call_t *c, void *arg)
{
    sig_turn_agent_t *a = arg;

    for (unsigned i = 0; i < SIG_CALL_AGENTS && c->agent[i]; i++)
        if (c->turn_agent[i] == NULL && strcmp(c->agent[i], a->user) == 0)
            count_call(c, i, a);
}

/* Frees idle agents whose names have all expired (when the table is full). */
static void sweep_idle(int64_t now)
{
    for (unsigned b = 0; b < AGENT_BUCKETS; b++) {
        sig_turn_agent_t *a, *next;
        for (a = agents[b]; a; a = next) {
            unsigned live = 0;

            next = a->hnext;
            for (unsigned i = 0; i < a->nnames; i++)
                live += a->names[i].expiry >= now;
            if (a->calls == 0 && a->revoke_at == 0 && live == 0)
                agent_free(a);
        }
    }
}

int sig_turn_scope_add(sig_daemon_t *sig, const char *agent,
                       const char *username, int64_t expiry)
{
    int64_t now = (int64_t)time(NULL);
    sig_turn_agent_t *a;
    unsigned i, kept = 0;
    int created = 0;

    if (agent[0] == '\0' || strlen(agent) >= SIG_TURN_USERLEN ||
        username[0] == '\0' || strlen(username) >= SIG_TURN_USERLEN)
        return -EINVAL;
    a = find_agent(agent);
    if (a == NULL) {
        if (nagents >= SIG_TURN_MAX_AGENTS)
            sweep_idle(now);
        if (nagents >= SIG_TURN_MAX_AGENTS)
            return -ENOSPC;
        a = calloc(1, sizeof *a);
        if (a == NULL || (a->user = strdup(agent)) == NULL) {
            free(a);
            return -ENOMEM;
        }
        a->hnext = agents[hash_user(agent)];
        agents[hash_user(agent)] = a;
        nagents++;
        created = 1;
    }
    /* Expired names need no revocation any more. */
    for (i = 0; i < a->nnames; i++)
        if (a->names[i].expiry >= now)
            a->names[kept++] = a->names[i];
    a->nnames = kept;
    for (i = 0; i < a->nnames; i++)
        if (strcmp(a->names[i].name, username) == 0)
            return 0;    /* minted again in the same second */
    if (a->nnames == SIG_TURN_AGENT_NAMES) {
        GW_WARN("turn: agent '%s': more than %d live call-scoped names; the "
                "oldest, '%s', is no longer tracked (valid until its expiry)",
                agent, SIG_TURN_AGENT_NAMES, a->names[0].name);
        memmove(a->names, a->names + 1, (SIG_TURN_AGENT_NAMES - 1) * sizeof a->names[0]);
        a->nnames--;
    }
    snprintf(a->names[a->nnames].name, SIG_TURN_USERLEN, "%s", username);
    a->names[a->nnames].expiry = expiry;
    a->names[a->nnames].seen_call = a->calls > 0;
    a->nnames++;
    /* Calls of the agent already in progress count (O(calls), only when an
     * agent is first tracked). */
    if (created)
        sig_calls_foreach(sig, attach_existing, a);
    return 0;
}

unsigned sig_turn_scope_list(char *buf, size_t len)
{
    int64_t now = sig_now_ms();
    unsigned count = 0;
    size_t off = 0;
    int n;

    if (len == 0)
        return 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < AGENT_BUCKETS; b++) {
        for (sig_turn_agent_t *a = agents[b]; a; a = a->hnext) {
            char state[32];

            if (a->revoke_at)
                snprintf(state, sizeof state, "grace:%lldms",
                         (long long)(a->revoke_at - now));
            else
                snprintf(state, sizeof state, "%s", a->calls ? "in-call" : "waiting");
            count++;
            if (off >= len)
                continue;
            n = snprintf(buf + off, len - off, "%sagent=%s calls=%u names=%u state=%s",
                         off ? "\n" : "", a->user, a->calls, a->nnames, state);
            for (unsigned i = 0; n > 0 && i < a->nnames && off + (size_t)n < len; i++) {
                int m = snprintf(buf + off + n, len - off - (size_t)n, "%s%s",
                                 i ? "," : " usernames=", a->names[i].name);
                n = m < 0 ? -1 : n + m;
            }
            /* A line that does not fit is cut off whole. */
            if (n < 0 || off + (size_t)n >= len) {
                buf[off] = '\0';
                off = len;
                continue;
            }
            off += (size_t)n;
        }
    }
    return count;
}

void sig_turn_stop(sig_daemon_t *sig)
{
    while (pending)
        revoke_agent(sig, pending);
    if (timer) {
        su_timer_destroy(timer);
        timer = NULL;
    }
    armed_for = 0;
    for (unsigned b = 0; b < AGENT_BUCKETS; b++)
        while (agents[b])
            agent_free(agents[b]);   /* every call has ended by now */
}
