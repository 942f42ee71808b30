/*
 * startcheck: start-up checks without starting; see startcheck.h.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arc_seal.h"
#include "metrics.h"
#include "netaddr.h"
#include "sqldb.h"
#include "startcheck.h"

static int
probe_unix(const char *path, char *why, size_t whylen, int *in_use)
{
	char dir[4096], *slash;
	struct stat st;
	struct sockaddr_un sa;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (stat(dir, &st) != 0)
		return snprintf(why, whylen, "directory %s: %s", dir, strerror(errno)), -1;
	if (!S_ISDIR(st.st_mode))
		return snprintf(why, whylen, "%s is not a directory", dir), -1;
	if (access(dir, W_OK | X_OK) != 0)
		return snprintf(why, whylen, "cannot create a socket in %s: %s", dir, strerror(errno)), -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return snprintf(why, whylen, "path longer than %zu characters", sizeof(sa.sun_path) - 1), -1;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return snprintf(why, whylen, "%s exists and is not a socket", path), -1;
	/* a socket file: in use if something accepts on it (else stale, replaced) */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return snprintf(why, whylen, "socket: %s", strerror(errno)), -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		*in_use = 1;
		return snprintf(why, whylen, "%s: a process listens on it already", path), -1;
	}
	close(fd);
	return 0;
}

/* inet: / inet6: bound once (no host: any address). */
static int
probe_inet(const char *spec, char *why, size_t whylen, int *in_use)
{
	struct addrinfo hints, *res = NULL;
	struct inet_spec is;
	int fd, one = 1, rc, err;

	if (inet_spec_parse(spec, &is, why, whylen) < 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = is.six ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(is.host[0] ? is.host : NULL, is.port, &hints, &res)) != 0)
		return snprintf(why, whylen, "host '%s': %s", is.host, gai_strerror(rc)), -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		*in_use = err == EADDRINUSE;
		snprintf(why, whylen, "%s%s", strerror(err),
		    err == EADDRNOTAVAIL ? " (the host is not an address of this machine)" :
		    err == EACCES && atoi(is.port) < 1024 ? " (a port below 1024 needs root)" :
		    err == EADDRINUSE ? " (another process listens there: a sendercheck already running?)" : "");
		return -1;
	}
	close(fd);
	freeaddrinfo(res);
	return 0;
}

int
startcheck_socket(const char *spec, char *why, size_t whylen, int *in_use)
{
	*in_use = 0;
	why[0] = '\0';
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		return probe_unix(strchr(spec, ':') + 1, why, whylen, in_use);
	if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0)
		return probe_inet(spec, why, whylen, in_use);
	return snprintf(why, whylen, "unknown socket type"), -1;
}

static void
split_dir(const char *file, char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", file);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, len, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
}

/*
 * As the starting user: a state file's directory exists, or (make) its
 * parent lets the daemon make it, as it does at start for StatsDB and
 * VolumeFile before giving it to UserID.
 */
static int
state_dir_ok(const char *option, const char *file, int make, struct sbuf *out)
{
	char dir[4096], parent[4096];
	struct stat st;

	split_dir(file, dir, sizeof(dir));
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || !make)
			return sbuf_printf(out, "%s %s: directory %s: %s\n", option, file, dir, strerror(errno)), -1;
		split_dir(dir, parent, sizeof(parent));
		if (access(parent, W_OK | X_OK) != 0)
			return sbuf_printf(out, "%s %s: directory %s does not exist and cannot be made in %s: %s\n",
			    option, file, dir, parent, strerror(errno)), -1;
		return 1;	/* will be made */
	}
	if (!S_ISDIR(st.st_mode))
		return sbuf_printf(out, "%s %s: %s is not a directory\n", option, file, dir), -1;
	return 0;
}

/* The directory (when it exists) and an existing file are writable by
 * this process's user; who names that user in messages. */
static void
state_writable(const char *option, const char *file, const char *who, struct sbuf *out)
{
	char dir[4096], parent[4096];

	split_dir(file, dir, sizeof(dir));
	if (access(dir, F_OK) != 0) {
		/* made at start and given to this user, who must reach it */
		split_dir(dir, parent, sizeof(parent));
		if (access(parent, F_OK) == 0 && access(parent, X_OK) != 0)
			sbuf_printf(out, "%s %s: %s cannot be reached by %s: %s\n", option, file, parent, who,
			    strerror(errno));
		return;
	}
	if (access(dir, W_OK | X_OK) != 0)
		sbuf_printf(out, "%s %s: directory %s is not writable by %s: %s\n", option, file, dir, who,
		    strerror(errno));
	else if (access(file, F_OK) == 0 && access(file, W_OK) != 0)
		sbuf_printf(out, "%s %s: not writable by %s: %s\n", option, file, who, strerror(errno));
}

static void
runner_files(const struct sc_config *cfg, const char *who, struct sbuf *out)
{
	if (cfg->stats_db[0] && !sqldb_is_uri(cfg->stats_db))
		state_writable("StatsDB", cfg->stats_db, who, out);
	if (cfg->volume_file[0])
		state_writable("VolumeFile", cfg->volume_file, who, out);
}

/*
 * The checks for the user the daemon runs as. As root with a UserID, they
 * run in a child that has switched to that user, so that access() answers
 * for it; the child's lines come back through a pipe.
 */
static void
runner_checks(const struct sc_config *cfg, const struct run_as *ru, struct sbuf *out)
{
	int fds[2], status;
	char buf[4096];
	ssize_t n;
	pid_t pid;

	if (!ru->set || geteuid() != 0) {
		runner_files(cfg, "this user", out);
		return;
	}
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		sbuf_printf(out, "cannot check as UserID %s: %s\n", cfg->user_id, strerror(errno));
		return;
	}
	if (pid == 0) {
		struct sbuf mine;

		close(fds[0]);
		sbuf_init(&mine, 1 << 16);
		if (setgroups(1, &ru->gid) != 0 || setgid(ru->gid) != 0 || setuid(ru->uid) != 0) {
			sbuf_printf(&mine, "cannot switch to UserID %s: %s\n", cfg->user_id, strerror(errno));
		} else {
			char who[300];

			snprintf(who, sizeof(who), "UserID %s", cfg->user_id);
			runner_files(cfg, who, &mine);
		}
		if (write(fds[1], mine.s, mine.len) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		sbuf_add(out, buf, (size_t)n);
	close(fds[0]);
	waitpid(pid, &status, 0);
}

static int
count_lines(const struct sbuf *b, size_t from)
{
	int n = 0;

	for (size_t i = from; i < b->len; i++)
		n += b->s[i] == '\n';
	return n;
}

int
startcheck_all(const struct sc_config *cfg, const char *path, const struct run_as *ru,
    struct sbuf *errs, struct sbuf *notes)
{
	struct sbuf lines;
	char why[512];
	int in_use, problems = 0;
	size_t at;

	if (startcheck_socket(cfg->socket, why, sizeof(why), &in_use) < 0) {
		if (in_use) {
			sbuf_printf(notes, "%s: note: Socket %s: %s\n", path, cfg->socket, why);
		} else {
			sbuf_printf(errs, "%s: Socket %s: %s\n", path, cfg->socket, why);
			problems++;
		}
	}
	if (cfg->metrics_socket[0]) {
		struct metrics_server *m = metrics_listen(cfg->metrics_socket, why, sizeof(why));

		if (m != NULL) {
			metrics_stop(m);
		} else if (strstr(why, strerror(EADDRINUSE)) != NULL) {
			sbuf_printf(notes, "%s: note: %s (a sendercheck already running?)\n", path, why);
		} else {
			sbuf_printf(errs, "%s: %s\n", path, why);
			problems++;
		}
	}
	/* a build without the store's library: the daemon would filter on
	 * without statistics, logging it as an error; here it is a problem */
	if (cfg->stats_db[0] && sqldb_driver_built(cfg->stats_db, why, sizeof(why)) < 0) {
		sbuf_printf(errs, "%s: StatsDB %s\n", path, why);
		problems++;
	}
	if (cfg->arc_sign) {	/* the key the engine loads at start (arc_seal.h) */
		struct arc_signer *as = arc_signer_new(cfg->arc_key_file, cfg->arc_domain,
		    cfg->arc_selector, why, sizeof(why));

		if (as == NULL) {
			sbuf_printf(errs, "%s: ARCSign: %s\n", path, why);
			problems++;
		}
		arc_signer_free(as);
	}
	sbuf_init(&lines, 1 << 16);
	/* directories made as the starting user (before dropping), then given
	 * to UserID; the PID file is written before dropping */
	if (cfg->stats_db[0] && !sqldb_is_uri(cfg->stats_db))	/* a file, not a server */
		state_dir_ok("StatsDB", cfg->stats_db, 1, &lines);
	if (cfg->volume_file[0])
		state_dir_ok("VolumeFile", cfg->volume_file, 1, &lines);
	if (cfg->pid_file[0] && state_dir_ok("PidFile", cfg->pid_file, 0, &lines) == 0)
		state_writable("PidFile", cfg->pid_file, "the starting user", &lines);
	runner_checks(cfg, ru, &lines);
	for (at = 0; at < lines.len;) {
		const char *nl = memchr(lines.s + at, '\n', lines.len - at);
		size_t len = nl ? (size_t)(nl - (lines.s + at)) + 1 : lines.len - at;

		sbuf_printf(errs, "%s: %.*s", path, (int)len, lines.s + at);
		at += len;
	}
	problems += count_lines(&lines, 0);
	sbuf_free(&lines);
	return problems;
}
