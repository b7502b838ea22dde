/* gwctl nodes, drain, undrain. `nodes` keeps the line format the tests
 * and scripts grep: "node NAME role= state= sessions= ports= ..." then
 * "calls N". */
#include <stdio.h>
#include <string.h>

#include "delay.h"
#include "gwctl.h"

/* A media node's relay delay since it started (common/delay.h): the
 * percentiles as upper bucket edges, in microseconds (16777216 for the
 * last bucket: 16.8 s or more). */
static void print_delay(const uint64_t *hist, size_t n)
{
    uint64_t count, p50;

    if (n > GW_DELAY_BUCKETS)
        n = GW_DELAY_BUCKETS;
    p50 = gw_delay_quantile(hist, n, 0.5, &count);
    if (count == 0)
        return;
    printf(" delay_n=%llu delay_p50_us=%llu delay_p99_us=%llu delay_p999_us=%llu "
           "delay_max_us=%llu", (unsigned long long)count, (unsigned long long)p50,
           (unsigned long long)gw_delay_quantile(hist, n, 0.99, NULL),
           (unsigned long long)gw_delay_quantile(hist, n, 0.999, NULL),
           (unsigned long long)gw_delay_quantile(hist, n, 1.0, NULL));   /* the max's bucket */
}

static void print_nodes(const Gw__CtlReply *r, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__NodeInfo *n = r->nodes[i];
        printf("node %s role=%s state=%s sessions=%u ports=%u relayed=%llu "
               "dropped=%llu weight=%u capacity=%u seen_ms=%u drain=%s",
               n->node, gwctl_role_name(n->role), gwctl_state_name(n->state),
               n->sessions, n->ports_in_use,
               (unsigned long long)n->packets_relayed,
               (unsigned long long)n->packets_dropped, n->weight, n->capacity,
               n->last_seen_ms, n->drain_requested ? "yes" : "no");
        for (size_t k = 0; k < n->n_ifaces; k++) {
            const Gw__Interface *f = n->ifaces[k];
            printf(" %s=%s", f->side == GW__SIDE__SIDE_EXT ? "ext" : "int",
                   gwctl_iface_addr(f));
            if (f->ports)
                printf(":%u-%u", f->ports->lo, f->ports->hi);
        }
        print_delay(n->delay_hist, n->n_delay_hist);
        printf(" epoch=%llu\n", (unsigned long long)n->epoch);
    }
    printf("calls %u\n", r->calls);
}

int gwctl_cmd_nodes(const gwctl_opts_t *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return gwctl_request(o, "nodes", 0, NULL, print_nodes, NULL);
}

static void print_text(const Gw__CtlReply *r, void *arg)
{
    (void)arg;
    printf("%s\n", r->text ? r->text : "ok");
}

/* drain NODE / undrain NODE */
int gwctl_cmd_drain(const gwctl_opts_t *o, int argc, char **argv)
{
    return gwctl_request(o, argv[0], argc - 1, argv + 1, print_text, NULL);
}
