/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one definition of the record the probe sends to user space. Included by
 * bpf/espan.bpf.c and native/; core/records/network-data.ts mirrors the layout
 * (the addon reports the offsets so a mismatch is caught at load time).
 */
#ifndef ESPAN_NETWORK_DATA_H
#define ESPAN_NETWORK_DATA_H

#ifndef L7_BUFFER_SIZE
#define L7_BUFFER_SIZE 4096 /* bytes of payload captured per call; must be a power of two */
#endif

/* func_id: which syscall produced the record. */
enum espan_func_id {
  FUNC_READ = 1,
  FUNC_WRITE = 2,
  FUNC_READV = 3,
  FUNC_WRITEV = 4,
  FUNC_SENDTO = 5,
  FUNC_RECVFROM = 6,
  FUNC_SENDMSG = 7,
  FUNC_RECVMSG = 8,
  /* connection state: buf_len and act_size are 0, no payload */
  FUNC_CONNECT = 9,
  FUNC_ACCEPT = 10,
  FUNC_ACCEPT4 = 11,
  FUNC_CLOSE = 12,
};

/* conn.meta bits */
#define CONN_META_IPV6 (1u << 0)   /* else IPv4 (address in the last element of saddr/daddr) */
#define CONN_META_UDP (1u << 1)    /* else TCP */
#define CONN_META_CLIENT (1u << 2) /* this side called connect() */
#define CONN_META_SERVER (1u << 3) /* this side accepted the connection */
#define CONN_META_TLS (1u << 4)    /* TLS: data records carry the plaintext, taken in the TLS library (uprobes) */
#define CONN_META_NO_TASK (1u << 8) /* no process behind the record (pcap): pid/tid/comm unknown */

struct network_data {
  struct {
    __u64 ts;       /* syscall start, ns, bpf_ktime_get_ns (CLOCK_MONOTONIC) */
    __u64 ts_tail;  /* syscall end */
    __u64 tid_utid; /* low 32 bits: kernel thread id; high 32: user-level thread id where known */
    __u8 comm[16];
    struct {
      __u64 sk;       /* kernel address of struct sock */
      __u32 ktime;    /* low 32 bits of the time the connection was first seen */
      __u32 prandom;  /* random salt: sk addresses are reused */
    } uni_id;
    struct {
      __be32 saddr[4]; /* own address; IPv4 in saddr[3] */
      __be32 daddr[4]; /* peer address */
      __u16 sport;     /* own port, host byte order */
      __u16 dport;     /* peer port, host byte order */
      __u32 pid;       /* tgid */
      __u32 netns;     /* network namespace inode */
      __u32 meta;      /* CONN_META_* */
    } conn;
    __u32 tcp_seq;  /* TCP sequence number of the first byte this call moved */
    __u16 loop_tick; /* event-loop tick tag: wait generation << 5 | poll phases seen << 4 | reads in the tick so far (bpf/espan.bpf.c, event-loop ticks); 0 unknown */
    __u16 func_id;  /* enum espan_func_id */
    __s32 fd;
    __s32 buf_len;  /* bytes the syscall moved (its return value; <= 0 on error/EOF) */
    __s32 act_size; /* bytes of payload captured: min(buf_len, L7_BUFFER_SIZE) */
    __u32 index;    /* per-socket call counter: order of the calls on this connection */
  } meta;
  __u8 payload[L7_BUFFER_SIZE]; /* only act_size bytes are sent to user space */
};

#endif
