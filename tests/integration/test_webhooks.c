/*
 * Webhooks end to end, on each backend, with a receiver of our own (a
 * libmicrohttpd server inside this test): a finished run is delivered,
 * signed, and the signature checks out against the secret shown at
 * creation; a receiver that answers 500 twice gets the delivery on the
 * third try, and the deliveries list says so; a redelivery arrives again; a
 * delivery pending while serve stops is delivered by the next serve; and
 * without --allow-private-webhooks a target on 127.0.0.1 is refused, both
 * by its URL and, for a name that resolves there, by the address libcurl
 * was about to connect to.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "secret.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "webhook.h"
#include "xalloc.h"

#define SIM_TOKEN  "sim-token-hooks"
#define JWT_SECRET "webhook-tests-jwt-secret-0123456789abcdef"
#define SEAL_KEY   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ALICE_PW   "alice-password"
#define MAX_SEEN   16

static char *const server_env[] = {"EBAYSYNC_JWT_SECRET=" JWT_SECRET,
				   "EBAYSYNC_SECRET_KEY=" SEAL_KEY, NULL};

/* ---- the receiver -------------------------------------------------------- */

struct seen {
	char *body;
	char *signature;
	unsigned answered;
};

struct receiver {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	int fail_first; /* answer 500 to this many requests first */
	struct seen seen[MAX_SEEN];
	int n;
};

struct upload {
	struct buf body;
};

static enum MHD_Result on_hook(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct receiver *r = cls;
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result rc;
	unsigned status = 200;
	const char *sig;

	if (!u) {
		u = xcalloc(1, sizeof(*u));
		buf_init(&u->body, 1 << 20);
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		buf_add(&u->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, WEBHOOK_SIGNATURE_HEADER);
	pthread_mutex_lock(&r->mu);
	if (r->n < r->fail_first)
		status = 500;
	if (r->n < MAX_SEEN) {
		r->seen[r->n].body = xstrdup(buf_str(&u->body));
		r->seen[r->n].signature = sig ? xstrdup(sig) : NULL;
		r->seen[r->n].answered = status;
		r->n++;
	}
	pthread_mutex_unlock(&r->mu);
	resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	if (u) {
		buf_release(&u->body);
		free(u);
	}
	*con_cls = NULL;
}

static void receiver_start(struct receiver *r, int port, int fail_first)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_in a;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->fail_first = fail_first;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_hook, r,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, r, MHD_OPTION_END);
	assert_non_null(r->d);
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info->port;
}

static void receiver_stop(struct receiver *r)
{
	int i;

	MHD_stop_daemon(r->d);
	for (i = 0; i < r->n; i++) {
		free(r->seen[i].body);
		free(r->seen[i].signature);
	}
	pthread_mutex_destroy(&r->mu);
}

static int receiver_count(struct receiver *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void wait_count(struct receiver *r, int want, int timeout_ms)
{
	long long end = timeutil_mono_ms() + timeout_ms;

	while (receiver_count(r) < want && timeutil_mono_ms() < end)
		usleep(50000);
	assert_int_equal(receiver_count(r), want);
}

/* Checks a delivery's signature as a receiver would (docs/api.md). */
static void check_signature(const struct seen *s, const char *secret)
{
	long long t = 0, now = timeutil_wall_ms() / 1000;
	char *want;

	assert_non_null(s->signature);
	assert_int_equal(sscanf(s->signature, "t=%lld,", &t), 1);
	assert_true(t > now - 300 && t <= now + 5); /* not a replay */
	want = webhook_signature(secret, t, s->body, strlen(s->body));
	assert_string_equal(s->signature, want);
	free(want);
	/* A tampered body does not verify. */
	want = webhook_signature(secret, t, "{}", 2);
	assert_string_not_equal(s->signature, want);
	free(want);
}

/* ---- serve --------------------------------------------------------------- */

struct fx {
	struct testutil_proc sim, srv;
	const char *backend;
	char *db;
	char *jwt;
};

static void serve(struct fx *f, int allow_private)
{
	char *argv[] = {TESTUTIL_APP_BIN,
			"serve",
			"--listen",
			"127.0.0.1:0",
			"--db",
			f->db,
			"--api-base",
			f->sim.base_url,
			"--env",
			"simulator",
			"--demo-user",
			"alice:" ALICE_PW,
			"--demo-ebay-token",
			SIM_TOKEN,
			"--max-rps",
			"5000",
			"--webhook-retry-ms",
			"200",
			allow_private ? "--allow-private-webhooks" : NULL,
			NULL};

	assert_int_equal(testutil_spawn(&f->srv, argv, server_env), 0);
}

static json_t *call(struct fx *f, const char *method, const char *path, const char *body,
		    long *status)
{
	char *url = xasprintf("%s%s", f->srv.base_url, path);
	char *auth = f->jwt ? xasprintf("Authorization: Bearer %s", f->jwt) : NULL;
	const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
	struct testutil_http r;
	json_t *j = NULL;

	assert_int_equal(testutil_http(method, url, body, hdrs, &r), 0);
	*status = r.status;
	if (r.len)
		j = json_loadb(r.body, r.len, 0, NULL);
	testutil_http_release(&r);
	free(auth);
	free(url);
	return j;
}

static void login(struct fx *f)
{
	long status;
	json_t *j;

	free(f->jwt);
	f->jwt = NULL;
	j = call(f, "POST", "/auth/login", "{\"username\":\"alice\",\"password\":\"" ALICE_PW "\"}",
		 &status);
	assert_int_equal(status, 200);
	f->jwt = xstrdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
}

/* A webhook to url; returns its secret, its id in *id (both malloc'd). */
static char *add_hook(struct fx *f, const char *url, char **id)
{
	char *body = xasprintf("{\"url\":\"%s\",\"events\":[\"run.finished\"]}", url);
	long status;
	json_t *j = call(f, "POST", "/ebay/webhooks", body, &status);
	char *secret;

	if (status != 201)
		fail_msg("[%s] POST /ebay/webhooks: %ld %s", f->backend, status, json_dumps(j, 0));
	secret = xstrdup(json_string_value(json_object_get(j, "secret")));
	*id = xstrdup(json_string_value(json_object_get(j, "id")));
	assert_true(!strncmp(secret, "whsec_", 6));
	json_decref(j);
	free(body);
	return secret;
}

/* Starts an inventory run and waits for it to end; returns its id. */
static char *run_inventory(struct fx *f)
{
	long status;
	json_t *j = call(f, "POST", "/ebay/sync/inventory", NULL, &status);
	char *id, *path;
	int i;

	assert_int_equal(status, 202);
	id = xstrdup(json_string_value(json_object_get(j, "run_id")));
	json_decref(j);
	path = xasprintf("/ebay/sync/runs/%s", id);
	for (i = 0; i < 300; i++) {
		j = call(f, "GET", path, NULL, &status);
		const char *st = json_string_value(json_object_get(j, "status"));

		/* queued: a moment before a worker slot claims it. */
		if (strcmp(st, "running") && strcmp(st, "queued")) {
			assert_string_equal(json_string_value(json_object_get(j, "status")),
					    "done");
			json_decref(j);
			break;
		}
		json_decref(j);
		usleep(100000);
	}
	free(path);
	return id;
}

/* The deliveries of webhook id, newest first. */
static json_t *deliveries(struct fx *f, const char *hook)
{
	char *path = xasprintf("/ebay/webhooks/deliveries?webhook_id=%s", hook);
	long status;
	json_t *j = call(f, "GET", path, NULL, &status), *list;

	if (status != 200)
		fail_msg("[%s] GET %s: %ld %s", f->backend, path, status, json_dumps(j, 0));
	list = json_incref(json_object_get(j, "deliveries"));
	json_decref(j);
	free(path);
	return list;
}

static void set_enabled(struct fx *f, const char *hook, int on)
{
	char *path = xasprintf("/ebay/webhooks/%s", hook);
	long status;
	json_t *j =
	    call(f, "PATCH", path, on ? "{\"enabled\":true}" : "{\"enabled\":false}", &status);

	assert_int_equal(status, 200);
	assert_int_equal(json_is_true(json_object_get(j, "enabled")), on);
	json_decref(j);
	free(path);
}

/* A loopback port nothing listens on (for now). */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* ---- the cases ----------------------------------------------------------- */

/* Signed, retried after two 500s, listed, redelivered. Returns the hook id. */
static char *signed_and_retried(struct fx *f)
{
	struct receiver r;
	char *url, *secret, *hook, *run, *path;
	json_t *body, *list, *d;
	long status;
	int i;

	receiver_start(&r, 0, 2);
	url = xasprintf("http://127.0.0.1:%d/hook", r.port);
	secret = add_hook(f, url, &hook);
	run = run_inventory(f);
	wait_count(&r, 3, 20000);
	for (i = 0; i < 3; i++) {
		check_signature(&r.seen[i], secret);
		assert_int_equal(r.seen[i].answered, i < 2 ? 500 : 200);
		body = json_loads(r.seen[i].body, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(body, "type")),
				    "run.finished");
		d = json_object_get(body, "data");
		assert_string_equal(json_string_value(json_object_get(d, "run_id")), run);
		assert_string_equal(json_string_value(json_object_get(d, "kind")), "inventory");
		assert_string_equal(json_string_value(json_object_get(d, "status")), "done");
		assert_int_equal(json_integer_value(json_object_get(d, "stored")), 40);
		json_decref(body);
	}
	/* The outcome is recorded where the user sees it. */
	usleep(300000);
	list = deliveries(f, hook);
	assert_int_equal(json_array_size(list), 1);
	d = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "delivered");
	assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 3);
	assert_int_equal(json_integer_value(json_object_get(d, "last_http_status")), 200);
	path = xasprintf("/ebay/webhooks/deliveries/%s/redeliver",
			 json_string_value(json_object_get(d, "id")));
	json_decref(list);
	json_decref(call(f, "POST", path, NULL, &status));
	assert_int_equal(status, 202);
	wait_count(&r, 4, 10000);
	check_signature(&r.seen[3], secret);
	free(path);
	set_enabled(f, hook, 0);
	receiver_stop(&r);
	free(url);
	free(secret);
	free(run);
	return hook;
}

/* A delivery that failed while nobody listened, then serve stops: the next
 * serve delivers it. */
static void across_restart(struct fx *f)
{
	int port = free_port();
	char *url = xasprintf("http://127.0.0.1:%d/later", port), *secret, *hook, *run;
	struct receiver r;
	json_t *list;
	int i, attempted = 0;

	secret = add_hook(f, url, &hook);
	run = run_inventory(f);
	for (i = 0; i < 100 && !attempted; i++) {
		list = deliveries(f, hook);
		attempted =
		    json_array_size(list) == 1 &&
		    json_integer_value(json_object_get(json_array_get(list, 0), "attempts")) >= 1;
		if (attempted)
			assert_string_equal(
			    json_string_value(json_object_get(json_array_get(list, 0), "status")),
			    "pending");
		json_decref(list);
		usleep(100000);
	}
	assert_true(attempted);
	assert_int_equal(testutil_stop(&f->srv, 0), 0);

	receiver_start(&r, port, 0);
	serve(f, 1);
	login(f);
	wait_count(&r, 1, 20000);
	check_signature(&r.seen[0], secret);
	assert_non_null(strstr(r.seen[0].body, run));
	usleep(300000);
	list = deliveries(f, hook);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")),
			    "delivered");
	json_decref(list);
	set_enabled(f, hook, 0);
	receiver_stop(&r);
	free(url);
	free(secret);
	free(hook);
	free(run);
}

/* Without the operator's flag: 127.0.0.1 is refused when the endpoint is
 * made, and "localhost" (which only the resolver turns into 127.0.0.1,
 * written here straight into the database) when libcurl connects. */
static void private_refused(struct fx *f)
{
	struct receiver r;
	struct webhook_row w;
	struct secret_key key;
	struct buf why = BUF_INIT;
	struct store *s = NULL;
	char *body, *run;
	json_t *j, *list;
	long status;
	int i, refused = 0;

	assert_int_equal(testutil_stop(&f->srv, 0), 0);
	serve(f, 0);
	login(f);
	receiver_start(&r, 0, 0);
	body = xasprintf("{\"url\":\"http://127.0.0.1:%d/hook\"}", r.port);
	j = call(f, "POST", "/ebay/webhooks", body, &status);
	assert_int_equal(status, 400);
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
		   "--allow-private-webhooks"));
	json_decref(j);
	free(body);

	memset(&w, 0, sizeof(w));
	assert_int_equal(secret_key_parse(SEAL_KEY, &key, &why), ERR_OK);
	assert_int_equal(store_open(f->db, &s, &why), ERR_OK);
	w.id = "wh_by_name";
	w.user_id = "alice";
	w.url = xasprintf("http://localhost:%d/hook", r.port);
	w.events = "run.finished";
	w.enabled = 1;
	assert_int_equal(secret_seal(&key, WEBHOOK_SECRET_CONTEXT, "whsec_x", &w.secret), ERR_OK);
	w.created_ms = timeutil_wall_ms();
	assert_int_equal(store_webhook_insert(s, &w), ERR_OK);
	store_close(s);
	free(w.url);
	free(w.secret);

	run = run_inventory(f);
	for (i = 0; i < 100 && !refused; i++) {
		const char *e;

		list = deliveries(f, "wh_by_name");
		e = json_string_value(json_object_get(json_array_get(list, 0), "last_error"));
		refused = e && strstr(e, "refused to connect to");
		json_decref(list);
		usleep(100000);
	}
	assert_true(refused);
	assert_int_equal(receiver_count(&r), 0);
	receiver_stop(&r);
	free(run);
	buf_release(&why);
}

static void test_webhooks(void **state)
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names), i;

	for (i = 0; i < n; i++) {
		char *sim_argv[] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0", "--seed",  "3",
				    "--skus",	      "40",	  "--token",	 SIM_TOKEN, NULL};
		struct fx f;
		char *hook;

		memset(&f, 0, sizeof(f));
		f.backend = names[i];
		f.db = urls[i];
		assert_int_equal(testutil_spawn(&f.sim, sim_argv, NULL), 0);
		serve(&f, 1);
		login(&f);
		hook = signed_and_retried(&f);
		across_restart(&f);
		private_refused(&f);
		assert_int_equal(testutil_stop(&f.srv, 0), 0);
		testutil_stop(&f.sim, 0);
		free(hook);
		free(f.jwt);
	}
	testutil_backends_release(urls, n);
}

static void test_private_addresses(void **state)
{
	static const char *const refused[] = {
	    "127.0.0.1",  "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
	    "100.64.0.1", "::1",      "fe80::1",    "fd00::1",	   "::ffff:127.0.0.1"};
	static const char *const allowed[] = {"93.184.216.34", "8.8.8.8", "2606:4700::1111"};
	struct sockaddr_storage ss;
	struct buf why = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(refused[i], ':')) {
			ss.ss_family = AF_INET6;
			inet_pton(AF_INET6, refused[i], &((struct sockaddr_in6 *)&ss)->sin6_addr);
		} else {
			ss.ss_family = AF_INET;
			inet_pton(AF_INET, refused[i], &((struct sockaddr_in *)&ss)->sin_addr);
		}
		if (!webhook_address_private((struct sockaddr *)&ss))
			fail_msg("%s should be refused", refused[i]);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(allowed[i], ':')) {
			ss.ss_family = AF_INET6;
			inet_pton(AF_INET6, allowed[i], &((struct sockaddr_in6 *)&ss)->sin6_addr);
		} else {
			ss.ss_family = AF_INET;
			inet_pton(AF_INET, allowed[i], &((struct sockaddr_in *)&ss)->sin_addr);
		}
		if (webhook_address_private((struct sockaddr *)&ss))
			fail_msg("%s should be allowed", allowed[i]);
	}
	assert_int_equal(webhook_check_url("http://[::1]:8080/x", 0, &why), ERR_INVALID);
	assert_int_equal(webhook_check_url("http://localhost/x", 0, &why), ERR_INVALID);
	assert_int_equal(webhook_check_url("ftp://example.com/x", 0, &why), ERR_INVALID);
	assert_int_equal(webhook_check_url("https://example.com/hooks", 0, &why), ERR_OK);
	assert_int_equal(webhook_check_url("http://127.0.0.1:9/x", 1, &why), ERR_OK);
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_private_addresses),
	    cmocka_unit_test(test_webhooks),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests_name("webhooks", tests, NULL, NULL);
}
