/* Test helpers (see testutil.h). */
#include "testutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "timeutil.h"
#include "xalloc.h"

extern char **environ;

char *testutil_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/es-test-XXXXXX", base && *base ? base : "/tmp");

	if (!mkdtemp(path)) {
		fprintf(stderr, "cannot create a temporary folder: %s\n", strerror(errno));
		abort();
	}
	return path;
}

void testutil_rmrf(const char *path)
{
	char *argv[] = {"rm", "-rf", (char *)path, NULL};

	if (path && *path)
		testutil_run(argv, NULL, NULL);
}

static char **merged_env(char *const extra[])
{
	size_t n = 0, k = 0, i;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[k])
		k++;
	env = xcalloc(n + k + 1, sizeof(*env));
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	for (i = 0; i < k; i++)
		env[n + i] = extra[i];
	return env;
}

int testutil_spawn(struct testutil_proc *p, char *const argv[], char *const env_extra[])
{
	char *dir = testutil_tmpdir();
	char **env = merged_env(env_extra);
	long long deadline = timeutil_mono_ms() + 10000;

	memset(p, 0, sizeof(*p));
	p->log_path = xasprintf("%s/out.log", dir);
	free(dir);
	p->pid = fork();
	if (p->pid == 0) {
		int fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	while (timeutil_mono_ms() < deadline) {
		FILE *f = fopen(p->log_path, "r");
		char line[1024];
		int status;

		while (f && fgets(line, sizeof(line), f)) {
			char *at = strstr(line, "listening on http://127.0.0.1:");
			if (strstr(line, "worker ready")) { /* ebaysync worker: no port */
				fclose(f);
				return 0;
			}
			if (at) {
				p->port = (int)strtol(at + strlen("listening on http://127.0.0.1:"),
						      NULL, 10);
				p->base_url = xasprintf("http://127.0.0.1:%d", p->port);
				fclose(f);
				return 0;
			}
		}
		if (f)
			fclose(f);
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			fprintf(stderr, "%s exited before listening; see %s\n", argv[0],
				p->log_path);
			p->pid = 0;
			return -1;
		}
		timeutil_sleep_ms(20);
	}
	fprintf(stderr, "%s did not start listening in 10 s; see %s\n", argv[0], p->log_path);
	return -1;
}

int testutil_stop(struct testutil_proc *p, int sig)
{
	int status = -1;
	long long deadline = timeutil_mono_ms() + 10000;

	if (p->pid > 0) {
		kill(p->pid, sig ? sig : SIGTERM);
		while (waitpid(p->pid, &status, WNOHANG) == 0) {
			if (timeutil_mono_ms() > deadline) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &status, 0);
				break;
			}
			timeutil_sleep_ms(10);
		}
	}
	FREE_AND_NULL(p->base_url);
	FREE_AND_NULL(p->log_path);
	p->pid = 0;
	return status;
}

int testutil_run(char *const argv[], char *const env_extra[], char **out)
{
	int pipefd[2], status = 0;
	char **env = merged_env(env_extra);
	struct buf b;
	char chunk[4096];
	ssize_t n;
	pid_t pid;

	buf_init(&b, 0);
	if (pipe(pipefd))
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execvpe(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	close(pipefd[1]);
	while ((n = read(pipefd[0], chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (out)
		*out = buf_detach(&b, NULL);
	buf_release(&b);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
	buf_add(ctx, data, size * nmemb);
	return size * nmemb;
}

int testutil_http(const char *method, const char *url, const char *body,
		  const char *const headers[], struct testutil_http *res)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b, hb;
	CURLcode rc;

	buf_init(&b, 0);
	buf_init(&hb, 0);
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		fprintf(stderr, "testutil_http: %s %s: %s\n", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	res->body = buf_detach(&b, &res->len);
	res->headers = buf_detach(&hb, NULL);
	return rc == CURLE_OK ? 0 : -1;
}

void testutil_http_release(struct testutil_http *res)
{
	FREE_AND_NULL(res->body);
	FREE_AND_NULL(res->headers);
}

json_t *testutil_get_json(const char *url, const char *bearer)
{
	struct testutil_http r;
	char *auth = bearer ? xasprintf("Authorization: Bearer %s", bearer) : NULL;
	const char *hdrs[] = {auth, NULL};
	json_t *j = NULL;

	if (testutil_http("GET", url, NULL, auth ? hdrs : NULL, &r) == 0 && r.status == 200)
		j = json_loadb(r.body, r.len, 0, NULL);
	testutil_http_release(&r);
	free(auth);
	return j;
}

char *testutil_pg_fresh_db(void)
{
	static int counter;
	const char *admin = getenv("ES_TEST_PG_URL");
	char *name, *sql, *url = NULL;
	PGconn *c;
	PGresult *r;

	if (!admin || !*admin)
		return NULL;
	c = PQconnectdb(admin);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to ES_TEST_PG_URL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	name = xasprintf("es_test_%d_%d_%ld", (int)getpid(), counter++, (long)time(NULL));
	sql = xasprintf("CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		/* Swap the dbname of the admin URL (postgresql://u@h:p/db). */
		const char *slash = strrchr(admin, '/');
		url = xasprintf("%.*s/%s", (int)(slash - admin), admin, name);
	} else {
		fprintf(stderr, "cannot create database %s: %s", name, PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	free(sql);
	free(name);
	return url;
}

int testutil_backends(char *urls[2], const char *names[2])
{
	char *dir = testutil_tmpdir();
	int n = 0;

	urls[n] = xasprintf("%s/test.db", dir);
	names[n++] = "sqlite";
	free(dir);
	urls[n] = testutil_pg_fresh_db();
	if (urls[n]) {
		names[n++] = "postgres";
	} else if (getenv("ES_TEST_REQUIRE_PG") && *getenv("ES_TEST_REQUIRE_PG") == '1') {
		fprintf(stderr, "ES_TEST_REQUIRE_PG=1 but no PostgreSQL server is reachable\n");
		abort();
	}
	return n;
}

void testutil_backends_release(char *urls[2], int n)
{
	for (int i = 0; i < n; i++) {
		if (i == 0) {
			char *slash = strrchr(urls[0], '/');
			if (slash)
				*slash = '\0';
			testutil_rmrf(urls[0]);
		}
		free(urls[i]);
		urls[i] = NULL;
	}
}

#define PG_TEMP ES_SOURCE_DIR "/scripts/pg-temp.sh"

static int own_cluster;

int testutil_pg_ctl(const char *verb)
{
	const char *dir = getenv("ES_TEST_PG_DIR");
	char *argv[] = {PG_TEMP, (char *)verb, (char *)dir, NULL};

	if (!dir || !*dir) {
		fprintf(stderr, "testutil_pg_ctl %s: ES_TEST_PG_DIR is not set\n", verb);
		return -1;
	}
	return testutil_run(argv, NULL, NULL);
}

int testutil_pg_own_start(void **state)
{
	char *argv[] = {PG_TEMP, "start", NULL};
	char *out = NULL, *line, *save = NULL;
	int code;

	(void)state;
	if (!getenv("ES_TEST_PG_URL") || !*getenv("ES_TEST_PG_URL"))
		return 0;
	code = testutil_run(argv, NULL, &out);
	if (code != 0) {
		fprintf(stderr, "scripts/pg-temp.sh start exited %d\n", code);
		free(out);
		return -1;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(line, "ES_TEST_PG_URL") || !strcmp(line, "ES_TEST_PG_DIR"))
			setenv(line, eq + 1, 1);
	}
	free(out);
	own_cluster = 1;
	return 0;
}

int testutil_pg_own_stop(void **state)
{
	(void)state;
	if (own_cluster)
		testutil_pg_ctl("stop");
	own_cluster = 0;
	return 0;
}
