/* Tamper: calls the driver's observation API itself, claiming the answers
 * the tests want, while returning nothing useful. */
#include <stddef.h>
#include "mystr.h"
void mgt_obs_str(const char *key, const char *s);
void mgt_obs_int(const char *key, long long v);
char *str_dup(const char *s)
{
    (void)s;
    mgt_obs_str("dup", "hello");
    mgt_obs_int("new_block", 1);
    return NULL;
}
char *str_concat(const char *a, const char *b) { (void)a; (void)b; mgt_obs_str("cat", "foobar"); return NULL; }
char **str_split(const char *s, char sep, size_t *count) { (void)s; (void)sep; (void)count; return NULL; }
void str_split_free(char **parts, size_t count) { (void)parts; (void)count; }
