/* mgrt: the instrumented allocator linked into every student program, ahead
 * of the student's objects. Each block gets its own pages with an
 * inaccessible guard page right after its last byte (pattern 0) or right
 * before its first byte (pattern 1); freed blocks stay quarantined with no
 * access, so overflows and uses after free fault on the spot. The fault
 * handler names the block, its allocation and free sites; leaks and bad
 * frees are reported with stacks. The engine symbolizes and judges outside
 * the box: this file only reports what it saw.
 *
 * The student's code shares this process, so the runtime defends what it
 * reports (graders/INTEGRITY.md): its state is inaccessible while student
 * code runs, and a seccomp filter it installs before any student code lets
 * the report descriptor, the memory map and the fatal signals be touched
 * only from its own system-call site. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "mgrt_int.h"
#include "mgrt_insn.c"

#define MGRT_FRAMES 8
#define MGRT_FILL_MAX (256u * 1024)      /* bigger blocks keep kernel zero pages:
                                            filling would fake memuser's RSS */
#define MGRT_QUAR_BYTES (64ul << 20)      /* address space kept for freed blocks */
#define MGRT_QUAR_COUNT 8192
#define MGRT_FRONT 64                     /* bytes before a block checked at its free */
#define MGRT_ALT_STACK (64 * 1024)
#define MGRT_UNW_MAX 16
/* Live guarded blocks cost two mappings each and vm.max_map_count is 65530:
 * past this many, small blocks come from a compact arena instead, with
 * canaries checked when they are freed. */
#define MGRT_GUARDED_MAX 24000
#define MGRT_ARENA (1u << 20)
#define MGRT_CANARY 16
/* Consecutive failed attempts at one call site after an injected failure
 * that make it a retry loop (it can never succeed). */
#define MGRT_RETRY_MAX 1000
#define PAGE 4096

enum { B_EMPTY, B_LIVE, B_FREED, B_GONE };

typedef struct {
    uintptr_t user, map;
    size_t size, maplen;
    unsigned long seq;
    unsigned char state, student, pattern, filled, compact, unwword;
    unsigned char held, scanned;   /* mark_held's */
    uintptr_t apc[MGRT_FRAMES], fpc[MGRT_FRAMES];
} blk;

/* Fallback bounds of the executable (linker symbols a program could
 * define itself, so the kernel's program headers come first), and the
 * markers the engine links around our own objects (mgrt_mark.c). */
extern char __executable_start[], etext[];
extern void mgrt_rt_begin(void), mgrt_stu_begin(void);
#ifdef MGRT_SERVER
extern void mgrt_drv_begin(void);
#define MGRT_RT_END mgrt_drv_begin   /* the driver follows the runtime */
#else
#define MGRT_RT_END mgrt_stu_begin
#endif
extern void *__libc_stack_end;
extern int main();

/* ---- what the runtime keeps, and how it is kept from the student -------- */

/* Set once at start-up, read-only from then on (the pages are made so):
 * where things are. Nothing here is secret; all of it must stay true. */
struct rt_cfg {
    size_t pg, as_lim;
    uintptr_t exe_lo, exe_hi, base_addr, ours_lo, ours_hi, rt_lo, rt_hi, stack_top;
    uintptr_t ld_lo, ld_hi;              /* the dynamic loader */
    int nlibc;
    struct { uintptr_t lo, hi; } libc_rw[4]; /* the C library's writable data */
    unsigned long stack_lim;
    int rep_fd;                          /* the report descriptor's number */
    long mon_pid;                        /* the monitor's: the student's code runs in
                                            another process */
    int nseg;
    struct { uintptr_t lo, hi; int flags; } seg[8]; /* the executable's PT_LOADs */
};
static union {
    struct rt_cfg c;
    char pad[PAGE];
} cfg_page __attribute__((aligned(PAGE), section(".data.mgrt_cfg")));
#define CFG (cfg_page.c)
_Static_assert(sizeof(struct rt_cfg) <= PAGE, "rt_cfg must fit its page");

/* Everything the runtime changes while the program runs: its counters and
 * the tables of blocks (graders/INTEGRITY.md says what protects them and
 * what does not). */
struct rt_state {
    int injected, nomem_said, in_realloc;
    unsigned unw_reports;
    unsigned long seq, stu_allocs, stu_calls, retries;
    uintptr_t retry_site;
    blk *recs;                           /* inside tab */
    uint32_t *hidx;                      /* inside tab: user pointer -> record index + 1 */
    uint32_t *quar;                      /* inside tab: MGRT_QUAR_COUNT entries */
    size_t nrecs, caprecs, hcap, tab_len;
    void *tab;                           /* one mapping: quar, recs, hidx */
    size_t quar_head, quar_n, quar_bytes;
    size_t live_guarded, guarded_va, arena_left;
    char *arena;
    char token[40];
    char repbuf[4200];
};
static struct rt_state state;
#define S state

/* What a test run is: the fill pattern and placement, and which
 * allocation fails. Read-only in a whole program (mgrt_arm at start-up);
 * writable in a test's child (an mprotect per child costs about a
 * millisecond on the hosts this runs on), where the monitor checks every
 * block against the run's real settings instead (graders/INTEGRITY.md
 * 3.5). */
struct rt_run {
    int pattern;
    unsigned long fail_at, test_seq;
};
static union {
    struct rt_run r;
    char pad[PAGE];
} run_page __attribute__((aligned(PAGE), section(".data.mgrt_run")));
#define RUN (run_page.r)

static int inited_early;
static char **init_envp;
static volatile int in_fault;

/* Students may use threads: one lock, recursive because realloc allocates
 * and frees under it and a fault may arrive inside the runtime. */
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;

static const unsigned char fill_byte[2] = {0xAA, 0x55};
static const unsigned char slack_byte = 0xC3; /* after blocks of pattern 1 */
static const unsigned char canary_byte = 0xFD; /* around compact blocks */

/* ---- the runtime's own system calls ------------------------------------- */

/* The one instruction through which the runtime changes the memory map and
 * writes reports. The filter installed by mgrt_lockdown() allows those calls
 * only when they come from here, and this function only serves callers in
 * the runtime's own code. */
extern const char mgrt_site_after[] __asm__(".Lmgrt_site_after");

__attribute__((noinline, noclone)) static long rt_sys(long nr, long a, long b, long c, long d,
                                                      long e, long f)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    if (CFG.rt_hi && (ra < CFG.rt_lo || ra >= CFG.rt_hi))
        __builtin_trap(); /* called from outside the runtime */
    /* ... and returns right after one of the runtime's own calls to it: a
     * "return address" a student forged (the end of some runtime function,
     * to get back out) fails here, and a genuine one leads back into the
     * runtime's code, not theirs. */
    int32_t rel;
    memcpy(&rel, (const void *)(ra - 4), sizeof rel);
    if (CFG.rt_hi && (*(const unsigned char *)(ra - 5) != 0xE8 ||
                      ra + (uintptr_t)(intptr_t)rel != (uintptr_t)rt_sys))
        __builtin_trap();
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall\n.Lmgrt_site_after:\n"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static void *sys_mmap(void *a, size_t len, int prot, int flags)
{
    long r = rt_sys(SYS_mmap, (long)a, (long)len, prot, flags, -1, 0);
    return r < 0 && r > -4096 ? MAP_FAILED : (void *)r;
}
static int sys_mprotect(void *a, size_t len, int prot)
{
    return rt_sys(SYS_mprotect, (long)a, (long)len, prot, 0, 0, 0) ? -1 : 0;
}
/* The result is used after the call so that it stays a call (rt_sys checks
 * where it returns to), never a jump. */
static void sys_munmap(void *a, size_t len)
{
    long r = rt_sys(SYS_munmap, (long)a, (long)len, 0, 0, 0, 0);
    __asm__ volatile("" : : "r"(r));
}
static void sys_madvise(void *a, size_t len, int adv)
{
    long r = rt_sys(SYS_madvise, (long)a, (long)len, adv, 0, 0, 0);
    __asm__ volatile("" : : "r"(r));
}

/* Enters the runtime's state for the calling thread (takes the lock). */
static void rt_open(void)
{
    pthread_mutex_lock(&lock);
}

static void rt_close(void)
{
    pthread_mutex_unlock(&lock);
}

/* ---- reporting ----------------------------------------------------------- */

void mgrt_vrep(const char *fmt, va_list ap)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    if (CFG.rt_hi && (ra < CFG.rt_lo || ra >= CFG.rt_hi))
        __builtin_trap(); /* only the runtime reports */
    rt_open();
    char *buf = S.repbuf;
    size_t cap = sizeof S.repbuf;
    if (CFG.rep_fd < 0)
        goto out;
    int n = S.token[0] ? snprintf(buf, cap, "%s ", S.token) : 0;
    int m = vsnprintf(buf + n, cap - (size_t)n - 1, fmt, ap);
    if (m < 0)
        goto out;
    size_t len = (size_t)n + ((size_t)m < cap - (size_t)n - 1 ? (size_t)m : cap - (size_t)n - 2);
    buf[len++] = '\n';
    for (size_t off = 0; off < len;) {
        long w = rt_sys(SYS_write, CFG.rep_fd, (long)(buf + off), (long)(len - off), 0, 0, 0);
        if (w == -EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
out:
    rt_close();
}

void mgrt_rep(const char *fmt, ...)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    if (CFG.rt_hi && (ra < CFG.rt_lo || ra >= CFG.rt_hi))
        __builtin_trap(); /* only the runtime reports */
    va_list ap;
    va_start(ap, fmt);
    mgrt_vrep(fmt, ap);
    va_end(ap);
}

/* "pcs=a,b,c": offsets from the load base, so the engine can symbolize. */
static char *fmt_pcs(char *out, size_t cap, const uintptr_t *pcs)
{
    size_t n = 0;
    out[0] = '-';
    out[1] = 0;
    for (int i = 0; i < MGRT_FRAMES && pcs[i] && n + 20 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%lx", i ? "," : "",
                              (unsigned long)(pcs[i] - CFG.base_addr));
    return out;
}

/* ---- stacks -------------------------------------------------------------- */

static int in_exe(uintptr_t pc) { return pc >= CFG.exe_lo && pc < CFG.exe_hi; }
/* The student's code is all of the executable's code but ours: wherever
 * they put it (a section attribute can move it out of any marked range),
 * it counts. Our runtime and driver are built without function reordering,
 * so they stay between their markers. */
static int in_stu(uintptr_t pc) { return in_exe(pc) && !(pc >= CFG.ours_lo && pc < CFG.ours_hi); }
static int on_stack(uintptr_t a, uintptr_t sp) { return a >= sp && a + 16 <= CFG.stack_top; }

/* A word found on the stack is a return address only if the bytes before
 * it are a call: e8 rel32, ff /2 with a register, disp8, disp32 or SIB. */
static int after_call(uintptr_t r)
{
    if (r < CFG.exe_lo + 8 || r > CFG.exe_hi)
        return 0;
    const unsigned char *c = (const unsigned char *)r;
    return c[-5] == 0xE8 || (c[-2] == 0xFF && (c[-1] & 0xF8) == 0xD0) ||
           (c[-3] == 0xFF && (c[-2] & 0x38) == 0x10) ||
           (c[-6] == 0xFF && (c[-5] & 0x38) == 0x10) || (c[-7] == 0xFF && (c[-6] & 0x38) == 0x10);
}

/* Frame-pointer walk (student, driver and runtime are built with frame
 * pointers). When pc is in libc (built without them), the first return
 * address into the executable is found by scanning the stack, and the
 * frame holding it by its saved-rbp/return-address pair. */
static void walk(uintptr_t pc, uintptr_t sp, uintptr_t fp, uintptr_t *out)
{
    int n = 0;
    uintptr_t top = CFG.stack_top;
    memset(out, 0, MGRT_FRAMES * sizeof *out);
    out[n++] = pc;
    /* Only the main thread's stack has known bounds: in another thread the
     * caller's own address is all we take (reading on could leave its
     * stack). */
    if (!top || sp >= top || top - sp > CFG.stack_lim + (1ul << 20))
        return;
    if (!in_exe(pc)) {
        uintptr_t s = sp & ~(uintptr_t)7, lim = sp + 65536;
        /* Not the runtime's own: those are stale words its earlier calls
         * left in the C library's frames. */
        for (; s + 8 <= top && s < lim; s += 8) {
            uintptr_t w = *(uintptr_t *)s;
            if (in_exe(w) && after_call(w) && !(w >= CFG.rt_lo && w < CFG.rt_hi))
                break;
        }
        if (s + 8 > top || s >= lim)
            return;
        out[n++] = *(uintptr_t *)s;
        fp = 0;
        for (uintptr_t x = s + 8; x + 16 <= top && x < s + 65536; x += 8) {
            uintptr_t saved = *(uintptr_t *)x, ret = *(uintptr_t *)(x + 8);
            if (in_exe(ret) && after_call(ret) && saved > x && saved < top) {
                fp = x;
                break;
            }
        }
        sp = s;
    }
    while (n < MGRT_FRAMES && fp && !(fp & 7) && on_stack(fp, sp)) {
        uintptr_t next = ((uintptr_t *)fp)[0], ret = ((uintptr_t *)fp)[1];
        if (!in_exe(ret))
            break;
        out[n++] = ret;
        if (next <= fp)
            break;
        fp = next;
    }
}

static int has_stu(const uintptr_t *pcs)
{
    for (int i = 0; i < MGRT_FRAMES && pcs[i]; i++)
        if (in_stu(pcs[i]))
            return 1;
    return 0;
}

/* The stack of the public allocator entry that called this macro. */
#define CAPTURE(st)                                                           \
    uintptr_t st[MGRT_FRAMES];                                                \
    do {                                                                      \
        mgrt_init();                                                          \
        uintptr_t *fr_ = __builtin_frame_address(0);                          \
        walk((uintptr_t)__builtin_return_address(0), (uintptr_t)(fr_ + 2),    \
             fr_[0], st);                                                     \
    } while (0)

/* ---- the ledger ---------------------------------------------------------- */

/* Every allocation and every free is told, as it happens, to a monitor in
 * another process (the fork server for a test's child, a process forked
 * before main for a whole program: mgrt_led.c), through the filtered report
 * channel. The monitor keeps its own books from these records and decides
 * leaks, double frees and the fault-injection checks from them; the tables
 * here, in memory the student's code can write, only serve the runtime's
 * own work (graders/INTEGRITY.md 3.5). A record is written before the
 * student's code sees the call's result, so it cannot be taken back, and
 * only this process writes to the channel (the filter lets student code
 * make no copy of it). */
enum { LF_STU = 1, LF_DIRECT = 2, LF_COMPACT = 4, LF_PAT1 = 8, LF_CALL = 16, LF_OK = 32 };

static unsigned led_flags(const blk *b)
{
    return (b->student ? LF_STU : 0) | (in_exe(b->apc[0]) ? LF_DIRECT : 0) |
           (b->compact ? LF_COMPACT : 0) | (b->pattern ? LF_PAT1 : 0);
}

/* Ledger lines are made by hand, all numbers in hex: they are written on
 * every allocator call, where printf's cost would show. */
static char *led_hex(char *p, uint64_t v)
{
    char t[16];
    int n = 0;
    do
        t[n++] = "0123456789abcdef"[v & 15];
    while ((v >>= 4) && n < 16);
    while (n)
        *p++ = t[--n];
    return p;
}

/* "kind u size flags map maplen pcs,pcs,...\n" on the report channel. */
static void led_line(char kind, uintptr_t u, size_t size, unsigned fl, uintptr_t map,
                     size_t maplen, const uintptr_t *pcs)
{
    char b[16 + 5 * 17 + MGRT_FRAMES * 17 + 2], *p = b;
    *p++ = 'l';
    *p++ = kind;
    uint64_t v[5] = {u, size, fl, map, maplen};
    for (int i = 0; i < 5; i++) {
        *p++ = ' ';
        p = led_hex(p, v[i]);
    }
    *p++ = ' ';
    for (int i = 0; i < MGRT_FRAMES && pcs[i]; i++) {
        if (i)
            *p++ = ',';
        p = led_hex(p, pcs[i] - CFG.base_addr);
    }
    if (p[-1] == ' ')
        *p++ = '-';
    *p++ = '\n';
    if (CFG.rep_fd < 0 || S.token[0]) /* not monitored (the fork server itself) */
        return;
    rt_open();
    for (size_t off = 0, len = (size_t)(p - b); off < len;) {
        long w = rt_sys(SYS_write, CFG.rep_fd, (long)(b + off), (long)(len - off), 0, 0, 0);
        if (w == -EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    rt_close();
}

/* b: the block made, or NULL when the allocation failed. */
static void led_alloc(const blk *b, size_t size, int stu, const uintptr_t *st)
{
    unsigned fl = b ? led_flags(b) : (stu ? LF_STU : 0) | (in_exe(st[0]) ? LF_DIRECT : 0);
    led_line('a', b ? b->user : 0, b ? b->size : size, fl, b ? b->map : 0, b ? b->maplen : 0, st);
}

/* b: the block this call freed, or NULL when it freed nothing (an error
 * the runtime reported, or the C library's own early block). */
static void led_free(const blk *b, uintptr_t p, int stu, const uintptr_t *st)
{
    if (!b && !stu)
        return;
    unsigned fl = (b ? led_flags(b) | LF_OK : 0) | (stu ? LF_CALL : 0);
    led_line('f', p, b ? b->size : 0, fl, b ? b->map : 0, b ? b->maplen : 0, st);
}

/* ---- records ------------------------------------------------------------- */

/* The runtime's own mappings sit between guard pages: a student's overflow
 * must fault, not rewrite the records that judge it. */
static void *raw_map(size_t len)
{
    size_t pg = CFG.pg;
    char *p = sys_mmap(NULL, len + 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (p == MAP_FAILED)
        return NULL;
    if (sys_mprotect(p, pg, PROT_NONE) || sys_mprotect(p + pg + len, pg, PROT_NONE)) {
        sys_munmap(p, len + 2 * pg);
        return NULL;
    }
    return p + pg;
}

static void raw_unmap(void *p, size_t len)
{
    sys_munmap((char *)p - CFG.pg, len + 2 * CFG.pg);
}

static size_t hslot(uintptr_t u) { return (size_t)((u >> 4) * 0x9E3779B97F4A7C15ull) & (S.hcap - 1); }

static blk *lookup(uintptr_t u)
{
    if (!S.hcap)
        return NULL;
    for (size_t s = hslot(u); S.hidx[s]; s = (s + 1) & (S.hcap - 1))
        if (S.recs[S.hidx[s] - 1].user == u)
            return &S.recs[S.hidx[s] - 1];
    return NULL;
}

/* The tables (quarantine ring, records, hash index) live in one mapping,
 * so that opening and closing them is one call. Growing doubles it. */
static int tab_grow(void)
{
    size_t ncap = S.caprecs ? S.caprecs * 2 : 4096, nh = ncap * 2;
    size_t qlen = MGRT_QUAR_COUNT * sizeof(uint32_t);
    size_t len = (qlen + ncap * sizeof(blk) + nh * sizeof(uint32_t) + CFG.pg - 1) & ~(CFG.pg - 1);
    char *t = raw_map(len);
    if (!t)
        return -1;
    uint32_t *quar = (uint32_t *)t;
    blk *recs = (blk *)(t + qlen);
    uint32_t *hidx = (uint32_t *)(t + qlen + ncap * sizeof(blk));
    if (S.tab) {
        memcpy(quar, S.quar, qlen);
        memcpy(recs, S.recs, S.nrecs * sizeof(blk));
    }
    void *old = S.tab;
    size_t olen = S.tab_len;
    S.quar = quar;
    S.recs = recs;
    S.hidx = hidx;
    S.caprecs = ncap;
    S.hcap = nh;
    S.tab = t;
    S.tab_len = len;
    for (size_t i = 0; i < S.nrecs; i++) {
        size_t s = hslot(recs[i].user);
        while (hidx[s] && recs[hidx[s] - 1].user != recs[i].user)
            s = (s + 1) & (nh - 1);
        hidx[s] = (uint32_t)(i + 1); /* a reused address means the newest block */
    }
    if (old)
        raw_unmap(old, olen);
    return 0;
}

static blk *new_rec(uintptr_t u)
{
    if (S.nrecs == S.caprecs && tab_grow())
        return NULL;
    blk *b = &S.recs[S.nrecs++];
    memset(b, 0, sizeof *b);
    b->user = u;
    size_t s = hslot(u);
    while (S.hidx[s] && S.recs[S.hidx[s] - 1].user != u)
        s = (s + 1) & (S.hcap - 1);
    S.hidx[s] = (uint32_t)S.nrecs; /* a reused address now means the new block */
    return b;
}

/* ---- allocation ---------------------------------------------------------- */

static size_t natural_align(size_t n)
{
    size_t a = n & -n;
    return !a || a > 16 ? 16 : a;
}

/* An allocation is the student's when their code is on the stack: made by
 * them, or by the C library on their behalf (asprintf, getline,
 * open_memstream: the caller owns the result). So is one with none of the
 * executable's code on the stack at all, made in the process the student's
 * code runs in (a test's child, a whole program's process): the C library
 * working for a thread of theirs (a thread's first frames are the
 * library's, and only the caller of another thread's call is known), or
 * malloc itself started as a thread; only the driver's and the runtime's
 * own calls, the dynamic loader's (a thread's TLS) and whatever ran before
 * the student's process began are not. What the C library keeps for itself
 * is told apart at the leak check (mark_held). */
static int stu_alloc(const uintptr_t *st)
{
    if (st[0] >= CFG.ld_lo && st[0] < CFG.ld_hi)
        return 0;
    if (has_stu(st))
        return 1;
    for (int i = 0; i < MGRT_FRAMES && st[i]; i++)
        if (in_exe(st[i]))
            return 0; /* the driver's or ours */
    return CFG.mon_pid && getpid() != CFG.mon_pid;
}

/* Blocks the C library made that it still reaches from its own data (a
 * stream's buffer, an open FILE and its buffer, localtime's time zone) are
 * its caches, not the student's leaks: valgrind calls them "still
 * reachable". Marks them held; at most MGRT_HELD candidates are traced. */
#define MGRT_HELD 256
static int points_into(uintptr_t lo, uintptr_t hi, blk **cand, size_t n)
{
    int found = 0;
    for (uintptr_t a = (lo + 7) & ~(uintptr_t)7; a + 8 <= hi; a += 8) {
        uintptr_t w = *(const uintptr_t *)a;
        for (size_t i = 0; i < n; i++)
            if (!cand[i]->held && w >= cand[i]->user && w <= cand[i]->user + cand[i]->size) {
                cand[i]->held = 1;
                found = 1;
            }
    }
    return found;
}

static void mark_held(unsigned long since)
{
    blk *cand[MGRT_HELD];
    size_t n = 0;
    for (size_t i = 0; i < S.nrecs && n < MGRT_HELD; i++) {
        blk *b = &S.recs[i];
        b->held = 0;
        if (b->state == B_LIVE && b->student && b->seq > since && !in_exe(b->apc[0]))
            cand[n++] = b;
    }
    if (!n)
        return;
    for (int r = 0; r < CFG.nlibc; r++)
        points_into(CFG.libc_rw[r].lo, CFG.libc_rw[r].hi, cand, n);
    /* and what those reach, a few levels down (a FILE, then its buffer) */
    for (int round = 0; round < 4; round++) {
        int more = 0;
        for (size_t i = 0; i < n; i++)
            if (cand[i]->held && cand[i]->size <= 65536 && !cand[i]->scanned) {
                cand[i]->scanned = 1;
                more |= points_into(cand[i]->user, cand[i]->user + cand[i]->size, cand, n);
            }
        if (!more)
            break;
    }
    for (size_t i = 0; i < n; i++)
        cand[i]->scanned = 0;
}

/* A real failure (the sandbox's memory limit): said once, so that a crash
 * that follows is understood as an unchecked allocation failure. */
static void *no_memory(int stu, const uintptr_t *st)
{
    if (stu && !S.nomem_said) {
        char s[200];
        S.nomem_said = 1;
        mgrt_rep("nomem apcs=%s", fmt_pcs(s, sizeof s, st));
    }
    errno = ENOMEM;
    return NULL;
}

static _Noreturn void end_retry(const uintptr_t *st);

/* Fault injection: the fail_at-th allocation of the test fails, and so do
 * the attempts that follow it at the same call site (a retry there can
 * never succeed); a site that keeps trying is a retry loop. */
static int inject(const uintptr_t *st)
{
    if (++S.stu_allocs == RUN.fail_at) {
        char s[200];
        mgrt_rep("inj fn=%s apcs=%s", S.in_realloc ? "realloc" : "malloc", fmt_pcs(s, sizeof s, st));
        S.injected = 1;
        S.retry_site = st[0];
        S.retries = 0;
        return 1;
    }
    if (RUN.fail_at && S.retry_site && st[0] == S.retry_site) {
        if (++S.retries >= MGRT_RETRY_MAX)
            end_retry(st);
        return 1;
    }
    S.retry_site = 0; /* another site: the failure was handled */
    return 0;
}

static uintptr_t compact_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t need = MGRT_CANARY + align + size + MGRT_CANARY;
    if (need > S.arena_left) {
        S.arena = raw_map(MGRT_ARENA);
        S.arena_left = S.arena ? MGRT_ARENA : 0;
        if (need > S.arena_left)
            return 0;
    }
    uintptr_t start = (uintptr_t)S.arena;
    uintptr_t u = (start + MGRT_CANARY + align - 1) & ~(uintptr_t)(align - 1);
    size_t used = (u - start + size + MGRT_CANARY + 15) & ~(size_t)15;
    memset((void *)(u - MGRT_CANARY), canary_byte, MGRT_CANARY);
    memset((void *)(u + size), canary_byte, MGRT_CANARY);
    S.arena += used;
    S.arena_left -= used;
    return u;
}

static void *alloc_inner(size_t size, size_t align, int zero, const uintptr_t *st, int stu,
                         blk **made)
{
    size_t pg = CFG.pg;
    if (stu) {
        S.stu_calls++;
        if (inject(st)) {
            errno = ENOMEM;
            return NULL;
        }
    }
    if (size > ((size_t)1 << 40) || align > ((size_t)1 << 20))
        return no_memory(stu, st);
    if (!align)
        align = natural_align(size);
    /* Compact past the mapping limit, or when guarded blocks would take
     * more than half the address space the sandbox allows. */
    size_t want = ((size + align - 1 + pg - 1) & ~(pg - 1)) + 2 * pg;
    if ((S.live_guarded >= MGRT_GUARDED_MAX || S.guarded_va + want > CFG.as_lim / 2) &&
        size <= MGRT_ARENA / 4 && align <= 4096) {
        uintptr_t cu = compact_alloc(size, align);
        blk *cb = cu ? new_rec(cu) : NULL;
        if (!cb)
            return no_memory(stu, st);
        cb->size = size;
        cb->seq = ++S.seq;
        cb->state = B_LIVE;
        cb->student = (unsigned char)stu;
        cb->pattern = (unsigned char)RUN.pattern;
        cb->compact = 1;
        cb->filled = !zero;
        memcpy(cb->apc, st, sizeof cb->apc);
        memset((void *)cu, zero ? 0 : fill_byte[RUN.pattern], size);
        *made = cb;
        return (void *)cu;
    }
    size_t data = (size + align - 1 + pg - 1) & ~(pg - 1);
    if (!data)
        data = pg;
    /* Pattern 0: [data][guard], the block ending at the guard. Pattern 1:
     * [guard][data][guard], the block starting after the first. Neighbours'
     * guards merge into one mapping, so this costs about two per block. */
    size_t len = data + (RUN.pattern ? 2 : 1) * pg;
    /* Mapped with access, guards then taken away: the runtime's site may
     * only ever remove access (see the filter). */
    char *m = sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (m == MAP_FAILED || (RUN.pattern && sys_mprotect(m, pg, PROT_NONE)) ||
        sys_mprotect(m + len - pg, pg, PROT_NONE)) {
        if (m != MAP_FAILED)
            sys_munmap(m, len);
        return no_memory(stu, st);
    }
    uintptr_t u;
    if (RUN.pattern == 0)
        u = ((uintptr_t)m + data - size) & ~(uintptr_t)(align - 1);
    else
        u = (uintptr_t)m + pg;
    blk *b = new_rec(u);
    if (!b) {
        sys_munmap(m, len);
        errno = ENOMEM;
        return NULL;
    }
    S.live_guarded++;
    S.guarded_va += len;
    b->map = (uintptr_t)m;
    b->maplen = len;
    b->size = size;
    b->seq = ++S.seq;
    b->state = B_LIVE;
    b->student = (unsigned char)stu;
    b->pattern = (unsigned char)RUN.pattern;
    b->filled = !zero && size <= MGRT_FILL_MAX;
    memcpy(b->apc, st, sizeof b->apc);
    if (!zero) {
        /* New memory is never zero here: an outcome that depends on it
         * changes between the two patterns (uninitialized_read). */
        if (size <= MGRT_FILL_MAX)
            memset((void *)u, fill_byte[RUN.pattern], size);
    }
#ifndef MGRT_SERVER
    if (RUN.pattern == 0) {
        /* A whole program's first run: the bytes right before the block
         * are checked when it is freed; a write there makes the engine run
         * the program again with the block after a guard page, where the
         * access faults at its line (grd_run.c). A test's child needs none:
         * both placements always run. */
        size_t front = u - (uintptr_t)m < MGRT_FRONT ? u - (uintptr_t)m : MGRT_FRONT;
        memset((void *)(u - front), slack_byte, front);
    }
#endif
    if (RUN.pattern == 1) {
        /* The slack after the block is checked when it is freed. */
        size_t slack = (uintptr_t)m + len - pg - (u + size);
        if (slack <= MGRT_FILL_MAX)
            memset((void *)(u + size), slack_byte, slack);
    }
    *made = b;
    return (void *)u;
}

static void *alloc_block_locked(size_t size, size_t align, int zero, const uintptr_t *st)
{
    int stu = stu_alloc(st);
    blk *b = NULL;
    void *p = alloc_inner(size, align, zero, st, stu, &b);
    int e = errno;
    led_alloc(p ? b : NULL, size, stu, st);
    errno = e;
    return p;
}

static void *alloc_block(size_t size, size_t align, int zero, const uintptr_t *st)
{
    rt_open();
    void *p = alloc_block_locked(size, align, zero, st);
    int e = errno;
    rt_close();
    errno = e;
    return p;
}

/* Copies of the first bytes of each quarantined block, taken as it was
 * freed (its pages are then discarded): what a load from a freed node
 * reads when the handler steps over it. Indexed like S.quar. */
#define MGRT_SHADOW 64
static unsigned char quar_shadow[MGRT_QUAR_COUNT][MGRT_SHADOW];

static void shadow_keep(const blk *b, size_t slot)
{
    size_t n = b->size < MGRT_SHADOW ? b->size : MGRT_SHADOW;
    memcpy(quar_shadow[slot], (const void *)b->user, n);
}

static void quarantine(blk *b)
{
    size_t idx = (size_t)(b - S.recs);
    while (S.quar_n && (S.quar_n == MGRT_QUAR_COUNT || S.quar_bytes + b->maplen > MGRT_QUAR_BYTES)) {
        blk *old = &S.recs[S.quar[S.quar_head]];
        sys_munmap((void *)old->map, old->maplen);
        S.quar_bytes -= old->maplen;
        old->state = B_GONE;
        S.quar_head = (S.quar_head + 1) % MGRT_QUAR_COUNT;
        S.quar_n--;
    }
    size_t slot = (S.quar_head + S.quar_n) % MGRT_QUAR_COUNT;
    S.quar[slot] = (uint32_t)idx;
    shadow_keep(b, slot);
    S.quar_n++;
    S.quar_bytes += b->maplen;
}

static blk *containing(uintptr_t a, int *exact)
{
    blk *best = NULL;
    for (size_t i = S.nrecs; i-- > 0;) {
        blk *b = &S.recs[i];
        if (b->state == B_EMPTY || b->state == B_GONE)
            continue;
        if (a >= b->map && a < b->map + b->maplen) {
            if (exact)
                *exact = a >= b->user && a < b->user + b->size;
            return b;
        }
        if (!best && a >= b->user && a < b->user + b->size)
            best = b;
    }
    if (exact)
        *exact = best != NULL;
    return best;
}

/* What a pointer that malloc never returned points at, in words the engine
 * turns into a sentence; never a guess (an address in none of these is
 * "garbage"). */
static const char *what_is(uintptr_t u, blk **in)
{
    int exact = 0;
    blk *b = containing(u, &exact);
    *in = b;
    if (b && b->state == B_LIVE)
        return b->student ? "interior" : "foreign_block";
    if (b)
        return "freed_interior";
    uintptr_t top = CFG.stack_top;
    if (top && u < top && u + CFG.stack_lim + (1ul << 20) >= top)
        return "stack";
    for (int i = 0; i < CFG.nseg; i++)
        if (u >= CFG.seg[i].lo && u < CFG.seg[i].hi)
            return CFG.seg[i].flags & PF_W ? "data" : CFG.seg[i].flags & PF_X ? "code" : "rodata";
    return "garbage";
}

static void report_bad_free(const char *kind, const char *what, uintptr_t p,
                            const uintptr_t *st, const blk *b, uintptr_t fn)
{
    char s1[200], s2[200], s3[200];
    static const uintptr_t none[MGRT_FRAMES];
    mgrt_rep("err %s what=%s addr=%lx size=%zu fn=%lx pcs=%s apcs=%s fpcs=%s", kind, what,
             (unsigned long)p, b ? b->size : 0, fn ? (unsigned long)(fn - CFG.base_addr) : 0ul,
             fmt_pcs(s1, sizeof s1, st), fmt_pcs(s2, sizeof s2, b ? b->apc : none),
             fmt_pcs(s3, sizeof s3, b ? b->fpc : none));
}

/* A byte still equal to the fill pattern was probably never written; the
 * engine keeps the candidates seen at the same offset under both patterns
 * and names the block when the outcome differed (uninitialized_read). */
static void unwritten(const blk *b)
{
    if (!b->filled || !b->student || S.unw_reports >= MGRT_UNW_MAX)
        return;
    const unsigned char *d = memchr((const void *)b->user, fill_byte[b->pattern], b->size);
    if (!d)
        return;
    char s[200];
    S.unw_reports++;
    mgrt_rep("unw off=%zu size=%zu apcs=%s", (size_t)(d - (const unsigned char *)b->user),
             b->size, fmt_pcs(s, sizeof s, b->apc));
}

/* how: NULL for free, "realloc" for realloc. fn: the student function whose
 * result the driver is freeing (mgt_free_result), or 0. */
static blk *free_inner(void *p, const uintptr_t *st, const char *how, uintptr_t fn, int stu)
{
    if (stu)
        S.stu_calls++;
    uintptr_t u = (uintptr_t)p;
    blk *b = lookup(u);
    if (fn && b && b->state == B_LIVE && !b->student) {
        /* The function handed back a block it did not allocate (the
         * test's own, e.g. its argument): not its to give away. */
        report_bad_free("invalid_free", "foreign_block", u, st, b, fn);
        return NULL;
    }
    if (!b || b->state == B_EMPTY) {
        /* Whoever frees it, a pointer malloc never returned is an error,
         * except the dynamic loader's early blocks that the C library
         * itself hands back (its frees come from outside the executable). */
        if (!in_exe(st[0]) && !fn)
            return NULL;
        blk *in = NULL;
        const char *what = what_is(u, &in);
        report_bad_free("invalid_free", how ? how : what, u, st, in, fn);
        return NULL;
    }
    if (b->state != B_LIVE) {
        if (stu || in_exe(st[0]) || fn)
            report_bad_free("double_free", how ? how : "free", u, st, b, fn);
        return NULL;
    }
    if (b->compact) {
        const unsigned char *head = (const unsigned char *)(b->user - MGRT_CANARY);
        const unsigned char *tail = (const unsigned char *)(b->user + b->size);
        for (size_t i = 0; i < MGRT_CANARY; i++)
            if (head[i] != canary_byte || tail[i] != canary_byte) {
                char s1[200], s2[200];
                long off = tail[i] != canary_byte ? (long)(b->size + i) : (long)i - MGRT_CANARY;
                mgrt_rep("err heap_overflow what=found_at_free addr=%lx size=%zu off=%ld "
                         "pcs=%s apcs=%s fpcs=-", (unsigned long)(b->user + off), b->size, off,
                         fmt_pcs(s1, sizeof s1, st), fmt_pcs(s2, sizeof s2, b->apc));
                break;
            }
        unwritten(b);
        b->state = B_FREED;
        memcpy(b->fpc, st, sizeof b->fpc);
        memset((void *)b->user, 0xDD, b->size); /* never reused: no stale data to lean on */
        return b;
    }
    S.live_guarded--;
    S.guarded_va -= b->maplen;
    if (b->filled && b->student) {
        /* Its contents go now; remember whether a never-written word was
         * among them, for a crash on such a word later. */
        uint64_t v = 0x0101010101010101ull * fill_byte[b->pattern];
        for (size_t o = (8 - (b->user & 7)) & 7; o + 8 <= b->size && !b->unwword; o += 8)
            b->unwword = *(const uint64_t *)(b->user + o) == v;
    }
#ifndef MGRT_SERVER
    if (b->pattern == 0) {
        size_t front = b->user - b->map < MGRT_FRONT ? b->user - b->map : MGRT_FRONT;
        const unsigned char *h = (const unsigned char *)(b->user - front);
        for (size_t i = 0; i < front; i++)
            if (h[i] != slack_byte) {
                char s1[200], s2[200];
                long off = (long)i - (long)front;
                mgrt_rep("err heap_overflow what=found_at_free addr=%lx size=%zu off=%ld "
                         "pcs=%s apcs=%s fpcs=-", (unsigned long)(b->user + off), b->size, off,
                         fmt_pcs(s1, sizeof s1, st), fmt_pcs(s2, sizeof s2, b->apc));
                break;
            }
    }
#endif
    if (b->pattern == 1) {
        size_t slack = b->map + b->maplen - CFG.pg - (b->user + b->size);
        const unsigned char *t = (const unsigned char *)(b->user + b->size);
        for (size_t i = 0; slack <= MGRT_FILL_MAX && i < slack; i++)
            if (t[i] != slack_byte) {
                char s1[200], s2[200];
                mgrt_rep("err heap_overflow what=found_at_free addr=%lx size=%zu off=%zu "
                         "pcs=%s apcs=%s fpcs=-", (unsigned long)(b->user + b->size + i),
                         b->size, b->size + i, fmt_pcs(s1, sizeof s1, st),
                         fmt_pcs(s2, sizeof s2, b->apc));
                break;
            }
    }
    unwritten(b);
    b->state = B_FREED;
    memcpy(b->fpc, st, sizeof b->fpc);
    quarantine(b); /* keeps the first bytes: before they are discarded */
    sys_madvise((void *)b->map, b->maplen, MADV_DONTNEED);
    sys_mprotect((void *)b->map, b->maplen, PROT_NONE);
    return b;
}

static void free_block_locked(void *p, const uintptr_t *st, const char *how, uintptr_t fn)
{
    int stu = stu_alloc(st);
    blk *b = free_inner(p, st, how, fn, stu);
    led_free(b, (uintptr_t)p, stu, st);
}

static void free_block(void *p, const uintptr_t *st, const char *how, uintptr_t fn)
{
    if (!p)
        return;
    rt_open();
    free_block_locked(p, st, how, fn);
    rt_close();
}

static void *realloc_block_locked(void *p, size_t n, const uintptr_t *st)
{
    if (!p)
        return alloc_block_locked(n, 0, 0, st);
    blk *b = lookup((uintptr_t)p);
    if (!b || b->state != B_LIVE) {
        free_block_locked(p, st, "realloc", 0);
        return NULL;
    }
    if (!n) {
        free_block_locked(p, st, NULL, 0);
        return NULL;
    }
    size_t old = b->size; /* b dies if the record table grows below */
    S.in_realloc = 1;
    void *q = alloc_block_locked(n, 0, 0, st);
    S.in_realloc = 0;
    if (!q)
        return NULL; /* the old block stays as it was */
    memcpy(q, p, old < n ? old : n);
    free_block_locked(p, st, NULL, 0);
    return q;
}

static void *realloc_block(void *p, size_t n, const uintptr_t *st)
{
    rt_open();
    void *q = realloc_block_locked(p, n, st);
    int e = errno;
    rt_close();
    errno = e;
    return q;
}

/* ---- the public allocator ------------------------------------------------ */

void *malloc(size_t n) { CAPTURE(st); return alloc_block(n, 0, 0, st); }
void free(void *p) { CAPTURE(st); free_block(p, st, NULL, 0); }
void *realloc(void *p, size_t n) { CAPTURE(st); return realloc_block(p, n, st); }

void *calloc(size_t n, size_t m)
{
    CAPTURE(st);
    if (m && n > (size_t)-1 / m) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_block(n * m, 0, 1, st);
}

void *reallocarray(void *p, size_t n, size_t m)
{
    CAPTURE(st);
    if (m && n > (size_t)-1 / m) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_block(p, n * m, st);
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

int posix_memalign(void **out, size_t align, size_t n)
{
    CAPTURE(st);
    if (!pow2(align) || align % sizeof(void *))
        return EINVAL;
    void *p = alloc_block(n, align, 0, st);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    CAPTURE(st);
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_block(n, align, 0, st);
}

void *memalign(size_t align, size_t n)
{
    CAPTURE(st);
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_block(n, align, 0, st);
}

void *valloc(size_t n) { CAPTURE(st); return alloc_block(n, 4096, 0, st); }
void *pvalloc(size_t n) { CAPTURE(st); return alloc_block((n + 4095) & ~(size_t)4095, 4096, 0, st); }

char *strdup(const char *s)
{
    CAPTURE(st);
    size_t n = strlen(s) + 1;
    char *d = alloc_block(n, 0, 0, st);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *strndup(const char *s, size_t max)
{
    CAPTURE(st);
    size_t n = strnlen(s, max);
    char *d = alloc_block(n + 1, 0, 0, st);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

size_t malloc_usable_size(void *p)
{
    mgrt_init();
    rt_open();
    blk *b = p ? lookup((uintptr_t)p) : NULL;
    size_t n = b && b->state == B_LIVE ? b->size : 0;
    rt_close();
    return n;
}

/* glibc's own names for the same functions: calling them must not bypass
 * the checks. */
void *__libc_malloc(size_t n) { CAPTURE(st); return alloc_block(n, 0, 0, st); }
void __libc_free(void *p) { CAPTURE(st); free_block(p, st, NULL, 0); }
void *__libc_realloc(void *p, size_t n) { CAPTURE(st); return realloc_block(p, n, st); }
void *__libc_calloc(size_t n, size_t m)
{
    CAPTURE(st);
    if (m && n > (size_t)-1 / m)
        return NULL;
    return alloc_block(n * m, 0, 1, st);
}
void *__libc_memalign(size_t a, size_t n) { CAPTURE(st); return pow2(a) ? alloc_block(n, a, 0, st) : NULL; }
void *__libc_valloc(size_t n) { CAPTURE(st); return alloc_block(n, 4096, 0, st); }
void *__libc_pvalloc(size_t n) { CAPTURE(st); return alloc_block(n, 4096, 0, st); }
char *__strdup(const char *s)
{
    CAPTURE(st);
    size_t n = strlen(s) + 1;
    char *d = alloc_block(n, 0, 0, st);
    if (d)
        memcpy(d, s, n);
    return d;
}

#ifdef MGRT_SERVER
/* The driver frees what the student's function fn returned: a pointer that
 * is not a live block is that function's error (mgt.h). */
void mgrt_free_result(void *p, uintptr_t fn, const uintptr_t *st)
{
    free_block(p, st, NULL, fn);
}
#endif

/* ---- signals ------------------------------------------------------------- */

static const int fatal_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};

static int is_fatal(int sig)
{
    for (size_t i = 0; i < sizeof fatal_sigs / sizeof fatal_sigs[0]; i++)
        if (fatal_sigs[i] == sig)
            return 1;
    return 0;
}

/* The program may not take over the signals that reveal its crashes: the
 * request is accepted and ignored, so a handler cannot hide a fault (a raw
 * rt_sigaction is refused by the filter). */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    mgrt_init();
    if (is_fatal(sig) && act) {
        if (old)
            memset(old, 0, sizeof *old);
        return 0;
    }
    return real_sigaction ? real_sigaction(sig, act, old) : (errno = ENOSYS, -1);
}
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return sigaction(sig, act, old);
}
sighandler_t signal(int sig, sighandler_t h)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    if (sigaction(sig, &sa, &old))
        return SIG_ERR;
    return old.sa_handler;
}
sighandler_t sysv_signal(int sig, sighandler_t h) { return signal(sig, h); }
sighandler_t __sysv_signal(int sig, sighandler_t h) { return signal(sig, h); }
sighandler_t bsd_signal(int sig, sighandler_t h) { return signal(sig, h); }
sighandler_t sigset(int sig, sighandler_t h) { return signal(sig, h); }

/* Nor block them: the kernel kills a process that faults with the signal
 * blocked, before any handler can say where and why. */
typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);
static sigmask_fn real_sigprocmask, real_pthread_sigmask;

static const sigset_t *keep_fatal(int how, const sigset_t *set, sigset_t *tmp)
{
    if (!set || how == SIG_UNBLOCK)
        return set;
    *tmp = *set;
    for (size_t i = 0; i < sizeof fatal_sigs / sizeof fatal_sigs[0]; i++)
        sigdelset(tmp, fatal_sigs[i]);
    return tmp;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t t;
    mgrt_init();
    return real_sigprocmask ? real_sigprocmask(how, keep_fatal(how, set, &t), old)
                            : (errno = ENOSYS, -1);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t t;
    mgrt_init();
    return real_pthread_sigmask ? real_pthread_sigmask(how, keep_fatal(how, set, &t), old)
                                : ENOSYS;
}

static const char *classify(int sig, const siginfo_t *si, const ucontext_t *uc, uintptr_t sp,
                            blk **bp, long *off)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    *bp = NULL;
    if (sig == SIGFPE)
        return "arith";
    if (sig == SIGABRT)
        return "abort";
    if (sig == SIGSYS)
        return "blocked";
    if (sig != SIGSEGV && sig != SIGBUS)
        return "crash";
    if (si->si_code == SI_KERNEL) {
        /* A non-canonical address (no si_addr). The fill patterns are
         * non-canonical on purpose: a pointer read from never-written heap
         * memory, or from a never-set local (the fork server fills the
         * stack), ends here with the pattern still in a register. */
        for (int r = 0; r < NGREG; r++) {
            uint64_t v = (uint64_t)uc->uc_mcontext.gregs[r];
            if (v != 0x0101010101010101ull * fill_byte[RUN.pattern])
                continue;
            for (size_t i = S.nrecs; i-- > 0 && !*bp;) { /* whose bytes were they? */
                blk *b = &S.recs[i];
                if (b->state != B_LIVE && b->unwword) { /* freed since */
                    *bp = b;
                    break;
                }
                if (b->state != B_LIVE || !b->student || !b->filled)
                    continue;
                for (size_t o = (8 - (b->user & 7)) & 7; o + 8 <= b->size; o += 8)
                    if (*(const uint64_t *)(b->user + o) == v) {
                        *bp = b;
                        *off = (long)o;
                        break;
                    }
            }
            return "uninitialized_read";
        }
        return "wild_access";
    }
    if (a < 65536 || a >= (uintptr_t)-65536) /* NULL plus or minus a little */
        return "null_dereference";
    if ((a >= (uintptr_t)&cfg_page && a < (uintptr_t)(&cfg_page + 1)) ||
        (a >= (uintptr_t)&run_page && a < (uintptr_t)(&run_page + 1)))
        return "tamper"; /* a write to the runtime's read-only settings */
    int exact = 0;
    blk *b = containing(a, &exact);
    if (b) {
        *bp = b;
        *off = (long)(a - b->user);
        return b->state == B_LIVE ? "heap_overflow" : "use_after_free";
    }
    uintptr_t d = a > sp ? a - sp : sp - a;
    if (d < 65536 && CFG.stack_top - sp > CFG.stack_lim / 2)
        return "stack_overflow";
    return "wild_access";
}

static void leak_report(unsigned long since);

#ifndef MGRT_SERVER
/* Leaks at a crash, as Valgrind reports them when a program dies: the
 * student's blocks that nothing reaches any more, from the registers, the
 * stack, the program's globals or the C library's data, directly or
 * through other blocks (a pointer into a block counts, as Valgrind's
 * "possibly lost" would not be called a leak here). A block still pointed
 * to is one the code might yet have freed, and is not named. Only with
 * one thread (another's stack is not known) and up to MGRT_LOST_MAX live
 * blocks; each lost one is a ledger record ("lu"), which can only add a
 * leak the monitor's books hold live (mgrt_led.c). */
#define MGRT_LOST_MAX 4096
#define MGRT_LOST_SCAN (64ul << 20)   /* bytes of blocks scanned at most */
static blk *lost_c[MGRT_LOST_MAX];
static unsigned char lost_reach[MGRT_LOST_MAX];
extern char __libc_single_threaded;

static size_t lost_n;

/* Marks the candidates words in [lo, hi) point into; 1 if any was new. */
static int lost_mark(uintptr_t lo, uintptr_t hi)
{
    int found = 0;
    if (!lost_n)
        return 0;
    uintptr_t first = lost_c[0]->user, last = lost_c[lost_n - 1]->user + lost_c[lost_n - 1]->size;
    for (uintptr_t a = (lo + 7) & ~(uintptr_t)7; a + 8 <= hi; a += 8) {
        uintptr_t w = *(const uintptr_t *)a;
        if (w < first || w > last)
            continue;
        size_t l = 0, h = lost_n; /* the last block starting at or below w */
        while (h - l > 1) {
            size_t m = (l + h) / 2;
            if (lost_c[m]->user <= w)
                l = m;
            else
                h = m;
        }
        if (!lost_reach[l] && w <= lost_c[l]->user + lost_c[l]->size) {
            lost_reach[l] = 1;
            found = 1;
        }
    }
    return found;
}

static void crash_leaks(const ucontext_t *uc)
{
    if (!__libc_single_threaded || !CFG.stack_top)
        return;
    lost_n = 0;
    for (size_t i = 0; i < S.nrecs; i++) {
        blk *b = &S.recs[i];
        if (b->state != B_LIVE || !b->student)
            continue;
        if (lost_n == MGRT_LOST_MAX)
            return;
        /* insertion by address (the table is mostly in address order) */
        size_t j = lost_n++;
        while (j && lost_c[j - 1]->user > b->user) {
            lost_c[j] = lost_c[j - 1];
            j--;
        }
        lost_c[j] = b;
    }
    memset(lost_reach, 0, lost_n);
    uintptr_t regs[NGREG];
    for (int r = 0; r < NGREG; r++)
        regs[r] = (uintptr_t)uc->uc_mcontext.gregs[r];
    lost_mark((uintptr_t)regs, (uintptr_t)(regs + NGREG));
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    if (sp < CFG.stack_top && CFG.stack_top - sp <= CFG.stack_lim + (1ul << 20))
        lost_mark(sp >= 128 ? sp - 128 : sp, CFG.stack_top); /* with the red zone */
    for (int i = 0; i < CFG.nseg; i++)
        if (CFG.seg[i].flags & PF_W)
            lost_mark(CFG.seg[i].lo, CFG.seg[i].hi);
    for (int r = 0; r < CFG.nlibc; r++)
        lost_mark(CFG.libc_rw[r].lo, CFG.libc_rw[r].hi);
    size_t scanned = 0;
    for (int more = 1; more;) {
        more = 0;
        for (size_t i = 0; i < lost_n; i++) {
            if (lost_reach[i] != 1)
                continue;
            lost_reach[i] = 2; /* scanned */
            blk *b = lost_c[i];
            if ((scanned += b->size) > MGRT_LOST_SCAN)
                return; /* too much to tell: say nothing */
            more |= lost_mark(b->user, b->user + b->size);
        }
    }
    for (size_t i = 0; i < lost_n; i++)
        if (!lost_reach[i])
            mgrt_rep("lu %lx", (unsigned long)lost_c[i]->user);
}
#endif

/* Stepping over a bad access (mgrt_insn.c): how often, in all and at one
 * instruction, before the run ends as it would have at the first. */
#define MGRT_RESUME_MAX 64
#define MGRT_RESUME_PCS 32
#define MGRT_RESUME_PER_PC 8
static unsigned resumed_total;
static struct { uintptr_t pc; unsigned n; } resumed_at[MGRT_RESUME_PCS];

/* Bytes the code stored past a live block, into its guard page, kept so
 * that reading them back gives what was stored (as the heap's slack would
 * have, without the checker). The latest store of an address wins. */
#define MGRT_SCRATCH 1024
static struct {
    uintptr_t a;
    unsigned char v;
} scratch[MGRT_SCRATCH];
static size_t nscratch;

/* The quarantine slot whose copy holds freed block b's first bytes; -1. */
static long shadow_slot(const blk *b)
{
    size_t idx = (size_t)(b - S.recs);
    for (size_t i = 0; i < S.quar_n; i++) {
        size_t slot = (S.quar_head + i) % MGRT_QUAR_COUNT;
        if (S.quar[slot] == idx)
            return (long)slot;
    }
    return -1;
}

/* Where byte a of the block's mapping really is, when it can be touched:
 * b's readable pages. */
static int readable(const blk *b, uintptr_t a)
{
    uintptr_t lo = b->map + (b->pattern ? CFG.pg : 0), hi = b->map + b->maplen - CFG.pg;
    return b->state == B_LIVE && !b->compact && a >= lo && a < hi;
}

/* Byte a as the code would have read it: from b's readable pages, from what
 * was stored past it, from the copy of a freed block, else 0. */
static unsigned char byte_at(const blk *b, uintptr_t a)
{
    if (readable(b, a))
        return *(const unsigned char *)a;
    if (b->state == B_LIVE) {
        for (size_t i = nscratch; i-- > 0;)
            if (scratch[i].a == a)
                return scratch[i].v;
        return 0;
    }
    long slot;
    if (b->state != B_FREED || a < b->user || a >= b->user + b->size ||
        a - b->user >= MGRT_SHADOW || (slot = shadow_slot(b)) < 0)
        return 0;
    return quar_shadow[slot][a - b->user];
}

/* Byte a stored as the code meant to: into b's readable pages, aside for
 * its guard page, into the copy of a freed block; else dropped. */
static void byte_put(const blk *b, uintptr_t a, unsigned char v)
{
    if (readable(b, a)) {
        *(unsigned char *)a = v;
        return;
    }
    if (b->state == B_LIVE) {
        for (size_t i = nscratch; i-- > 0;)
            if (scratch[i].a == a) {
                scratch[i].v = v;
                return;
            }
        if (nscratch < MGRT_SCRATCH) {
            scratch[nscratch].a = a;
            scratch[nscratch++].v = v;
        }
        return;
    }
    long slot;
    if (b->state == B_FREED && a >= b->user && a < b->user + b->size &&
        a - b->user < MGRT_SHADOW && (slot = shadow_slot(b)) >= 0)
        quar_shadow[slot][a - b->user] = v;
}

static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                REG_R12, REG_R13, REG_R14, REG_R15};

/* Whether the fault at pc may be stepped over, and if so does it: a plain
 * store is kept (byte_put), a load into a register gets the value
 * (byte_at), any other access is skipped (a vector store is dropped). */
static int resume(ucontext_t *uc, uintptr_t pc, const blk *b)
{
    if (pc >= CFG.rt_lo && pc < CFG.rt_hi)
        return 0; /* the runtime's own code: never */
    if (resumed_total >= MGRT_RESUME_MAX)
        return 0;
    size_t i = 0;
    while (i < MGRT_RESUME_PCS && resumed_at[i].pc && resumed_at[i].pc != pc)
        i++;
    if (i == MGRT_RESUME_PCS || resumed_at[i].n >= MGRT_RESUME_PER_PC)
        return 0;
    const unsigned char *code = (const unsigned char *)pc;
    int len = mgrt_insn_len(code);
    if (!len)
        return 0;
    greg_t *g = uc->uc_mcontext.gregs;
    mgrt_load ld;
    if (mgrt_insn_mov(code, len, &ld)) {
        uintptr_t ea = (uintptr_t)ld.disp;
        if (ld.base == -2)
            ea += pc + (uintptr_t)len;
        else if (ld.base >= 0)
            ea += (uintptr_t)g[greg_of[ld.base]];
        if (ld.index >= 0)
            ea += (uintptr_t)g[greg_of[ld.index]] * (uintptr_t)ld.scale;
        if (ld.store) {
            uint64_t v = ld.reg < 0 ? (uint64_t)ld.imm : (uint64_t)g[greg_of[ld.reg]];
            if (ld.high8)
                v >>= 8;
            for (int k = 0; k < ld.src; k++)
                byte_put(b, ea + (uintptr_t)k, (unsigned char)(v >> (8 * k)));
        } else {
            uint64_t v = 0;
            for (int k = 0; k < ld.src; k++)
                v |= (uint64_t)byte_at(b, ea + (uintptr_t)k) << (8 * k);
            if (ld.sign && ld.src < 8 && (v >> (8 * ld.src - 1)) & 1)
                v |= ~(uint64_t)0 << (8 * ld.src);
            uint64_t *r = (uint64_t *)&g[greg_of[ld.reg]];
            if (ld.high8)
                *r = (*r & ~(uint64_t)0xFF00) | ((v & 0xFF) << 8);
            else if (ld.dst == 1)
                *r = (*r & ~(uint64_t)0xFF) | (v & 0xFF);
            else if (ld.dst == 2)
                *r = (*r & ~(uint64_t)0xFFFF) | (v & 0xFFFF);
            else if (ld.dst == 4)
                *r = v & 0xFFFFFFFFu;
            else
                *r = v;
        }
    }
    g[REG_RIP] = (greg_t)(pc + (uintptr_t)len);
    resumed_at[i].pc = pc;
    resumed_at[i].n++;
    resumed_total++;
    return 1;
}

/* The handler of every fatal signal. A bad access to a block (a guard page,
 * a freed block) is reported and, like Valgrind, stepped over: the run
 * goes on, so it reports every error and ends with its leak check. Anything
 * else ends the run here. */
static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    if (!in_fault++) {
        rt_open();
        blk *b = NULL;
        long off = 0;
        const char *kind = classify(sig, si, uc, sp, &b, &off);
        /* Every fault is reported, also one more at an instruction already
         * stepped over: whether it was is in memory the student's code can
         * write, and a run that goes on must never do so unreported (the
         * engine says each error once). */
        {
            uintptr_t st[MGRT_FRAMES];
            walk(pc, sp, fp, st);
            char s1[200], s2[200], s3[200];
            static const uintptr_t none[MGRT_FRAMES];
            /* x86 page-fault error code, bit 1: the access was a write. */
            int wr = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
            /* The access's width, by the student's own code (a library
             * function's copy says nothing of the data). */
            int w = 0;
            if (b && in_exe(pc)) {
                int len = mgrt_insn_len((const unsigned char *)pc);
                w = len ? mgrt_insn_width((const unsigned char *)pc, len) : 0;
            }
            mgrt_rep("err %s what=fault sig=%d rw=%c addr=%lx size=%zu off=%ld w=%d nr=%d pcs=%s "
                     "apcs=%s fpcs=%s",
                     kind, sig, wr ? 'w' : 'r', (unsigned long)si->si_addr, b ? b->size : 0, off,
                     w, sig == SIGSYS ? si->si_syscall : -1, fmt_pcs(s1, sizeof s1, st),
                     fmt_pcs(s2, sizeof s2, b ? b->apc : none),
                     fmt_pcs(s3, sizeof s3, b ? b->fpc : none));
        }
        if (sig == SIGSEGV && b && !b->compact &&
            (!strcmp(kind, "heap_overflow") || !strcmp(kind, "use_after_free")) &&
            resume(uc, pc, b)) {
            in_fault = 0;
            return;
        }
#ifndef MGRT_SERVER
        if (sig != SIGSYS)
            crash_leaks(uc);
#endif
    }
    if (sig == SIGSEGV) {
        /* Its handler stays ours (no SA_RESETHAND, so that a run can go
         * on), and the filter lets nobody change it. A fault while SIGSEGV
         * is blocked, as it is in its own handler, makes the kernel take
         * the default action: the process ends by SIGSEGV, as the sandbox
         * and the monitor expect. */
        *(volatile int *)0 = 0;
    }
    /* No full leak check at a crash: the blocks live then are mostly ones
     * the code would still have freed, and naming them leaks was wrong far
     * more often than right (tests/bench/README.md: every false positive
     * on the corpus). Only those nothing reaches any more are (crash_leaks). */
    /* Any other: SA_RESETHAND made the signal's action the default again. */
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, sig);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    raise(sig);
    _exit(128 + sig);
}

/* ---- comparisons on never-set values (whole programs) -------------------- */

/* A whole program's files are built with -fsanitize-coverage=trace-cmp
 * (grd_build.c): gcc calls these with both operands of each integer and
 * floating-point comparison of the student's code. An operand that is a
 * fill pattern whole, a heap block's never-written bytes (0xAA.. or
 * 0x55..) or a local never set (0xFE.., -ftrivial-auto-var-init=pattern),
 * is a branch on an uninitialized value (Valgrind's "conditional jump
 * depends on uninitialised value(s)"), found even when both sides of the
 * branch print the same. One byte alone is too often real data (0xAA is
 * in UTF-8 text): it is a candidate that the run with the other pattern
 * confirms at the same comparison. So is an operand made of the bytes kept
 * before each block in the first run (slack_byte): a read before a block,
 * which the second run, with a guard page there, finds at its line. */
#define MGRT_CMP_PCS 32
static uintptr_t cmp_said[MGRT_CMP_PCS];
static unsigned cmp_nsaid;

static __attribute__((noinline)) void seen_hit(const char *verb, const char *what, int w,
                                               uintptr_t *fr)
{
    uintptr_t ra = fr[1];
    rt_open();
    unsigned i = 0;
    while (i < cmp_nsaid && cmp_said[i] != ra)
        i++;
    if (i == cmp_nsaid && i < MGRT_CMP_PCS) { /* once per comparison */
        cmp_said[cmp_nsaid++] = ra;
        uintptr_t st[MGRT_FRAMES];
        char s[200];
        walk(ra, (uintptr_t)(fr + 2), fr[0], st);
        if (w > 1 && strcmp(what, "front"))
            mgrt_rep("err uninitialized_read what=%s_%s w=%d pcs=%s apcs=- fpcs=-", verb, what, w,
                     fmt_pcs(s, sizeof s, st));
        else
            mgrt_rep("ucand what=%s w=%d pcs=%s", what, w, fmt_pcs(s, sizeof s, st));
    }
    rt_close();
}

static __attribute__((noinline)) void cmp_hit(const char *what, int w, uintptr_t *fr)
{
    seen_hit("compare", what, w, fr);
}

/* Which pattern v (w bytes) is, if any; NULL for real data. */
static inline const char *cmp_kind(uint64_t v, int w)
{
    uint64_t ones = w == 8 ? 0x0101010101010101ull : (1ull << (8 * w)) / 255;
    if (v == ones * fill_byte[RUN.pattern])
        return "heap";
    if (w > 1 && v == ones * 0xFE)
        return "local";
#ifndef MGRT_SERVER
    if (RUN.pattern == 0 && v == ones * slack_byte)
        return "front";
#endif
    return NULL;
}

#define CMP_CHECK(a, b, w)                                                    \
    do {                                                                      \
        const char *k_ = cmp_kind((uint64_t)(a), (w));                        \
        if (!k_)                                                              \
            k_ = cmp_kind((uint64_t)(b), (w));                                \
        if (__builtin_expect(k_ != NULL, 0))                                  \
            cmp_hit(k_, (w), __builtin_frame_address(0));                     \
    } while (0)

/* The constant operand (the first, in the const_ forms) is the code's own. */
void __sanitizer_cov_trace_cmp1(uint8_t a, uint8_t b) { CMP_CHECK(a, b, 1); }
void __sanitizer_cov_trace_cmp2(uint16_t a, uint16_t b) { CMP_CHECK(a, b, 2); }
void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b) { CMP_CHECK(a, b, 4); }
void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b) { CMP_CHECK(a, b, 8); }
void __sanitizer_cov_trace_const_cmp1(uint8_t c, uint8_t b) { CMP_CHECK(b, b, 1); (void)c; }
void __sanitizer_cov_trace_const_cmp2(uint16_t c, uint16_t b) { CMP_CHECK(b, b, 2); (void)c; }
void __sanitizer_cov_trace_const_cmp4(uint32_t c, uint32_t b) { CMP_CHECK(b, b, 4); (void)c; }
void __sanitizer_cov_trace_const_cmp8(uint64_t c, uint64_t b) { CMP_CHECK(b, b, 8); (void)c; }
void __sanitizer_cov_trace_cmpf(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    CMP_CHECK(x, y, 4);
}
void __sanitizer_cov_trace_cmpd(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    CMP_CHECK(x, y, 8);
}
/* cases[0]: how many, cases[1]: the value's width in bits (void *: the
 * type gcc declares it with when sanitizers are on) */
void __sanitizer_cov_trace_switch(uint64_t v, void *cv)
{
    const uint64_t *cases = cv;
    int w = cases[1] == 8 ? 1 : cases[1] == 16 ? 2 : cases[1] == 32 ? 4 : 8;
    CMP_CHECK(v, v, w);
}

#ifndef MGRT_SERVER
/* Comparisons the C library makes for the program: memcmp, bcmp, strcmp
 * and strncmp on bytes never set are as much a branch on them as an if
 * is, but happen in uninstrumented code. The build renames the student's
 * references to them (objcopy --redefine-sym, grd_build.c) to these,
 * which compare as the library does, then look at the bytes that decided
 * the answer (up to and with the first that differs, or the end): a run
 * of them that is a fill pattern whole is reported as the comparisons in
 * the code are, at the call's line (one byte alone: a candidate the other
 * run confirms). */

/* Whether p[0..n) holds w bytes in a row of a fill pattern: "heap" for a
 * heap block's never-written bytes, "local" for an unset local's (w > 1
 * only: one 0xFE is too often real data); NULL when it does not. */
static const char *unset_run(const unsigned char *p, size_t n, size_t w)
{
    size_t heap = 0, local = 0;
    unsigned char f = fill_byte[RUN.pattern];
    for (size_t i = 0; i < n; i++) {
        heap = p[i] == f ? heap + 1 : 0;
        local = p[i] == 0xFE ? local + 1 : 0;
        if (heap >= w)
            return "heap";
        if (w > 1 && local >= w)
            return "local";
    }
    return NULL;
}

static void decided_by(const unsigned char *p, size_t n, uintptr_t *fr)
{
    size_t w = n < 8 ? n : 8;
    const char *k = w ? unset_run(p, n, w) : NULL;
    if (k)
        cmp_hit(k, (int)w, fr);
}

static size_t first_diff(const unsigned char *a, const unsigned char *b, size_t n, int str)
{
    size_t i = 0;
    while (i < n && a[i] == b[i] && !(str && a[i] == 0))
        i++;
    return i < n ? i + 1 : n;
}

/* fr: the wrapper's frame, whose return address is the student's call. */
static inline void compared(const void *a, const void *b, size_t n, int str, uintptr_t *fr)
{
    size_t d = first_diff(a, b, n, str);
    decided_by(a, d, fr);
    decided_by(b, d, fr);
}

__attribute__((noinline)) int mgrt_memcmp(const void *a, const void *b, size_t n)
{
    int r = memcmp(a, b, n);
    compared(a, b, n, 0, __builtin_frame_address(0));
    return r;
}

__attribute__((noinline)) int mgrt_bcmp(const void *a, const void *b, size_t n)
{
    int r = memcmp(a, b, n) != 0;
    compared(a, b, n, 0, __builtin_frame_address(0));
    return r;
}

__attribute__((noinline)) int mgrt_strncmp(const char *a, const char *b, size_t n)
{
    int r = strncmp(a, b, n);
    compared(a, b, n, 1, __builtin_frame_address(0));
    return r;
}

__attribute__((noinline)) int mgrt_strcmp(const char *a, const char *b)
{
    int r = strcmp(a, b);
    compared(a, b, SIZE_MAX, 1, __builtin_frame_address(0));
    return r;
}

/* Bytes written to a file (not stdout or stderr: the engine compares
 * those between the two runs) that are 8 or more never-set bytes in a
 * row: Valgrind's "syscall param write(buf) points to uninitialised
 * byte(s)". Judged after the call, on what it took, so a bad buffer is
 * the library's fault at the student's line, never ours. */
static void written(const unsigned char *p, size_t n, uintptr_t *fr)
{
    const char *k = unset_run(p, n, 8);
    if (k)
        seen_hit("written", k, 8, fr);
}

__attribute__((noinline)) ssize_t mgrt_write(int fd, const void *buf, size_t n)
{
    ssize_t r = write(fd, buf, n);
    if (fd > 2 && r > 0)
        written(buf, (size_t)r, __builtin_frame_address(0));
    return r;
}

__attribute__((noinline)) size_t mgrt_fwrite(const void *p, size_t size, size_t nmemb, FILE *f)
{
    size_t r = fwrite(p, size, nmemb, f);
    if (r && fileno(f) > 2)
        written(p, size * r, __builtin_frame_address(0));
    return r;
}
#endif

/* ---- the filter ---------------------------------------------------------- */

#include "mgrt_filter.c"

int mgrt_lockdown(void)
{
    struct sock_filter f[F_MAX];
    uintptr_t site = (uintptr_t)mgrt_site_after;
    int n = build_filter(f, F_MAX, (uint32_t)site, (uint32_t)(site >> 32), (uint32_t)CFG.rep_fd,
                         fatal_sigs, (int)(sizeof fatal_sigs / sizeof fatal_sigs[0]));
    if (n < 0)
        return -1;
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    return rt_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog, 0, 0, 0) ? -1 : 0;
}

#ifndef MGRT_SERVER
void mgrt_arm(void)
{
    sys_mprotect(&run_page, sizeof run_page, PROT_READ);
}
#endif

/* Fills the stack the code is about to use with the run's byte (0xCC in
 * the first run, 0x33 in the second): a local the student never sets holds
 * a non-canonical pattern, faults when used as a pointer and is named a
 * wild access instead of passing for NULL or a stale value, and an outcome
 * that depends on its value differs between the runs (uninitialized_read).
 * Before main in a whole program; before each test in a test's child
 * (mgrt_srv.c). */
static __attribute__((noinline)) void poison_stack(int depth, unsigned char byte)
{
    volatile unsigned char buf[16384];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = byte;
    if (depth > 0)
        poison_stack(depth - 1, byte);
}

/* ---- the monitor ---------------------------------------------------------- */

#include "mgrt_led.c"

#ifndef MGRT_SERVER
/* A whole program's monitor: the process the engine started, which forked
 * the program before any of the student's code ran. It keeps the ledger,
 * relays the program's records and then ends as the program ended, so the
 * sandbox sees the program's exit status or signal. */
static _Noreturn void monitor_main(pid_t pid, int fd)
{
    close(0);
    close(1);
    close(2);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    fcntl(fd, F_SETPIPE_SZ, MON_PIPE_BYTES);
    mgrt_mon_start(RUN.pattern, RUN.fail_at, 1u << 20, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (real_sigprocmask)
        real_sigprocmask(SIG_BLOCK, &chld, NULL);
    int st = 0, eof = 0;
    for (;;) {
        if (!eof)
            eof = mgrt_mon_drain(fd);
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        /* Woken by the program's end, else every few milliseconds to
         * empty the pipe (not once per record: see mgrt_srv.c). */
        struct timespec ts = {0, MON_NAP_MS * 1000000L};
        sigtimedwait(&chld, NULL, &ts);
    }
    mgrt_mon_drain(fd);
    mgrt_mon_finish(WIFEXITED(st));
    if (WIFEXITED(st))
        rt_sys(SYS_exit_group, WEXITSTATUS(st), 0, 0, 0, 0, 0);
    int sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    if (real_sigaction)
        real_sigaction(sig, &dfl, NULL);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, sig);
    if (real_sigprocmask)
        real_sigprocmask(SIG_UNBLOCK, &m, NULL);
    kill(getpid(), sig);
    rt_sys(SYS_exit_group, 128 + sig, 0, 0, 0, 0, 0);
    for (;;)
        ;
}

/* Forks the program off; returns in the program, never in the monitor. */
static void monitor_fork(void)
{
    int p[2];
    pid_t pid = -1;
    if (pipe2(p, O_CLOEXEC) == 0 && (pid = fork()) == 0) {
        if (dup3(p[1], CFG.rep_fd, O_CLOEXEC) < 0)
            rt_sys(SYS_exit_group, 3, 0, 0, 0, 0, 0);
        close(p[0]);
        close(p[1]);
        S.token[0] = 0; /* the monitor frames what the program says */
        poison_stack(8, RUN.pattern ? 0x33 : 0xCC);
        return;
    }
    if (pid < 0) {
        mgrt_rep("err blocked what=monitor nr=-1 pcs=- apcs=- fpcs=-");
        rt_sys(SYS_exit_group, 3, 0, 0, 0, 0, 0);
    }
    close(p[1]);
    monitor_main(pid, p[0]);
}
#endif

/* ---- lifecycle ----------------------------------------------------------- */

/* The leak check. The monitor decides what leaked, from its own books
 * (mgrt_led.c); from here it learns which of the C library's blocks the
 * library still holds ("lh": only ever fewer leaks, and only of blocks the
 * library made) and that the check is due ("lk"). The blocks this table
 * thinks leaked get their unwritten bytes looked at (evidence). */
static void leak_report(unsigned long since)
{
    rt_open();
    mark_held(since);
    for (size_t i = 0; i < S.nrecs; i++) {
        blk *b = &S.recs[i];
        if (b->state != B_LIVE || !b->student || b->seq <= since)
            continue;
        if (b->held)
            mgrt_rep("lh %lx", (unsigned long)b->user);
        else
            unwritten(b);
    }
    mgrt_rep("lk");
    rt_close();
}

#ifndef MGRT_SERVER
/* A whole program that leaves with _exit still has its leaks checked (not
 * its atexit handlers run): what it allocated is lost either way. */
static void blocks_report(void)
{
    int nb = 0;
    for (size_t i = 0; i < S.nrecs && nb < 64; i++)
        if (S.recs[i].student && S.recs[i].state != B_EMPTY) {
            mgrt_rep("block user=%lx size=%zu", (unsigned long)S.recs[i].user, S.recs[i].size);
            nb++;
        }
}

typedef void (*exit_fn)(int);
static _Noreturn void exit_now(const char *name, int code)
{
    static int said;
    rt_open();
    if (!said++) {
        leak_report(0);
        blocks_report();
    }
    rt_close();
    exit_fn real = (exit_fn)dlsym(RTLD_NEXT, name);
    if (real)
        real(code);
    for (;;)
        raise(SIGKILL); /* not reached: the C library has _exit */
}
void _exit(int code) { exit_now("_exit", code); }
void _Exit(int code) { exit_now("_Exit", code); }
#endif

/* A whole program's final check, after the student's own atexit handlers
 * (ours was registered first, so it runs last). */
static void at_exit(void)
{
    rt_open();
#ifndef MGRT_SERVER /* the fork server's exit says nothing of any test */
    leak_report(0);
    blocks_report();
    mgrt_rep("exit");
#endif
    rt_close();
}


/* A retry loop after an injected failure: said, and the test ends here. */
static _Noreturn void end_retry(const uintptr_t *st)
{
    char s[200];
    mgrt_rep("err retry what=retry apcs=%s pcs=%s", fmt_pcs(s, sizeof s, st), fmt_pcs(s, sizeof s, st));
    mgrt_rep("end allocs=%lu", S.stu_allocs);
    _exit(0);
}

/* The executable's load address, code and segments from the program
 * headers the kernel passed (AT_PHDR): nothing the program defines can
 * move them. */
static void exe_ranges(void)
{
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    int have_base = 0;
    for (size_t i = 0; ph && i < n; i++)
        if (ph[i].p_type == PT_PHDR) {
            CFG.base_addr = (uintptr_t)ph - ph[i].p_vaddr;
            have_base = 1;
        }
    CFG.exe_lo = CFG.exe_hi = 0;
    for (size_t i = 0; have_base && i < n; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uintptr_t lo = CFG.base_addr + ph[i].p_vaddr, hi = lo + ph[i].p_memsz;
        if (CFG.nseg < 8) {
            CFG.seg[CFG.nseg].lo = lo;
            CFG.seg[CFG.nseg].hi = hi;
            CFG.seg[CFG.nseg++].flags = (int)ph[i].p_flags;
        }
        if (!(ph[i].p_flags & PF_X))
            continue;
        if (!CFG.exe_lo || lo < CFG.exe_lo)
            CFG.exe_lo = lo;
        if (hi > CFG.exe_hi)
            CFG.exe_hi = hi;
    }
    if (!CFG.exe_hi) {
        CFG.base_addr = CFG.exe_lo = (uintptr_t)__executable_start;
        CFG.exe_hi = (uintptr_t)etext;
    }
    /* The dynamic loader, from its own ELF header at AT_BASE. */
    const ElfW(Ehdr) *ld = (const ElfW(Ehdr) *)getauxval(AT_BASE);
    if (ld && !memcmp(ld->e_ident, ELFMAG, SELFMAG)) {
        const ElfW(Phdr) *lp = (const ElfW(Phdr) *)((const char *)ld + ld->e_phoff);
        CFG.ld_lo = (uintptr_t)ld;
        for (int i = 0; i < ld->e_phnum; i++)
            if (lp[i].p_type == PT_LOAD && CFG.ld_lo + lp[i].p_vaddr + lp[i].p_memsz > CFG.ld_hi)
                CFG.ld_hi = CFG.ld_lo + lp[i].p_vaddr + lp[i].p_memsz;
    }
}

/* The C library's writable segments, for libc_holds. */
static int libc_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "/libc.so"))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && CFG.nlibc < 4; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
            CFG.libc_rw[CFG.nlibc].lo = info->dlpi_addr + ph->p_vaddr;
            CFG.libc_rw[CFG.nlibc++].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        }
    }
    return 1;
}

/* Threads' stacks get no guard page of the C library's: that would need an
 * mprotect, which the filter reserves to the runtime. */
static void thread_defaults(void)
{
    pthread_attr_t a;
    if (pthread_getattr_default_np(&a) == 0) {
        pthread_attr_setguardsize(&a, 0);
        pthread_setattr_default_np(&a);
        pthread_attr_destroy(&a);
    }
}

void mgrt_init(void)
{
    if (inited_early)
        return;
    inited_early = 1;
    long p = sysconf(_SC_PAGESIZE);
    CFG.pg = p > 0 ? (size_t)p : 4096;
    CFG.rep_fd = -1;
    CFG.as_lim = (size_t)1 << 46;
    exe_ranges();
    CFG.mon_pid = getpid();
    CFG.ours_lo = (uintptr_t)mgrt_rt_begin;
    CFG.ours_hi = (uintptr_t)mgrt_stu_begin;
    CFG.stack_top = (uintptr_t)__libc_stack_end; /* every frame lies below it */
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        CFG.as_lim = rl.rlim_cur;
    CFG.stack_lim = getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                  ? rl.rlim_cur : 8ul << 20;

    /* The token and channel come from the engine; the program must not see
     * them, so both are moved out of its way before any of its code runs. */
    char **env = init_envp ? init_envp : environ;
    for (size_t i = 0; env && env[i];) {
        if (!strcmp(env[i], "MGRT_PATTERN=1")) { /* a whole program's second run */
            RUN.pattern = 1;
            for (size_t j = i; env[j]; j++)
                env[j] = env[j + 1];
            continue;
        }
        if (!strncmp(env[i], "MGRT_FAIL_AT=", 13)) { /* a whole program's injected failure */
            RUN.fail_at = strtoul(env[i] + 13, NULL, 10);
            for (size_t j = i; env[j]; j++)
                env[j] = env[j + 1];
            continue;
        }
        if (strncmp(env[i], "MGRT_TOKEN=", 11)) {
            i++;
            continue;
        }
        snprintf(S.token, sizeof S.token, "%s", env[i] + 11);
        /* The string itself lives on the initial stack, where the program
         * could find it after its pointer is gone: wipe it. */
        memset(env[i], 0, strlen(env[i]));
        /* High, out of the way of the program's own descriptors, but below
         * RLIMIT_NOFILE (64 in the sandbox) or F_DUPFD fails. */
        struct rlimit nf;
        long hi = getrlimit(RLIMIT_NOFILE, &nf) == 0 && nf.rlim_cur != RLIM_INFINITY
                ? (long)nf.rlim_cur - 4 : 900;
        CFG.rep_fd = fcntl(3, F_DUPFD_CLOEXEC, hi > 3 ? (hi > 900 ? 900 : hi) : 3);
        if (CFG.rep_fd >= 0)
            close(3);
        for (size_t j = i; env[j]; j++) /* scrubbed: environ and envp alike */
            env[j] = env[j + 1];
    }

    real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    real_sigprocmask = (sigmask_fn)dlsym(RTLD_NEXT, "sigprocmask");
    real_pthread_sigmask = (sigmask_fn)dlsym(RTLD_NEXT, "pthread_sigmask");
    static char alt[MGRT_ALT_STACK];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; real_sigaction && i < sizeof fatal_sigs / sizeof fatal_sigs[0]; i++) {
        /* A bad access to a block is stepped over (on_fault): SIGSEGV's
         * handler must outlive its first call. */
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | (fatal_sigs[i] == SIGSEGV ? 0 : SA_RESETHAND);
        real_sigaction(fatal_sigs[i], &sa, NULL);
    }
    atexit(at_exit);
    thread_defaults();
    dl_iterate_phdr(libc_segments, NULL);
    /* From here on only the runtime's own code may make its calls. */
    CFG.rt_lo = (uintptr_t)mgrt_rt_begin;
    CFG.rt_hi = (uintptr_t)MGRT_RT_END;
    mgrt_rep("hello base=%lx main=%lx stack_top=%lx stack_lim=%lu", (unsigned long)CFG.base_addr,
             (unsigned long)(uintptr_t)main, (unsigned long)(uintptr_t)__libc_stack_end,
             CFG.stack_lim);
    sys_mprotect(&cfg_page, sizeof cfg_page, PROT_READ);
#ifndef MGRT_SERVER
    /* A whole program: the student's main comes next, in a process of its
     * own under a monitor. (The fork server is each test child's monitor
     * and locks it down, see mgrt_srv.c.) */
    if (CFG.rep_fd >= 0)
        monitor_fork();
    if (mgrt_lockdown())
        mgrt_rep("err blocked what=lockdown nr=-1 pcs=- apcs=- fpcs=-");
    mgrt_arm();
#endif
}

/* Before every constructor, the student's included. */
static void preinit(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv;
    init_envp = envp; /* ld.so runs us before libc has set environ */
    mgrt_init();
}
__attribute__((section(".preinit_array"), used))
static void (*const mgrt_preinit)(int, char **, char **) = preinit;

#ifdef MGRT_SERVER
/* A test out of time gets SIGPROF from the fork server before it is killed:
 * where it was ("spin"), for the student. The code may take the signal
 * over: then nothing is said, the time-out stands. */
static void on_spin(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    uintptr_t st[MGRT_FRAMES];
    char s[200];
    walk((uintptr_t)uc->uc_mcontext.gregs[REG_RIP], (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
         (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], st);
    mgrt_rep("spin pcs=%s", fmt_pcs(s, sizeof s, st));
    _exit(124);
}

void mgrt_spin_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_spin;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (real_sigaction)
        real_sigaction(SIGPROF, &sa, NULL);
}

void mgrt_child(void)
{
    rt_open();
    S.token[0] = 0; /* a child's records go to the server, which frames them */
    rt_close();
}


void mgrt_test_begin(int pat, unsigned long k)
{
    rt_open();
    RUN.pattern = pat ? 1 : 0;
    RUN.fail_at = k;
    RUN.test_seq = S.seq;
    S.stu_allocs = S.stu_calls = S.retries = 0;
    S.retry_site = 0;
    S.injected = S.nomem_said = 0;
    S.unw_reports = 0;
    rt_close();
}

unsigned long mgrt_test_end(void)
{
    rt_open();
    leak_report(RUN.test_seq);
    unsigned long n = S.stu_allocs;
    rt_close();
    return n;
}

/* What the runtime tells the driver about the run, also told to the
 * monitor, which checks it against its books ("lq"). */
unsigned long mgrt_calls(void)
{
    rt_open();
    unsigned long n = S.stu_calls;
    mgrt_rep("lq calls %lu", n);
    rt_close();
    return n;
}

int mgrt_injected(void)
{
    rt_open();
    int n = S.injected;
    mgrt_rep("lq inj %d", n);
    rt_close();
    return n;
}

unsigned long mgrt_live_student(void)
{
    unsigned long n = 0;
    rt_open();
    for (size_t i = 0; i < S.nrecs; i++)
        n += S.recs[i].state == B_LIVE && S.recs[i].student && S.recs[i].seq > RUN.test_seq;
    mgrt_rep("lq live %lu", n);
    rt_close();
    return n;
}
#endif
