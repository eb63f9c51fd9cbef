// node-addon-api over libbpf: loads bpf/.output/espan.bpf.o, attaches it,
// writes its filter maps, and drains its ring buffer on a thread of its own,
// handing JavaScript one Buffer (plus record offsets) per wake-up. Maps and
// programs are reached through the skeleton bpftool generates from the object
// (scripts/build-native.sh), so one renamed in bpf/espan.bpf.c fails this compile.
#include <napi.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include <fcntl.h>
#include <gelf.h>
#include <malloc.h>
#include <libelf.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "../../bpf/network_data.h"
#include "../../bpf/espan_maps.h"
}
#include "../../bpf/.output/espan.skel.h"

namespace {

// libbpf reports through a print callback; the last lines go into the error
// JavaScript sees instead of onto espan's stderr.
std::mutex g_log_mutex;
std::string g_log;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), fmt, args);
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log.append(line, n > 0 ? std::min<size_t>(n, sizeof(line) - 1) : 0);
  if (g_log.size() > 8192) g_log.erase(0, g_log.size() - 8192);
  return 0;
}

std::string take_log() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::string s;
  s.swap(g_log);
  return s;
}

std::string errno_text(int err) { return std::string(strerror(err < 0 ? -err : err)); }

// Fixed-size blocks for batches, reused once JavaScript's garbage collector has let go of the
// Buffer over one. A fresh 1 MiB allocation per batch is an mmap, page faults as the reader fills
// it, and an munmap (with a TLB shoot-down on the other core) when it is freed.
class BlockPool {
 public:
  BlockPool(size_t block_size, size_t keep) : block_size_(block_size), keep_(keep) {}
  ~BlockPool() {
    for (uint8_t* b : free_) free(b);
  }
  uint8_t* Take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        uint8_t* b = free_.back();
        free_.pop_back();
        return b;
      }
    }
    return static_cast<uint8_t*>(malloc(block_size_));
  }
  void Give(uint8_t* b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (free_.size() < keep_) {
        free_.push_back(b);
        return;
      }
    }
    free(b);
  }

 private:
  const size_t block_size_;
  const size_t keep_;
  std::mutex mutex_;
  std::vector<uint8_t*> free_;
};

// The reading side of a BPF ring buffer, mapped here rather than through libbpf's ring_buffer:
// libbpf stores the consumer position after every record, and every reservation of the probe, on
// whichever CPU, reads that cache line. Here it is stored once per 64 KiB taken and at the end of
// a drain. Waiting is edge-triggered: libbpf's level-triggered wait returns at once while any
// record waits, so under load the reader would never sleep and would hand over a small batch every
// millisecond; edge-triggered, it sleeps until the probe wakes it (each wakeup_size written) or
// the poll interval passes.
class RingReader {
 public:
  ~RingReader() { Close(); }

  // Empty on success, else what failed.
  std::string Open(int map_fd, size_t size) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = size;
    void* cons = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (cons == MAP_FAILED) return "cannot map the ring buffer's consumer page: " + errno_text(errno);
    consumer_pos_ = static_cast<uint64_t*>(cons);
    // The kernel maps the data pages after the producer page twice over, so a record that wraps
    // reads straight on. Only the first pages of the second copy are mapped here, as many as the
    // longest record needs: every page mapped is resident, and the whole second copy doubled the
    // ring's share of espan's RSS (16 MB for the default 8 MB ring).
    tail_ = (kMaxRecordBytes + page_ - 1) / page_ * page_;
    if (tail_ > size) tail_ = size;
    void* prod = mmap(nullptr, MappedBytes(), PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_));
    if (prod == MAP_FAILED) return "cannot map the ring buffer's data: " + errno_text(errno);
    producer_pos_ = static_cast<uint64_t*>(prod);
    data_ = static_cast<uint8_t*>(prod) + page_;
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return "cannot create an epoll instance: " + errno_text(errno);
    struct epoll_event ev = {};
    ev.events = EPOLLIN | EPOLLET;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, map_fd, &ev) != 0) return "cannot wait on the ring buffer: " + errno_text(errno);
    return "";
  }

  void Close() {
    if (consumer_pos_) munmap(consumer_pos_, page_);
    if (producer_pos_) munmap(producer_pos_, MappedBytes());
    if (epoll_fd_ >= 0) close(epoll_fd_);
    consumer_pos_ = producer_pos_ = nullptr;
    epoll_fd_ = -1;
  }

  // Sleeps until woken or timeout_ms passed.
  void Wait(int timeout_ms) {
    struct epoll_event ev;
    epoll_wait(epoll_fd_, &ev, 1, timeout_ms);
  }

  // Hands each committed record to take(data, size), in order, until the ring is empty (true) or
  // take says stop (false); a record handed over is consumed either way.
  template <typename Take>
  bool Consume(Take take) {
    uint64_t cons = *consumer_pos_;  // only this thread writes it
    uint64_t published = cons;
    bool empty = true;
    for (;;) {
      uint64_t prod = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
      if (cons >= prod) break;
      const uint32_t* hdr = reinterpret_cast<const uint32_t*>(data_ + (cons & (size_ - 1)));
      uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
      if (len & BPF_RINGBUF_BUSY_BIT) break;  // reserved, not yet submitted: records after it wait too
      uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      cons += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
      // The probe writes no record longer than a network_data: a longer one could run past the mapping.
      bool discard = (len & BPF_RINGBUF_DISCARD_BIT) || size + BPF_RINGBUF_HDR_SZ > kMaxRecordBytes;
      bool more = discard || take(reinterpret_cast<const uint8_t*>(hdr) + BPF_RINGBUF_HDR_SZ, size);
      if (!more) {
        empty = false;
        break;
      }
      if (cons - published >= kPublishBytes) Publish(cons, &published);
    }
    if (cons != published) Publish(cons, &published);
    return empty;
  }

  // Bytes of the ring taken so far (records with their headers and padding, as reserved).
  uint64_t Consumed() const { return consumed_.load(std::memory_order_relaxed); }

 private:
  void Publish(uint64_t cons, uint64_t* published) {
    __atomic_store_n(consumer_pos_, cons, __ATOMIC_RELEASE);
    consumed_.fetch_add(cons - *published, std::memory_order_relaxed);
    *published = cons;
  }

  // the producer page, the data pages, and the start of their second copy
  size_t MappedBytes() const { return page_ + size_ + tail_; }

  static constexpr uint64_t kPublishBytes = 64 * 1024;
  static constexpr size_t kMaxRecordBytes = BPF_RINGBUF_HDR_SZ + sizeof(struct network_data);
  std::atomic<uint64_t> consumed_{0};
  size_t page_ = 0, size_ = 0, tail_ = 0;
  uint64_t* consumer_pos_ = nullptr;
  uint64_t* producer_pos_ = nullptr;
  uint8_t* data_ = nullptr;
  int epoll_fd_ = -1;
};

struct Batch {
  explicit Batch(std::shared_ptr<BlockPool> p) : pool(std::move(p)), data(pool->Take()) { offsets.reserve(4096); }
  ~Batch() {
    if (data) pool->Give(data);
  }
  std::shared_ptr<BlockPool> pool;  // outlives the probe while JavaScript holds a batch
  uint8_t* data;
  size_t size = 0;
  std::vector<uint32_t> offsets;  // start of each record, then the end of the last
};

#define FIELD(path, member) \
  { path, offsetof(struct network_data, meta.member), sizeof(((struct network_data*)0)->meta.member) }

struct FieldInfo {
  const char* name;
  size_t offset;
  size_t size;
};

const FieldInfo kFields[] = {
    FIELD("ts", ts),
    FIELD("ts_tail", ts_tail),
    FIELD("tid_utid", tid_utid),
    FIELD("comm", comm),
    FIELD("uni_id.sk", uni_id.sk),
    FIELD("uni_id.ktime", uni_id.ktime),
    FIELD("uni_id.prandom", uni_id.prandom),
    FIELD("conn.saddr", conn.saddr),
    FIELD("conn.daddr", conn.daddr),
    FIELD("conn.sport", conn.sport),
    FIELD("conn.dport", conn.dport),
    FIELD("conn.pid", conn.pid),
    FIELD("conn.netns", conn.netns),
    FIELD("conn.meta", conn.meta),
    FIELD("tcp_seq", tcp_seq),
    FIELD("loop_tick", loop_tick),
    FIELD("func_id", func_id),
    FIELD("fd", fd),
    FIELD("buf_len", buf_len),
    FIELD("act_size", act_size),
    FIELD("index", index),
};

Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("metaSize", Napi::Number::New(env, sizeof(((struct network_data*)0)->meta)));
  out.Set("l7BufferSize", Napi::Number::New(env, L7_BUFFER_SIZE));
  Napi::Array fields = Napi::Array::New(env);
  uint32_t i = 0;
  for (const FieldInfo& f : kFields) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", f.name);
    o.Set("offset", Napi::Number::New(env, f.offset));
    o.Set("size", Napi::Number::New(env, f.size));
    fields.Set(i++, o);
  }
  out.Set("fields", fields);
  return out;
}

uint32_t OptU32(const Napi::Object& o, const char* key, uint32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

// Opens the skeleton over the object at `path` instead of the copy of the object it carries: the
// receiver's object_path may name another build of the probe, and opening still checks that it
// has every map and program the skeleton names. Null with errno set on failure.
struct espan_bpf* OpenSkeleton(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return nullptr;
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    errno = EIO;
    return nullptr;
  }
  struct espan_bpf* skel = static_cast<struct espan_bpf*>(calloc(1, sizeof(struct espan_bpf)));
  if (!skel) return nullptr;
  int err = espan_bpf__create_skeleton(skel);
  if (!err) {
    // libbpf is done with the bytes once the object is open: programs, maps and BTF are copied.
    skel->skeleton->data = bytes.data();
    skel->skeleton->data_sz = bytes.size();
    err = bpf_object__open_skeleton(skel->skeleton, nullptr);
  }
  if (err) {
    espan_bpf__destroy(skel);
    errno = -err;
    return nullptr;
  }
  return skel;
}

// True when the running kernel has the socket tracepoints (its BTF names their types).
bool KernelHasSocketTracepoints() {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  bool all = true;
  for (const char* tp : {"btf_trace_sock_send_length", "btf_trace_sock_recv_length", "btf_trace_inet_sock_set_state", "btf_trace_tcp_destroy_sock"})
    all = all && btf__find_by_name_kind(vmlinux, tp, BTF_KIND_TYPEDEF) > 0;
  btf__free(vmlinux);
  return all;
}

// The first bytes of functions of an ELF file, by name (defined functions of .dynsym and .symtab), and
// their file offsets: what a uprobe is attached at.
class ElfFunctions {
 public:
  struct Code {
    uint64_t vaddr = 0;
    size_t offset = 0;  // in the file
    uint8_t bytes[64] = {};
    size_t size = 0;  // bytes read
  };

  ElfFunctions(const std::string& path, const std::set<std::string>& names) {
    if (elf_version(EV_CURRENT) == EV_NONE) return;
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return;
    Elf* elf = elf_begin(fd_, ELF_C_READ, nullptr);
    if (!elf) return;
    size_t nphdr = 0;
    if (elf_getphdrnum(elf, &nphdr) == 0) {
      for (size_t i = 0; i < nphdr; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) loads_.push_back(ph);
      }
    }
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || !sh.sh_entsize) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF) continue;
        const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
        if (name && names.count(name) && !code_.count(name)) Read(name, sym.st_value);
      }
    }
    elf_end(elf);
  }
  ~ElfFunctions() {
    if (fd_ >= 0) close(fd_);
  }

  const Code* Find(const std::string& name) const {
    auto it = code_.find(name);
    return it == code_.end() ? nullptr : &it->second;
  }

  // The code at a virtual address (a function found by a call), if it is in an executable segment.
  bool At(uint64_t vaddr, Code* out) const {
    for (const GElf_Phdr& ph : loads_) {
      if (vaddr < ph.p_vaddr || vaddr >= ph.p_vaddr + ph.p_filesz) continue;
      out->vaddr = vaddr;
      out->offset = vaddr - ph.p_vaddr + ph.p_offset;
      ssize_t n = pread(fd_, out->bytes, sizeof(out->bytes), static_cast<off_t>(out->offset));
      out->size = n > 0 ? static_cast<size_t>(n) : 0;
      return out->size > 0;
    }
    return false;
  }

 private:
  void Read(const char* name, uint64_t vaddr) {
    Code c;
    if (At(vaddr, &c)) code_[name] = c;
  }

  int fd_ = -1;
  std::vector<GElf_Phdr> loads_;
  std::map<std::string, Code> code_;
};

// x86-64 uprobes run most instructions they replace by single-stepping a copy, which under KVM
// is a VM exit per call (about 20 µs on this project's machines); a push of a register, a call or a
// jump they emulate (about 1 µs). Debian's SSL_read_ex/SSL_write_ex begin with `sub $8,%rsp`
// and call ssl_read_internal/ssl_write_internal, which begin with pushes, take the same
// arguments (ssl, buf, num, size_t *count) and serve SSL_read/SSL_write too: the probes go there.
bool EmulatedFirstInstruction(const ElfFunctions::Code& c) {
#if defined(__x86_64__)
  const uint8_t* b = c.bytes;
  return c.size >= 2 && ((b[0] >= 0x50 && b[0] <= 0x57) || (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57));
#else
  (void)c;
  return false;
#endif
}

// The target of a wrapper's tail: `[endbr64] [sub $imm8,%rsp] call rel32` at the start of `c`.
bool WrapperCallTarget(const ElfFunctions::Code& c, uint64_t* target) {
#if defined(__x86_64__)
  const uint8_t* b = c.bytes;
  size_t i = 0;
  if (c.size >= 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa) i += 4;
  if (i + 4 <= c.size && b[i] == 0x48 && b[i + 1] == 0x83 && b[i + 2] == 0xec) i += 4;
  if (i + 5 > c.size || b[i] != 0xe8) return false;
  int32_t rel;
  memcpy(&rel, b + i + 1, sizeof(rel));
  *target = c.vaddr + i + 5 + static_cast<int64_t>(rel);
  return true;
#else
  (void)c;
  (void)target;
  return false;
#endif
}

// Whether the first bytes of `c` call `target` (rel32).
bool CallsEarly(const ElfFunctions::Code& c, uint64_t target) {
  for (size_t i = 0; i + 5 <= c.size; i++) {
    if (c.bytes[i] != 0xe8) continue;
    int32_t rel;
    memcpy(&rel, c.bytes + i + 1, sizeof(rel));
    if (c.vaddr + i + 5 + static_cast<int64_t>(rel) == target) return true;
  }
  return false;
}

class Probe : public Napi::ObjectWrap<Probe> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Probe",
                       {
                           InstanceMethod("configure", &Probe::Configure),
                           InstanceMethod("setPid", &Probe::SetPid),
                           InstanceMethod("deletePid", &Probe::DeletePid),
                           InstanceMethod("setComm", &Probe::SetComm),
                           InstanceMethod("start", &Probe::Start),
                           InstanceMethod("stop", &Probe::Stop),
                           InstanceMethod("stats", &Probe::Stats),
                           InstanceMethod("programStats", &Probe::ProgramStats),
                           InstanceMethod("enableRunTimeStats", &Probe::EnableRunTimeStats),
                           InstanceMethod("tracepoints", &Probe::Tracepoints),
                           InstanceMethod("attachTls", &Probe::AttachTls),
                           InstanceMethod("takeExecs", &Probe::TakeExecs),
                           InstanceMethod("setGoProcess", &Probe::SetGoProcess),
                           InstanceMethod("deleteGoProcess", &Probe::DeleteGoProcess),
                           InstanceMethod("attachGo", &Probe::AttachGo),
                           InstanceMethod("attachLoop", &Probe::AttachLoop),
                       });
  }

  // new Probe({ objectPath, tracepoints, ringBufferSize, pollIntervalMs, maxBatchBytes, maxQueuedBatches, tls })
  // opens and loads the object (verifier included); nothing is attached yet.
  explicit Probe(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Probe>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "Probe(options) expects an options object").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object opts = info[0].As<Napi::Object>();
    std::string path = opts.Get("objectPath").ToString().Utf8Value();
    uint32_t ring_size = OptU32(opts, "ringBufferSize", 8u << 20);
    poll_ms_ = OptU32(opts, "pollIntervalMs", 10);
    max_batch_bytes_ = OptU32(opts, "maxBatchBytes", 1u << 20);
    max_queued_ = OptU32(opts, "maxQueuedBatches", 16);
    if (max_batch_bytes_ < 2 * sizeof(struct network_data)) max_batch_bytes_ = 2 * sizeof(struct network_data);
    // Enough blocks for the queue plus the ones JavaScript still reads or has not collected yet.
    pool_ = std::make_shared<BlockPool>(max_batch_bytes_, max_queued_ + 8);

    libbpf_set_print(libbpf_print);
    take_log();
    skel_ = OpenSkeleton(path);
    if (!skel_) {
      Fail(env, "cannot open BPF object " + path + ": " + errno_text(errno));
      return;
    }
    Napi::Value tp = opts.Get("tracepoints");
    tracepoints_ = tp.IsString() ? tp.As<Napi::String>().Utf8Value() : "auto";
    if (tracepoints_ == "auto") tracepoints_ = KernelHasSocketTracepoints() ? "socket" : "syscall";
    if (tracepoints_ != "socket" && tracepoints_ != "syscall") {
      Fail(env, "tracepoints must be auto, socket or syscall, not " + tracepoints_);
      return;
    }
    // The probe's two sets of programs: socket tracepoints where the kernel has them, else the
    // raw syscall tracepoints. The set not chosen is neither loaded nor attached.
    auto& p = skel_->progs;
    for (struct bpf_program* prog : {p.sock_send, p.sock_recv, p.sock_state, p.sock_destroy})
      if (tracepoints_ != "socket") bpf_program__set_autoload(prog, false);
    for (struct bpf_program* prog : {p.sys_enter, p.sys_exit})
      if (tracepoints_ != "syscall") bpf_program__set_autoload(prog, false);
    skel_->rodata->syscall_tracepoints = tracepoints_ == "syscall";
    // TLS capture: the uprobes (attached per library by attachTls) and the exec watch.
    tls_ = opts.Get("tls").ToBoolean();
    for (struct bpf_program* prog : {p.ssl_read_enter, p.ssl_read_ex_enter, p.ssl_read_exit, p.ssl_write_enter, p.ssl_write_ex_enter, p.ssl_write_exit, p.on_exec})
      if (!tls_) bpf_program__set_autoload(prog, false);
    struct bpf_map* rb = skel_->maps.records;
    if (bpf_map__set_max_entries(rb, ring_size) != 0) {
      Fail(env, "cannot size the ring buffer to " + std::to_string(ring_size) + " bytes (a power of two, at least the page size)");
      return;
    }
    // The verifier gives up with EAGAIN when a signal is pending for the loading thread, and a
    // profiler (node --cpu-prof) signals the JavaScript thread every millisecond: load on a thread of its own.
    int err = 0;
    std::thread([&] { err = espan_bpf__load(skel_); }).join();
    if (err) {
      Fail(env, "cannot load the BPF programs: " + errno_text(err));
      return;
    }
    config_fd_ = bpf_map__fd(skel_->maps.espan_config);
    pid_fd_ = bpf_map__fd(skel_->maps.pid_filter);
    comm_fd_ = bpf_map__fd(skel_->maps.comm_filter);
    port_fd_ = bpf_map__fd(skel_->maps.port_filter);
    netns_fd_ = bpf_map__fd(skel_->maps.netns_filter);
    drops_fd_ = bpf_map__fd(skel_->maps.drops);
    exec_fd_ = bpf_map__fd(skel_->maps.exec_pids);
    std::string ring_error = ring_.Open(bpf_map__fd(rb), bpf_map__max_entries(rb));
    if (!ring_error.empty()) {
      Fail(env, ring_error);
      return;
    }
    ncpus_ = libbpf_num_possible_cpus();
  }

  ~Probe() override { Teardown(); }

 private:
  void Fail(Napi::Env env, const std::string& what) {
    std::string log = take_log();
    Teardown();
    std::string msg = what;
    if (!log.empty()) {
      // The verifier log can be long; its tail names the failing instruction.
      if (log.size() > 2000) log = "…" + log.substr(log.size() - 2000);
      msg += "\nlibbpf: " + log;
    }
    Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  }

  void Detach() {
    for (struct bpf_link* l : links_) bpf_link__destroy(l);
    links_.clear();
    DetachUprobes();
  }

  // Each uprobe removed waits for the kernel (about 90 ms here, one after the other even from
  // several threads): at stop the reader thread does it, not the JavaScript thread.
  void DetachUprobes() {
    for (struct bpf_link* l : uprobe_links_) bpf_link__destroy(l);
    uprobe_links_.clear();
  }

  void Teardown() {
    Detach();
    if (thread_.joinable()) {
      stopping_ = true;
      thread_.join();
    }
    ring_.Close();
    espan_bpf__destroy(skel_);
    skel_ = nullptr;
    if (stats_fd_ >= 0) close(stats_fd_);
    stats_fd_ = -1;
    delete current_;
    current_ = nullptr;
  }

  bool Loaded(Napi::Env env) {
    if (skel_) return true;
    Napi::Error::New(env, "the probe is not loaded (closed or failed to load)").ThrowAsJavaScriptException();
    return false;
  }

  // configure({ selfPid, traceAll, filterComms, captureSize, wakeupBytes, ports: [], netns: [] })
  Napi::Value Configure(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    Napi::Object o = info[0].As<Napi::Object>();
    struct espan_config cfg = {};
    cfg.enabled = running_ ? 1 : 0;  // start() turns it on once every program is attached
    cfg.filter_gen = config_.filter_gen;
    cfg.self_pid = OptU32(o, "selfPid", 0);
    cfg.trace_all = o.Get("traceAll").ToBoolean() ? 1 : 0;
    cfg.filter_comms = o.Get("filterComms").ToBoolean() ? 1 : 0;
    cfg.capture_size = std::min<uint32_t>(OptU32(o, "captureSize", L7_BUFFER_SIZE), L7_BUFFER_SIZE);
    cfg.wakeup_bytes = OptU32(o, "wakeupBytes", 1024 * 1024);
    cfg.tls = tls_ ? 1 : 0;

    std::set<uint32_t> ports;
    Napi::Value pv = o.Get("ports");
    if (pv.IsArray()) {
      Napi::Array a = pv.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) ports.insert(a.Get(i).As<Napi::Number>().Uint32Value() & 0xffff);
    }
    uint8_t zero = 0, one = 1;
    for (uint32_t p : ports_) {
      if (!ports.count(p)) bpf_map_update_elem(port_fd_, &p, &zero, BPF_ANY);
    }
    for (uint32_t p : ports) bpf_map_update_elem(port_fd_, &p, &one, BPF_ANY);
    ports_ = ports;
    cfg.filter_ports = ports.empty() ? 0 : 1;

    std::set<uint32_t> netns;
    Napi::Value nv = o.Get("netns");
    if (nv.IsArray()) {
      Napi::Array a = nv.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) netns.insert(a.Get(i).As<Napi::Number>().Uint32Value());
    }
    for (uint32_t n : netns_) {
      if (!netns.count(n)) bpf_map_delete_elem(netns_fd_, &n);
    }
    for (uint32_t n : netns) bpf_map_update_elem(netns_fd_, &n, &one, BPF_ANY);
    netns_ = netns;
    cfg.filter_netns = netns.empty() ? 0 : 1;

    config_ = cfg;
    if (!FiltersChanged()) {
      Napi::Error::New(env, "cannot write the probe's settings: " + errno_text(errno)).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // Every thread caches its process's verdict under a generation number: a new one makes them decide again.
  bool FiltersChanged() {
    if (++config_.filter_gen == 0) config_.filter_gen = 1;
    uint32_t key = 0;
    return bpf_map_update_elem(config_fd_, &key, &config_, BPF_ANY) == 0;
  }

  // setPid(pid, verdict): 1 include, 2 exclude
  Napi::Value SetPid(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
    uint8_t verdict = info[1].As<Napi::Number>().Uint32Value();
    uint8_t was = 0;
    if (bpf_map_lookup_elem(pid_fd_, &pid, &was) == 0 && was == verdict) return Napi::Boolean::New(env, true);
    bool ok = bpf_map_update_elem(pid_fd_, &pid, &verdict, BPF_ANY) == 0;
    return Napi::Boolean::New(env, ok && FiltersChanged());
  }

  Napi::Value DeletePid(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
    bool ok = bpf_map_delete_elem(pid_fd_, &pid) == 0;
    return Napi::Boolean::New(env, ok && FiltersChanged());
  }

  // setComm(comm, verdict)
  Napi::Value SetComm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    struct comm_key key = {};
    std::string comm = info[0].ToString().Utf8Value();
    memcpy(key.comm, comm.data(), std::min<size_t>(comm.size(), sizeof(key.comm) - 1));
    uint8_t verdict = info[1].As<Napi::Number>().Uint32Value();
    bool ok = bpf_map_update_elem(comm_fd_, &key, &verdict, BPF_ANY) == 0;
    return Napi::Boolean::New(env, ok && FiltersChanged());
  }

  // start(onBatch(buffer, offsets)): attaches every program and starts draining.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    if (running_) {
      Napi::Error::New(env, "the probe is already started").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct bpf_program* prog;
    bpf_object__for_each_program(prog, skel_->obj) {
      if (!bpf_program__autoload(prog)) continue;  // the other set of tracepoints
      if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE) continue;  // uprobes: attachTls, per library
      struct bpf_link* link = bpf_program__attach(prog);
      if (!link) {
        int err = errno;
        Detach();
        std::string log = take_log();
        Napi::Error::New(env, std::string("cannot attach ") + bpf_program__name(prog) + " (" + bpf_program__section_name(prog) +
                                  "): " + errno_text(err) + (log.empty() ? "" : "\nlibbpf: " + log))
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      links_.push_back(link);
    }
    // Only now: while the programs were attached one by one, some calls were seen and others not
    // (a connection's writes without its reads), which reads as a request answered by the next response.
    config_.enabled = 1;
    if (!FiltersChanged()) {
      int err = errno;
      Detach();
      Napi::Error::New(env, "cannot write the probe's settings: " + errno_text(err)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "espan-ringbuf", max_queued_, 1, this,
                                          [](Napi::Env, Probe* self) { self->OnDrained(); });
    running_ = true;
    stopping_ = false;
    Ref();  // the drain thread uses this object until OnDrained
    thread_ = std::thread([this] { Drain(); });
    return env.Undefined();
  }

  // stop(): detaches, lets the thread hand over what the ring still holds, resolves when it has.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    stop_deferred_.push_back(Napi::Promise::Deferred::New(env));
    Napi::Promise promise = stop_deferred_.back().Promise();
    if (!running_) {
      Detach();
      ResolveStops();
      return promise;
    }
    for (struct bpf_link* l : links_) bpf_link__destroy(l);
    links_.clear();
    stopping_ = true;  // the reader thread detaches the uprobes, then drains what is left
    return promise;
  }

  void ResolveStops() {
    std::vector<Napi::Promise::Deferred> pending;
    pending.swap(stop_deferred_);
    for (auto& d : pending) d.Resolve(d.Env().Undefined());
  }

  // Runs on the JavaScript thread once the drain thread released the function and every batch was delivered.
  void OnDrained() {
    if (thread_.joinable()) thread_.join();
    running_ = false;
    ResolveStops();
    Unref();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    uint64_t totals[DROP_COUNTERS] = {};
    if (skel_ && drops_fd_ >= 0) {
      std::vector<uint64_t> per_cpu(ncpus_ > 0 ? ncpus_ : 1);
      for (uint32_t k = 0; k < DROP_COUNTERS; k++) {
        if (bpf_map_lookup_elem(drops_fd_, &k, per_cpu.data()) == 0) {
          for (uint64_t v : per_cpu) totals[k] += v;
        }
      }
    }
    out.Set("ringBufferFull", Napi::Number::New(env, totals[DROP_RINGBUF_FULL]));
    out.Set("callTableFull", Napi::Number::New(env, totals[DROP_CALLS_FULL]));
    out.Set("tlsCiphertext", Napi::Number::New(env, totals[COUNT_TLS_CIPHERTEXT]));
    out.Set("tlsNoConnection", Napi::Number::New(env, totals[COUNT_TLS_NO_CONNECTION]));
    out.Set("records", Napi::Number::New(env, records_.load()));
    out.Set("batches", Napi::Number::New(env, batches_.load()));
    out.Set("bytes", Napi::Number::New(env, bytes_.load()));
    out.Set("ringBytes", Napi::Number::New(env, ring_.Consumed()));
    out.Set("blockedNs", Napi::Number::New(env, blocked_ns_.load()));
    return out;
  }

  // attachTls(path): uprobes on the TLS functions the ELF file at `path` defines, in every process
  // that maps it (the programs filter by process). Returns { functions: names attached, error? }.
  Napi::Value AttachTls(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array names = Napi::Array::New(env);
    out.Set("functions", names);
    if (!Loaded(env)) return out;
    if (!tls_ || !running_ || stopping_) {
      out.Set("error", "TLS capture is off or the probe is not running");
      return out;
    }
    std::string path = info[0].ToString().Utf8Value();
    struct Hook {
      const char* func;
      struct bpf_program* enter;
      struct bpf_program* exit;
      const char* wraps;  // the _ex form whose internal function serves this one too
    };
    auto& p = skel_->progs;
    const Hook hooks[] = {
        {"SSL_read_ex", p.ssl_read_ex_enter, p.ssl_read_exit, nullptr},
        {"SSL_read", p.ssl_read_enter, p.ssl_read_exit, "SSL_read_ex"},
        {"SSL_write_ex", p.ssl_write_ex_enter, p.ssl_write_exit, nullptr},
        {"SSL_write", p.ssl_write_enter, p.ssl_write_exit, "SSL_write_ex"},
    };
    ElfFunctions elf(path, {"SSL_read", "SSL_read_ex", "SSL_write", "SSL_write_ex"});
    if (!elf.Find("SSL_read")) return out;  // no OpenSSL in this file
    // _ex form -> the internal function probed for it (and for the plain form when that calls it too)
    std::map<std::string, ElfFunctions::Code> internal;
    for (const char* ex : {"SSL_read_ex", "SSL_write_ex"}) {
      const ElfFunctions::Code* c = elf.Find(ex);
      uint64_t target;
      ElfFunctions::Code t;
      if (c && !EmulatedFirstInstruction(*c) && WrapperCallTarget(*c, &target) && elf.At(target, &t) && EmulatedFirstInstruction(t)) internal[ex] = t;
    }
    uint32_t n = 0;
    std::string error;
    std::set<std::string> probed_internal;  // _ex forms probed at their internal function
    for (const Hook& h : hooks) {
      const ElfFunctions::Code* self = elf.Find(h.func);
      if (!self) continue;  // OpenSSL 1.1.0 has no _ex forms
      if (h.wraps && probed_internal.count(h.wraps) && CallsEarly(*self, internal[h.wraps].vaddr)) {
        names.Set(n++, h.func);  // its calls reach the internal function probed for the _ex form
        continue;
      }
      auto in = internal.find(h.func);
      LIBBPF_OPTS(bpf_uprobe_opts, enter_opts, .retprobe = false, .func_name = in == internal.end() ? h.func : nullptr);
      size_t at = in == internal.end() ? 0 : in->second.offset;
      struct bpf_link* enter = bpf_program__attach_uprobe_opts(h.enter, -1, path.c_str(), at, &enter_opts);
      if (!enter) {
        if (error.empty()) error = std::string("cannot attach to ") + h.func + ": " + errno_text(errno);
        continue;
      }
      LIBBPF_OPTS(bpf_uprobe_opts, exit_opts, .retprobe = true, .func_name = enter_opts.func_name);
      struct bpf_link* exit = bpf_program__attach_uprobe_opts(h.exit, -1, path.c_str(), at, &exit_opts);
      if (!exit) {
        if (error.empty()) error = std::string("cannot attach to the return of ") + h.func + ": " + errno_text(errno);
        bpf_link__destroy(enter);
        continue;
      }
      uprobe_links_.push_back(enter);
      uprobe_links_.push_back(exit);
      if (in != internal.end()) probed_internal.insert(h.func);
      names.Set(n++, h.func);
    }
    take_log();  // libbpf's complaints about absent symbols are answered above
    if (!error.empty()) out.Set("error", error);
    return out;
  }

  // takeExecs(): the processes that exec'd since the last call (TLS capture only).
  Napi::Value TakeExecs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!skel_ || !tls_) return out;
    std::vector<uint32_t> pids;
    uint32_t key, next;
    uint32_t* prev = nullptr;
    while (bpf_map_get_next_key(exec_fd_, prev, &next) == 0) {
      pids.push_back(next);
      key = next;
      prev = &key;
    }
    for (uint32_t i = 0; i < pids.size(); i++) {
      bpf_map_delete_elem(exec_fd_, &pids[i]);
      out.Set(i, Napi::Number::New(env, pids[i]));
    }
    return out;
  }

  // ---- Go runtime: goroutines (receivers/ebpf/go.ts) ----

  // setGoProcess(pid, { g_goid, g_m, g_sched, m_curg, sudog_g }): the process is Go; where its runtime keeps what the probes read.
  Napi::Value SetGoProcess(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
    Napi::Object o = info[1].As<Napi::Object>();
    struct go_offsets off = {};
    off.g_goid = OptU32(o, "g_goid", 0);
    off.g_m = OptU32(o, "g_m", 0);
    off.g_sched = OptU32(o, "g_sched", 0);
    off.m_curg = OptU32(o, "m_curg", 0);
    off.sudog_g = OptU32(o, "sudog_g", 0);
    // threads cache whether their process is Go with their verdict: they look again under a new generation
    bool ok = bpf_map_update_elem(bpf_map__fd(skel_->maps.go_procs), &pid, &off, BPF_ANY) == 0;
    return Napi::Boolean::New(env, ok && FiltersChanged());
  }

  Napi::Value DeleteGoProcess(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
    return Napi::Boolean::New(env, bpf_map_delete_elem(bpf_map__fd(skel_->maps.go_procs), &pid) == 0);
  }

  // attachGo(path, gostartcallfn, send): the goroutine uprobes on a Go executable, at these file
  // offsets (found from its pclntab: a stripped binary has no symbols). Returns an error text, or "".
  Napi::Value AttachGo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    // once stopping, the reader thread owns uprobe_links_ (it detaches them)
    if (!running_ || stopping_) return Napi::String::New(env, "the probe is not started");
    std::string path = info[0].ToString().Utf8Value();
    const std::pair<struct bpf_program*, size_t> hooks[] = {
        {skel_->progs.go_gostartcallfn, (size_t)info[1].As<Napi::Number>().Int64Value()},
        {skel_->progs.go_send, (size_t)info[2].As<Napi::Number>().Int64Value()},
    };
    std::vector<struct bpf_link*> made;
    for (const auto& [prog, offset] : hooks) {
      struct bpf_link* l = bpf_program__attach_uprobe(prog, false, -1, path.c_str(), offset);
      if (!l) {
        std::string error = std::string("cannot attach ") + bpf_program__name(prog) + ": " + errno_text(errno) + " " + take_log();
        for (struct bpf_link* m : made) bpf_link__destroy(m);
        return Napi::String::New(env, error);
      }
      made.push_back(l);
    }
    uprobe_links_.insert(uprobe_links_.end(), made.begin(), made.end());
    return Napi::String::New(env, "");
  }

  // attachLoop(path): the event-loop uprobe on libuv's uv__run_check in the ELF file at `path`, found by
  // its symbol (bpf/espan.bpf.c, event-loop ticks). Returns "" when attached, "absent" when the file has
  // no such function, else an error text.
  Napi::Value AttachLoop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Loaded(env)) return env.Undefined();
    // once stopping, the reader thread owns uprobe_links_ (it detaches them)
    if (!running_ || stopping_) return Napi::String::New(env, "the probe is not started");
    std::string path = info[0].ToString().Utf8Value();
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = false, .func_name = "uv__run_check");
    struct bpf_link* l = bpf_program__attach_uprobe_opts(skel_->progs.loop_poll_end, -1, path.c_str(), 0, &opts);
    if (!l) {
      int err = errno;
      std::string log = take_log();
      if (err == ENOENT) return Napi::String::New(env, "absent");
      return Napi::String::New(env, std::string("cannot attach loop_poll_end: ") + errno_text(err) + " " + log);
    }
    uprobe_links_.push_back(l);
    return Napi::String::New(env, "");
  }

  // "socket" or "syscall": the set of tracepoints loaded
  Napi::Value Tracepoints(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), tracepoints_); }

  // Keeps the kernel's per-program run-time accounting on while the returned fd is open (closed with the probe).
  Napi::Value EnableRunTimeStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (stats_fd_ < 0) stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    return Napi::Boolean::New(env, stats_fd_ >= 0);
  }

  Napi::Value ProgramStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!skel_) return out;
    uint32_t i = 0;
    struct bpf_program* prog;
    bpf_object__for_each_program(prog, skel_->obj) {
      struct bpf_prog_info pi = {};
      uint32_t len = sizeof(pi);
      if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len) != 0) continue;
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", bpf_program__name(prog));
      o.Set("runCount", Napi::Number::New(env, pi.run_cnt));
      o.Set("runTimeNs", Napi::Number::New(env, pi.run_time_ns));
      out.Set(i++, o);
    }
    return out;
  }

  // Copies one record into the current batch; false once another might not fit.
  bool Take(const uint8_t* p, size_t size) {
    if (!current_) current_ = new Batch(pool_);
    Batch* b = current_;
    if (!b->data) return false;  // out of memory: this record is lost and the drain stops until the next wake-up
    b->offsets.push_back(b->size);
    // A record has room for more payload than it captured: only meta and act_size bytes are taken.
    size_t meta = sizeof(((struct network_data*)0)->meta);
    if (size >= meta) {
      int32_t act = reinterpret_cast<const struct network_data*>(p)->meta.act_size;
      if (act >= 0 && meta + act <= size) size = meta + act;
    }
    memcpy(b->data + b->size, p, size);
    b->size += size;
    return b->size + sizeof(struct network_data) <= max_batch_bytes_;
  }

  void Flush() {
    Batch* b = current_;
    if (!b) return;
    current_ = nullptr;
    if (b->offsets.empty()) {
      delete b;
      return;
    }
    b->offsets.push_back(b->size);
    records_ += b->offsets.size() - 1;
    batches_ += 1;
    bytes_ += b->size;
    auto t0 = std::chrono::steady_clock::now();
    queued_ += 1;
    // Blocks while JavaScript has max_queued_ batches unread: the ring fills and the kernel counts drops.
    napi_status st = tsfn_.BlockingCall(b, [this](Napi::Env env, Napi::Function cb, Batch* batch) {
      queued_ -= 1;
      size_t n = batch->offsets.size();
      Napi::Uint32Array offsets = Napi::Uint32Array::New(env, n);
      memcpy(offsets.Data(), batch->offsets.data(), n * sizeof(uint32_t));
      size_t len = batch->size;
      uint8_t* bytes = batch->data;
      Napi::Buffer<uint8_t> buf =
          Napi::Buffer<uint8_t>::New(env, bytes, len, [](Napi::Env, uint8_t*, Batch* owner) { delete owner; }, batch);
      cb.Call({buf, offsets});
    });
    blocked_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    if (st != napi_ok) {
      queued_ -= 1;
      delete b;
    }
  }

  // `last`: the probe is detached, nothing more will come.
  void DrainAvailable(bool last = false) {
    for (;;) {
      bool empty = ring_.Consume([this](const uint8_t* p, size_t size) { return Take(p, size); });
      bool out_of_memory = current_ && !current_->data;
      // While JavaScript has batches it has not taken, a drain that emptied the ring keeps its batch
      // to fill it further at the next one: the max_queued_ batches waiting then hold up to
      // max_batch_bytes_ of records each instead of one wake-up's worth, so far more records wait
      // there before the ring fills and the kernel drops. JavaScript idle takes each drain at once.
      if (!empty || out_of_memory || last || queued_ == 0) Flush();
      if (empty || out_of_memory) break;
    }
  }

  void Drain() {
    pthread_setname_np(pthread_self(), "espan-ringbuf");  // tells its CPU time apart in top and /proc
    while (!stopping_) {
      // Sleeps until the probe's wake-up or the poll interval: then takes everything.
      ring_.Wait(static_cast<int>(poll_ms_));
      DrainAvailable();
    }
    DetachUprobes();
    DrainAvailable(true);
    tsfn_.Release();
  }

  struct espan_bpf* skel_ = nullptr;
  RingReader ring_;
  std::vector<struct bpf_link*> links_;
  std::vector<struct bpf_link*> uprobe_links_;  // uprobes (TLS, Go, libuv loops), attached per file
  int config_fd_ = -1, pid_fd_ = -1, comm_fd_ = -1, port_fd_ = -1, netns_fd_ = -1, drops_fd_ = -1, exec_fd_ = -1;
  bool tls_ = false;
  int stats_fd_ = -1;
  int ncpus_ = 1;
  std::string tracepoints_;
  uint32_t poll_ms_ = 10;
  size_t max_batch_bytes_ = 1 << 20;
  uint32_t max_queued_ = 16;
  std::set<uint32_t> ports_, netns_;
  struct espan_config config_ = {};  // what the espan_config map holds
  std::shared_ptr<BlockPool> pool_;
  Batch* current_ = nullptr;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool running_ = false;
  std::vector<Napi::Promise::Deferred> stop_deferred_;
  std::atomic<uint64_t> records_{0}, batches_{0}, bytes_{0}, blocked_ns_{0};
  std::atomic<uint32_t> queued_{0};  // batches handed to JavaScript and not yet taken
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // glibc raises its mmap threshold to the size of each large block freed, so after the first
  // batch every 1 MiB block (and every large typed array) is carved from an arena that never
  // shrinks: 20-50 MB of RSS in freed blocks. A fixed threshold keeps large blocks mmapped and
  // returns them to the kernel when freed (the pool still reuses the ones it keeps).
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  exports.Set("Probe", Probe::Init(env));
  exports.Set("layout", Napi::Function::New(env, Layout));
  exports.Set("socketTracepoints",
              Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), KernelHasSocketTracepoints()); }));
  return exports;
}

}  // namespace

NODE_API_MODULE(espan_native, Init)
