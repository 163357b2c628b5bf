/*
 * `ebaysync serve` under a connection flood: 4,200 connections from
 * 127.0.0.2 that each send a request line and then trickle one header line
 * now and then, as a client that wants to hold the server would. While they
 * try, /healthz from 127.0.0.1 answers 200 within 100 ms every time, the
 * flooding address holds no more than its share of connections, and a
 * connection that stops sending before its headers are complete is closed
 * by the server after the header deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define FLOOD	     4200
#define PROBES	     48
#define PROBE_GAP_MS 250
#define PROBE_MAX_MS 100
#define SIM_TOKEN    "sim-token-1"

static char *const server_env[] = {
    "EBAYSYNC_JWT_SECRET=integration-jwt-secret-0123456789abcdef",
    "EBAYSYNC_SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL};

/* A TCP connection from address from to 127.0.0.1:port, or -1. */
static int connect_from(const char *from, int port)
{
	struct sockaddr_in src, dst;
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	inet_pton(AF_INET, from, &src.sin_addr);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 while the server has not closed fd (nothing to read, no EOF). */
static int still_open(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* GET /healthz from 127.0.0.1: its status (0: no answer) and time taken. */
static int healthz(int port, long long *ms)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	long long t0 = timeutil_mono_ms();
	char buf[2048];
	size_t len = 0;
	ssize_t n;
	int fd = connect_from("127.0.0.1", port), status = 0;

	if (fd >= 0 && send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1)
		while (len < sizeof(buf) - 1 &&
		       (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
			len += (size_t)n;
	buf[len] = '\0';
	if (len > 12 && !strncmp(buf, "HTTP/1.1 ", 9) && strstr(buf, "\"status\":\"ok\""))
		status = atoi(buf + 9);
	*ms = timeutil_mono_ms() - t0;
	if (fd >= 0)
		close(fd);
	return status;
}

struct prober {
	int port;
	int ok, slow, failed;
	long long worst;
	char first_bad[128];
};

static void *probe_main(void *arg)
{
	struct prober *p = arg;
	long long ms;
	int i, status;

	for (i = 0; i < PROBES; i++) {
		status = healthz(p->port, &ms);
		if (ms > p->worst)
			p->worst = ms;
		if (status != 200)
			p->failed++;
		else if (ms > PROBE_MAX_MS)
			p->slow++;
		else
			p->ok++;
		if ((status != 200 || ms > PROBE_MAX_MS) && !p->first_bad[0])
			snprintf(p->first_bad, sizeof(p->first_bad),
				 "probe %d: status %d after %lld ms", i, status, ms);
		timeutil_sleep_ms(PROBE_GAP_MS);
	}
	return NULL;
}

static void test_flood(void **state)
{
	static const char line[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	struct testutil_proc sim, srv;
	char *sim_argv[] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0", "--skus", "1",
			    "--token",	      SIM_TOKEN,  NULL};
	char *dir = testutil_tmpdir(), *db = xasprintf("%s/flood.db", dir);
	struct prober p;
	struct rlimit rl;
	pthread_t th;
	int *fds = xcalloc(FLOOD, sizeof(*fds));
	int i, opened = 0, open_after = 0, quiet, round;
	char hdr[64];

	/* The flood needs more sockets than the usual 1024 descriptors. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < FLOOD + 256)
		skip();
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);

	assert_int_equal(testutil_spawn(&sim, sim_argv, NULL), 0);
	{
		char *argv[] = {TESTUTIL_APP_BIN, "serve",     "--listen",   "127.0.0.1:0",
				"--db",		  db,	       "--api-base", sim.base_url,
				"--env",	  "simulator", NULL};

		assert_int_equal(testutil_spawn(&srv, argv, server_env), 0);
	}

	/* A connection from another address that stops after its request
	 * line: the header deadline must close it. */
	quiet = connect_from("127.0.0.3", srv.port);
	assert_true(quiet >= 0);
	assert_int_equal(send(quiet, "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL), 23);

	memset(&p, 0, sizeof(p));
	p.port = srv.port;
	assert_int_equal(pthread_create(&th, NULL, probe_main, &p), 0);

	for (i = 0; i < FLOOD; i++) {
		fds[i] = connect_from("127.0.0.2", srv.port);
		if (fds[i] >= 0 && send(fds[i], line, sizeof(line) - 1, MSG_NOSIGNAL) > 0)
			opened++;
	}
	/* Trickle one header line to each connection every second until the
	 * probes are done (PROBES * PROBE_GAP_MS, about 10 s). */
	for (round = 0; round * 1000 < PROBES * PROBE_GAP_MS; round++) {
		snprintf(hdr, sizeof(hdr), "X-Slow-%d: 1\r\n", round);
		for (i = 0; i < FLOOD; i++)
			if (fds[i] >= 0)
				send(fds[i], hdr, strlen(hdr), MSG_NOSIGNAL | MSG_DONTWAIT);
		timeutil_sleep_ms(1000);
	}
	pthread_join(th, NULL);
	for (i = 0; i < FLOOD; i++)
		if (fds[i] >= 0 && still_open(fds[i]))
			open_after++;

	print_message("flood: %d connected, %d still open; healthz: %d ok, %d slow, %d failed, "
		      "worst %lld ms\n",
		      opened, open_after, p.ok, p.slow, p.failed, p.worst);
	if (p.failed || p.slow)
		fail_msg("/healthz did not answer within %d ms every time: %d slow, %d failed "
			 "(%s)",
			 PROBE_MAX_MS, p.slow, p.failed, p.first_bad);
	assert_int_equal(p.ok, PROBES);
	/* The flooding address holds at most its share. */
	assert_true(open_after <= SERVER_CONN_PER_ADDR);
	assert_true(open_after > 0);
	/* More than SERVER_HEADER_TIMEOUT has passed since the quiet one spoke. */
	assert_false(still_open(quiet));

	for (i = 0; i < FLOOD; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(quiet);
	free(fds);
	assert_int_equal(testutil_stop(&srv, SIGTERM), 0);
	testutil_stop(&sim, SIGTERM);
	testutil_rmrf(dir);
	free(dir);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
