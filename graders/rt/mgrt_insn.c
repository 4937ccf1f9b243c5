/* mgrt_insn: the length of one x86-64 instruction, so that the fault
 * handler can step over an access it has reported and let the code go on
 * (mgrt.c, on_fault): one run then reports every bad access and ends with
 * its leak check, as Valgrind does.
 *
 * Only lengths: prefixes, REX, the VEX and EVEX escapes, the opcode maps
 * 0F, 0F 38 and 0F 3A, ModRM, SIB, displacement and immediate. 0 for what
 * is not decoded (an invalid or privileged-only opcode, more than 15
 * bytes): the caller then ends the run as it would without this file.
 * Checked against objdump over the C library and the project's own
 * binaries (tests/graders/test_rt_insn.c). Included by mgrt.c; needs
 * stddef.h, stdint.h and string.h. */

/* One-byte map: what follows the opcode. */
enum {
    I_BAD = 0x80,  /* not an instruction in 64-bit mode, or a prefix */
    I_M = 0x40,    /* ModRM (and SIB/displacement) follow */
    I_1 = 1,       /* 8-bit immediate */
    I_2 = 2,       /* 16-bit immediate */
    I_Z = 3,       /* 16- or 32-bit immediate, by operand size */
    I_3 = 4,       /* 16 + 8 bits (enter) */
    I_MO = 5,      /* a 64-bit (32 with 0x67) address (mov moffs) */
    I_VQ = 6,      /* 32-bit, or 64-bit with REX.W (mov r, imm) */
    I_GRP3 = 7,    /* F6/F7: an immediate only for /0 and /1 (test) */
};

#define M_ I_M
static const unsigned char insn_map1[256] = {
    /* 00 */ M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD, M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD,
    /* 10 */ M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD, M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD,
    /* 20 */ M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD, M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD,
    /* 30 */ M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD, M_, M_, M_, M_, I_1, I_Z, I_BAD, I_BAD,
    /* 40 */ I_BAD, I_BAD, I_BAD, I_BAD, I_BAD, I_BAD, I_BAD, I_BAD,
             I_BAD, I_BAD, I_BAD, I_BAD, I_BAD, I_BAD, I_BAD, I_BAD,
    /* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 60 */ I_BAD, I_BAD, I_BAD, M_, I_BAD, I_BAD, I_BAD, I_BAD,
             I_Z, M_ | I_Z, I_1, M_ | I_1, 0, 0, 0, 0,
    /* 70 */ I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1,
    /* 80 */ M_ | I_1, M_ | I_Z, I_BAD, M_ | I_1, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_, M_,
    /* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, I_BAD, 0, 0, 0, 0, 0,
    /* A0 */ I_MO, I_MO, I_MO, I_MO, 0, 0, 0, 0, I_1, I_Z, 0, 0, 0, 0, 0, 0,
    /* B0 */ I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_VQ, I_VQ, I_VQ, I_VQ, I_VQ, I_VQ, I_VQ, I_VQ,
    /* C0 */ M_ | I_1, M_ | I_1, I_2, 0, I_BAD, I_BAD, M_ | I_1, M_ | I_Z,
             I_3, 0, I_2, 0, 0, I_1, I_BAD, 0,
    /* D0 */ M_, M_, M_, M_, I_BAD, I_BAD, I_BAD, 0, M_, M_, M_, M_, M_, M_, M_, M_,
    /* E0 */ I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_1, I_Z, I_Z, I_BAD, I_1, 0, 0, 0, 0,
    /* F0 */ I_BAD, 0, I_BAD, I_BAD, 0, 0, M_ | I_GRP3, M_ | I_GRP3, 0, 0, 0, 0, 0, 0, M_, M_,
};
#undef M_

/* The 0F map: the opcodes without ModRM, and those with an 8-bit
 * immediate after it (the same in VEX/EVEX map 1). */
static int insn_0f_no_modrm(unsigned op)
{
    return (op >= 0x05 && op <= 0x09) || op == 0x0B || op == 0x0E || (op >= 0x30 && op <= 0x37) ||
           op == 0x77 || (op >= 0x80 && op <= 0x8F) || op == 0xA0 || op == 0xA1 || op == 0xA2 ||
           op == 0xA8 || op == 0xA9 || op == 0xAA || (op >= 0xC8 && op <= 0xCF);
}

static int insn_0f_imm8(unsigned op)
{
    return (op >= 0x70 && op <= 0x73) || op == 0xA4 || op == 0xAC || op == 0xBA || op == 0xC2 ||
           op == 0xC4 || op == 0xC5 || op == 0xC6 || op == 0x0F;
}

/* ModRM, SIB and displacement at p: their length, at most `room`; -1 when
 * that would not fit. */
static int insn_modrm(const unsigned char *p, int room)
{
    if (room < 1)
        return -1;
    unsigned mod = p[0] >> 6, rm = p[0] & 7;
    int n = 1;
    if (mod == 3)
        return n;
    if (rm == 4) {
        if (room < 2)
            return -1;
        n++;
        if (mod == 0 && (p[1] & 7) == 5)
            n += 4;
    } else if (mod == 0 && rm == 5) {
        n += 4; /* RIP-relative */
    }
    n += mod == 1 ? 1 : mod == 2 ? 4 : 0;
    return n <= room ? n : -1;
}

/* The length of the instruction at p (at most 15 bytes are read), or 0. */
static int mgrt_insn_len(const unsigned char *p)
{
    int i = 0, opsz16 = 0, addr32 = 0, rexw = 0;
    for (;; i++) { /* legacy prefixes, any order */
        if (i >= 14)
            return 0;
        unsigned char b = p[i];
        if (b == 0x66)
            opsz16 = 1;
        else if (b == 0x67)
            addr32 = 1;
        else if (!(b == 0xF0 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E ||
                   b == 0x26 || b == 0x64 || b == 0x65))
            break;
    }
    if ((p[i] & 0xF0) == 0x40) { /* REX: only right before the opcode */
        rexw = (p[i] >> 3) & 1;
        i++;
    }
    unsigned op = p[i++];
    int map = 0, imm = 0, m;
    if (op == 0xC4 || op == 0xC5 || op == 0x62) {
        /* VEX (2 or 3 bytes) or EVEX (4): always these in 64-bit mode. */
        unsigned sel;
        if (op == 0xC5) {
            sel = 1;
            i += 1;
        } else if (op == 0xC4) {
            sel = p[i] & 0x1F;
            i += 2;
        } else {
            sel = p[i] & 0x07;
            i += 3;
        }
        if (i >= 15)
            return 0;
        op = p[i++];
        if (sel == 1) {
            if (op == 0x77)
                return i; /* vzeroupper, vzeroall: no ModRM */
            imm = insn_0f_imm8(op) && op != 0x0F ? 1 : 0;
        } else if (sel == 2 || sel == 5 || sel == 6) {
            imm = 0;
        } else if (sel == 3) {
            imm = 1;
        } else {
            return 0;
        }
        if ((m = insn_modrm(p + i, 15 - i)) < 0)
            return 0;
        i += m + imm;
        return i <= 15 ? i : 0;
    }
    if (op == 0x0F) {
        op = p[i++];
        if (op == 0x38 || op == 0x3A) {
            map = op;
            op = p[i++];
            if ((m = insn_modrm(p + i, 15 - i)) < 0)
                return 0;
            i += m + (map == 0x3A);
            return i <= 15 ? i : 0;
        }
        if (op == 0x0B || op == 0xFF) /* ud2, ud0: not code that runs on */
            return 0;
        if (insn_0f_no_modrm(op))
            i += (op >= 0x80 && op <= 0x8F) ? 4 : 0;
        else {
            if ((m = insn_modrm(p + i, 15 - i)) < 0)
                return 0;
            i += m + insn_0f_imm8(op);
        }
        return i <= 15 ? i : 0;
    }
    unsigned f = insn_map1[op];
    if (f & I_BAD)
        return 0;
    if (f & I_M) {
        if ((m = insn_modrm(p + i, 15 - i)) < 0)
            return 0;
        if ((f & 0x3F) == I_GRP3 && ((p[i] >> 3) & 7) < 2)
            imm = op == 0xF6 ? 1 : opsz16 ? 2 : 4;
        i += m;
    }
    switch (f & 0x3F) {
    case I_1: imm = 1; break;
    case I_2: imm = 2; break;
    case I_Z: imm = opsz16 ? 2 : 4; break;
    case I_3: imm = 3; break;
    case I_MO: imm = addr32 ? 4 : 8; break;
    case I_VQ: imm = rexw ? 8 : opsz16 ? 2 : 4; break;
    default: break;
    }
    i += imm;
    return i <= 15 ? i : 0;
}

/* A plain move between a general-purpose register (or an immediate) and
 * memory: the accesses whose effect the fault handler emulates when it
 * steps over them. A load gets its value (so that `p = p->next` on a freed
 * node reads what the node held, as it would without the checker); a store
 * past a block's end is kept aside, so that reading it back gives what was
 * stored, as it would have been in the heap's slack. mov r, m; mov m, r;
 * mov m, imm; movzx; movsx; movsxd. */
typedef struct {
    int store;        /* 1: register or immediate to memory; 0: a load */
    int reg;          /* the register, x86 numbering 0..15; -1 for an immediate */
    int high8;        /* AH, CH, DH, BH (no REX, reg 4..7 of an 8-bit move) */
    int dst;          /* a load's destination width in bytes: 1, 2, 4 or 8 */
    int src;          /* bytes moved in memory: 1, 2, 4 or 8 */
    int sign;         /* sign-extend (movsx, movsxd) rather than zero */
    int64_t imm;      /* a store's immediate, sign-extended */
    int base, index;  /* x86 numbering, -1 for none; base -2: RIP-relative */
    int scale;
    long disp;
} mgrt_load;

/* Fills *ld when the instruction at p (length len) is such a move with a
 * memory operand and no segment override; 0 otherwise. */
static int mgrt_insn_mov(const unsigned char *p, int len, mgrt_load *ld)
{
    int i = 0, opsz16 = 0, rex = 0, addr32 = 0, seg = 0;
    for (; i < len; i++) {
        unsigned char b = p[i];
        if (b == 0x66)
            opsz16 = 1;
        else if (b == 0x67)
            addr32 = 1;
        else if (b == 0x64 || b == 0x65)
            seg = 1;
        else if (!(b == 0xF0 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E ||
                   b == 0x26))
            break;
    }
    if (i < len && (p[i] & 0xF0) == 0x40)
        rex = p[i++];
    if (i >= len || seg || addr32)
        return 0;
    int w = (rex >> 3) & 1, full = w ? 8 : opsz16 ? 2 : 4, immw = 0;
    unsigned op = p[i++];
    ld->sign = 0;
    ld->store = 0;
    ld->imm = 0;
    if (op == 0x8B || op == 0x89) {
        ld->dst = ld->src = full;
        ld->store = op == 0x89;
    } else if (op == 0x8A || op == 0x88) {
        ld->dst = ld->src = 1;
        ld->store = op == 0x88;
    } else if (op == 0xC6 || op == 0xC7) {
        ld->dst = ld->src = op == 0xC6 ? 1 : full;
        ld->store = 1;
        immw = op == 0xC6 ? 1 : full == 2 ? 2 : 4;
    } else if (op == 0x63 && w) {
        ld->dst = 8, ld->src = 4, ld->sign = 1;
    } else if (op == 0x0F && i < len &&
               (p[i] == 0xB6 || p[i] == 0xB7 || p[i] == 0xBE || p[i] == 0xBF)) {
        unsigned op2 = p[i++];
        ld->dst = full;
        ld->src = (op2 & 1) ? 2 : 1;
        ld->sign = op2 >= 0xBE;
    } else {
        return 0;
    }
    if (i >= len)
        return 0;
    unsigned modrm = p[i++], mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3)
        return 0; /* a register operand: it did not fault */
    if (immw && ((modrm >> 3) & 7))
        return 0; /* C6/C7 /1../7 are not moves */
    ld->reg = immw ? -1 : (int)((modrm >> 3) & 7) | ((rex & 4) << 1);
    ld->high8 = ld->dst == 1 && !rex && ld->reg >= 4;
    if (ld->high8)
        ld->reg -= 4;
    ld->index = -1;
    ld->scale = 1;
    ld->disp = 0;
    if (rm == 4) {
        if (i >= len)
            return 0;
        unsigned sib = p[i++];
        int idx = (int)((sib >> 3) & 7) | ((rex & 2) << 2);
        ld->index = idx == 4 ? -1 : idx;
        ld->scale = 1 << (sib >> 6);
        int base = (int)(sib & 7);
        if (mod == 0 && base == 5)
            ld->base = -1;
        else
            ld->base = base | ((rex & 1) << 3);
        if (mod == 0 && base == 5) {
            int32_t d;
            memcpy(&d, p + i, 4);
            ld->disp = d;
            i += 4;
        }
    } else if (mod == 0 && rm == 5) {
        ld->base = -2;
        int32_t d;
        memcpy(&d, p + i, 4);
        ld->disp = d;
        i += 4;
    } else {
        ld->base = (int)rm | ((rex & 1) << 3);
    }
    if (mod == 1) {
        ld->disp = (int8_t)p[i];
        i += 1;
    } else if (mod == 2) {
        int32_t d;
        memcpy(&d, p + i, 4);
        ld->disp = d;
        i += 4;
    }
    if (immw == 1) {
        ld->imm = (int8_t)p[i];
    } else if (immw == 2) {
        int16_t v;
        memcpy(&v, p + i, 2);
        ld->imm = v;
    } else if (immw == 4) {
        int32_t v;
        memcpy(&v, p + i, 4);
        ld->imm = v;
    }
    i += immw;
    return i == len;
}

/* How many bytes the memory access of the instruction at p (length len)
 * moves, for a plain move (mgrt_insn_mov); 0 when it is not one. The
 * engine words an overflow by it: one byte past a string's end is its
 * '\0', four or eight an element. */
static int mgrt_insn_width(const unsigned char *p, int len)
{
    mgrt_load ld;
    return mgrt_insn_mov(p, len, &ld) ? ld.src : 0;
}
