/* mystr.h: the string functions of the mystr assignment.
 *
 * You write mystr.c, which implements these four functions. The grader
 * supplies this header and its own main(); do not write a main().
 * Every string these functions return lives on the heap: the caller owns it
 * and releases it with free() (str_dup, str_concat) or str_split_free()
 * (str_split). */
#ifndef MYSTR_H
#define MYSTR_H

#include <stddef.h>

/* Returns a new heap copy of s (including its '\0').
 * NULL if s is NULL or if the allocation fails. */
char *str_dup(const char *s);

/* Returns a new heap string: the characters of a followed by those of b.
 * NULL if a or b is NULL or if the allocation fails (nothing is leaked). */
char *str_concat(const char *a, const char *b);

/* Splits s at every occurrence of sep into *count new strings.
 * Empty fields are kept: "a,,b" gives "a", "", "b"; ",a," gives "", "a", "";
 * "" gives one empty string. Returns a new array of *count pointers, each to
 * a new string. Returns NULL if s or count is NULL, or if any allocation
 * fails; in that case nothing is leaked. count is an output parameter. */
char **str_split(const char *s, char sep, size_t *count);

/* Frees everything str_split returned: each of the count strings, then the
 * array itself. str_split_free(NULL, n) does nothing. */
void str_split_free(char **parts, size_t count);

#endif
