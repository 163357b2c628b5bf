/*
 * Helpers shared by the unit and integration tests: temporary folders,
 * starting the real binaries (ebaysync-sim, ebaysync serve) on free loopback
 * ports, plain HTTP calls with libcurl, and fresh databases on each backend.
 *
 * Backends: every store test runs on SQLite and, when ES_TEST_PG_URL names a
 * PostgreSQL server (scripts/test.sh starts one), on PostgreSQL too. Set
 * ES_TEST_REQUIRE_PG=1 (CI does) to make a missing server a failure.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* Absolute paths of the built binaries. */
#define TESTUTIL_SIM_BIN ES_BIN_DIR "/ebaysync-sim"
#define TESTUTIL_APP_BIN ES_BIN_DIR "/ebaysync"

/* A fresh empty folder under $TMPDIR (malloc'd); removed by testutil_rmrf. */
char *testutil_tmpdir(void);
void testutil_rmrf(const char *path);

struct testutil_proc {
	pid_t pid;
	int port;	/* the port it printed, or 0 */
	char *base_url; /* "http://127.0.0.1:<port>" (malloc'd) */
	char *log_path; /* its stdout+stderr (malloc'd) */
};

/*
 * Starts argv[0] with argv (NULL-terminated), output to a log file, and
 * waits (up to 10 s) for a line "listening on http://127.0.0.1:PORT" in it
 * (or "worker ready", from `ebaysync worker`: port 0, base_url NULL).
 * Returns 0 on success. env_extra: NULL or "K=V" strings, NULL-terminated.
 */
int testutil_spawn(struct testutil_proc *p, char *const argv[], char *const env_extra[]);
/* Sends sig (SIGTERM when 0), waits up to 10 s then SIGKILLs; returns the
 * exit status as from waitpid, or -1. Frees the strings. */
int testutil_stop(struct testutil_proc *p, int sig);

/* Runs a command to completion, capturing stdout (malloc'd, may be NULL)
 * into *out; returns its exit code (or 128+signal). */
int testutil_run(char *const argv[], char *const env_extra[], char **out);

struct testutil_http {
	long status;
	char *body; /* NUL-terminated, malloc'd */
	size_t len;
	char *headers; /* raw response headers, malloc'd */
};

/*
 * One HTTP request. method "GET"/"POST"..., body may be NULL; headers is a
 * NULL-terminated list of "Name: value" or NULL. Returns 0 when an answer
 * came (any status). Release with testutil_http_release().
 */
int testutil_http(const char *method, const char *url, const char *body,
		  const char *const headers[], struct testutil_http *res);
void testutil_http_release(struct testutil_http *res);
/* GET url and parse JSON (NULL on failure). */
json_t *testutil_get_json(const char *url, const char *bearer);

/* Every backend URL to test on: a fresh SQLite file in a new tmpdir and,
 * when available, a fresh PostgreSQL database. Returns how many (1 or 2);
 * urls[i] are malloc'd; names[i] static "sqlite"/"postgres". */
int testutil_backends(char *urls[2], const char *names[2]);
/* A fresh PostgreSQL database URL, or NULL when no server is configured. */
char *testutil_pg_fresh_db(void);
/*
 * A PostgreSQL cluster of the calling test file's own, for tests that kill
 * and restart their server (which must not hit the suites ctest -j runs
 * beside them on the shared ES_TEST_PG_URL): group setup and teardown for
 * cmocka. The setup starts one with scripts/pg-temp.sh and points
 * ES_TEST_PG_URL and ES_TEST_PG_DIR at it; without ES_TEST_PG_URL it does
 * nothing (the tests skip, or fail under ES_TEST_REQUIRE_PG=1).
 */
int testutil_pg_own_start(void **state);
int testutil_pg_own_stop(void **state);
/* scripts/pg-temp.sh VERB (kill, restart, stop) on ES_TEST_PG_DIR; returns
 * its exit code. */
int testutil_pg_ctl(const char *verb);

/* Drops what testutil_backends made. */
void testutil_backends_release(char *urls[2], int n);

#endif
