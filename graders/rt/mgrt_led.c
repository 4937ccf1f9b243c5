/* mgrt_led: the monitor. It runs in a process no student code runs in (the
 * fork server, for a test's child; a process forked before main, for a whole
 * program), reads everything the monitored process reports on its channel,
 * relays what is evidence and keeps the ledger: its own books of every
 * allocation and free, from which it decides leaks, double frees and the
 * fault-injection checks (graders/INTEGRITY.md 3.5). The monitored process
 * can add records only through the runtime's own code, and cannot take one
 * back; what it reports is compared with these books, and any difference is
 * the submission's tampering. Only the monitored process writes to the
 * channel: its filter lets student code make no copy of it. Included by
 * mgrt.c. */

#define MON_LINE_MAX 4096
#define MON_SITES 4096                 /* distinct allocation stacks kept */
#define MON_CAP_MIN 8192
#define MON_CAP_MAX (1u << 21)         /* ledger slots: 96 MiB at most */
#define MON_LEAK_SITES 32
#define MON_FIRST 16                   /* allocation sites a whole program names */
#define MON_NAP_MS 2                   /* how often the monitor empties the pipe */
#define MON_PIPE_BYTES (1 << 20)       /* room for a few thousand records meanwhile */

enum { E_LIVE = 1, E_FREED = 2 };

typedef struct {
    uintptr_t user, map;
    size_t size, maplen;
    uint32_t site, gen;
    unsigned char state, fl, held, lost;
} mon_ent;

static struct {
    /* this run */
    int pattern, prefix, flood, checked, tampered, full, eof, lost;
    unsigned long fail_at, attempts, calls, live_stu;
    uintptr_t rsite;                   /* the failed allocation's site while retried */
    struct { unsigned long k; uint32_t site; } first[MON_FIRST]; /* each site's first try */
    size_t nfirst;
    size_t keep, kept, len;
    char line[MON_LINE_MAX + 1];
    uint32_t gen;
    /* kept across runs */
    mon_ent *tab;
    size_t cap, used;                  /* slots of this generation in use */
    uintptr_t (*sites)[MGRT_FRAMES];
    uint16_t *site_idx;                /* 2 * MON_SITES slots: site + 1 */
    size_t nsites;
} M;

static size_t mon_slot(uintptr_t u, size_t cap)
{
    return (size_t)((u >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

static mon_ent *mon_find(uintptr_t u)
{
    if (!M.tab)
        return NULL;
    for (size_t s = mon_slot(u, M.cap);; s = (s + 1) & (M.cap - 1)) {
        mon_ent *e = &M.tab[s];
        if (e->gen != M.gen)
            return NULL;
        if (e->user == u)
            return e;
    }
}

/* Room for one more entry: the table doubles, or sheds the freed blocks of
 * this run (only double frees long after the free go unseen then). */
static int mon_room(void)
{
    if (M.tab && (M.used + 1) * 2 <= M.cap)
        return 0;
    size_t live = 0;
    for (size_t i = 0; M.tab && i < M.cap; i++)
        live += M.tab[i].gen == M.gen && M.tab[i].state == E_LIVE;
    size_t ncap = M.cap ? M.cap : MON_CAP_MIN;
    while ((live + 1) * 2 > ncap / 2 && ncap < MON_CAP_MAX)
        ncap *= 2;
    if ((live + 1) * 2 > ncap)
        return -1;
    mon_ent *t = raw_map(ncap * sizeof *t);
    if (!t)
        return -1;
    size_t used = 0;
    for (size_t i = 0; M.tab && i < M.cap; i++) {
        mon_ent *e = &M.tab[i];
        if (e->gen != M.gen || e->state != E_LIVE)
            continue;
        size_t s = mon_slot(e->user, ncap);
        while (t[s].gen == M.gen)
            s = (s + 1) & (ncap - 1);
        t[s] = *e;
        used++;
    }
    if (M.tab)
        raw_unmap(M.tab, M.cap * sizeof *M.tab);
    M.tab = t;
    M.cap = ncap;
    M.used = used;
    return 0;
}

static uint32_t mon_site(const uintptr_t *pcs)
{
    if (!M.sites) {
        M.sites = raw_map(MON_SITES * sizeof *M.sites);
        M.site_idx = raw_map(2 * MON_SITES * sizeof *M.site_idx);
        if (!M.sites || !M.site_idx)
            return 0;
    }
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < MGRT_FRAMES; i++)
        h = (h ^ pcs[i]) * 1099511628211ull;
    for (size_t s = h & (2 * MON_SITES - 1);; s = (s + 1) & (2 * MON_SITES - 1)) {
        uint16_t v = M.site_idx[s];
        if (!v) {
            if (M.nsites == MON_SITES)
                return 0;
            memcpy(M.sites[M.nsites], pcs, sizeof M.sites[0]);
            M.site_idx[s] = (uint16_t)++M.nsites;
            return M.site_idx[s];
        }
        if (!memcmp(M.sites[v - 1], pcs, sizeof M.sites[0]))
            return v;
    }
}

static uint64_t mon_hex(const char **pp)
{
    const char *p = *pp;
    uint64_t v = 0;
    while (*p == ' ')
        p++;
    for (;; p++) {
        unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                   : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 16;
        if (d == 16)
            break;
        v = v << 4 | d;
    }
    *pp = p;
    return v;
}

/* "a,b,c" (hex offsets from the load base) into pcs; "-" is none. */
static void mon_pcs(const char *s, uintptr_t *pcs)
{
    memset(pcs, 0, MGRT_FRAMES * sizeof *pcs);
    for (int i = 0; s && i < MGRT_FRAMES && *s && *s != '-' && *s != ' '; i++) {
        const char *p = s;
        pcs[i] = (uintptr_t)mon_hex(&p);
        if (p == s || *p != ',')
            break;
        s = p + 1;
    }
}

static char *mon_fmt(char *out, size_t cap, const uintptr_t *pcs)
{
    size_t n = 0;
    out[0] = '-';
    out[1] = 0;
    for (int i = 0; i < MGRT_FRAMES && pcs[i] && n + 20 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%lx", i ? "," : "", (unsigned long)pcs[i]);
    return out;
}

/* A record for the engine: evidence of the monitored process, relayed as
 * the child's ("c ...") in the fork server, as is in a whole program. */
static void mon_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mon_out(const char *fmt, ...)
{
    char b[MON_LINE_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    mgrt_rep(M.prefix ? "c %s" : "%s", b);
}

/* The books and the process disagree: the submission changed what the
 * runtime keeps. Said once a run; the engine fails the test. */
static void mon_tamper(const char *why, const uintptr_t *pcs)
{
    char s[200];
    static const uintptr_t none[MGRT_FRAMES];
    if (M.tampered++)
        return;
    mon_out("err tamper what=ledger why=%s pcs=%s apcs=- fpcs=-", why,
            mon_fmt(s, sizeof s, pcs ? pcs : none));
}

/* The leaks, by allocation site in the order the sites first allocated
 * (the ledger's slots are in address order, which ASLR shuffles): the same
 * program reports the same leaks, and a flood of later leak sites cannot
 * push an earlier one out of the MON_LEAK_SITES reported. */
static void mon_leaks(int only_lost)
{
    static struct { size_t bytes; unsigned long count; } *lk, all;
    static const uintptr_t none[MGRT_FRAMES];
    size_t len = ((MON_SITES + 1) * sizeof *lk + CFG.pg - 1) & ~(CFG.pg - 1); /* whole pages */
    char s[200];
    if (!lk)
        lk = raw_map(len);
    if (lk)
        memset(lk, 0, len);
    all.bytes = all.count = 0;
    for (size_t i = 0; M.tab && i < M.cap; i++) {
        mon_ent *e = &M.tab[i];
        if (e->gen != M.gen || e->state != E_LIVE || !(e->fl & LF_STU) || e->held ||
            (only_lost && !e->lost))
            continue;
        if (lk) { /* site 0: one the site table had no room for */
            lk[e->site].bytes += e->size;
            lk[e->site].count++;
        }
        all.bytes += e->size;
        all.count++;
    }
    if (!lk) { /* no room for the sums: every leak, with no site */
        if (all.count)
            mon_out("leak bytes=%zu count=%lu apcs=%s", all.bytes, all.count,
                    mon_fmt(s, sizeof s, none));
        return;
    }
    size_t n = 0;
    unsigned long extra = 0;
    for (size_t k = 1; k <= M.nsites + 1; k++) {
        size_t site = k <= M.nsites ? k : 0;
        if (!lk[site].count)
            continue;
        if (n == MON_LEAK_SITES) {
            extra += lk[site].count;
            continue;
        }
        n++;
        mon_out("leak bytes=%zu count=%lu apcs=%s", lk[site].bytes, lk[site].count,
                mon_fmt(s, sizeof s, site ? M.sites[site - 1] : none));
    }
    if (extra)
        mon_out("leak_more count=%lu", extra);
}

static void mon_alloc(uintptr_t u, size_t size, unsigned fl, uintptr_t map, size_t maplen,
                      const uintptr_t *pcs)
{
    uint32_t site = mon_site(pcs);
    if (fl & LF_STU) {
        M.attempts++;
        M.calls++;
        size_t j = 0;
        while (j < M.nfirst && M.first[j].site != site)
            j++;
        /* Only sites the student's code calls itself: a buffer the C
         * library makes inside printf fails without the program seeing it. */
        if (j == M.nfirst && j < MON_FIRST && site && (fl & LF_DIRECT)) {
            M.first[j].k = M.attempts;
            M.first[j].site = site;
            M.nfirst++;
        }
        if (M.attempts == M.fail_at) {
            if (u)
                mon_tamper("the allocation failed on purpose succeeded", pcs);
            M.rsite = pcs[0] ? pcs[0] : 1;
        } else if (M.rsite && pcs[0] == M.rsite) {
            if (u)
                mon_tamper("a retry of the allocation failed on purpose succeeded", pcs);
        } else {
            M.rsite = 0;
        }
    }
    if (!u)
        return;
    if (!!(fl & LF_PAT1) != M.pattern)
        mon_tamper("a block was placed with the other run's pattern", pcs);
    mon_ent *e = mon_find(u);
    if (e && e->state == E_LIVE) {
        mon_tamper("a live block was handed out again", pcs);
        return;
    }
    if (!e) {
        if (mon_room()) {
            if (!M.full++)
                mon_out("err ledger_full what=ledger pcs=- apcs=- fpcs=-");
            return;
        }
        size_t s = mon_slot(u, M.cap);
        while (M.tab[s].gen == M.gen)
            s = (s + 1) & (M.cap - 1);
        e = &M.tab[s];
        M.used++;
    }
    e->user = u;
    e->map = map;
    e->maplen = maplen;
    e->size = size;
    e->gen = M.gen;
    e->state = E_LIVE;
    e->fl = (unsigned char)fl;
    e->held = 0;
    e->lost = 0;
    e->site = site;
    M.live_stu += (fl & LF_STU) != 0;
}

static void mon_free(uintptr_t u, size_t size, unsigned fl, uintptr_t map, size_t maplen,
                     const uintptr_t *pcs)
{
    if (fl & LF_CALL)
        M.calls++;
    if (!(fl & LF_OK))
        return; /* an error the runtime reported itself */
    mon_ent *e = mon_find(u);
    if (!e) {
        /* A block from before this run (the fork server's, inherited) is
         * in the monitor's own table, untouched by the submission. */
        blk *b = lookup(u);
        if (!(b && b->state == B_LIVE) && !M.full)
            mon_tamper("a block the allocator never made was freed", pcs);
        return;
    }
    if (e->state == E_FREED) {
        /* The process thought it live: its table was changed. */
        char s1[200], s2[200];
        mon_out("err double_free what=free addr=%lx size=%zu fn=0 pcs=%s apcs=%s fpcs=-",
                (unsigned long)u, e->size, mon_fmt(s1, sizeof s1, pcs),
                mon_fmt(s2, sizeof s2, e->site ? M.sites[e->site - 1] : pcs));
        return;
    }
    unsigned facts = LF_STU | LF_DIRECT | LF_COMPACT | LF_PAT1;
    if (e->size != size || e->map != map || e->maplen != maplen ||
        (e->fl & facts) != (fl & facts))
        mon_tamper("a block's record was changed before it was freed", pcs);
    e->state = E_FREED;
    M.live_stu -= (e->fl & LF_STU) != 0;
}

static void mon_ledger(const char *l)
{
    char kind = l[1];
    const char *r = l + 2;
    uintptr_t pcs[MGRT_FRAMES];
    unsigned long v = 0;
    char what[16];
    switch (kind) {
    case 'a':
    case 'f': {
        /* "la|lf user size flags map maplen pcs,pcs,..." all in hex */
        uint64_t f[5];
        for (int i = 0; i < 5; i++)
            f[i] = mon_hex(&r);
        mon_pcs(*r == ' ' ? r + 1 : NULL, pcs);
        if (kind == 'a')
            mon_alloc(f[0], f[1], (unsigned)f[2], f[3], f[4], pcs);
        else
            mon_free(f[0], f[1], (unsigned)f[2], f[3], f[4], pcs);
        break;
    }
    case 'h':
        if (*r == ' ') {
            mon_ent *e = mon_find(mon_hex(&r));
            /* only a block the C library made, never one the student's
             * code asked for itself */
            if (e && e->state == E_LIVE && (e->fl & LF_STU) && !(e->fl & LF_DIRECT))
                e->held = 1;
        }
        break;
    case 'k':
        if (!M.checked++)
            mon_leaks(0);
        break;
    case 'u':
        /* A block no pointer reached when the program crashed (mgrt.c,
         * crash_leaks): only ever a leak more, of a block of the student's
         * the books hold live. */
        if (*r == ' ') {
            mon_ent *e = mon_find(mon_hex(&r));
            if (e && e->state == E_LIVE && (e->fl & LF_STU)) {
                e->lost = 1;
                M.lost = 1;
            }
        }
        break;
    case 'q':
        if (sscanf(r, " %15s %lu", what, &v) != 2)
            return;
        if ((!strcmp(what, "calls") && v != M.calls) ||
            (!strcmp(what, "inj") && v != (M.fail_at && M.attempts >= M.fail_at)) ||
            (!strcmp(what, "live") && v != M.live_stu))
            mon_tamper("the allocator's counters were changed", NULL);
        break;
    }
}

static void mon_line(void)
{
    char *l = M.line;
    l[M.len] = 0;
    if (l[0] == 'l' && l[1] && (l[2] == ' ' || !l[2])) {
        mon_ledger(l);
        return;
    }
    if (M.kept + M.len + 1 > M.keep) {
        M.flood = 1;
        return;
    }
    M.kept += M.len + 1;
    mgrt_rep(M.prefix ? "c %s" : "%s", l);
}

/* Starts a run: keep the bytes of evidence relayed at most, prefix 1 to
 * relay as the child's ("c ..."). */
MGRT_HIDDEN void mgrt_mon_start(int pattern, unsigned long fail_at, size_t keep, int prefix)
{
    mon_ent *tab = M.tab;
    uintptr_t (*sites)[MGRT_FRAMES] = M.sites;
    uint16_t *site_idx = M.site_idx;
    size_t cap = M.cap, nsites = M.nsites;
    uint32_t gen = M.gen;
    memset(&M, 0, sizeof M);
    M.tab = tab;
    M.sites = sites;
    M.site_idx = site_idx;
    M.cap = cap;
    M.nsites = nsites;
    M.gen = gen + 1;
    if (!M.gen) { /* after 2^32 runs: every slot is stale again */
        if (M.tab)
            memset(M.tab, 0, M.cap * sizeof *M.tab);
        M.gen = 1;
    }
    M.pattern = pattern ? 1 : 0;
    M.fail_at = fail_at;
    M.keep = keep;
    M.prefix = prefix;
}

MGRT_HIDDEN void mgrt_mon_bytes(const char *p, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        if (p[j] != '\n') {
            if (M.len < MON_LINE_MAX)
                M.line[M.len++] = p[j];
            else
                M.flood = 1; /* an overlong line is dropped whole */
            continue;
        }
        if (M.len < MON_LINE_MAX)
            mon_line();
        M.len = 0;
    }
}

/* Reads what fd holds now (non-blocking); 1 at end of file. */
MGRT_HIDDEN int mgrt_mon_drain(int fd)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0;
        mgrt_mon_bytes(buf, (size_t)n);
    }
}

/* The run is over. A process that exited without its leak check (through a
 * door the runtime does not watch) is checked all the same; one killed (its
 * time, its memory) is not: what it held then says nothing. */
MGRT_HIDDEN void mgrt_mon_finish(int exited)
{
    if (!M.checked && exited) {
        M.checked = 1;
        mon_leaks(0);
    } else if (!M.checked && M.lost) {
        /* A crash: only the blocks lost by then are leaks; the others the
         * code might still have freed. */
        M.checked = 1;
        mon_leaks(1);
    }
    /* A whole program: where its allocations were first tried, for the
     * engine's runs that fail one of them (graders/DRIVER.md). */
    for (size_t j = 0; !M.prefix && j < M.nfirst; j++) {
        char s[200];
        mgrt_rep("asite k=%lu apcs=%s", M.first[j].k,
                 mon_fmt(s, sizeof s, M.sites[M.first[j].site - 1]));
    }
}

#if defined MGRT_SERVER || !defined MGRT_UNITY /* the fork server's */
MGRT_HIDDEN unsigned long mgrt_mon_attempts(void) { return M.attempts; }
MGRT_HIDDEN int mgrt_mon_flood(void) { return M.flood; }
#endif
