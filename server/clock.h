/* clock: the time the server decides deadlines by, and UTC ISO 8601 times
 * in and out (the API's and the CLI's). */
#ifndef MEMGRADE_CLOCK_H
#define MEMGRADE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Now, in ms since the epoch. For tests only: MEMGRADE_TEST_NOW set to an
 * ISO 8601 time fixes the clock there, and MEMGRADE_TEST_NOW=@PATH reads
 * that time from the file PATH at every call, so a test moves the clock of
 * a running server. Never set either in production. */
int64_t clk_now_ms(void);

/* "2026-12-01T23:59:00Z" (also with fractional seconds, or "+00:00" /
 * "-05:30" offsets, or a bare date meaning its midnight UTC) into ms since
 * the epoch. 0 on success, -1 when s is not such a time. */
int clk_parse(const char *s, int64_t *ms);

/* ms since the epoch as "2026-12-01T23:59:00Z" (whole seconds). */
void clk_format(int64_t ms, char out[32]);

#endif
