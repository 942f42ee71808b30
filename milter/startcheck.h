/*
 * startcheck: what the daemon's start needs beyond a well-formed config,
 * checked without starting it (sendercheck -n), and the real reason when
 * a socket cannot be opened at start.
 *
 * Promises: the milter Socket and the MetricsSocket can be bound (the
 * reason comes from errno: missing directory, permission, address not of
 * this host, address in use); the directories of StatsDB and VolumeFile
 * exist (or can be made) and they and the files are writable by the user
 * the daemon runs as; PidFile's directory is writable by the user who
 * starts it. Nothing is left behind: probes close what they open and
 * create no files. An address in use is a note, not a problem: it is
 * most often this daemon, already running.
 */
#ifndef SC_STARTCHECK_H
#define SC_STARTCHECK_H

#include <sys/types.h>

#include "options.h"
#include "sbuf.h"

/* The user after dropping privileges; set = 0: the user who starts it. */
struct run_as {
	int set;
	uid_t uid;
	gid_t gid;
};

/*
 * Checks everything above for cfg read from path. Each problem is one line
 * "PATH: why" in errs, each note one line in notes; returns the number of
 * problems.
 */
int startcheck_all(const struct sc_config *cfg, const char *path, const struct run_as *ru,
    struct sbuf *errs, struct sbuf *notes);

/*
 * Whether a milter socket (inet:PORT@HOST, inet6:PORT@HOST, unix:/path)
 * can be bound now: 0, or -1 with the reason in why; *in_use is set when
 * the reason is that something listens there already.
 */
int startcheck_socket(const char *spec, char *why, size_t whylen, int *in_use);

#endif
