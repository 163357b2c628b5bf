/*
 * The scripted token endpoint of token_server.h.
 */
#include "token_server.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCRIPT_MAX 32

struct scripted {
	int status;
	char *body;
	int delay_ms;
	size_t big;
};

struct token_server {
	struct MHD_Daemon *d;
	char url[64];
	char expect_basic[800];
	pthread_mutex_t lock;
	char refresh_token[512];
	char code[512];
	int code_used;
	long long expires_in;
	int delay_ms;
	struct scripted script[SCRIPT_MAX];
	int n_script;
	int hits, inflight, max_inflight, minted;
	struct token_server_hit log[TOKEN_SERVER_HITS_MAX];
};

struct upload {
	char body[4096];
	size_t len;
	int overflow;
};

/* The value of name in a form body, decoded into out; 0 when present. */
static int form_get(const char *body, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name), j = 0;
	const char *p = body;

	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			for (size_t i = nlen + 1; i < len && j + 1 < size; i++) {
				char c = p[i];
				if (c == '+') {
					c = ' ';
				} else if (c == '%' && i + 2 < len) {
					char hex[3] = {p[i + 1], p[i + 2], 0};
					c = (char)strtol(hex, NULL, 16);
					i += 2;
				}
				out[j++] = c;
			}
			out[j] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *body, size_t big)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *data;

	if (big) {
		data = malloc(big);
		memset(data, 'x', big);
		r = MHD_create_response_from_buffer(big, data, MHD_RESPMEM_MUST_FREE);
	} else {
		r = MHD_create_response_from_buffer(strlen(body), (void *)body,
						    MHD_RESPMEM_MUST_COPY);
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	rc = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

/* The default answer, as eBay would give it; the caller holds the lock. */
static void answer(struct token_server *ts, const char *auth, const char *body, int *status,
		   char *out, size_t size)
{
	char grant[64] = "", value[1024] = "";

	*status = 400;
	if (!auth || strcmp(auth, ts->expect_basic)) {
		*status = 401;
		snprintf(out, size,
			 "{\"error\":\"invalid_client\",\"error_description\":"
			 "\"client authentication failed\"}");
		return;
	}
	form_get(body, "grant_type", grant, sizeof(grant));
	if (!strcmp(grant, "refresh_token") &&
	    !form_get(body, "refresh_token", value, sizeof(value)) &&
	    !strcmp(value, ts->refresh_token)) {
		*status = 200;
		snprintf(out, size,
			 "{\"access_token\":\"AT-%d\",\"expires_in\":%lld,\"token_type\":\"User "
			 "Access Token\"}",
			 ++ts->minted, ts->expires_in);
	} else if (!strcmp(grant, "authorization_code") &&
		   !form_get(body, "code", value, sizeof(value)) && !strcmp(value, ts->code) &&
		   !ts->code_used) {
		ts->code_used = 1;
		*status = 200;
		snprintf(out, size,
			 "{\"access_token\":\"AT-%d\",\"expires_in\":%lld,\"refresh_token\":\"%s\","
			 "\"refresh_token_expires_in\":47304000,\"token_type\":\"User Access "
			 "Token\"}",
			 ++ts->minted, ts->expires_in, ts->refresh_token);
	} else {
		snprintf(out, size,
			 "{\"error\":\"invalid_grant\",\"error_description\":\"the provided "
			 "authorization grant is invalid\"}");
	}
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct token_server *ts = cls;
	struct upload *up = *con_cls;
	struct token_server_hit *h;
	struct scripted sc = {0};
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	char out[1024];
	int status, delay, scripted = 0;
	enum MHD_Result rc;

	(void)version;
	if (!up) {
		*con_cls = calloc(1, sizeof(*up));
		return MHD_YES;
	}
	if (*data_size) {
		if (up->len + *data_size < sizeof(up->body)) {
			memcpy(up->body + up->len, data, *data_size);
			up->len += *data_size;
		} else {
			up->overflow = 1;
		}
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&ts->lock);
	if (ts->hits < TOKEN_SERVER_HITS_MAX) {
		h = &ts->log[ts->hits];
		snprintf(h->method, sizeof(h->method), "%s", method);
		snprintf(h->path, sizeof(h->path), "%s", url);
		snprintf(h->auth, sizeof(h->auth), "%s", auth ? auth : "");
		snprintf(h->ctype, sizeof(h->ctype), "%s", ctype ? ctype : "");
		snprintf(h->body, sizeof(h->body), "%.2000s", up->body);
	}
	ts->hits++;
	if (++ts->inflight > ts->max_inflight)
		ts->max_inflight = ts->inflight;
	if (ts->n_script) {
		sc = ts->script[0];
		memmove(ts->script, ts->script + 1, (size_t)(ts->n_script - 1) * sizeof(sc));
		ts->n_script--;
		scripted = 1;
		delay = sc.delay_ms;
	} else {
		answer(ts, auth, up->body, &status, out, sizeof(out));
		delay = ts->delay_ms;
	}
	pthread_mutex_unlock(&ts->lock);
	if (delay)
		usleep((useconds_t)delay * 1000);
	if (scripted) {
		rc = reply(conn, sc.status, sc.body ? sc.body : "", sc.big);
		free(sc.body);
	} else {
		rc = reply(conn, status, out, 0);
	}
	pthread_mutex_lock(&ts->lock);
	ts->inflight--;
	pthread_mutex_unlock(&ts->lock);
	return rc;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

struct token_server *token_server_start(const char *client_id, const char *client_secret)
{
	struct token_server *ts = calloc(1, sizeof(*ts));
	const union MHD_DaemonInfo *info;
	char creds[512];
	unsigned char b64[700];

	pthread_mutex_init(&ts->lock, NULL);
	snprintf(creds, sizeof(creds), "%s:%s", client_id, client_secret);
	EVP_EncodeBlock(b64, (const unsigned char *)creds, (int)strlen(creds));
	snprintf(ts->expect_basic, sizeof(ts->expect_basic), "Basic %s", b64);
	snprintf(ts->refresh_token, sizeof(ts->refresh_token), "RT-good");
	snprintf(ts->code, sizeof(ts->code), "CODE-good");
	ts->expires_in = 7200;
	ts->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_ERROR_LOG,
				 0, NULL, NULL, handler, ts, MHD_OPTION_NOTIFY_COMPLETED, completed,
				 ts, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	if (!ts->d) {
		free(ts);
		return NULL;
	}
	info = MHD_get_daemon_info(ts->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(ts->url, sizeof(ts->url), "http://127.0.0.1:%u", info->port);
	return ts;
}

void token_server_stop(struct token_server *ts)
{
	if (!ts)
		return;
	MHD_stop_daemon(ts->d);
	for (int i = 0; i < ts->n_script; i++)
		free(ts->script[i].body);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

const char *token_server_url(const struct token_server *ts)
{
	return ts->url;
}

void token_server_set_refresh_token(struct token_server *ts, const char *refresh_token)
{
	pthread_mutex_lock(&ts->lock);
	snprintf(ts->refresh_token, sizeof(ts->refresh_token), "%s", refresh_token);
	pthread_mutex_unlock(&ts->lock);
}

void token_server_set_code(struct token_server *ts, const char *code)
{
	pthread_mutex_lock(&ts->lock);
	snprintf(ts->code, sizeof(ts->code), "%s", code);
	ts->code_used = 0;
	pthread_mutex_unlock(&ts->lock);
}

void token_server_set_expires_in(struct token_server *ts, long long seconds)
{
	pthread_mutex_lock(&ts->lock);
	ts->expires_in = seconds;
	pthread_mutex_unlock(&ts->lock);
}

void token_server_set_delay(struct token_server *ts, int delay_ms)
{
	pthread_mutex_lock(&ts->lock);
	ts->delay_ms = delay_ms;
	pthread_mutex_unlock(&ts->lock);
}

void token_server_push(struct token_server *ts, int status, const char *body, int delay_ms,
		       size_t big)
{
	pthread_mutex_lock(&ts->lock);
	if (ts->n_script < SCRIPT_MAX) {
		ts->script[ts->n_script].status = status;
		ts->script[ts->n_script].body = body ? strdup(body) : NULL;
		ts->script[ts->n_script].delay_ms = delay_ms;
		ts->script[ts->n_script].big = big;
		ts->n_script++;
	}
	pthread_mutex_unlock(&ts->lock);
}

int token_server_hits(struct token_server *ts)
{
	int n;

	pthread_mutex_lock(&ts->lock);
	n = ts->hits;
	pthread_mutex_unlock(&ts->lock);
	return n;
}

int token_server_max_inflight(struct token_server *ts)
{
	int n;

	pthread_mutex_lock(&ts->lock);
	n = ts->max_inflight;
	pthread_mutex_unlock(&ts->lock);
	return n;
}

void token_server_hit(struct token_server *ts, int i, struct token_server_hit *out)
{
	pthread_mutex_lock(&ts->lock);
	if (i >= 0 && i < ts->hits && i < TOKEN_SERVER_HITS_MAX)
		*out = ts->log[i];
	else
		memset(out, 0, sizeof(*out));
	pthread_mutex_unlock(&ts->lock);
}

int token_server_minted(struct token_server *ts)
{
	int n;

	pthread_mutex_lock(&ts->lock);
	n = ts->minted;
	pthread_mutex_unlock(&ts->lock);
	return n;
}
