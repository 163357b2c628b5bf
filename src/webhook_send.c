/*
 * The webhook sender (see webhook_send.h). An attempt: claim the delivery
 * (attempts + 1, next attempt pushed past the attempt's timeout so that no
 * other process takes it meanwhile), open the endpoint's secret, sign the
 * body with the attempt's time, POST with libcurl, then record delivered,
 * pending with the next time, or failed.
 *
 * libcurl's open-socket callback checks the very address curl is about to
 * connect to, after its own DNS lookup: a host name that resolves to a
 * private address (or starts to, DNS rebinding) is refused there, whatever
 * the URL's text said. Redirects are not followed and proxies are not used,
 * so the address checked is the address reached.
 */
#include "webhook_send.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "secret.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "webhook.h"
#include "xalloc.h"
#include "banned.h"

#define BATCH	       20
#define BACKOFF_MAX_MS 3600000LL
#define ANSWER_MAX     65536 /* bytes of a receiver's answer we read */

struct webhook_sender {
	struct webhook_sender_config cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stopping;
};

struct attempt {
	int allow_private;
	char refused[INET6_ADDRSTRLEN]; /* the private address refused, if any */
	size_t answer_len;
};

static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct attempt *at = ctx;
	const void *bytes;

	if (!at->allow_private && webhook_address_private(&a->addr)) {
		bytes = a->family == AF_INET6
			    ? (const void *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr
			    : (const void *)&((struct sockaddr_in *)&a->addr)->sin_addr;
		inet_ntop(a->family, bytes, at->refused, sizeof(at->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
	struct attempt *at = ctx;

	at->answer_len += size * n;
	return at->answer_len > ANSWER_MAX ? 0 : size * n;
}

/* POSTs body; returns the HTTP status (0 when none came) and, for no
 * answer or a refused address, a reason in why. */
static long post(const char *url, const char *body, const struct delivery_row *d,
		 const char *signature, int allow_private, struct buf *why)
{
	struct attempt at = {.allow_private = allow_private};
	struct curl_slist *h = NULL;
	char *sig = xasprintf(WEBHOOK_SIGNATURE_HEADER ": %s", signature);
	char *ev = xasprintf("Ebaysync-Event: %s", d->event);
	char *id = xasprintf("Ebaysync-Delivery: %s", d->id);
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode rc;

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, sig);
	h = curl_slist_append(h, ev);
	h = curl_slist_append(h, id);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ebaysync-webhook/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &at);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &at);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (at.refused[0])
		buf_addf(why,
			 "refused to connect to %s: a loopback, private or link-local address "
			 "(serve --allow-private-webhooks allows it)",
			 at.refused);
	else if (rc != CURLE_OK && !status)
		buf_addf(why, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(sig);
	free(ev);
	free(id);
	return status;
}

static long long backoff(const struct webhook_sender *w, long long attempts)
{
	long long base = w->cfg.retry_base_ms > 0 ? w->cfg.retry_base_ms : WEBHOOK_RETRY_BASE_MS;
	long long delay = base;

	while (--attempts > 0 && delay < BACKOFF_MAX_MS)
		delay *= 4;
	return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

/* The endpoint of d (from the user's list), or ERR_NOTFOUND. */
static enum error find_hook(struct store *s, const struct delivery_row *d, struct webhook_row *out)
{
	struct webhook_row *rows = NULL;
	size_t n = 0, i;
	enum error err = store_webhook_list(s, d->user_id, &rows, &n);

	memset(out, 0, sizeof(*out));
	if (!err)
		err = ERR_NOTFOUND;
	for (i = 0; i < n; i++) {
		if (err == ERR_NOTFOUND && !strcmp(rows[i].id, d->webhook_id)) {
			*out = rows[i];
			err = ERR_OK;
			continue;
		}
		webhook_row_release(&rows[i]);
	}
	free(rows);
	return err;
}

static void attempt(struct webhook_sender *w, struct store *s, struct delivery_row *d)
{
	long long now = timeutil_wall_ms();
	struct buf why = BUF_INIT;
	struct webhook_row hook;
	char *secret = NULL, *sig;
	enum error err;

	memset(&hook, 0, sizeof(hook));
	if (store_delivery_claim(s, d, now, now + WEBHOOK_TIMEOUT_MS + 5000))
		return; /* another process has it, or the database is away */
	d->attempts++;
	d->last_http_status = 0;
	free(d->last_error);
	d->last_error = NULL;
	err = find_hook(s, d, &hook);
	if (err == ERR_OK && !hook.enabled)
		buf_adds(&why, "the endpoint is disabled");
	else if (err == ERR_OK)
		err = secret_open(w->cfg.key, WEBHOOK_SECRET_CONTEXT, hook.secret, &secret, &why);
	else
		buf_adds(&why, "the endpoint no longer exists");
	if (!err && hook.enabled) {
		sig = webhook_signature(secret, now / 1000, d->payload, strlen(d->payload));
		d->last_http_status =
		    post(hook.url, d->payload, d, sig, w->cfg.allow_private, &why);
		free(sig);
		if (!why.len && (d->last_http_status < 200 || d->last_http_status > 299))
			buf_addf(&why, "the endpoint answered HTTP %lld", d->last_http_status);
	}
	free(d->status);
	if (!why.len) {
		d->status = xstrdup(STORE_DELIVERY_DELIVERED);
	} else {
		d->last_error = xstrdup(buf_str(&why));
		d->next_attempt_ms = timeutil_wall_ms() + backoff(w, d->attempts);
		d->status = xstrdup(d->next_attempt_ms - d->created_ms > WEBHOOK_GIVE_UP_MS
					? STORE_DELIVERY_FAILED
					: STORE_DELIVERY_PENDING);
	}
	if (store_delivery_finish(s, d))
		fprintf(stderr, "ebaysync serve: cannot record webhook delivery %s: %s\n", d->id,
			store_errmsg(s));
	secret_free(secret);
	webhook_row_release(&hook);
	buf_release(&why);
}

static void *sender_thread(void *arg)
{
	struct webhook_sender *w = arg;
	long long poll = w->cfg.poll_ms > 0 ? w->cfg.poll_ms : WEBHOOK_POLL_MS;
	struct delivery_row *due;
	struct buf why = BUF_INIT;
	struct timespec ts;
	struct store *s;
	size_t n, i;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		pthread_mutex_unlock(&w->mu);
		s = storepool_get(w->cfg.pool, &why);
		buf_reset(&why);
		due = NULL;
		n = 0;
		if (s && !store_delivery_due(s, timeutil_wall_ms(), BATCH, &due, &n))
			for (i = 0; i < n; i++)
				attempt(w, s, &due[i]);
		for (i = 0; i < n; i++)
			delivery_row_release(&due[i]);
		free(due);
		if (s)
			storepool_put(w->cfg.pool, s, 0);
		pthread_mutex_lock(&w->mu);
		if (w->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += poll / 1000;
		ts.tv_nsec += (poll % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	buf_release(&why);
	return NULL;
}

struct webhook_sender *webhook_sender_start(const struct webhook_sender_config *cfg)
{
	struct webhook_sender *w = xcalloc(1, sizeof(*w));

	w->cfg = *cfg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, sender_thread, w)) {
		fprintf(stderr, "ebaysync serve: cannot start the webhook sender: %s\n",
			strerror(errno));
		abort();
	}
	return w;
}

void webhook_sender_stop(struct webhook_sender *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w);
}
