/* gwctl metrics: the nodes' figures in the Prometheus text exposition
 * format (version 0.0.4), for node_exporter's textfile collector or any
 * scraper that runs a command:
 *
 *   gwctl metrics > /var/lib/node_exporter/gw.prom.$$ &&
 *       mv /var/lib/node_exporter/gw.prom.$$ /var/lib/node_exporter/gw.prom
 *
 * One sample per node and figure, labelled node and role; counters are
 * since the node started (its epoch). The relay delay of media nodes
 * (delay_stats, common/delay.h) is a histogram in seconds with one bucket
 * per power of two of microseconds (15 us, 31 us, ... 16.8 s, +Inf):
 * histogram_quantile() over a rate() of the buckets gives a window's
 * percentiles. There is no _sum: mediad counts delays per bucket, not
 * their total. sigd's own counters follow: the requests it dropped
 * without an answer, by reason (gw_sig_requests_dropped_total), and the
 * SIP messages it refused or dropped as malformed or non-conforming
 * (gw_sig_rejected_total, sigd/reject.h).
 */
#include <stdio.h>
#include <string.h>

#include "delay.h"
#include "gwctl.h"

/* A label value with \, " and newline escaped as the format requires. */
static void label(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            printf("\\%c", *s);
        else if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    }
}

/* Starts a sample of node n: name{node="..." (the caller closes it). */
static void begin(const char *name, const Gw__NodeInfo *n)
{
    printf("%s{node=\"", name);
    label(n->node);
    putchar('"');
}

static void sample(const char *name, const Gw__NodeInfo *n, unsigned long long v)
{
    begin(name, n);
    printf(",role=\"%s\"} %llu\n", gwctl_role_name(n->role), v);
}

static void delay(const Gw__NodeInfo *n)
{
    size_t nb = n->n_delay_hist < GW_DELAY_BUCKETS ? n->n_delay_hist : GW_DELAY_BUCKETS;
    unsigned long long cum = 0;
    size_t i = 0;

    /* Edges: the linear part's last bucket (15 us), then the last bucket
     * of each power of two; counts cumulative up to and including it. */
    for (unsigned edge = GW_DELAY_LINEAR - 1u; edge < GW_DELAY_BUCKETS - 1u;
         edge += GW_DELAY_SUB) {
        for (; i <= edge; i++)
            cum += i < nb ? n->delay_hist[i] : 0;
        begin("gw_relay_delay_seconds_bucket", n);
        printf(",le=\"%.6f\"} %llu\n", (double)gw_delay_upper(edge) / 1e6, cum);
    }
    for (; i < nb; i++)
        cum += n->delay_hist[i];
    begin("gw_relay_delay_seconds_bucket", n);
    printf(",le=\"+Inf\"} %llu\n", cum);
    begin("gw_relay_delay_seconds_count", n);
    printf("} %llu\n", cum);
}

static const struct {
    const char *name, *type, *help;
} families[] = {
    { "gw_node_up", "gauge", "1 when the node is live or draining, 0 when sigd lost it" },
    { "gw_node_draining", "gauge", "1 when the node takes no new calls" },
    { "gw_node_sessions", "gauge", "media sessions or TURN allocations" },
    { "gw_node_capacity", "gauge", "sessions or allocations the node accepts" },
    { "gw_node_ports_in_use", "gauge", "relay ports held" },
    { "gw_node_packets_relayed_total", "counter", "packets relayed since the node started" },
    { "gw_node_packets_dropped_total", "counter", "packets dropped since the node started" },
    { "gw_node_last_seen_milliseconds", "gauge", "time since the node's last heartbeat" },
};

static void print_metrics(const Gw__CtlReply *r, void *arg)
{
    int any_delay = 0;

    (void)arg;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        printf("# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
               families[f].name, families[f].type);
        for (size_t k = 0; k < r->n_nodes; k++) {
            const Gw__NodeInfo *n = r->nodes[k];
            unsigned long long v;

            switch (f) {
            case 0: v = n->state == GW__NODE_STATE__NODE_LIVE ||
                        n->state == GW__NODE_STATE__NODE_DRAINING; break;
            case 1: v = n->state == GW__NODE_STATE__NODE_DRAINING; break;
            case 2: v = n->sessions; break;
            case 3: v = n->capacity; break;
            case 4: v = n->ports_in_use; break;
            case 5: v = n->packets_relayed; break;
            case 6: v = n->packets_dropped; break;
            default: v = n->last_seen_ms; break;
            }
            sample(families[f].name, n, v);
        }
    }
    printf("# HELP gw_calls calls sigd holds\n# TYPE gw_calls gauge\ngw_calls %u\n", r->calls);
    if (r->n_drops > 0)
        printf("# HELP gw_sig_requests_dropped_total requests sigd dropped without an "
               "answer, by reason\n# TYPE gw_sig_requests_dropped_total counter\n");
    for (size_t k = 0; k < r->n_drops; k++) {
        printf("gw_sig_requests_dropped_total{reason=\"");
        label(r->drops[k]->reason);
        printf("\"} %llu\n", (unsigned long long)r->drops[k]->count);
    }
    if (r->n_rejected)
        printf("# HELP gw_sig_rejected_total SIP messages sigd (or its SIP stack) refused "
               "or dropped as malformed or non-conforming, by reason\n"
               "# TYPE gw_sig_rejected_total counter\n");
    for (size_t k = 0; k < r->n_rejected; k++) {
        printf("gw_sig_rejected_total{reason=\"");
        label(r->rejected[k]->reason);
        printf("\"} %llu\n", (unsigned long long)r->rejected[k]->count);
    }
    for (size_t k = 0; k < r->n_nodes; k++)
        any_delay |= r->nodes[k]->n_delay_hist > 0;
    if (!any_delay)
        return;
    printf("# HELP gw_relay_delay_seconds time a relayed packet spent in the media node "
           "(kernel receive stamp to send; sampled calls)\n"
           "# TYPE gw_relay_delay_seconds histogram\n");
    for (size_t k = 0; k < r->n_nodes; k++)
        if (r->nodes[k]->n_delay_hist > 0)
            delay(r->nodes[k]);
}

int gwctl_cmd_metrics(const gwctl_opts_t *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return gwctl_request(o, "nodes", 0, NULL, print_metrics, NULL);
}
