/* mediad: the daemon context shared by its modules.
 *
 * Threads: the main thread runs the bus (control.c) and owns the session
 * table; N worker threads (worker.c) each run a libuv loop that owns the
 * sockets, packet path and timers of the sessions assigned to it. The main
 * thread never touches a socket or a leg: it hands each bus request to the
 * session's worker as a command and sends the reply the worker prepared.
 * Port pools are shared under a mutex (taken per session, never per packet).
 *
 * Modules: relay.c (packet path), session.c (sessions and legs), srtp.c
 * (libsrtp2 contexts and SDES keys), rtpstats.c (loss and jitter),
 * worker.c (threads, commands, timeouts), control.c (bus requests),
 * config.c (directives).
 */
#ifndef MD_MEDIAD_H
#define MD_MEDIAD_H

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "bus.h"
#include "bus_uv.h"
#include "cfg.h"
#include "delay.h"
#include "log.h"
#include "node.h"
#include "ports.h"
#include "wake.h"

typedef struct md_session_s md_session_t;
typedef struct md_worker_s md_worker_t;
typedef struct md_cmd_s md_cmd_t;
typedef struct md_s md_t;

/* Directives of the [mediad] section; see config.c. */
typedef struct {
    char name[GW_CFG_STRLEN];
    char bus[GW_CFG_STRLEN];
    char bus_server_key_file[GW_CFG_STRLEN];
    char bus_secret_key_file[GW_CFG_STRLEN];

    char ext_addr[GW_CFG_STRLEN];
    char ext_advertised[GW_CFG_STRLEN];
    char int_addr[GW_CFG_STRLEN];
    gw_cfg_range_t rtp_range;
    int capacity;
    int weight;
    int dscp;
    int ext_symmetric;
    int workers;              /* 0 = one per core */
    int timeout;              /* s without RTP on a leg before an event */
    int hold_timeout;         /* the same for calls on hold */
    int sock_buf_kb;          /* SO_RCVBUF / SO_SNDBUF per media socket */
    int rt_priority;          /* SCHED_FIFO priority of the workers; 0 = none */
    char worker_cpus[GW_CFG_STRLEN];  /* "", "auto" or a CPU list */
    int delay_stats;          /* relay delay histogram (SO_TIMESTAMPNS) */
    int delay_sample;         /* ... of one session in this many */
    gw_log_level_t log_level;
} md_config_t;

/* Totals since start. A worker counts in its own copy and publishes it
 * once per sweep; readers see the published copy (no atomics per packet). */
typedef struct {
    uint64_t packets_relayed;
    uint64_t bytes_relayed;
    uint64_t packets_dropped;
} md_totals_t;

#define MD_HASH_BUCKETS 16384   /* power of two */

struct md_s {
    /* public */
    md_config_t cfg;
    uv_loop_t *loop;              /* main loop: bus, signals */
    /* read-only */
    unsigned nsessions;           /* sessions in the table (main thread) */
    uint64_t sessions_made;       /* ever (main thread): delay_sample */
    md_worker_t *workers;
    unsigned nworkers;
    /* private: main thread */
    md_session_t *buckets[MD_HASH_BUCKETS];
    gw_bus_t *bus;
    gw_bus_uv_t bus_uv;
    gw_node_t node;
    Gw__NodeRegister reg;
    Gw__Interface ifaces[2];
    Gw__Interface *iface_ptrs[2];
    Gw__PortRange range;
    uint64_t hb_delay[GW_DELAY_BUCKETS];   /* the heartbeat's histogram */
    md_wake_t done_wake;          /* workers -> main: finished commands */
    int stopping;
    /* private: shared, under locks */
    pthread_mutex_t ports_lock;
    gw_ports_t ext_ports;
    gw_ports_t int_ports;
    pthread_mutex_t done_lock;
    md_cmd_t *done_head, *done_tail;
};

/* The locks the packet threads share with the control thread (command
 * queues, port pools) inherit priority: under rt_priority, a control
 * thread that holds one while a normal job has its CPU would otherwise
 * keep a real-time packet thread waiting behind that job. */
void md_mutex_init(pthread_mutex_t *m);

extern const gw_cfg_directive_t md_config_directives[];

/* control.c */
extern const gw_bus_route_t md_control_routes[];
void md_control_fill_heartbeat(Gw__Heartbeat *hb, void *ctx);
/* Drops every session: sigd restarted and no longer knows them (the
 * node's purge hook). Returns how many. */
unsigned md_control_purge(void *ctx);
/* Runs in the main thread for every command a worker finished. */
void md_control_done(md_t *md, md_cmd_t *cmd);

#endif
