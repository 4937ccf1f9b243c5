/* asg_install: installs an uploaded assignment folder (POST
 * /api/v1/assignments, SPEC §6) into the assignments folder. */
#ifndef MEMGRADE_ASG_INSTALL_H
#define MEMGRADE_ASG_INSTALL_H

#include <stddef.h>

#include <jansson.h>

/* Unpacks the gzip'd tar gz into dir as its one top folder NAME (written to
 * name), checks it (asg_check) and moves it into place, replacing an
 * assignment of that name (*replaced). Returns an HTTP status: 201 (new) or
 * 200 (replaced) when installed; 400 or 413 for a bad archive and 500 when
 * the folder cannot be written, with why; 422 when the check failed, with
 * why and *problems (a JSON array of strings, new reference). */
int asg_install(const char *dir, const char *gz, size_t len, char name[64], int *replaced,
                json_t **problems, char *why, size_t whylen);

/* The version of assignment name in folder dir: the SHA-256, in hex, of
 * every file under it (relative path and content, in name order). 0, or
 * -1 when the folder cannot be read. */
int asg_version(const char *dir, const char *name, char out[65]);

#endif
