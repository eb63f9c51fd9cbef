// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * espan probe: one network_data record per socket syscall on a TCP socket.
 *
 * Only tracepoints are used: kprobes and fentry are not available on every
 * machine espan runs on. native/ loads one of two sets of programs:
 *
 * - socket tracepoints (sock_send_length, sock_recv_length, inet_sock_set_state,
 *   tcp_destroy_sock): they fire only for socket sends and receives, with the
 *   socket in hand, so the rest of the machine's syscalls cost nothing. The
 *   syscall and its arguments are read from the thread's saved registers.
 * - the raw syscall tracepoints sys_enter/sys_exit, for kernels without the
 *   above: enter saves arguments by thread, exit builds the record. Every
 *   syscall on the machine pays for the dispatch.
 *
 * All filters are maps written by native/, so that uninteresting calls return
 * before any socket walk.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "network_data.h"
#include "espan_maps.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EAGAIN 11
#define EINPROGRESS 115
#define MSG_PEEK 2
#define PF_EXITING 0x00000004
#define PF_IO_WORKER 0x00000010
#define PF_KTHREAD 0x00200000
/* iovecs looked at per readv/writev/sendmsg/recvmsg; later ones are not captured */
#define MAX_IOV 16

/* The syscalls the probe dispatches on (the numbers are the architecture's), and where their arguments are. */
#if defined(__TARGET_ARCH_x86)
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_readv 19
#define NR_writev 20
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_accept4 288
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#define ARG1(regs) ((regs)->di)
#define ARG2(regs) ((regs)->si)
#define ARG3(regs) ((regs)->dx)
/* a 32-bit process's syscalls have other numbers (in_ia32_syscall) */
#define COMPAT_SYSCALL(task) ((task)->thread_info.status & 0x0002 /* TS_COMPAT */)
#elif defined(__TARGET_ARCH_arm64)
#define NR_read 63
#define NR_write 64
#define NR_close 57
#define NR_readv 65
#define NR_writev 66
#define NR_connect 203
#define NR_accept 202
#define NR_sendto 206
#define NR_recvfrom 207
#define NR_sendmsg 211
#define NR_recvmsg 212
#define NR_accept4 242
#define SYSCALL_NR(regs) ((regs)->syscallno)
#define ARG1(regs) ((regs)->orig_x0)
#define ARG2(regs) ((regs)->regs[1])
#define ARG3(regs) ((regs)->regs[2])
#define COMPAT_SYSCALL(task) ((task)->thread_info.flags & (1UL << 22) /* TIF_32BIT */)
#else
#error "syscall numbers for this architecture are not known"
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct espan_config);
} espan_config SEC(".maps");

/* tgid -> PID_VERDICT_* */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u8);
} pid_filter SEC(".maps");

/* comm (16 bytes, zero padded) -> PID_VERDICT_*, for processes user space has not scanned yet */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, struct comm_key);
  __type(value, __u8);
} comm_filter SEC(".maps");

/* port -> 1 when traced; an array lookup is inlined by the verifier, a hash lookup is a call */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u8);
} port_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u8);
} netns_filter SEC(".maps");

#define RCV_SHUTDOWN 1 /* sk_shutdown bit (include/net/sock.h) */

/* per-CPU counters indexed by DROP_* */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DROP_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

/* LRU: processes that exit close their sockets without a close() we could see */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct conn_state);
} conns SEC(".maps");

/*
 * Per thread: the TLS library call in progress (SSL_read/SSL_write and their
 * _ex forms), and the socket call that carried its TLS record.
 */
struct tls_call {
  __u64 ssl;     /* the SSL * of the call in progress; 0: none */
  __u64 buf;     /* its plaintext buffer */
  __u64 len_out; /* _ex forms: where the library stores the byte count (their return value is 1 or 0) */
  __u64 ts;
  __u64 sk;      /* the first socket call inside it in its direction (0: none yet)... */
  __s32 fd;
  __u32 seq;     /* ...and the sequence number of the first byte it moved: where the TLS record starts */
  /*
   * Libraries that do their socket I/O outside the TLS call (Node: memory BIOs)
   * read the ciphertext just before SSL_read on the same thread: the last such read.
   */
  __u64 read_sk;
  __s32 read_fd;
  __u32 read_seq;    /* where that read began */
  __u64 read_buf;    /* its buffer, still holding the ciphertext while the library decrypts it */
  __u32 read_len;
  __u32 read_cursor; /* offset of the first record of the read no SSL_read has been matched to */
  __u8 egress;
  __u8 read_fresh; /* a ciphertext read since the last SSL_read of this thread */
  __u8 _pad[6];
};

/* Per thread: the call a record is being made of, and whether the thread's process is traced. */
struct call_args {
  __u64 pending; /* syscall tracepoints: set at enter, cleared at exit (a call whose enter was not traced has nothing here) */
  __u64 ts;
  __u64 sk;
  __u64 buf; /* user buffer, or struct iovec * when iovcnt > 0 */
  __u64 pid_tgid;
  __u8 comm[16];
  __u32 iovcnt;
  __u32 tcp_seq;
  __s32 fd;
  __u16 func_id;
  __u8 traced;       /* the process selection's verdict for this thread's process... */
  __u8 go;           /* ...whether it is a Go process whose goroutines are followed (go_procs)... */
  __u32 verdict_gen; /* ...decided under this espan_config.filter_gen (0: not yet) */
  __u32 _pad2;
  struct tls_call tls;
  struct conn_state closing; /* close: the socket's connection as it was at enter */
};

/*
 * A syscall's arguments from enter to exit, in the thread's own task storage:
 * no hashing, no insert and delete per call as a hash keyed by thread id would
 * cost. It also keeps the thread's process verdict, so that the filter maps are
 * looked up once per thread and filter change, not on every call.
 */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct call_args);
} active_calls SEC(".maps");

static __always_inline struct call_args *call_slot(bool create) {
  return bpf_task_storage_get(&active_calls, bpf_get_current_task_btf(), 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* Connection records made where the owning thread is not running (a handshake completing in softirq). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct call_args);
} state_scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 * 1024 * 1024); /* native/ sets the configured size before load */
} records SEC(".maps");

static __always_inline void count_drop(__u32 which) {
  __u64 *c = bpf_map_lookup_elem(&drops, &which);
  if (c) *c += 1;
}

static __always_inline struct espan_config *current_config(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&espan_config, &zero);
}

/* Process selection; true when calls of the current task are traced. */
static __always_inline bool task_traced(struct espan_config *cfg, __u32 tgid) {
  if (tgid == cfg->self_pid) return false;
  __u8 *v = bpf_map_lookup_elem(&pid_filter, &tgid);
  __u8 verdict = v ? *v : 0;
  if (!verdict && cfg->filter_comms) {
    struct comm_key key = {};
    bpf_get_current_comm(key.comm, sizeof(key.comm));
    __u8 *c = bpf_map_lookup_elem(&comm_filter, &key);
    if (c) verdict = *c;
  }
  if (verdict == PID_VERDICT_EXCLUDE) return false;
  return cfg->trace_all || verdict == PID_VERDICT_INCLUDE;
}

/* whether user space found the process to be Go (section Go runtime, at the end) */
static __always_inline bool go_process(__u32 tgid);

/* The current thread's call slot when its process is traced, else 0. */
static __always_inline struct call_args *traced_call_slot(struct espan_config *cfg, __u64 pid_tgid) {
  if (!cfg->enabled || COMPAT_SYSCALL(bpf_get_current_task_btf())) return 0;
  struct call_args *a = call_slot(true);
  if (!a) {
    /* no memory for the slot: only a traced thread's call is a loss worth counting */
    if (task_traced(cfg, pid_tgid >> 32)) count_drop(DROP_CALLS_FULL);
    return 0;
  }
  __u32 gen = cfg->filter_gen;
  if (a->verdict_gen != gen) {
    a->traced = task_traced(cfg, pid_tgid >> 32);
    a->go = a->traced && go_process(pid_tgid >> 32);
    a->verdict_gen = gen;
  }
  return a->traced ? a : 0;
}

/*
 * Typed, read-only views of kernel pointers: direct loads through them are
 * checked by the verifier and fault-safe, and cost a fraction of the
 * bpf_probe_read_kernel call each field would otherwise take (the fd walk below
 * is a dozen fields on every read and write of a traced process).
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define AS(type, ptr) ((struct type *)bpf_rdonly_cast((void *)(ptr), bpf_core_type_id_kernel(struct type)))

static __always_inline bool is_tcp(struct sock *sk) {
  __u16 family = sk->__sk_common.skc_family;
  if (family != AF_INET && family != AF_INET6) return false;
  return sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM;
}

/* fd -> struct sock of a TCP/IPv4-or-IPv6 socket, else 0. The inode mode test rejects files and pipes early. */
static __always_inline struct sock *tcp_sock_of_fd(__s32 fd) {
  if (fd < 0) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  struct fdtable *fdt = task->files->fdt;
  if (!fdt || (__u32)fd >= fdt->max_fds) return 0;
  struct file *f = AS(file, fdt->fd[fd]);
  if (!f) return 0;
  if ((f->f_inode->i_mode & S_IFMT) != S_IFSOCK) return 0;
  struct socket *sock = AS(socket, f->private_data);
  if (!sock) return 0;
  struct sock *sk = sock->sk;
  if (!sk || !is_tcp(sk)) return 0;
  return sk;
}

/* both ports in one read: enough to notice that a cached sk address now belongs to another connection */
static __always_inline __u32 port_pair(struct sock *sk) {
  return AS(sock, sk)->__sk_common.skc_portpair;
}

static __always_inline void read_tuple(struct sock *s, struct conn_state *cs) {
  struct sock *sk = AS(sock, s);
  cs->port_pair = sk->__sk_common.skc_portpair;
  cs->sport = sk->__sk_common.skc_num;
  cs->dport = bpf_ntohs(sk->__sk_common.skc_dport);
  cs->netns = sk->__sk_common.skc_net.net->ns.inum;
  if (sk->__sk_common.skc_family == AF_INET6) {
    /* IPv4-mapped IPv6 (::ffff:a.b.c.d) stays IPv6: it is what the application sees */
    for (int i = 0; i < 4; i++) {
      cs->saddr[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
      cs->daddr[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
    }
    cs->meta |= CONN_META_IPV6;
  } else {
    cs->saddr[0] = cs->saddr[1] = cs->saddr[2] = 0;
    cs->daddr[0] = cs->daddr[1] = cs->daddr[2] = 0;
    cs->saddr[3] = sk->__sk_common.skc_rcv_saddr;
    cs->daddr[3] = sk->__sk_common.skc_daddr;
  }
}

/*
 * Whether a cached entry still describes the socket at its address: the port
 * pair is the same, or the local port is gone because TCP finished closing
 * (TIME_WAIT, a reset) while the application still holds the socket.
 */
static __always_inline bool same_connection(struct conn_state *cs, struct sock *sk) {
  __u32 now = port_pair(sk);
  return cs->port_pair == now || (now >> 16) == 0; /* skc_num, the local port, is the high half */
}

enum conn_lookup {
  CONN_VERIFY, /* a cached entry holds while the socket's port pair still matches */
  CONN_FRESH,  /* connect/accept: a new connection even if a stale entry for a reused sk exists */
  CONN_CACHED, /* close exit: the socket may already be torn down, so only the cache is believed */
};

/* A new connection's identity (when it was first seen, and a salt: sk addresses are reused) and side. */
static __always_inline void new_conn(struct conn_state *c, __u32 meta) {
  c->opened_ts = bpf_ktime_get_ns();
  c->prandom = bpf_get_prandom_u32();
  c->meta = meta;
}

/* The connection's state, created when first seen. */
static __always_inline struct conn_state *conn_of(struct sock *sk, __u32 meta, enum conn_lookup how) {
  __u64 key = (__u64)sk;
  struct conn_state *cs = bpf_map_lookup_elem(&conns, &key);
  if (cs && (how == CONN_CACHED || (how == CONN_VERIFY && same_connection(cs, sk)))) return cs;
  if (how == CONN_CACHED) return 0;
  if (cs && how == CONN_VERIFY && (cs->flags & CONN_TUPLE_PENDING)) {
    /* data before the handshake completed (TCP Fast Open): the local port is known by now */
    read_tuple(sk, cs);
    cs->flags &= ~CONN_TUPLE_PENDING;
    return cs;
  }
  struct conn_state init = {};
  new_conn(&init, meta);
  read_tuple(sk, &init);
  bpf_map_update_elem(&conns, &key, &init, BPF_ANY);
  return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline bool conn_filtered_out(struct espan_config *cfg, struct conn_state *cs) {
  if (cfg->filter_ports) {
    __u32 sport = cs->sport, dport = cs->dport;
    __u8 *a = bpf_map_lookup_elem(&port_filter, &sport);
    __u8 *b = bpf_map_lookup_elem(&port_filter, &dport);
    if (!(a && *a) && !(b && *b)) return true;
  }
  if (cfg->filter_netns) {
    __u32 ns = cs->netns;
    if (!bpf_map_lookup_elem(&netns_filter, &ns)) return true;
  }
  return false;
}

#define META_SIZE sizeof(((struct network_data *)0)->meta)

/*
 * Records are built in place in the ring buffer, reserved with room for the
 * smallest power of two of payload bytes, from ROOM_MIN to L7_BUFFER_SIZE,
 * that the call's capture fits: the verifier needs the size of a reservation
 * to be a constant, and room reserved but not filled is ring space lost (a
 * full ring holds that many fewer records). User space takes meta plus
 * act_size bytes of each, whatever its room.
 */
#define ROOM_MIN 64
_Static_assert(L7_BUFFER_SIZE >= 32 * ROOM_MIN, "the room classes of emit_data run from ROOM_MIN to L7_BUFFER_SIZE");

/*
 * An iovec call's payload is gathered here first and then copied into its
 * record: written into the ring directly, each iovec at a variable offset, it
 * would need twice its room reserved (the verifier proves an offset and a
 * length within bounds each, not their sum), hence the slack here. Per CPU:
 * only the tracepoint programs gather, which run with preemption off and never
 * nest with another data record's program on their CPU.
 */
struct iov_gather {
  __u8 bytes[2 * L7_BUFFER_SIZE];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct iov_gather);
} gathered SEC(".maps");

/* Copies up to `want` (<= L7_BUFFER_SIZE) bytes of the iovec array at a->buf into `dst`; returns bytes copied. */
static __always_inline __u32 gather_iov(__u8 *dst, struct call_args *a, __u32 want) {
  __u32 off = 0;
  struct iovec *v_arr = (struct iovec *)a->buf;
  /* iovec entries are read two at a time: a header and a body (nginx's writev) take one read */
  for (int i = 0; i < MAX_IOV; i += 2) {
    if (i >= a->iovcnt || off >= want) break;
    struct iovec v[2];
    __u32 n = a->iovcnt - i >= 2 ? 2 : 1;
    if (bpf_probe_read_user(v, n * sizeof(struct iovec), &v_arr[i])) break;
    for (int k = 0; k < 2; k++) {
      if (k >= n || off >= want) break;
      __u64 len = v[k].iov_len;
      __u32 left = want - off;
      if (len > left) len = left;
      if (len > L7_BUFFER_SIZE) len = L7_BUFFER_SIZE;
      __u32 at = off & (L7_BUFFER_SIZE - 1);
      if (bpf_probe_read_user(dst + at, len, v[k].iov_base)) return off;
      off += len;
    }
  }
  return off;
}

/*
 * Waking the consumer per record (the kernel's default) costs more than the
 * probe itself. The record whose reservation (`size`, already counted in the
 * producer position) crosses a multiple of wakeup_bytes wakes it; otherwise it
 * finds the data on its short poll timer. Counting from the producer position
 * alone gives one wake-up per wakeup_bytes written, however far behind the
 * consumer is: a test of the bytes waiting would fire again each time the
 * draining consumer brought them back under the mark, and on every record while
 * they stay over it (each a self-IPI, a VM exit on a guest).
 */
static __always_inline void submit(struct espan_config *cfg, struct network_data *nd, __u32 size) {
  __u64 prod = bpf_ringbuf_query(&records, BPF_RB_PROD_POS);
  __u64 mark = cfg->wakeup_bytes;
  bool crossed = mark && prod >= size && prod / mark != (prod - size) / mark;
  bpf_ringbuf_submit(nd, crossed ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/*
 * Set by native/ before load: the raw syscall tracepoints are the set loaded,
 * the only one that sees an event loop's waits (with the socket tracepoints
 * every tick tag is 0, and the verifier drops the code that looks them up).
 */
const volatile bool syscall_tracepoints = false;

/* the goroutine behind a data record of a Go process (section Go runtime, at the end) */
static __noinline __u32 go_utid(__u64 pid_tgid, __u32 func_id, __u32 conn_meta);
/* the thread's event-loop tick tag, and its bookkeeping at syscall exits (section event-loop ticks, at the end) */
static __noinline __u16 loop_tick_tag(__u32 tid);
static __noinline int loop_tick_exit(long nr, long ret);

static __always_inline void fill_meta(struct network_data *nd, struct call_args *a, struct conn_state *cs, __u64 now, long ret, __u32 act) {
  __u64 pid_tgid = a->pid_tgid;
  nd->meta.ts = a->ts;
  nd->meta.ts_tail = now;
  nd->meta.tid_utid = (__u32)pid_tgid | (__u64)(a->go ? go_utid(pid_tgid, a->func_id, cs->meta) : 0) << 32;
  __builtin_memcpy(nd->meta.comm, a->comm, sizeof(nd->meta.comm));
  nd->meta.uni_id.sk = a->sk;
  nd->meta.uni_id.ktime = (__u32)cs->opened_ts;
  nd->meta.uni_id.prandom = cs->prandom;
  __builtin_memcpy(nd->meta.conn.saddr, cs->saddr, sizeof(cs->saddr));
  __builtin_memcpy(nd->meta.conn.daddr, cs->daddr, sizeof(cs->daddr));
  nd->meta.conn.sport = cs->sport;
  nd->meta.conn.dport = cs->dport;
  nd->meta.conn.pid = pid_tgid >> 32;
  nd->meta.conn.netns = cs->netns;
  nd->meta.conn.meta = cs->meta;
  nd->meta.tcp_seq = a->tcp_seq;
  nd->meta.loop_tick = syscall_tracepoints ? loop_tick_tag((__u32)pid_tgid) : 0;
  nd->meta.func_id = a->func_id;
  nd->meta.fd = a->fd;
  nd->meta.buf_len = ret;
  nd->meta.act_size = act;
  nd->meta.index = __sync_fetch_and_add(&cs->index, 1);
}

/*
 * A TLS ClientHello or ServerHello record, or the header of a handshake record
 * read alone. A connection's first bytes may also be the start of one (nginx
 * peeks at one byte to tell TLS from HTTP); later, so few bytes say too little.
 */
static __always_inline bool tls_handshake_record(const __u8 *p, __u32 act, bool first) {
  if (act < 1 || p[0] != 0x16 /* handshake */) return false;
  if (act < 2) return first;
  if (p[1] != 3) return false;
  if (act < 3) return first;
  if (p[2] < 1 || p[2] > 4) return false;
  if (act < 5) return first;
  if (((p[3] << 8) | p[4]) > 16384 + 2048) return false;
  return act == 5 || p[5] == 1 || p[5] == 2;
}

/*
 * One record with room for `room` payload bytes (a constant), `want` <= room of
 * them captured: from the user buffer at a->buf, or from `gathered` (an iovec
 * call's payload, gather_iov) when not 0.
 */
static __always_inline void emit(struct espan_config *cfg, struct call_args *a, struct conn_state *cs, __u64 now, long ret, __u32 want,
                                 const __u32 room, const __u8 *gathered) {
  const __u32 size = META_SIZE + room;
  struct network_data *nd = bpf_ringbuf_reserve(&records, size, 0);
  if (!nd) {
    count_drop(DROP_RINGBUF_FULL);
    /* the record's index is spent all the same: the gap tells user space a record of this connection was lost */
    __sync_fetch_and_add(&cs->index, 1);
    return;
  }
  if (want > room) want = room;
  __u32 act = 0;
  if (want) {
    long err = gathered ? bpf_probe_read_kernel(nd->payload, want, gathered) : bpf_probe_read_user(nd->payload, want, (void *)a->buf);
    act = err ? 0 : want;
  }
  if (cfg->tls && act && !(cs->meta & CONN_META_TLS)) {
    if (tls_handshake_record(nd->payload, act, !(cs->flags & CONN_DATA_SEEN))) {
      /* the connection's socket calls carry ciphertext from here on; its plaintext comes from the TLS library */
      cs->flags |= CONN_TLS;
      bpf_ringbuf_discard(nd, BPF_RB_NO_WAKEUP);
      count_drop(COUNT_TLS_CIPHERTEXT);
      return;
    }
    if (!(cs->flags & CONN_DATA_SEEN)) cs->flags |= CONN_DATA_SEEN;
  }
  fill_meta(nd, a, cs, now, ret, act);
  submit(cfg, nd, size + BPF_RINGBUF_HDR_SZ);
}

/*
 * The record of a data call that moved `ret` bytes, in the smallest room its
 * captured payload fits; `iov` (a constant) says a->buf is an iovec array.
 */
static __always_inline void emit_data(struct espan_config *cfg, struct call_args *a, struct conn_state *cs, __u64 now, long ret, const bool iov) {
  __u32 want = 0;
  if (ret > 0) {
    __u32 cap = cfg->capture_size;
    if (cap > L7_BUFFER_SIZE) cap = L7_BUFFER_SIZE;
    want = ret < cap ? (__u32)ret : cap;
  }
  const __u8 *from = 0;
  if (iov && want) {
    __u32 zero = 0;
    struct iov_gather *g = bpf_map_lookup_elem(&gathered, &zero);
    if (!g) return;
    want = gather_iov(g->bytes, a, want);
    from = g->bytes;
  }
  if (want <= ROOM_MIN)
    emit(cfg, a, cs, now, ret, want, ROOM_MIN, from);
  else if (want <= 2 * ROOM_MIN)
    emit(cfg, a, cs, now, ret, want, 2 * ROOM_MIN, from);
  else if (want <= 4 * ROOM_MIN)
    emit(cfg, a, cs, now, ret, want, 4 * ROOM_MIN, from);
  else if (want <= 8 * ROOM_MIN)
    emit(cfg, a, cs, now, ret, want, 8 * ROOM_MIN, from);
  else if (want <= 16 * ROOM_MIN)
    emit(cfg, a, cs, now, ret, want, 16 * ROOM_MIN, from);
  else if (want <= L7_BUFFER_SIZE / 2)
    emit(cfg, a, cs, now, ret, want, L7_BUFFER_SIZE / 2, from);
  else
    emit(cfg, a, cs, now, ret, want, L7_BUFFER_SIZE, from);
}

/* the calling thread, for the record being made */
static __always_inline void set_caller(struct call_args *a, __u64 pid_tgid) {
  a->pid_tgid = pid_tgid;
  /* two loads instead of the bpf_get_current_comm call */
  struct task_struct *task = bpf_get_current_task_btf();
  __builtin_memcpy(a->comm, task->comm, sizeof(a->comm));
}

/* ---- TLS: the socket side ---- */

/* TLS records looked at in one ciphertext read to find where the last one begins */
#define MAX_TLS_RECORDS 16

/* Bytes a TLS 1.3 record adds to its plaintext (header, content type, AEAD tag) */
#define TLS13_RECORD_OVERHEAD 22
#define TLS_MAX_PLAINTEXT 16384

/*
 * The record of a ciphertext read (`len` bytes at user address `buf`, from
 * offset `*cursor`) that decrypts to `plain` bytes: its offset, and the cursor
 * moved past it; else the offset of the read's last record (cursor unchanged).
 * Records that decrypt to something else (session tickets) are passed over.
 * TLS 1.2's overhead differs: its records are then never matched.
 */
static __always_inline __u32 tls_record_of(__u64 buf, __u32 len, __u32 *cursor, long plain, bool *matched) {
  __u32 off = *cursor, last = 0;
  *matched = false;
  for (int i = 0; i < MAX_TLS_RECORDS; i++) {
    __u8 h[5];
    if (off + 5 > len || bpf_probe_read_user(h, sizeof(h), (void *)(buf + off))) break;
    /* content types 20-24, version 3.x: else not a record boundary (a read that began inside a record) */
    if (h[0] < 20 || h[0] > 24 || h[1] != 3) break;
    __u32 size = 5 + ((h[3] << 8) | h[4]);
    last = off;
    if (size == plain + TLS13_RECORD_OVERHEAD) {
      *cursor = off + size;
      *matched = true;
      return off;
    }
    off += size;
  }
  return last;
}

/*
 * A socket data call when TLS capture is on: true when its record is not sent
 * because its bytes are TLS records. Inside a TLS library call it is the call
 * that carried the TLS record the plaintext travels in: the plaintext record
 * made when the library returns takes its connection and sequence number. A
 * ciphertext read outside one is kept for the SSL_read that follows it on this
 * thread (libraries whose socket I/O is not inside the TLS call: Node).
 */
static __always_inline bool tls_ciphertext(struct call_args *a, struct conn_state *cs, long ret, bool egress, const bool iov) {
  struct tls_call *t = &a->tls;
  if (t->ssl) {
    if (t->egress == egress && !t->sk && ret > 0) {
      t->sk = a->sk;
      t->fd = a->fd;
      t->seq = a->tcp_seq;
    }
    cs->flags |= CONN_TLS;
  } else if (!(cs->flags & CONN_TLS)) {
    return false;
  } else if (!egress && ret > 0 && !iov) {
    t->read_sk = a->sk;
    t->read_fd = a->fd;
    t->read_seq = a->tcp_seq;
    t->read_buf = a->buf;
    t->read_len = ret;
    t->read_cursor = 0;
    t->read_fresh = 1;
  } else if (egress) {
    /* the library's records leave: what it had made and not sent is sent now */
    cs->tls_unsent = 0;
  }
  count_drop(COUNT_TLS_CIPHERTEXT);
  return true;
}

/* ---- syscall tracepoints: data calls ---- */

/*
 * 1 when a read that moved `moved` bytes also took the peer's FIN: the kernel
 * then counts the FIN in copied_seq, one past the data. The FIN was taken by
 * this read when it is in (receive shut down) and nothing is left after it
 * (copied_seq reached rcv_nxt); a FIN still waiting to be read leaves copied_seq one short.
 */
static __always_inline __u32 took_fin(struct sock *sk, struct tcp_sock *tp, __u32 moved) {
  if (!moved || !(AS(sock, sk)->sk_shutdown & RCV_SHUTDOWN)) return 0;
  return tp->copied_seq == tp->rcv_nxt ? 1 : 0;
}

/* sendmsg/recvmsg: the iovecs are in the user's msghdr, at `buf`; false when it cannot be read or has none */
static __always_inline bool iov_of_msghdr(__u64 *buf, __u32 *iovcnt) {
  struct user_msghdr msg;
  if (bpf_probe_read_user(&msg, sizeof(msg), (void *)*buf)) return false;
  *buf = (__u64)msg.msg_iov;
  *iovcnt = msg.msg_iovlen;
  return *iovcnt != 0;
}

/* `msghdr`: buf is a struct user_msghdr * (sendmsg/recvmsg), read only once the call is known to be traced */
static __always_inline int data_enter(__s32 fd, __u64 buf, __u32 iovcnt, __u16 func_id, bool egress, const bool msghdr) {
  struct espan_config *cfg = current_config();
  if (!cfg) return 0;
  struct call_args *a = traced_call_slot(cfg, bpf_get_current_pid_tgid());
  if (!a) return 0;
  struct sock *sk = tcp_sock_of_fd(fd);
  if (!sk) return 0;
  if (msghdr && !iov_of_msghdr(&buf, &iovcnt)) return 0;
  a->pending = 1;
  a->ts = bpf_ktime_get_ns();
  a->sk = (__u64)sk;
  a->buf = buf;
  a->iovcnt = iovcnt;
  a->fd = fd;
  a->func_id = func_id;
  /* the sequence number of the first byte this call moves: the peer's matching call sees the same */
  struct tcp_sock *tp = AS(tcp_sock, sk);
  a->tcp_seq = egress ? tp->write_seq : tp->copied_seq;
  return 0;
}

/*
 * `func_id` guards against a slot left pending by a call whose exit ran before
 * the probe was attached; `iov` (a constant per program) says the buffer is an iovec array.
 */
static __always_inline int data_exit(long ret, __u16 func_id, const bool iov) {
  struct call_args *a = call_slot(false);
  if (!a || !a->pending) return 0;
  if (a->func_id != func_id) {
    a->pending = 0;
    return 0;
  }
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct espan_config *cfg = current_config();
  /* a non-blocking socket with nothing to read says so constantly: not worth a record */
  if (!cfg || ret == -EAGAIN) goto out;
  struct conn_state *cs = conn_of((struct sock *)a->sk, 0, CONN_VERIFY);
  if (!cs || conn_filtered_out(cfg, cs)) goto out;
  if (cfg->tls && tls_ciphertext(a, cs, ret, func_id == FUNC_WRITE || func_id == FUNC_WRITEV || func_id == FUNC_SENDTO || func_id == FUNC_SENDMSG, iov)) goto out;
  set_caller(a, pid_tgid);
  emit_data(cfg, a, cs, bpf_ktime_get_ns(), ret, iov);
out:
  a->pending = 0;
  return 0;
}

/* ---- syscall tracepoints: connection state ---- */

/* connect/accept/close: enter saves the fd (the socket's fd for accept is only known at exit) */
static __always_inline int state_enter(__s32 fd, __u16 func_id) {
  struct espan_config *cfg = current_config();
  if (!cfg) return 0;
  struct call_args *a = traced_call_slot(cfg, bpf_get_current_pid_tgid());
  if (!a) return 0;
  __u64 sk_addr = 0;
  if (func_id == FUNC_CLOSE) {
    /* after close the fd no longer leads to the socket */
    struct sock *sk = tcp_sock_of_fd(fd);
    if (!sk) return 0;
    /* the connection's addresses are read while the socket still has them; listeners have no peer */
    struct conn_state *cs = conn_of(sk, 0, CONN_VERIFY);
    if (!cs || !cs->dport) return 0;
    sk_addr = (__u64)sk;
    __builtin_memcpy(&a->closing, cs, sizeof(a->closing));
    a->tcp_seq = AS(tcp_sock, sk)->write_seq;
  }
  a->pending = 1;
  a->ts = bpf_ktime_get_ns();
  a->sk = sk_addr;
  a->buf = 0;
  a->iovcnt = 0;
  a->fd = fd;
  a->func_id = func_id;
  return 0;
}

static __always_inline int state_exit(long ret, __u16 func_id) {
  struct call_args *a = call_slot(false);
  if (!a || !a->pending) return 0;
  if (a->func_id != func_id) {
    a->pending = 0;
    return 0;
  }
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct espan_config *cfg = current_config();
  if (!cfg) goto out;
  __u32 meta = 0;
  if (a->func_id == FUNC_CLOSE) {
    if (ret < 0) goto out;
  } else if (a->func_id == FUNC_CONNECT) {
    /* a non-blocking connect is under way: the socket already has both addresses */
    if (ret < 0 && ret != -EINPROGRESS) goto out;
    meta = CONN_META_CLIENT;
  } else {
    if (ret < 0) goto out;
    a->fd = ret; /* accept returns the connection's fd */
    meta = CONN_META_SERVER;
  }
  if (!a->sk) {
    struct sock *sk = tcp_sock_of_fd(a->fd);
    if (!sk) goto out;
    a->sk = (__u64)sk;
  }
  struct conn_state *cs = conn_of((struct sock *)a->sk, meta, a->func_id == FUNC_CLOSE ? CONN_CACHED : CONN_FRESH);
  /*
   * close() frees the socket before it returns: by now its address may be a new
   * socket's, whose connection another thread's connect or accept has entered.
   * That one may even have been closed already, taking the entry with it (the
   * address then holds other ports). Either way the socket was freed, so this
   * connection ended: its record is made from the copy taken at enter (numbered
   * before its FIN), and the new one is left alone.
   */
  bool freed = a->func_id == FUNC_CLOSE && (cs ? cs->prandom != a->closing.prandom : port_pair((struct sock *)a->sk) != a->closing.port_pair);
  if (freed) cs = &a->closing;
  if (!cs || conn_filtered_out(cfg, cs)) goto out;
  /* the socket is still open through another fd (a dup, a forking server's child): the connection goes on */
  if (a->func_id == FUNC_CLOSE && !freed && AS(sock, a->sk)->sk_socket) goto out;
  struct tcp_sock *tp = AS(tcp_sock, a->sk);
  if (!freed) a->tcp_seq = a->func_id == FUNC_ACCEPT || a->func_id == FUNC_ACCEPT4 ? tp->copied_seq : tp->write_seq;
  set_caller(a, pid_tgid);
  emit(cfg, a, cs, bpf_ktime_get_ns(), 0, 0, 0, 0);
  if (a->func_id == FUNC_CLOSE && !freed) {
    __u64 key = a->sk;
    bpf_map_delete_elem(&conns, &key);
  }
out:
  a->pending = 0;
  return 0;
}

/* ---- syscall tracepoints: dispatch ----
 *
 * Two BTF raw tracepoints on every syscall instead of one syscall tracepoint
 * per call: the perf layer around syscall tracepoints (a buffer per event,
 * the arguments copied into it) cost about 90 ns per traced event, more than
 * the switch below costs a syscall nobody traces.
 */

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id) {
  __s32 fd = ARG1(regs);
  __u64 buf = ARG2(regs);
  __u32 n = ARG3(regs);
  switch (id) {
  case NR_read: return data_enter(fd, buf, 0, FUNC_READ, false, false);
  case NR_write: return data_enter(fd, buf, 0, FUNC_WRITE, true, false);
  case NR_readv: return data_enter(fd, buf, n ? n : 1, FUNC_READV, false, false);
  case NR_writev: return data_enter(fd, buf, n ? n : 1, FUNC_WRITEV, true, false);
  case NR_sendto: return data_enter(fd, buf, 0, FUNC_SENDTO, true, false);
  case NR_recvfrom: return data_enter(fd, buf, 0, FUNC_RECVFROM, false, false);
  case NR_sendmsg: return data_enter(fd, buf, 0, FUNC_SENDMSG, true, true);
  case NR_recvmsg: return data_enter(fd, buf, 0, FUNC_RECVMSG, false, true);
  case NR_connect: return state_enter(fd, FUNC_CONNECT);
  case NR_accept: return state_enter(fd, FUNC_ACCEPT);
  case NR_accept4: return state_enter(fd, FUNC_ACCEPT4);
  case NR_close: return state_enter(fd, FUNC_CLOSE);
  }
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret) {
  loop_tick_exit(SYSCALL_NR(regs), ret);
  /* the enter program left nothing pending for a syscall it did not trace: func_id tells which one it was */
  __u16 func_id;
  bool iov = false;
  switch (SYSCALL_NR(regs)) {
  case NR_read: func_id = FUNC_READ; break;
  case NR_write: func_id = FUNC_WRITE; break;
  case NR_readv: func_id = FUNC_READV; iov = true; break;
  case NR_writev: func_id = FUNC_WRITEV; iov = true; break;
  case NR_sendto: func_id = FUNC_SENDTO; break;
  case NR_recvfrom: func_id = FUNC_RECVFROM; break;
  case NR_sendmsg: func_id = FUNC_SENDMSG; iov = true; break;
  case NR_recvmsg: func_id = FUNC_RECVMSG; iov = true; break;
  case NR_connect: return state_exit(ret, FUNC_CONNECT);
  case NR_accept: return state_exit(ret, FUNC_ACCEPT);
  case NR_accept4: return state_exit(ret, FUNC_ACCEPT4);
  case NR_close: return state_exit(ret, FUNC_CLOSE);
  default: return 0;
  }
  /* one copy of the data path for buffers and one for iovecs, not one per syscall: each holds a record build per room */
  if (iov) return data_exit(ret, func_id, true);
  return data_exit(ret, func_id, false);
}

/* ---- socket tracepoints ----
 *
 * sock_send_length and sock_recv_length fire after a socket's send or receive
 * with the bytes it moved; the syscall behind it is read from the thread's
 * saved registers. A record's ts and ts_tail are both that moment: one clock
 * read instead of two. Connection state comes from TCP's own state changes:
 * the connect record when the handshake completes, the accept record with the
 * first call of the process that took the connection (the kernel has no
 * tracepoint in accept, so accept and accept4 both say FUNC_ACCEPT), the close
 * record from the owner's close() or exit, or when the socket is destroyed if
 * TCP had finished with it first.
 */

static __always_inline struct pt_regs *syscall_regs(void) {
  return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* a kernel socket (NFS, iSCSI...) has no file: its sends run inside some other syscall of the thread */
static __always_inline bool user_socket(struct sock *sk) {
  struct socket *so = sk->sk_socket;
  return so && so->file;
}

/* A record about the connection itself (no payload) on behalf of its owner, from wherever TCP changed state. */
static __always_inline void emit_state(struct espan_config *cfg, struct conn_state *cs, struct sock *sk, __u16 func_id, __u64 ts, __u32 seq) {
  __u32 zero = 0;
  struct call_args *a = bpf_map_lookup_elem(&state_scratch, &zero);
  if (!a) return;
  a->ts = ts;
  a->sk = (__u64)sk;
  a->buf = 0;
  a->iovcnt = 0;
  a->pid_tgid = cs->owner_pid_tgid;
  __builtin_memcpy(a->comm, cs->owner_comm, sizeof(a->comm));
  a->fd = cs->owner_fd;
  a->func_id = func_id;
  a->tcp_seq = seq;
  emit(cfg, a, cs, bpf_ktime_get_ns(), 0, 0, 0, 0);
}

/* once per connection, and only for one announced by a connect or accept record */
static __always_inline void emit_close(struct espan_config *cfg, struct conn_state *cs, struct sock *sk) {
  if (!cs->owner_pid_tgid || (cs->flags & (CONN_CLOSE_SENT | CONN_OWES_CONNECT | CONN_OWES_ACCEPT | CONN_TUPLE_PENDING))) return;
  cs->flags |= CONN_CLOSE_SENT;
  if (!conn_filtered_out(cfg, cs)) emit_state(cfg, cs, sk, FUNC_CLOSE, bpf_ktime_get_ns(), AS(tcp_sock, sk)->write_seq);
}

static __always_inline int sock_data(struct sock *sk, int ret, int flags, const bool egress) {
  if (!is_tcp(sk) || ret == -EAGAIN || !user_socket(sk)) return 0;
  struct espan_config *cfg = current_config();
  if (!cfg) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct call_args *a = traced_call_slot(cfg, pid_tgid);
  if (!a) return 0;
  /* io_uring's workers send for the ring, not for a syscall of theirs: their registers say nothing */
  struct task_struct *task = bpf_get_current_task_btf();
  if (task->flags & (PF_KTHREAD | PF_IO_WORKER)) return 0;
  struct pt_regs *regs = syscall_regs();
  __u64 buf = ARG2(regs);
  __u32 iovcnt = 0;
  __u16 func_id;
  bool iov = false;
  /* sendmmsg, io_uring, splice and the like also end here: not recorded */
  switch (SYSCALL_NR(regs)) {
  case NR_read: func_id = FUNC_READ; break;
  case NR_write: func_id = FUNC_WRITE; break;
  case NR_sendto: func_id = FUNC_SENDTO; break;
  case NR_recvfrom: func_id = FUNC_RECVFROM; break;
  case NR_readv: func_id = FUNC_READV; break;
  case NR_writev: func_id = FUNC_WRITEV; break;
  case NR_sendmsg: func_id = FUNC_SENDMSG; break;
  case NR_recvmsg: func_id = FUNC_RECVMSG; break;
  default: return 0;
  }
  /* a receive inside a send syscall, or the reverse, is not the call it seems (a socket in the middle of something else) */
  bool sends = func_id == FUNC_WRITE || func_id == FUNC_SENDTO || func_id == FUNC_WRITEV || func_id == FUNC_SENDMSG;
  if (sends != egress) return 0;
  if (func_id == FUNC_READV || func_id == FUNC_WRITEV) {
    iovcnt = ARG3(regs);
    iov = true;
  } else if (func_id == FUNC_SENDMSG || func_id == FUNC_RECVMSG) {
    if (!iov_of_msghdr(&buf, &iovcnt)) return 0;
    iov = true;
  }
  struct conn_state *cs = conn_of(sk, 0, CONN_VERIFY);
  if (!cs || conn_filtered_out(cfg, cs)) return 0;
  __u64 now = bpf_ktime_get_ns();
  set_caller(a, pid_tgid);
  a->fd = ARG1(regs);
  a->sk = (__u64)sk;
  struct tcp_sock *tp = AS(tcp_sock, sk);
  if (!cs->owner_pid_tgid) {
    /* the first traced call on the connection: its thread owns it from now on */
    cs->owner_pid_tgid = pid_tgid;
    __builtin_memcpy(cs->owner_comm, a->comm, sizeof(cs->owner_comm));
    cs->owner_fd = a->fd;
    if (cs->flags & CONN_OWES_ACCEPT) {
      cs->flags &= ~CONN_OWES_ACCEPT;
      a->ts = cs->opened_ts;
      a->buf = 0;
      a->iovcnt = 0;
      a->func_id = FUNC_ACCEPT;
      a->tcp_seq = tp->copied_seq - (!egress && !(flags & MSG_PEEK) && ret > 0 ? ret + took_fin(sk, tp, ret) : 0);
      emit(cfg, a, cs, now, 0, 0, 0, 0);
    }
  }
  /* the counters have moved past this call's bytes by now */
  __u32 moved = ret > 0 ? ret : 0;
  a->tcp_seq = egress ? tp->write_seq - moved : tp->copied_seq - (flags & MSG_PEEK ? 0 : moved + took_fin(sk, tp, moved));
  a->ts = now;
  a->buf = buf;
  a->iovcnt = iovcnt;
  a->func_id = func_id;
  if (cfg->tls && tls_ciphertext(a, cs, ret, egress, iov)) return 0;
  if (iov)
    emit_data(cfg, a, cs, now, ret, true);
  else
    emit_data(cfg, a, cs, now, ret, false);
  return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send, struct sock *sk, int ret, int flags) {
  return sock_data(sk, ret, flags, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv, struct sock *sk, int ret, int flags) {
  return sock_data(sk, ret, flags, false);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sock_state, struct sock *sk, int oldstate, int newstate) {
  if (!is_tcp(sk)) return 0;
  struct espan_config *cfg = current_config();
  if (!cfg || !cfg->enabled) return 0;
  __u64 key = (__u64)sk;
  struct tcp_sock *tp = AS(tcp_sock, sk);

  if (newstate == TCP_SYN_SENT) {
    /* connect(), in the connecting thread; the local port is chosen right after this */
    if (!user_socket(sk)) return 0;
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!traced_call_slot(cfg, pid_tgid)) return 0;
    struct conn_state init = {};
    new_conn(&init, CONN_META_CLIENT);
    init.flags = CONN_TUPLE_PENDING | CONN_OWES_CONNECT;
    init.owner_pid_tgid = pid_tgid;
    struct task_struct *task = bpf_get_current_task_btf();
    __builtin_memcpy(init.owner_comm, task->comm, sizeof(init.owner_comm));
    struct pt_regs *regs = syscall_regs();
    init.owner_fd = SYSCALL_NR(regs) == NR_connect ? (__s32)ARG1(regs) : -1;
    bpf_map_update_elem(&conns, &key, &init, BPF_ANY);
    return 0;
  }

  if (newstate == TCP_ESTABLISHED) {
    if (oldstate == TCP_SYN_SENT) {
      struct conn_state *cs = bpf_map_lookup_elem(&conns, &key);
      if (!cs || !(cs->flags & CONN_OWES_CONNECT)) return 0;
      read_tuple(sk, cs);
      cs->flags &= ~(CONN_TUPLE_PENDING | CONN_OWES_CONNECT);
      if (!conn_filtered_out(cfg, cs)) emit_state(cfg, cs, sk, FUNC_CONNECT, cs->opened_ts, tp->write_seq);
    } else if (oldstate == TCP_SYN_RECV) {
      /* a connection a listener will hand to accept(); which process takes it is known at its first call */
      struct conn_state init = {};
      new_conn(&init, CONN_META_SERVER);
      init.flags = CONN_OWES_ACCEPT;
      read_tuple(sk, &init);
      if (conn_filtered_out(cfg, &init)) return 0;
      bpf_map_update_elem(&conns, &key, &init, BPF_ANY);
    }
    return 0;
  }

  /*
   * Leaving ESTABLISHED or CLOSE_WAIT: close() or exit (FIN or RST), shutdown(),
   * or TCP itself (the peer's reset, TIME_WAIT). Only a close or exit makes the
   * close record: after the others the owner may still read. A socket TCP had
   * finished with before close() gets its record when it is destroyed.
   */
  if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE) return 0;
  /*
   * close() and exit change the state with the socket locked by the closing
   * thread; TCP's own changes run unlocked in softirq, which may interrupt any
   * syscall, a close() of another socket included.
   */
  struct task_struct *task = bpf_get_current_task_btf();
  if (!sk->sk_lock.owned || (SYSCALL_NR(syscall_regs()) != NR_close && !(task->flags & PF_EXITING))) return 0;
  struct conn_state *cs = bpf_map_lookup_elem(&conns, &key);
  if (cs) emit_close(cfg, cs, sk);
  return 0;
}

/* The socket is gone, closed by its owner and by TCP: the last chance for its close record. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(sock_destroy, struct sock *sk) {
  __u64 key = (__u64)sk;
  struct conn_state *cs = bpf_map_lookup_elem(&conns, &key);
  if (!cs) return 0;
  struct espan_config *cfg = current_config();
  if (cfg && cfg->enabled) emit_close(cfg, cs, sk);
  bpf_map_delete_elem(&conns, &key);
  return 0;
}

/* ---- process tracking: a traced process's children are traced from their first call ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 child_pid = child->pid;
  if (child_pid != child->tgid) return 0; /* a new thread, covered by its tgid */
  __u32 parent_tgid = parent->tgid;
  __u8 *v = bpf_map_lookup_elem(&pid_filter, &parent_tgid);
  if (v && *v == PID_VERDICT_INCLUDE) {
    __u8 verdict = PID_VERDICT_INCLUDE;
    bpf_map_update_elem(&pid_filter, &child_pid, &verdict, BPF_NOEXIST);
  }
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p) {
  __u32 pid = p->pid;
  if (pid != p->tgid) return 0;
  bpf_map_delete_elem(&pid_filter, &pid);
  return 0;
}

/* ---- TLS plaintext: uprobes on the TLS library's SSL_read/SSL_write and their _ex forms ----
 *
 * native/ attaches them to each libssl (and each executable exporting those
 * functions) that a traced process maps. Entry saves the call's arguments in
 * the thread's slot; the socket calls the library makes inside it are not sent
 * (tls_ciphertext), the first one in the call's direction names the connection
 * and the sequence number of the TLS record; return sends the plaintext as a
 * data record of that connection, flagged CONN_META_TLS, so that both ends of
 * the connection number the same bytes alike.
 */

struct ssl_key {
  __u64 ssl;
  __u32 tgid;
  __u32 _pad;
};

/* The connection an SSL * was last seen on, for calls that make no socket call of their own. */
struct ssl_conn {
  __u64 sk;
  __s32 fd;
  __u32 read_seq; /* the sequence number given to plaintext read next from the library's buffer */
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct ssl_key);
  __type(value, struct ssl_conn);
} ssl_conns SEC(".maps");

static __always_inline int tls_enter(struct pt_regs *ctx, bool egress, bool ex) {
  struct espan_config *cfg = current_config();
  if (!cfg || !cfg->tls) return 0;
  struct call_args *a = traced_call_slot(cfg, bpf_get_current_pid_tgid());
  if (!a) return 0;
  a->tls.ssl = PT_REGS_PARM1(ctx);
  a->tls.buf = PT_REGS_PARM2(ctx);
  a->tls.len_out = ex ? PT_REGS_PARM4(ctx) : 0;
  a->tls.ts = bpf_ktime_get_ns();
  a->tls.sk = 0;
  a->tls.egress = egress;
  return 0;
}

/* The connection state of a socket cached in ssl_conns or the thread's slot, if it is still that connection. */
static __always_inline struct conn_state *known_conn(__u64 sk) {
  struct conn_state *cs = bpf_map_lookup_elem(&conns, &sk);
  return cs && same_connection(cs, (struct sock *)sk) ? cs : 0;
}

/* `ret`: the functions return an int, so the register's upper half is not theirs */
static __always_inline int tls_exit(long ret, bool egress) {
  struct call_args *a = call_slot(false);
  if (!a || !a->tls.ssl) return 0;
  struct tls_call *t = &a->tls;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct ssl_key key = {.ssl = t->ssl, .tgid = pid_tgid >> 32};
  t->ssl = 0;
  if (t->egress != egress) return 0;
  if (t->len_out && ret == 1) {
    __u64 n = 0;
    ret = bpf_probe_read_user(&n, sizeof(n), (void *)t->len_out) ? 0 : (long)n;
  }
  struct ssl_conn sc;
  __u32 seq;
  if (t->sk) {
    /* the library's own socket call carried the record; ciphertext read before it (the handshake) is spent */
    t->read_fresh = 0;
    sc.sk = t->sk;
    sc.fd = t->fd;
    seq = t->seq;
  } else {
    struct ssl_conn *was = bpf_map_lookup_elem(&ssl_conns, &key);
    bool matched = false;
    __u32 off = 0;
    /*
     * A memory BIO: the ciphertext was read just before, on this thread (an
     * SSL * freed and made anew for the next connection is rebound here); one
     * read may bring several records, each SSL_read decrypts the next.
     */
    if (!egress && ret > 0 && t->read_sk && (t->read_fresh || (was && was->sk == t->read_sk)))
      off = tls_record_of(t->read_buf, t->read_len, &t->read_cursor, ret, &matched);
    if (!egress && (matched || t->read_fresh)) {
      t->read_fresh = 0;
      sc.sk = t->read_sk;
      sc.fd = t->read_fd;
      seq = t->read_seq + off;
    } else if (!was) {
      if (ret > 0) count_drop(COUNT_TLS_NO_CONNECTION);
      return 0;
    } else if (egress) {
      /*
       * A write whose record the library sends later (memory BIO): after the
       * socket's next byte come the records it made and has not sent yet.
       */
      sc = *was;
      struct conn_state *ws = known_conn(sc.sk);
      seq = AS(tcp_sock, sc.sk)->write_seq;
      barrier_var(seq); /* else clang merges loads from two kinds of pointer into one the verifier refuses */
      if (ws && ret > 0) {
        seq += ws->tls_unsent;
        ws->tls_unsent += ret + TLS13_RECORD_OVERHEAD * (((__u32)ret + TLS_MAX_PLAINTEXT - 1) / TLS_MAX_PLAINTEXT);
      }
    } else {
      /* a read served from the library's buffer continues the record an earlier read decrypted */
      sc = *was;
      seq = sc.read_seq;
    }
  }
  /* a read that returned nothing (a handshake step) still tells which connection the SSL * is on */
  sc.read_seq = seq + (ret > 0 ? ret : 0);
  bpf_map_update_elem(&ssl_conns, &key, &sc, BPF_ANY);
  if (ret <= 0) return 0;
  struct espan_config *cfg = current_config();
  struct conn_state *cs = known_conn(sc.sk);
  if (!cfg || !cs) {
    count_drop(COUNT_TLS_NO_CONNECTION);
    return 0;
  }
  if (conn_filtered_out(cfg, cs)) return 0;
  cs->meta |= CONN_META_TLS;
  cs->flags |= CONN_TLS;
  set_caller(a, pid_tgid);
  a->ts = t->ts;
  a->sk = sc.sk;
  a->fd = sc.fd;
  a->buf = t->buf;
  a->iovcnt = 0;
  a->tcp_seq = seq;
  a->func_id = egress ? FUNC_WRITE : FUNC_READ;
  emit_data(cfg, a, cs, bpf_ktime_get_ns(), ret, false);
  return 0;
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter) { return tls_enter(ctx, false, false); }

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter) { return tls_enter(ctx, false, true); }

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret) { return tls_exit(ret, false); }

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_enter) { return tls_enter(ctx, true, false); }

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter) { return tls_enter(ctx, true, true); }

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret) { return tls_exit(ret, true); }

/* Processes that exec'd, for user space to look at what they map (a new libssl, an executable with OpenSSL inside). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u8);
} exec_pids SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p) {
  struct espan_config *cfg = current_config();
  if (!cfg || !cfg->tls) return 0;
  __u32 tgid = p->tgid;
  __u8 one = 1;
  bpf_map_update_elem(&exec_pids, &tgid, &one, BPF_ANY);
  return 0;
}

/* ---- Go runtime: goroutines ----
 *
 * Go runs many goroutines on few threads, and a goroutine moves between them:
 * for a Go process the record's user-level thread id (tid_utid's high half) is
 * the goroutine that made the call, or the goroutine whose request it works
 * for. native/ writes, per Go process, where the runtime keeps what is read
 * here (go_procs, from the executable's DWARF or a per-version table), and
 * attaches the uprobes below to the executable, at the start of the runtime
 * functions (never on returns: uretprobes break Go's moving stacks).
 *
 * The goroutine of a socket call is the current g: register R14 (amd64) or
 * R28 (arm64) in Go code, also at the syscall instruction. It is believed only
 * when g.m.curg leads back to it (in C code the register is anything).
 *
 * A goroutine started by another (`go f()`) works for its creator's request
 * while the creator has done no I/O on a server connection since (it has not
 * answered, nor read the next request): its records then carry the creator's
 * id (or the creator's own adopter's), so that a fan-out is under the request.
 * Each goroutine's server-connection I/O bumps its epoch, which ends the
 * adoptions made before; a goroutine doing server I/O itself stands for itself.
 * An adopted goroutine handed a value through a channel by one working for
 * another request (a pooled connection's writer given a request) is adopted
 * no more. Not seen: work taken without the taker parked on the channel (a
 * busy worker reading a buffered channel), or handed over under a lock or
 * condition variable, while the adopter still serves.
 *
 * Goroutines are tracked by the address of their g: a new goroutine has no id
 * yet where it is created, and the runtime reuses the g of one that ended for
 * a later one, which a creation seen here overwrites (`born` tells them apart).
 * Ids are the low 32 bits of the goroutine id (0: none known).
 */

/* Go register ABI (go1.17+): the current g, and the first and second integer arguments */
#if defined(__TARGET_ARCH_x86)
#define GO_G(regs) ((regs)->r14)
#define GO_ARG1(regs) ((regs)->ax)
#define GO_ARG2(regs) ((regs)->bx)
#elif defined(__TARGET_ARCH_arm64)
#define GO_G(regs) ((regs)->regs[28])
#define GO_ARG1(regs) ((regs)->regs[0])
#define GO_ARG2(regs) ((regs)->regs[1])
#endif

/* tgid -> offsets in the runtime's structs, for the processes user space found to be Go */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct go_offsets);
} go_procs SEC(".maps");

struct go_key {
  __u64 g; /* address of the goroutine's g */
  __u32 tgid;
  __u32 _pad;
};

struct go_lineage {
  __u64 born;         /* when this goroutine was first seen: a reused g is another goroutine */
  __u64 adopter_g;    /* goroutine whose request this one works for (0: its own)... */
  __u64 adopter_born;
  __u32 adopter_epoch; /* ...as long as the adopter's epoch is still this */
  __u32 adopter_goid;
  __u32 epoch;         /* bumped by this goroutine's own server-connection I/O */
  __u32 _pad;
};

/* LRU: the runtime does not say when a goroutine ends; a forgotten adopter ends the adoption */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct go_key);
  __type(value, struct go_lineage);
} go_lineages SEC(".maps");

static __always_inline bool go_process(__u32 tgid) { return bpf_map_lookup_elem(&go_procs, &tgid) != 0; }

static __always_inline __u32 go_goid_of(struct go_offsets *o, __u64 g) {
  __u64 goid = 0;
  if (!g || bpf_probe_read_user(&goid, sizeof(goid), (void *)(g + o->g_goid))) return 0;
  return (__u32)goid;
}

/* The goroutine the thread runs for (its m's curg): also on the system stack, where the current g is g0. */
static __always_inline __u64 go_thread_curg(struct go_offsets *o, struct pt_regs *regs) {
  __u64 g = GO_G(regs), m = 0, curg = 0;
  if (!g || bpf_probe_read_user(&m, sizeof(m), (void *)(g + o->g_m))) return 0;
  if (!m || bpf_probe_read_user(&curg, sizeof(curg), (void *)(m + o->m_curg))) return 0;
  return curg;
}

/* The goroutine running Go code on this thread, 0 when the register does not hold one. */
static __always_inline __u64 go_current(struct go_offsets *o, struct pt_regs *regs) {
  __u64 g = GO_G(regs);
  return g && go_thread_curg(o, regs) == g ? g : 0;
}

/* Whether a goroutine's adopter is still the goroutine it was, serving the same request. */
static __always_inline bool go_adopted(__u32 tgid, struct go_lineage *l) {
  if (!l->adopter_g) return false;
  struct go_key ak = {.g = l->adopter_g, .tgid = tgid};
  struct go_lineage *a = bpf_map_lookup_elem(&go_lineages, &ak);
  return a && a->born == l->adopter_born && a->epoch == l->adopter_epoch;
}

/*
 * The user-level thread id of a data record made now by the current thread:
 * the goroutine (or its adopter) for a Go process, else 0.
 */
static __noinline __u32 go_utid(__u64 pid_tgid, __u32 func_id, __u32 conn_meta) {
  if (func_id < FUNC_READ || func_id > FUNC_RECVMSG || bpf_get_current_pid_tgid() != pid_tgid) return 0;
  __u32 tgid = pid_tgid >> 32;
  struct go_offsets *o = bpf_map_lookup_elem(&go_procs, &tgid);
  if (!o) return 0;
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  __u64 g = go_current(o, regs);
  __u32 goid = go_goid_of(o, g);
  if (!goid) return 0;
  struct go_key key = {.g = g, .tgid = tgid};
  struct go_lineage *l = bpf_map_lookup_elem(&go_lineages, &key);
  if (conn_meta & CONN_META_SERVER) {
    if (l) {
      l->adopter_g = 0;
      __sync_fetch_and_add(&l->epoch, 1);
    } else {
      struct go_lineage own = {.born = bpf_ktime_get_ns(), .epoch = 1};
      bpf_map_update_elem(&go_lineages, &key, &own, BPF_ANY);
    }
    return goid;
  }
  if (l && l->adopter_g) {
    if (go_adopted(tgid, l)) return l->adopter_goid;
    l->adopter_g = 0; /* epochs only grow: the adoption is over for good */
  }
  return goid;
}

/*
 * func gostartcallfn(gobuf *gobuf, fv *funcval), called by newproc1 with the
 * new goroutine's &g.sched, on the system stack of the creating goroutine
 * (its m's curg). The child works for whom the creator works (if that still
 * holds), else for the creator.
 */
SEC("uprobe")
int BPF_KPROBE(go_gostartcallfn) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  struct go_offsets *o = bpf_map_lookup_elem(&go_procs, &tgid);
  struct espan_config *cfg = current_config();
  if (!o || !cfg || !traced_call_slot(cfg, pid_tgid)) return 0;
  __u64 now = bpf_ktime_get_ns();
  struct go_key ck = {.g = GO_ARG1(ctx) - o->g_sched, .tgid = tgid};
  __u64 parent = go_thread_curg(o, ctx);
  __u32 parent_goid = go_goid_of(o, parent);
  if (!parent_goid) {
    /* whatever was known of the goroutine that had this g before is not this one's */
    bpf_map_delete_elem(&go_lineages, &ck);
    return 0;
  }
  struct go_key pk = {.g = parent, .tgid = tgid};
  struct go_lineage *p = bpf_map_lookup_elem(&go_lineages, &pk);
  if (!p) {
    struct go_lineage first = {.born = now};
    bpf_map_update_elem(&go_lineages, &pk, &first, BPF_NOEXIST);
    p = bpf_map_lookup_elem(&go_lineages, &pk);
    if (!p) return 0;
  }
  struct go_lineage c = {.born = now};
  if (go_adopted(tgid, p)) {
    c.adopter_g = p->adopter_g;
    c.adopter_born = p->adopter_born;
    c.adopter_epoch = p->adopter_epoch;
    c.adopter_goid = p->adopter_goid;
  } else {
    c.adopter_g = parent;
    c.adopter_born = p->born;
    c.adopter_epoch = p->epoch;
    c.adopter_goid = parent_goid;
  }
  bpf_map_update_elem(&go_lineages, &ck, &c, BPF_ANY);
  return 0;
}

/*
 * func send(c *hchan, sg *sudog, ep unsafe.Pointer, unlockf func(), skip int):
 * a channel send handing its value to a goroutine parked receiving (sg.g),
 * as a pooled connection's writer gets each request. A receiver adopted for
 * another request than the sender's is handed work: its adoption ends.
 */
SEC("uprobe")
int BPF_KPROBE(go_send) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  struct go_offsets *o = bpf_map_lookup_elem(&go_procs, &tgid);
  struct espan_config *cfg = current_config();
  if (!o || !cfg || !traced_call_slot(cfg, pid_tgid)) return 0;
  struct go_key rk = {.tgid = tgid};
  if (bpf_probe_read_user(&rk.g, sizeof(rk.g), (void *)(GO_ARG2(ctx) + o->sudog_g))) return 0;
  struct go_lineage *r = bpf_map_lookup_elem(&go_lineages, &rk);
  if (!r || !r->adopter_g) return 0;
  struct go_key sk = {.g = go_current(o, ctx), .tgid = tgid};
  struct go_lineage *s = sk.g ? bpf_map_lookup_elem(&go_lineages, &sk) : 0;
  if (s) {
    /* the adopter itself, or a goroutine adopted for the same request */
    if (sk.g == r->adopter_g && s->born == r->adopter_born) return 0;
    if (s->adopter_g == r->adopter_g && s->adopter_born == r->adopter_born && s->adopter_epoch == r->adopter_epoch) return 0;
  }
  r->adopter_g = 0;
  return 0;
}

/* ---- event-loop ticks ----
 *
 * An event loop (Node's libuv, Python's asyncio) runs callbacks between two
 * waits (epoll_wait, poll, select...). Each data record carries its thread's
 * tick tag (network_data.loop_tick): a wait generation, bumped when the thread
 * returns from a wait, and the reads (read, readv, recvfrom, recvmsg on any
 * fd, with a result >= 0) the thread made since, its own included. Equal tags
 * on a read and a later write: no wait and no other read between them; a count
 * of 1: that read was the only one of the tick until then. Over-counting (a
 * pipe, an eventfd, a file) only makes fewer tags match.
 *
 * libuv (Node.js) runs the callbacks of what the wait reported (the poll
 * phase), then immediates, close callbacks, timers and deferred callbacks, all
 * before the next wait. native/ puts a uprobe on uv__run_check, where the poll
 * phase ends (in executables that link libuv statically and keep its symbols):
 * from there to the next wait the count reads 15, so no write of that tail
 * matches a read, and the tag's `phases` bit says the thread's ends of poll
 * phases are seen. A wait that returns other than one event starts the count
 * at 15 too: its poll phase runs the callbacks of several events, some without
 * a read (a write completed, a connection accepted), or of none (a timeout).
 * Tag: generation (11 bits) << 5 | phases << 4 | reads.
 *
 * Seen only from the raw syscall tracepoints (`tracepoints: syscall`): the
 * socket tracepoints see no waits, and this kernel has no per-syscall
 * tracepoints to add one for them. Elsewhere the tag is 0 (unknown).
 */
#define LOOP_TICK_READS_MAX 15 /* low 4 bits of the tag; saturates */
#define LOOP_TICK_GENS 2047    /* the high 11 bits cycle through 1..2047: a tag is never 0 */

#if defined(__TARGET_ARCH_x86)
#define NR_poll 7
#define NR_select 23
#define NR_epoll_wait 232
#define NR_pselect6 270
#define NR_ppoll 271
#define NR_epoll_pwait 281
#define NR_epoll_pwait2 441
#else
/* arm64 has no poll, select nor epoll_wait: only their p- forms */
#define NR_poll -1
#define NR_select -1
#define NR_epoll_wait -1
#define NR_pselect6 72
#define NR_ppoll 73
#define NR_epoll_pwait 22
#define NR_epoll_pwait2 441
#endif

struct loop_tick {
  __u16 gen;
  __u8 reads;
  __u8 phases; /* 1: the end of this thread's poll phases is seen (loop_poll_end) */
};

/* tid -> its tick; LRU: threads come and go unannounced */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, struct loop_tick);
} loop_ticks SEC(".maps");

static __noinline __u16 loop_tick_tag(__u32 tid) {
  struct loop_tick *t = bpf_map_lookup_elem(&loop_ticks, &tid);
  return t ? (t->gen << 5) | (t->phases << 4) | t->reads : 0;
}

/* From sys_exit, before the record of the call is made: a traced thread's wait starts a tick, a read counts in it. */
static __noinline int loop_tick_exit(long nr, long ret) {
  bool read = nr == NR_read || nr == NR_readv || nr == NR_recvfrom || nr == NR_recvmsg;
  if (!read && nr != NR_epoll_wait && nr != NR_epoll_pwait && nr != NR_epoll_pwait2 && nr != NR_poll && nr != NR_ppoll && nr != NR_select &&
      nr != NR_pselect6)
    return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)pid_tgid;
  struct loop_tick *t = bpf_map_lookup_elem(&loop_ticks, &tid);
  if (read) {
    if (t && ret >= 0 && t->reads < LOOP_TICK_READS_MAX) t->reads++;
    return 0;
  }
  /* a tick woken by several events (or none: a timeout) runs callbacks of several causes from its start */
  __u8 reads = ret == 1 ? 0 : LOOP_TICK_READS_MAX;
  if (t) {
    t->gen = t->gen % LOOP_TICK_GENS + 1;
    t->reads = reads;
    return 0;
  }
  struct espan_config *cfg = current_config();
  if (!cfg || !cfg->enabled || !task_traced(cfg, pid_tgid >> 32)) return 0;
  struct loop_tick fresh = {.gen = 1, .reads = reads};
  bpf_map_update_elem(&loop_ticks, &tid, &fresh, BPF_ANY);
  return 0;
}

/* libuv's uv__run_check: the poll phase is over; what the loop runs until the next wait is nobody's read's callback */
SEC("uprobe")
int BPF_KPROBE(loop_poll_end) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct loop_tick *t = bpf_map_lookup_elem(&loop_ticks, &tid);
  if (t) {
    t->reads = LOOP_TICK_READS_MAX;
    t->phases = 1;
  }
  return 0;
}
