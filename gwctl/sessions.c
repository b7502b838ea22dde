/* gwctl sessions (sigd's call table: one line per call) and session (one
 * call, with the legs and counters its media node reports). */
#include <inttypes.h>
#include <stdio.h>

#include "gwctl.h"

static void print_relay(const Gw__StreamReply *s)
{
    printf(" stream=%u ext=%s:%u int=%s:%u", s->index,
           s->ext_local ? s->ext_local->addr : "-", s->ext_local ? s->ext_local->port : 0,
           s->int_local ? s->int_local->addr : "-", s->int_local ? s->int_local->port : 0);
}

static void print_sessions(const Gw__CtlReply *r, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Gw__SessionInfo *s = r->sessions[i];
        printf("session %s id=%" PRIx64 " node=%s media=%s", s->call_id,
               s->session_id, s->node && s->node[0] ? s->node : "-",
               s->has_media ? "yes" : "pending");
        if (s->n_streams)
            print_relay(s->streams[0]);
        printf("\n");
    }
    printf("calls %u\n", r->calls);
}

int gwctl_cmd_sessions(const gwctl_opts_t *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return gwctl_request(o, "sessions", 0, NULL, print_sessions, NULL);
}

static void print_leg(const Gw__LegStats *l)
{
    printf("  leg %s remote=%s latched=%s srtp=%s in=%" PRIu64 "/%" PRIu64 "B out=%"
           PRIu64 "/%" PRIu64 "B dropped=%" PRIu64 " lost=%" PRIu64 " jitter_us=%u\n",
           l->side == GW__SIDE__SIDE_EXT ? "ext" : "int", l->remote ? l->remote : "-",
           l->latched ? "yes" : "no", l->srtp ? "yes" : "no", l->packets_in,
           l->bytes_in, l->packets_out, l->bytes_out, l->dropped, l->lost,
           l->jitter_us);
}

static void print_session(const Gw__CtlReply *r, void *arg)
{
    (void)arg;
    if (r->text)
        printf("# %s\n", r->text);
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Gw__SessionInfo *s = r->sessions[i];
        printf("session %s id=%" PRIx64 " node=%s media=%s\n", s->call_id,
               s->session_id, s->node && s->node[0] ? s->node : "-",
               s->has_media ? "yes" : "pending");
        for (size_t k = 0; k < s->n_streams; k++) {
            printf(" ");
            print_relay(s->streams[k]);
            printf("\n");
            for (size_t l = 0; l < s->streams[k]->n_legs; l++)
                print_leg(s->streams[k]->legs[l]);
        }
    }
}

int gwctl_cmd_session(const gwctl_opts_t *o, int argc, char **argv)
{
    return gwctl_request(o, "session", argc - 1, argv + 1, print_session, NULL);
}
