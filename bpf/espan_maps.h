/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Map values shared by bpf/espan.bpf.c and native/: the filter settings user
 * space writes and the counters it reads.
 */
#ifndef ESPAN_MAPS_H
#define ESPAN_MAPS_H

/* pid_filter / comm_filter values */
#define PID_VERDICT_INCLUDE 1
#define PID_VERDICT_EXCLUDE 2

/* indexes of the per-CPU `drops` counters */
#define DROP_RINGBUF_FULL 0 /* ring buffer had no room: the record is lost */
#define DROP_CALLS_FULL 1   /* too many syscalls in flight to remember their arguments */
#define COUNT_TLS_CIPHERTEXT 2  /* socket calls of a TLS connection, not sent: its plaintext is (not a loss) */
#define COUNT_TLS_NO_CONNECTION 3 /* plaintext of a TLS library call whose connection is not known: lost */
#define DROP_COUNTERS 4

/* the single entry of the `espan_config` array */
struct espan_config {
  __u32 enabled;      /* 0 until user space has written the filters */
  __u32 self_pid;     /* espan itself: never traced, so its own export traffic never loops */
  __u32 trace_all;    /* trace every process not excluded */
  __u32 filter_comms; /* consult comm_filter for processes without a pid verdict */
  __u32 filter_ports; /* only connections with a port in port_filter */
  __u32 filter_netns; /* only connections in a netns in netns_filter */
  __u32 capture_size; /* payload bytes per record, <= L7_BUFFER_SIZE */
  __u32 filter_gen;   /* bumped by user space on every filter change: threads decide again */
  __u64 wakeup_bytes; /* wake the consumer each time this much more data was written */
  __u32 tls;          /* TLS plaintext capture: the uprobes record, TLS connections' ciphertext is not sent */
  __u32 _pad;
};

struct comm_key {
  char comm[16];
};

/* conn_state.flags: what the socket tracepoints still owe a connection */
#define CONN_TUPLE_PENDING (1u << 0) /* seen at connect, before the kernel chose the local port */
#define CONN_OWES_CONNECT (1u << 1)  /* connect record sent when the handshake completes */
#define CONN_OWES_ACCEPT (1u << 2)   /* accept record sent with the first call of the process that took it */
#define CONN_CLOSE_SENT (1u << 3)
#define CONN_TLS (1u << 4) /* its socket calls carry TLS records: not sent (the plaintext is, from the TLS library) */
#define CONN_DATA_SEEN (1u << 5) /* a data record with payload was made (TLS capture only: where a handshake may begin) */

/* per connection (keyed by struct sock address) */
struct conn_state {
  __u32 saddr[4];
  __u32 daddr[4];
  __u16 sport;
  __u16 dport;
  __u32 port_pair; /* skc_portpair when first seen */
  __u32 netns;
  __u32 meta;      /* CONN_META_* */
  __u32 prandom;
  __u32 index;     /* next per-connection call number */
  __u32 flags;     /* CONN_TUPLE_PENDING... (socket tracepoints only) */
  /* the traced thread that owns the connection, for records made where no such thread runs */
  __u64 owner_pid_tgid; /* 0: none yet */
  __u8 owner_comm[16];
  __s32 owner_fd;
  __u32 _pad;
  /* first seen (its low half is the connection id's ktime); for a socket tracepoint's connect or accept: connect began / handshake completed */
  __u64 opened_ts;
  /* TLS with a memory BIO (Node): ciphertext bytes the library made for SSL_writes and has not sent yet */
  __u32 tls_unsent;
  __u32 _pad2;
};

/* go_procs values: where a Go process's runtime keeps what the goroutine probes read (byte offsets into its structs) */
struct go_offsets {
  __u32 g_goid;  /* runtime.g.goid */
  __u32 g_m;     /* runtime.g.m */
  __u32 g_sched; /* runtime.g.sched */
  __u32 m_curg;  /* runtime.m.curg */
  __u32 sudog_g; /* runtime.sudog.g */
  __u32 _pad;
};

#endif
