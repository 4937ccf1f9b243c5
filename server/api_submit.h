/* api_submit: turns a submission request body (JSON, or the parts of a
 * multipart/form-data body) into a validated assignment plus files. Every
 * limit is checked while the bytes arrive, so memory stays bounded by
 * max_request whatever the client sends. The first problem found decides
 * the refusal: an HTTP status and a message for the {"error"} body.
 *
 * Pure parsing and validation, no I/O: this is what the fuzz targets drive. */
#ifndef MEMGRADE_API_SUBMIT_H
#define MEMGRADE_API_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "grd.h"

typedef struct api_sub api_sub;

/* A new, empty submission checked against catalog c (borrowed; must outlive
 * the submission) and the two size limits. NULL on out of memory. */
api_sub *api_sub_new(const grd_catalog *c, size_t max_file, size_t max_request);
void api_sub_free(api_sub *s);

/* Parses a whole JSON body {"assignment": NAME, "files": {NAME: TEXT}}
 * with an optional "course": ID.
 * 0 when well-formed, else the refusal status (also in api_sub_status). */
int api_sub_json(api_sub *s, const char *body, size_t len);

/* Feeds one piece of a multipart part: key is the field name, filename the
 * part's file name (NULL for a plain field), data[0..size) the bytes at
 * offset off within the part. 0, or the refusal status. */
int api_sub_part(api_sub *s, const char *key, const char *filename,
                 const char *data, size_t off, size_t size);

/* Checks the whole submission: a known assignment and exactly its files,
 * each text within the limits. 0, or the refusal status. */
int api_sub_finish(api_sub *s);

/* The refusal status (0 while none) and its message (never NULL). */
int api_sub_status(const api_sub *s);
const char *api_sub_error(const api_sub *s);

/* After api_sub_finish returned 0: the assignment and the files, owned by s. */
const grd_assignment *api_sub_assignment(const api_sub *s);
size_t api_sub_file_count(const api_sub *s);
const db_file *api_sub_files(const api_sub *s);
/* The course the body names (field "course"), or NULL when it names none. */
const char *api_sub_course(const api_sub *s);

/* After api_sub_finish returned 0: SHA-256 over the assignment and the
 * files in name order, so the same submission always has the same digest.
 * 0, or -1 on out of memory. */
int api_sub_digest(const api_sub *s, uint8_t out[32]);

#endif
