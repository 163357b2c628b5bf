/*
 * A Server-Sent Events client for the tests and the load bench, on libcurl:
 * it parses the stream as a browser's EventSource does (id, event, data,
 * comments, blank line dispatch) and keeps every event it receives. Many
 * clients can run at once on one curl multi handle.
 */
#ifndef SSE_CLIENT_H
#define SSE_CLIENT_H

#include <curl/curl.h>
#include <stddef.h>

#include "buf.h"

struct sse_event {
	long long id; /* -1 when the event had no id */
	char *type;   /* "message" when the event had no type */
	char *data;
};

struct sse_client {
	CURL *h;
	struct curl_slist *headers;
	long status;	 /* HTTP status once known */
	struct buf line; /* the line being received */
	struct buf data; /* the event being assembled */
	char type[64];
	long long id;
	struct sse_event *events;
	size_t n, cap;
	size_t comments;	     /* ": ..." lines seen */
	size_t stop_after;	     /* hang up after this many events; 0: read to the end */
	int hung_up;		     /* we hung up (stop_after reached) */
	long long first_ms, last_ms; /* mono ms of the first and last event */
};

/* Prepares a client for url with a Bearer token (or NULL) and a
 * Last-Event-ID (or -1 for none). */
void sse_client_init(struct sse_client *c, const char *url, const char *bearer,
		     long long last_event_id);
void sse_client_release(struct sse_client *c);
/* Reads the stream until the server ends it, stop_after events arrived, or
 * timeout_s passed. Returns 0 when it ended or hung up as asked. */
int sse_client_run(struct sse_client *c, long timeout_s);
/* Runs n clients at once on one multi handle; returns how many failed. */
size_t sse_client_run_many(struct sse_client *c, size_t n, long timeout_s);
/* 1 when the events' ids are exactly from+1, from+2, ... from+n. */
int sse_client_ids_contiguous(const struct sse_client *c, long long from);
/* The first event whose data contains needle, or NULL. */
const struct sse_event *sse_client_find(const struct sse_client *c, const char *needle);

#endif
