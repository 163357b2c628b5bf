/* The tests' Server-Sent Events client (see sse_client.h). */
#include "sse_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "xalloc.h"

static void dispatch(struct sse_client *c)
{
	struct sse_event *e;

	if (!c->data.len && !c->type[0]) {
		c->id = -1;
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->events = xrealloc(c->events, c->cap * sizeof(*c->events));
	}
	e = &c->events[c->n++];
	e->id = c->id;
	e->type = xstrdup(c->type[0] ? c->type : "message");
	e->data = xstrdup(buf_str(&c->data));
	c->last_ms = timeutil_mono_ms();
	if (c->n == 1)
		c->first_ms = c->last_ms;
	buf_reset(&c->data);
	c->type[0] = '\0';
	c->id = -1;
}

static void field(struct sse_client *c, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *v = colon ? colon + 1 : line + len;
	size_t vlen = len - (size_t)(v - line);

	if (len == 0) {
		dispatch(c);
		return;
	}
	if (line[0] == ':') {
		c->comments++;
		return;
	}
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (nlen == 4 && !strncmp(line, "data", 4)) {
		if (c->data.len)
			buf_addch(&c->data, '\n');
		buf_add(&c->data, v, vlen);
	} else if (nlen == 5 && !strncmp(line, "event", 5)) {
		snprintf(c->type, sizeof(c->type), "%.*s", (int)vlen, v);
	} else if (nlen == 2 && !strncmp(line, "id", 2)) {
		c->id = strtoll(v, NULL, 10);
	}
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sse_client *c = ctx;
	size_t len = size * nmemb, i;

	if (!c->status)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			field(c, buf_str(&c->line), c->line.len);
			buf_reset(&c->line);
			if (c->stop_after && c->n >= c->stop_after) {
				c->hung_up = 1;
				return 0; /* abort the transfer */
			}
		} else {
			buf_addch(&c->line, p[i]);
		}
	}
	return len;
}

void sse_client_init(struct sse_client *c, const char *url, const char *bearer,
		     long long last_event_id)
{
	char hdr[4200];

	memset(c, 0, sizeof(*c));
	buf_init(&c->line, 1 << 20);
	buf_init(&c->data, 0);
	c->id = -1;
	c->h = curl_easy_init();
	if (bearer) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", bearer);
		c->headers = curl_slist_append(c->headers, hdr);
	}
	if (last_event_id >= 0) {
		snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld", last_event_id);
		c->headers = curl_slist_append(c->headers, hdr);
	}
	c->headers = curl_slist_append(c->headers, "Accept: text/event-stream");
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
}

void sse_client_release(struct sse_client *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->events[i].type);
		free(c->events[i].data);
	}
	free(c->events);
	buf_release(&c->line);
	buf_release(&c->data);
	curl_slist_free_all(c->headers);
	if (c->h)
		curl_easy_cleanup(c->h);
	memset(c, 0, sizeof(*c));
}

int sse_client_run(struct sse_client *c, long timeout_s)
{
	CURLcode rc;

	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, timeout_s);
	rc = curl_easy_perform(c->h);
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
	if (rc == CURLE_WRITE_ERROR && c->hung_up)
		return 0;
	if (rc != CURLE_OK)
		fprintf(stderr, "sse client: %s after %zu events\n", curl_easy_strerror(rc), c->n);
	return rc == CURLE_OK ? 0 : -1;
}

size_t sse_client_run_many(struct sse_client *c, size_t n, long timeout_s)
{
	CURLM *m = curl_multi_init();
	size_t i, failed = 0;
	int running = 1, left;
	CURLMsg *msg;

	for (i = 0; i < n; i++) {
		curl_easy_setopt(c[i].h, CURLOPT_TIMEOUT, timeout_s);
		curl_multi_add_handle(m, c[i].h);
	}
	while (running) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct sse_client *cl = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&cl);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &cl->status);
			if (msg->data.result != CURLE_OK &&
			    !(msg->data.result == CURLE_WRITE_ERROR && cl->hung_up)) {
				fprintf(stderr, "sse client: %s after %zu events\n",
					curl_easy_strerror(msg->data.result), cl->n);
				failed++;
			}
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	for (i = 0; i < n; i++)
		curl_multi_remove_handle(m, c[i].h);
	curl_multi_cleanup(m);
	return failed;
}

int sse_client_ids_contiguous(const struct sse_client *c, long long from)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->events[i].id != from + (long long)i + 1)
			return 0;
	return 1;
}

const struct sse_event *sse_client_find(const struct sse_client *c, const char *needle)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strstr(c->events[i].data, needle))
			return &c->events[i];
	return NULL;
}
