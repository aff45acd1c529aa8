/*
 * redis_server.h - a throwaway redis-server for tests: started on a unix
 * socket in a private directory, no persistence, stopped (and its files
 * removed) at the end.  Tests that need it exit 77 (meson's "skipped")
 * when redis-server is not installed; tests/run.sh installs it.
 */
#ifndef AFGW_TEST_REDIS_SERVER_H
#define AFGW_TEST_REDIS_SERVER_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct test_redis {
	pid_t pid;
	char dir[64];
	char sock[96];
	char url[160];
};

static inline bool test_redis_installed(void)
{
	return access("/usr/bin/redis-server", X_OK) == 0 ||
	       access("/usr/local/bin/redis-server", X_OK) == 0;
}

static inline bool test_redis_ready(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	bool ok;
	if (fd < 0)
		return false;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Start (or restart, reusing dir) a server; returns 0 or -1. */
static inline int test_redis_start(struct test_redis *r)
{
	if (!r->dir[0]) {
		snprintf(r->dir, sizeof(r->dir), "/tmp/afgw-test-redis-XXXXXX");
		if (!mkdtemp(r->dir))
			return -1;
		snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
		snprintf(r->url, sizeof(r->url), "unix://%s", r->sock);
	}
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		freopen("/dev/null", "w", stdout);
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", r->sock,
		       "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir",
		       r->dir, "--hash-max-listpack-entries", "512", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* up to 5 s */
		if (test_redis_ready(r->sock))
			return 0;
		int st;
		if (waitpid(r->pid, &st, WNOHANG) == r->pid)
			return -1;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Kill the server (SIGKILL: a crash, not a shutdown). */
static inline void test_redis_kill(struct test_redis *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	unlink(r->sock);
}

static inline void test_redis_stop(struct test_redis *r)
{
	test_redis_kill(r);
	if (r->dir[0])
		rmdir(r->dir);
}

#endif
