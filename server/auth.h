/* auth: bearer tokens. A token is 256 random bits from getrandom(2), shown
 * once as 64 hex digits; only its SHA-256 is stored, so a copy of the
 * database does not hand out logins. SHA-256 is written here (FIPS 180-4)
 * rather than pulled from libcrypto: it is the only primitive we need. */
#ifndef MEMGRADE_AUTH_H
#define MEMGRADE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_HASH_LEN 32
#define AUTH_TOKEN_LEN 64 /* hex digits, without the terminating NUL */

/* SHA-256 of data[0..len) into out. */
void auth_sha256(const void *data, size_t len, uint8_t out[AUTH_HASH_LEN]);

/* A fresh token into out (AUTH_TOKEN_LEN + 1 bytes, NUL-terminated) and its
 * hash into hash. 0, or -errno when the kernel gives no randomness. */
int auth_token_new(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[AUTH_HASH_LEN]);

/* PBKDF2-HMAC-SHA256 (RFC 8018) of password and salt, iterations rounds,
 * one 32-byte block into out. */
void auth_pbkdf2(const char *password, size_t plen, const uint8_t *salt, size_t slen,
                 unsigned iterations, uint8_t out[AUTH_HASH_LEN]);

/* A stored password: argon2id in libsodium's crypto_pwhash_str form
 * ("$argon2id$v=19$m=...,t=...,p=1$SALT$HASH") with a fresh random salt,
 * into out. 0, or -errno when libsodium fails (no memory, no randomness). */
#define AUTH_PASSWORD_LEN 160
int auth_password_hash(const char *password, char out[AUTH_PASSWORD_LEN]);
/* 1 when password matches stored: an argon2id string from
 * auth_password_hash, or "pbkdf2-sha256$ITERATIONS$SALT$HASH" (hex) as
 * earlier versions stored them. 0 for anything else, "" and NULL. */
int auth_password_verify(const char *password, const char *stored);
/* Whether stored should be replaced by a fresh auth_password_hash after a
 * successful login: PBKDF2, or argon2id with weaker limits than ours. */
int auth_password_needs_rehash(const char *stored);

/* The hash under which a presented token is looked up. Tokens of the wrong
 * shape still hash (the lookup then simply fails). */
void auth_token_hash(const char *token, size_t len, uint8_t hash[AUTH_HASH_LEN]);

#endif
