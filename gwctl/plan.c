/* gwctl plan and firewall: the port plan of the running gateway (sigd's
 * listeners and bus, every node's addresses and ranges, from one "nodes"
 * answer) and the nftables rules it needs, like the rule generators that
 * SBC vendors ship:
 *
 *  - the perimeter (table ip gw_perimeter): DNAT from the public address
 *    to each EXT address by port (SIP to sigd, each media node's RTP range,
 *    STUN/TURN and its relay range), SNAT of the DMZ's own traffic to the
 *    public address keeping source ports (RTP must leave from the port the
 *    SDP names), and a forward filter that admits only mapped flows and
 *    their replies;
 *  - each DMZ host (table inet gw_host): input open only for its own
 *    listeners, on the address they are bound to, plus sigd's bus port on
 *    sigd's host.
 *
 * The public address is -p / public_addr, else the media nodes' advertised
 * EXT address when it differs from the bound one. Dead nodes are left out.
 */
#include <stdio.h>
#include <string.h>

#include "gwctl.h"

static const Gw__Interface *iface(const Gw__NodeInfo *n, Gw__Side side)
{
    for (size_t i = 0; i < n->n_ifaces; i++)
        if (n->ifaces[i]->side == side)
            return n->ifaces[i];
    return NULL;
}

static void bus_host_port(const char *ep, char *host, size_t hl, char *port, size_t pl)
{
    const char *h = strncmp(ep, "tcp://", 6) == 0 ? ep + 6 : ep;
    const char *c = strrchr(h, ':');

    snprintf(host, hl, "%.*s", c ? (int)(c - h) : (int)strlen(h), h);
    snprintf(port, pl, "%s", c ? c + 1 : "7700");
}

static void print_plan(const Gw__CtlReply *r, void *arg)
{
    char host[128], port[16];

    (void)arg;
    for (size_t i = 0; i < r->n_listeners; i++) {
        const Gw__Interface *f = r->listeners[i];
        printf("sigd sip %s %s:%u udp+tcp\n", f->side == GW__SIDE__SIDE_EXT ? "ext" : "int",
               f->bind_addr, f->ports ? f->ports->lo : 5060);
    }
    if (r->bus_endpoint) {
        bus_host_port(r->bus_endpoint, host, sizeof host, port, sizeof port);
        printf("sigd bus %s:%s tcp\n", host, port);
    }
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__NodeInfo *n = r->nodes[i];
        for (size_t k = 0; k < n->n_ifaces; k++) {
            const Gw__Interface *f = n->ifaces[k];
            printf("%s %s %s %s", n->node, n->role == GW__ROLE__ROLE_MEDIA ? "rtp" : "relay",
                   f->side == GW__SIDE__SIDE_EXT ? "ext" : "int", f->bind_addr);
            if (f->advertised_addr && f->advertised_addr[0] &&
                strcmp(f->advertised_addr, f->bind_addr) != 0)
                printf(" advertised=%s", f->advertised_addr);
            if (f->ports)
                printf(" %u-%u udp", f->ports->lo, f->ports->hi);
            if (n->has_service_port)
                printf(" service=%u udp+tcp", n->service_port);
            printf(" state=%s\n", gwctl_state_name(n->state));
        }
    }
}

int gwctl_cmd_plan(const gwctl_opts_t *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return gwctl_request(o, "nodes", 0, NULL, print_plan, NULL);
}

/* ---- nftables ----------------------------------------------------------- */

static const char *public_of(const gwctl_opts_t *o, const Gw__CtlReply *r)
{
    if (o->public_addr[0])
        return o->public_addr;
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__Interface *e = iface(r->nodes[i], GW__SIDE__SIDE_EXT);
        if (e && e->advertised_addr && e->advertised_addr[0] &&
            strcmp(e->advertised_addr, e->bind_addr) != 0)
            return e->advertised_addr;
    }
    return NULL;
}

static const char *ip_family(const char *addr)
{
    return strchr(addr, ':') ? "ip6" : "ip";
}

static void perimeter(const Gw__CtlReply *r, const char *pub)
{
    const Gw__Interface *sig_ext = NULL;

    for (size_t i = 0; i < r->n_listeners; i++)
        if (r->listeners[i]->side == GW__SIDE__SIDE_EXT)
            sig_ext = r->listeners[i];
    printf("# ---- perimeter firewall: public %s -> DMZ EXT addresses\n", pub);
    printf("table ip gw_perimeter {\n");
    printf("    chain prerouting {\n");
    printf("        type nat hook prerouting priority dstnat; policy accept;\n");
    if (sig_ext) {
        unsigned p = sig_ext->ports ? sig_ext->ports->lo : 5060;
        printf("        ip daddr %s udp dport %u dnat to %s:%u comment \"sigd SIP\"\n",
               pub, p, sig_ext->bind_addr, p);
        printf("        ip daddr %s tcp dport %u dnat to %s:%u comment \"sigd SIP\"\n",
               pub, p, sig_ext->bind_addr, p);
    }
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__NodeInfo *n = r->nodes[i];
        const Gw__Interface *e = iface(n, GW__SIDE__SIDE_EXT);
        if (e == NULL || e->ports == NULL || n->state == GW__NODE_STATE__NODE_DEAD)
            continue;
        if (n->role == GW__ROLE__ROLE_TURN) {
            unsigned sp = n->has_service_port ? n->service_port : 3478;
            printf("        ip daddr %s meta l4proto { udp, tcp } th dport %u dnat to "
                   "%s:%u comment \"%s STUN/TURN\"\n", pub, sp, e->bind_addr, sp, n->node);
        }
        printf("        ip daddr %s udp dport %u-%u dnat to %s comment \"%s %s\"\n", pub,
               e->ports->lo, e->ports->hi, e->bind_addr, n->node,
               n->role == GW__ROLE__ROLE_MEDIA ? "RTP/RTCP" : "TURN relay");
    }
    printf("    }\n");
    printf("    chain postrouting {\n");
    printf("        type nat hook postrouting priority srcnat; policy accept;\n");
    if (sig_ext)
        printf("        ip saddr %s snat to %s comment \"sigd SIP out\"\n",
               sig_ext->bind_addr, pub);
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__Interface *e = iface(r->nodes[i], GW__SIDE__SIDE_EXT);
        if (e == NULL || r->nodes[i]->state == GW__NODE_STATE__NODE_DEAD)
            continue;
        printf("        ip saddr %s snat to %s comment \"%s out, source ports kept\"\n",
               e->bind_addr, pub, r->nodes[i]->node);
    }
    printf("    }\n");
    printf("    chain forward {\n");
    printf("        type filter hook forward priority filter; policy drop;\n");
    printf("        ct state established,related accept\n");
    printf("        ct status dnat accept comment \"only the mappings above\"\n");
    if (sig_ext)
        printf("        ip saddr %s accept comment \"sigd to the internet\"\n",
               sig_ext->bind_addr);
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__Interface *e = iface(r->nodes[i], GW__SIDE__SIDE_EXT);
        if (e && e->ports && r->nodes[i]->state != GW__NODE_STATE__NODE_DEAD)
            printf("        ip saddr %s udp sport %u-%u accept comment \"%s media out\"\n",
                   e->bind_addr, e->ports->lo, e->ports->hi, r->nodes[i]->node);
    }
    printf("    }\n}\n\n");
}

static void host_head(const char *what)
{
    printf("# ---- host %s\n", what);
    printf("table inet gw_host {\n");
    printf("    chain input {\n");
    printf("        type filter hook input priority filter; policy drop;\n");
    printf("        iif lo accept\n");
    printf("        ct state established,related accept\n");
    printf("        ct state invalid drop\n");
}

static void host_tail(void)
{
    printf("    }\n}\n\n");
}

static void hosts(const Gw__CtlReply *r)
{
    char bhost[128], bport[16];

    host_head("sigd");
    for (size_t i = 0; i < r->n_listeners; i++) {
        const Gw__Interface *f = r->listeners[i];
        unsigned p = f->ports ? f->ports->lo : 5060;
        printf("        %s daddr %s meta l4proto { udp, tcp } th dport %u accept comment "
               "\"SIP %s\"\n", ip_family(f->bind_addr), f->bind_addr, p,
               f->side == GW__SIDE__SIDE_EXT ? "EXT" : "INT");
    }
    if (r->bus_endpoint) {
        bus_host_port(r->bus_endpoint, bhost, sizeof bhost, bport, sizeof bport);
        if (strcmp(bhost, "*") == 0 || strcmp(bhost, "0.0.0.0") == 0)
            printf("        tcp dport %s accept comment \"control bus (CURVE)\"\n", bport);
        else
            printf("        %s daddr %s tcp dport %s accept comment \"control bus (CURVE)\"\n",
                   ip_family(bhost), bhost, bport);
    }
    host_tail();
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__NodeInfo *n = r->nodes[i];
        char what[160];
        if (n->state == GW__NODE_STATE__NODE_DEAD)
            continue;
        snprintf(what, sizeof what, "%s (%s node)", n->node, gwctl_role_name(n->role));
        host_head(what);
        for (size_t k = 0; k < n->n_ifaces; k++) {
            const Gw__Interface *f = n->ifaces[k];
            const char *side = f->side == GW__SIDE__SIDE_EXT ? "EXT" : "INT";
            if (n->role == GW__ROLE__ROLE_TURN)
                printf("        %s daddr %s meta l4proto { udp, tcp } th dport %u accept "
                       "comment \"STUN/TURN\"\n", ip_family(f->bind_addr), f->bind_addr,
                       n->has_service_port ? n->service_port : 3478);
            if (f->ports)
                printf("        %s daddr %s udp dport %u-%u accept comment \"%s %s\"\n",
                       ip_family(f->bind_addr), f->bind_addr, f->ports->lo, f->ports->hi,
                       n->role == GW__ROLE__ROLE_MEDIA ? "RTP/RTCP" : "TURN relay", side);
        }
        host_tail();
    }
}

static void print_firewall(const Gw__CtlReply *r, void *arg)
{
    const gwctl_opts_t *o = arg;
    const char *pub = public_of(o, r);

    printf("#!/usr/sbin/nft -f\n# Generated by gwctl firewall from the running port "
           "plan.\n# Load each host's part on that host; the perimeter part on the "
           "perimeter router.\n\n");
    if (pub)
        perimeter(r, pub);
    else
        printf("# no perimeter part: no public address (give -p PUBLIC, or set "
               "ext_advertised on the media nodes)\n\n");
    hosts(r);
}

int gwctl_cmd_firewall(const gwctl_opts_t *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return gwctl_request(o, "nodes", 0, NULL, print_firewall, (void *)o);
}
