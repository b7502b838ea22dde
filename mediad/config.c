/* The [mediad] directives. Addresses are numeric: a media node binds
 * exactly the EXT and INT addresses it is given, never a wildcard, so that
 * a packet can only leave on the interface its leg belongs to. */
#include <stddef.h>

#include "mediad.h"

#define F(x) offsetof(md_config_t, x)

const gw_cfg_directive_t md_config_directives[] = {
    { "name", GW_CFG_STR, F(name), "media1", 0, 0,
      "node name, unique per sigd; also the bus routing id" },
    { "bus", GW_CFG_STR, F(bus), "tcp://127.0.0.1:7700", 0, 0,
      "sigd's bus endpoint" },
    { "bus_server_key_file", GW_CFG_STR, F(bus_server_key_file), "", 0, 0,
      "sigd's CURVE public key (Z85 file); with bus_secret_key_file turns "
      "CURVE on (required unless the bus is loopback)" },
    { "bus_secret_key_file", GW_CFG_STR, F(bus_secret_key_file), "", 0, 0,
      "this node's CURVE secret key (Z85 file, mode 0600; `gwctl keygen`)" },

    { "ext_addr", GW_CFG_ADDR, F(ext_addr), "127.0.0.1", 0, 0,
      "EXT (internet side) address to bind" },
    { "ext_advertised", GW_CFG_ADDR, F(ext_advertised), "", 0, 0,
      "EXT address put in SDP when behind 1:1 NAT (default: ext_addr)" },
    { "int_addr", GW_CFG_ADDR, F(int_addr), "127.0.0.2", 0, 0,
      "INT (internal side) address to bind" },
    { "rtp_range", GW_CFG_RANGE, F(rtp_range), "10000-20000", 1024, 65535,
      "RTP/RTCP port range on each interface (even RTP, RTCP = RTP + 1)" },
    { "capacity", GW_CFG_INT, F(capacity), "10000", 1, 1000000,
      "sessions this node accepts" },
    { "weight", GW_CFG_INT, F(weight), "100", 1, 10000,
      "share of new calls relative to other nodes" },
    { "dscp", GW_CFG_INT, F(dscp), "46", 0, 63,
      "DSCP on media packets (46 = EF)" },
    { "ext_symmetric", GW_CFG_BOOL, F(ext_symmetric), "yes", 0, 0,
      "EXT legs send only to the address latched from the peer's packets" },
    { "workers", GW_CFG_INT, F(workers), "0", 0, 64,
      "packet threads, each with its own loop (0 = one per core)" },
    { "timeout", GW_CFG_INT, F(timeout), "60", 1, 86400,
      "seconds without media on a leg before sigd is told (media timeout)" },
    { "hold_timeout", GW_CFG_INT, F(hold_timeout), "3600", 1, 86400,
      "the same for calls on hold (sendonly/inactive)" },
    { "sock_buf_kb", GW_CFG_INT, F(sock_buf_kb), "256", 16, 65536,
      "SO_RCVBUF/SO_SNDBUF of each media socket, KiB" },
    { "rt_priority", GW_CFG_INT, F(rt_priority), "0", 0, 98,
      "SCHED_FIFO priority of the packet threads (1-98), so that other jobs "
      "on the host cannot delay media; 0 = normal scheduling. Needs "
      "CAP_SYS_NICE or RLIMIT_RTPRIO (systemd LimitRTPRIO=)" },
    { "worker_cpus", GW_CFG_STR, F(worker_cpus), "", 0, 0,
      "pin packet thread i to one CPU: 'auto' (the i-th CPU mediad may run "
      "on, round robin) or a list such as 0,2-3 (its i-th entry, round "
      "robin); empty = the kernel places them" },
    { "delay_stats", GW_CFG_BOOL, F(delay_stats), "yes", 0, 0,
      "measure how long packets stay in mediad (kernel receive timestamp to "
      "send), as a histogram in the heartbeat and gwctl nodes" },
    { "delay_sample", GW_CFG_INT, F(delay_sample), "10", 1, 1000,
      "delay_stats measures the packets of one session in this many (1 = "
      "all; the stamps cost a few per cent of a worker under full load)" },
    { "log_level", GW_CFG_LEVEL, F(log_level), "info", 0, 0,
      "err, warn, info or debug" },
    GW_CFG_END
};
