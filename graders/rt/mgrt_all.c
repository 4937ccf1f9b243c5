/* mgrt_all: the runtime of a function-level program as one translation
 * unit, so that its internals are static and out of a submission's reach
 * (see mgrt_int.h). */
#define MGRT_UNITY 1
#define MGRT_SERVER 1 /* the fork server is main: mgrt_srv.c */
#include "mgrt.c"
#include "mgrt_srv.c"
