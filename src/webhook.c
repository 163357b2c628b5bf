/*
 * Webhook endpoints, signatures and the queueing of deliveries (see
 * webhook.h). The address checks read the bytes of an address, so they
 * work the same on the URL's text (inet_pton) and on the sockaddr the
 * sender is about to connect to.
 */
#include "webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonutil.h"
#include "random.h"
#include "secret.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define SECRET_BYTES 32
#define ID_BYTES     9

/* ---- addresses ----------------------------------------------------------- */

static int v4_private(const unsigned char *a)
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
	       (a[0] == 198 && (a[1] & 0xfe) == 18) || a[0] >= 224;
}

static int v6_private(const unsigned char *a)
{
	static const unsigned char zero[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1)) /* :: and ::1 */
		return 1;
	if (!memcmp(a, mapped, 12) || !memcmp(a, zero, 12)) /* ::ffff:v4, ::v4 */
		return v4_private(a + 12);
	return (a[0] & 0xfe) == 0xfc ||			  /* fc00::/7 unique local */
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
	       a[0] == 0xff ||				  /* multicast */
	       (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || /* doc */
	       (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b);	 /* NAT64 */
}

int webhook_address_private(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return v4_private(
		    (const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr);
	if (addr->sa_family == AF_INET6)
		return v6_private(
		    (const unsigned char *)&((const struct sockaddr_in6 *)addr)->sin6_addr);
	return 1; /* anything else (unix sockets ...) is not a web target */
}

/* Does host (as in a URL, v6 without brackets) name a private address? */
static int host_private(const char *host)
{
	unsigned char a[16];
	size_t n = strlen(host);

	if (!strcasecmp(host, "localhost") || (n > 10 && !strcasecmp(host + n - 10, ".localhost")))
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return v4_private(a);
	if (inet_pton(AF_INET6, host, a) == 1)
		return v6_private(a);
	return 0;
}

enum error webhook_check_url(const char *url, int allow_private, struct buf *why)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	enum error err = ERR_INVALID;
	size_t n;

	if (!url || !*url || strlen(url) > WEBHOOK_URL_MAX) {
		buf_addf(why, "the webhook URL must be 1 to %d bytes", WEBHOOK_URL_MAX);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		buf_addf(why, "'%.200s' is not a URL like https://example.com/hooks/ebaysync", url);
		goto out;
	}
	if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) {
		buf_addf(why, "the webhook URL must be http:// or https://, not %s://", scheme);
		goto out;
	}
	n = strlen(host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (!allow_private && host_private(host)) {
		buf_addf(why,
			 "'%s' is a loopback, private or link-local address: webhooks may not "
			 "reach the server's own network (the operator can allow it with serve "
			 "--allow-private-webhooks)",
			 host);
		goto out;
	}
	err = ERR_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return err;
}

enum error webhook_check_events(const char *events, struct buf *why)
{
	if (events && !strcmp(events, WEBHOOK_EVENT_RUN_FINISHED))
		return ERR_OK;
	buf_addf(why, "events must be \"" WEBHOOK_EVENT_RUN_FINISHED "\", not '%.64s'",
		 events ? events : "");
	return ERR_INVALID;
}

/* ---- endpoints ----------------------------------------------------------- */

enum error webhook_create(struct store *s, const struct secret_key *key, const char *user,
			  const char *url, const char *events, int allow_private, long long now_ms,
			  struct webhook_row *row, char **secret, struct buf *why)
{
	char *random = NULL, *id = NULL;
	enum error err;

	*secret = NULL;
	memset(row, 0, sizeof(*row));
	if (!events)
		events = WEBHOOK_EVENT_RUN_FINISHED;
	err = webhook_check_url(url, allow_private, why);
	if (!err)
		err = webhook_check_events(events, why);
	if (err)
		return err;
	random = random_token(SECRET_BYTES);
	*secret = xasprintf("whsec_%s", random);
	secret_free(random);
	id = random_token(ID_BYTES);
	row->id = xasprintf("wh_%s", id);
	free(id);
	row->user_id = xstrdup(user);
	row->url = xstrdup(url);
	row->events = xstrdup(events);
	row->enabled = 1;
	row->created_ms = now_ms;
	err = secret_seal(key, WEBHOOK_SECRET_CONTEXT, *secret, &row->secret);
	if (!err)
		err = store_webhook_insert(s, row);
	if (err) {
		buf_addf(why, "cannot store the webhook: %s",
			 err == ERR_TOOBIG ? "secret too long" : store_errmsg(s));
		secret_free(*secret);
		*secret = NULL;
		webhook_row_release(row);
	}
	return err;
}

char *webhook_signature(const char *secret, long long ts_s, const char *body, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char ts[24], out[2 * EVP_MAX_MD_SIZE + 1];
	struct buf msg = BUF_INIT;

	snprintf(ts, sizeof(ts), "%lld", ts_s);
	buf_adds(&msg, ts);
	buf_adds(&msg, ".");
	buf_add(&msg, body, len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg.data, msg.len,
	     mac, &n);
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[2 * n] = '\0';
	buf_release(&msg);
	return xasprintf("t=%s,v1=%s", ts, out);
}

/* ---- queueing ------------------------------------------------------------ */

static int wants(const struct webhook_row *w, const char *event)
{
	const char *p = w->events;
	size_t n = strlen(event);

	while (p && *p) {
		if (!strncmp(p, event, n) && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}

static char *run_payload(const char *delivery_id, const struct run_row *r, long long now_ms)
{
	json_t *j =
	    json_pack("{s:s,s:s,s:o,s:{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o}}", "id",
		      delivery_id, "type", WEBHOOK_EVENT_RUN_FINISHED, "created_at",
		      jsonutil_iso_or_null(now_ms), "data", "run_id", r->id, "user", r->user_id,
		      "kind", r->kind, "status", r->status, "fetched", (json_int_t)r->fetched,
		      "stored", (json_int_t)r->stored, "failed", (json_int_t)r->failed, "total",
		      (json_int_t)r->total, "started_at", jsonutil_iso_or_null(r->started_ms),
		      "finished_at", jsonutil_iso_or_null(r->finished_ms), "error",
		      r->error ? json_string(r->error) : json_null(), "error_code",
		      r->error_code ? json_string(r->error_code) : json_null());
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return text;
}

void webhook_run_finished(struct storepool *pool, const char *user, const char *run_id)
{
	struct buf why = BUF_INIT;
	struct store *s = storepool_get(pool, &why);
	struct webhook_row *hooks = NULL;
	struct run_row run;
	size_t n = 0, i;
	long long now = timeutil_wall_ms();
	enum error err = ERR_DB;

	memset(&run, 0, sizeof(run));
	if (!s)
		goto out;
	err = store_webhook_list(s, user, &hooks, &n);
	if (!err && n)
		err = store_run_get(s, user, run_id, &run);
	for (i = 0; !err && i < n; i++) {
		struct delivery_row d;
		char *id;

		if (!hooks[i].enabled || !wants(&hooks[i], WEBHOOK_EVENT_RUN_FINISHED))
			continue;
		memset(&d, 0, sizeof(d));
		id = random_token(ID_BYTES);
		d.id = xasprintf("whd_%s", id);
		free(id);
		d.webhook_id = hooks[i].id;
		d.user_id = hooks[i].user_id;
		d.event = xstrdup(WEBHOOK_EVENT_RUN_FINISHED);
		d.payload = run_payload(d.id, &run, now);
		d.status = xstrdup(STORE_DELIVERY_PENDING);
		d.created_ms = now;
		d.next_attempt_ms = now;
		err = d.payload ? store_delivery_insert(s, &d) : ERR_INTERNAL;
		free(d.id);
		free(d.payload);
		free(d.event);
		free(d.status);
	}
out:
	if (err)
		fprintf(stderr, "ebaysync serve: cannot queue the webhooks of run %s: %s\n", run_id,
			s ? store_errmsg(s) : buf_str(&why));
	if (s)
		storepool_put(pool, s, err == ERR_DB);
	for (i = 0; i < n; i++)
		webhook_row_release(&hooks[i]);
	free(hooks);
	run_row_release(&run);
	buf_release(&why);
}

/* ---- JSON ---------------------------------------------------------------- */

json_t *webhook_json(const struct webhook_row *w)
{
	json_t *events = json_array();
	const char *p = w->events;

	while (p && *p) {
		size_t len = strcspn(p, ",");
		json_array_append_new(events, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
	return json_pack("{s:s,s:s,s:o,s:b,s:o}", "id", w->id, "url", w->url, "events", events,
			 "enabled", w->enabled, "created_at", jsonutil_iso_or_null(w->created_ms));
}

json_t *webhook_delivery_json(const struct delivery_row *d)
{
	return json_pack(
	    "{s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "id", d->id, "webhook_id", d->webhook_id,
	    "event", d->event, "status", d->status, "attempts", (json_int_t)d->attempts,
	    "created_at", jsonutil_iso_or_null(d->created_ms), "next_attempt_at",
	    strcmp(d->status, STORE_DELIVERY_PENDING) ? json_null()
						      : jsonutil_iso_or_null(d->next_attempt_ms),
	    "last_attempt_at", jsonutil_iso_or_null(d->last_attempt_ms), "last_http_status",
	    d->last_http_status ? json_integer(d->last_http_status) : json_null(), "last_error",
	    d->last_error ? json_string(d->last_error) : json_null());
}
