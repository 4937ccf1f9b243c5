/* upload_tar: reads an uploaded assignment archive, a gzip'd ustar, into
 * entries, refusing whatever could write outside the folder it is unpacked
 * in or exhaust memory: absolute paths, "..", hidden or odd names, links,
 * devices, fifos, more than UP_MAX_ENTRIES entries, a file over
 * UP_MAX_FILE, or more than UP_MAX_TOTAL bytes unpacked (a gzip bomb).
 * Pure parsing, no I/O: the fuzz target drives it. */
#ifndef MEMGRADE_UPLOAD_TAR_H
#define MEMGRADE_UPLOAD_TAR_H

#include <stddef.h>

#define UP_MAX_TOTAL (32u << 20)    /* unpacked, all of it */
#define UP_MAX_FILE (4u << 20)
#define UP_MAX_ENTRIES 512
#define UP_MAX_DEPTH 6

/* An entry of the archive; data points into the tar buffer it came from. */
typedef struct {
    char path[264];   /* ustar prefix (155) / name (100), cleaned */
    int dir;
    const char *data;
    size_t size;
} utar_entry;

/* gunzips in[0..n) into *out (malloc'd, caller frees; *outlen bytes), at
 * most UP_MAX_TOTAL plus a tar's end blocks. 0, or -1 with a message in
 * why ("... more than 32 MiB" for a bomb). */
int utar_gunzip(const char *in, size_t n, char **out, size_t *outlen, char *why, size_t wl);

/* Reads the ustar archive tar[0..n) into *out (malloc'd array, caller
 * frees; entries point into tar) and *count. 0, or -1 with a message. */
int utar_parse(const char *tar, size_t n, utar_entry **out, size_t *count, char *why,
               size_t wl);

#endif
