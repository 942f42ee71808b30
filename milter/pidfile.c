/*
 * pidfile: write, keep and remove the PID file; see pidfile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"

static char pid_path[4096];
static char pid_text[32];	/* what was written: "PID\n" */

/*
 * Written whole into a new file beside it, then renamed over it: a reader
 * (systemd, a script) finds the old content or the new, never an empty or
 * half-written file; rename replaces a symlink at path and never follows it.
 */
int
pidfile_write(const char *path, char *why, size_t whylen)
{
	char tmp[sizeof(pid_path) + 8];
	int fd, n, ok;

	if ((size_t)snprintf(pid_path, sizeof(pid_path), "%s", path) >= sizeof(pid_path)) {
		pid_path[0] = '\0';
		snprintf(why, whylen, "PidFile %s: path too long", path);
		return -1;
	}
	n = snprintf(pid_text, sizeof(pid_text), "%ld\n", (long)getpid());
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "cannot write PidFile %s: %s", path, strerror(errno));
		pid_path[0] = '\0';
		return -1;
	}
	ok = fchmod(fd, 0644) == 0 && write(fd, pid_text, (size_t)n) == n;
	ok = close(fd) == 0 && ok && rename(tmp, path) == 0;
	if (!ok) {
		snprintf(why, whylen, "cannot write PidFile %s: %s", path, strerror(errno));
		unlink(tmp);
		pid_path[0] = '\0';
		return -1;
	}
	return 0;
}

/* The keeper, in the child: only async-signal-safe calls from here on. */
static void __attribute__((noreturn))
keeper(int wait_fd, int dir_fd, const char *name)
{
	char buf[64];
	ssize_t n;
	size_t len = strlen(pid_text);
	int fd, null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	/* nothing of the daemon's: above all not its listening socket */
	int lo = wait_fd < dir_fd ? wait_fd : dir_fd, hi = wait_fd ^ dir_fd ^ lo;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0U, 0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	prctl(PR_SET_NAME, "sendercheck-pid", 0, 0, 0);
	while ((n = read(wait_fd, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR)
			break;
	/* the daemon is gone: remove the file if it is still its file */
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == (ssize_t)len && memcmp(buf, pid_text, len) == 0)
			unlinkat(dir_fd, name, 0);
	}
	_exit(0);
}

int
pidfile_keep(char *why, size_t whylen)
{
	char dir[sizeof(pid_path)];
	const char *name;
	char *slash;
	int pipefd[2], dir_fd;
	pid_t pid;

	if (pid_path[0] == '\0')
		return 0;
	snprintf(dir, sizeof(dir), "%s", pid_path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		snprintf(dir, sizeof(dir), ".");
		name = pid_path;
	} else {
		name = pid_path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if ((dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "PidFile %s: cannot open its directory: %s", pid_path, strerror(errno));
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "PidFile %s: pipe: %s", pid_path, strerror(errno));
		close(dir_fd);
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "PidFile %s: fork: %s", pid_path, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		close(dir_fd);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[1]);
		keeper(pipefd[0], dir_fd, name);
	}
	/* the write end stays open, unused, until this process ends */
	close(pipefd[0]);
	close(dir_fd);
	return 0;
}

void
pidfile_remove(void)
{
	if (pid_path[0] == '\0')
		return;
	if (unlink(pid_path) != 0 && errno != ENOENT && errno != EACCES && errno != EPERM)
		log_notice("PidFile %s: %s", pid_path, strerror(errno));
}
