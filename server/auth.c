/* auth: SHA-256 (FIPS 180-4), bearer-token generation and passwords
 * (argon2id from libsodium; PBKDF2 hashes of older databases still
 * verify). */
#include "auth.h"

#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + k256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void auth_sha256(const void *data, size_t len, uint8_t out[AUTH_HASH_LEN])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t left = len;
    for (; left >= 64; p += 64, left -= 64)
        sha256_block(h, p);
    /* Padding: 0x80, zeros, then the bit length big-endian; one or two blocks. */
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tlen = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tlen == 128)
        sha256_block(h, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

int auth_token_new(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[AUTH_HASH_LEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[AUTH_TOKEN_LEN / 2];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[AUTH_TOKEN_LEN] = '\0';
    auth_token_hash(out, AUTH_TOKEN_LEN, hash);
    return 0;
}

void auth_token_hash(const char *token, size_t len, uint8_t hash[AUTH_HASH_LEN])
{
    auth_sha256(token, len, hash);
}

/* HMAC-SHA256 (RFC 2104) of msg under key, keys longer than a block hashed
 * first. msg is at most 64 bytes here (a salt and counter, or a digest). */
static void hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
                 uint8_t out[AUTH_HASH_LEN])
{
    uint8_t k[64] = {0}, buf[64 + 64 + AUTH_HASH_LEN];
    if (klen > 64)
        auth_sha256(key, klen, k);
    else
        memcpy(k, key, klen);
    if (mlen > 64 + AUTH_HASH_LEN)
        mlen = 64 + AUTH_HASH_LEN;
    for (int i = 0; i < 64; i++)
        buf[i] = k[i] ^ 0x36;
    memcpy(buf + 64, msg, mlen);
    uint8_t inner[AUTH_HASH_LEN];
    auth_sha256(buf, 64 + mlen, inner);
    for (int i = 0; i < 64; i++)
        buf[i] = k[i] ^ 0x5c;
    memcpy(buf + 64, inner, AUTH_HASH_LEN);
    auth_sha256(buf, 64 + AUTH_HASH_LEN, out);
}

void auth_pbkdf2(const char *password, size_t plen, const uint8_t *salt, size_t slen,
                 unsigned iterations, uint8_t out[AUTH_HASH_LEN])
{
    uint8_t s[64 + 4], u[AUTH_HASH_LEN], t[AUTH_HASH_LEN];
    if (slen > 64)
        slen = 64;
    memcpy(s, salt, slen);
    memcpy(s + slen, "\0\0\0\1", 4); /* block 1: one block is all we use */
    hmac((const uint8_t *)password, plen, s, slen + 4, u);
    memcpy(t, u, sizeof t);
    for (unsigned i = 1; i < iterations; i++) {
        hmac((const uint8_t *)password, plen, u, sizeof u, u);
        for (int k = 0; k < AUTH_HASH_LEN; k++)
            t[k] ^= u[k];
    }
    memcpy(out, t, AUTH_HASH_LEN);
}

#define PW_ROUNDS 200000

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* argon2id at libsodium's "interactive" limits (2 passes, 64 MiB): about
 * 0.1 s a login on one core, and a test suite that sets many passwords
 * stays fast. */
int auth_password_hash(const char *password, char out[AUTH_PASSWORD_LEN])
{
    if (sodium_init() < 0)
        return -EIO;
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return -ENOMEM; /* libsodium could not get the memory */
    return 0;
}

int auth_password_needs_rehash(const char *stored)
{
    if (!stored || strncmp(stored, "$argon2id$", 10) || sodium_init() < 0)
        return 1;
    return crypto_pwhash_str_needs_rehash(stored, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

/* A PBKDF2 hash as earlier versions stored them. */
static int pbkdf2_verify(const char *password, const char *stored)
{
    unsigned rounds;
    char sh[33], hh[65];
    if (!stored || sscanf(stored, "pbkdf2-sha256$%u$%32[0-9a-f]$%64[0-9a-f]", &rounds, sh, hh) != 3 ||
        strlen(sh) != 32 || strlen(hh) != 64 || rounds < 1 || rounds > 10000000)
        return 0;
    uint8_t salt[16], h[AUTH_HASH_LEN];
    for (int i = 0; i < 16; i++)
        salt[i] = (uint8_t)strtoul((char[]){sh[2 * i], sh[2 * i + 1], 0}, NULL, 16);
    auth_pbkdf2(password, strlen(password), salt, sizeof salt, rounds, h);
    char got[65];
    to_hex(h, sizeof h, got);
    unsigned diff = 0; /* compare all of it: no early exit to time */
    for (int i = 0; i < 64; i++)
        diff |= (unsigned)(got[i] ^ hh[i]);
    return diff == 0;
}

int auth_password_verify(const char *password, const char *stored)
{
    if (!stored || !*stored)
        return 0;
    if (!strncmp(stored, "$argon2", 7))
        return sodium_init() >= 0 &&
               crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
    return pbkdf2_verify(password, stored);
}
