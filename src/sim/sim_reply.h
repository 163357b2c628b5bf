/*
 * One simulated call, free of HTTP plumbing: what the handlers of the
 * simulator read (struct sim_request) and what they answer (struct
 * sim_reply). sim_http.c fills the first from libmicrohttpd and sends the
 * second; unit tests build both by hand. Also eBay's error body, in one
 * place, so every error the simulator sends has the same shape.
 */
#ifndef SIM_REPLY_H
#define SIM_REPLY_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct sim_request {
	const char *method;
	const char *path; /* URL-decoded path, no query */
	/* A URL-decoded query argument, or NULL when absent. */
	const char *(*arg)(void *ctx, const char *name);
	void *arg_ctx;
	const char *authorization; /* the Authorization header, or NULL */
	const char *content_type;  /* the Content-Type header, or NULL */
	const char *host;	   /* the Host header (or the listen address) */
	const char *body;	   /* request body, body_len bytes, NUL-terminated */
	size_t body_len;
	long long now_ms; /* monotonic clock at arrival */
};

/* Fills *out with the next bytes of a streamed body; returns the count, 0 at
 * the end, or -1 to abort the connection. */
typedef ssize_t (*sim_stream_fn)(void *ctx, char *out, size_t max);

struct sim_reply {
	int status; /* 0 until set */
	char *body; /* malloc'd, len bytes; NULL for a stream */
	size_t len;
	const char *content_type; /* static string */
	long long retry_after_s;  /* >= 0: send Retry-After */
	char *location;		  /* malloc'd redirect target, or NULL */
	char *disposition;	  /* malloc'd Content-Disposition, or NULL */
	int cut;		  /* send half the body, then drop the connection */
	long error_id;		  /* eBay errorId of an error answer, else 0 */
	sim_stream_fn stream;	  /* a body of unknown length, or NULL */
	void *stream_ctx;
	void (*stream_free)(void *ctx);
};

void sim_reply_init(struct sim_reply *r);
/* Frees what the reply owns (body, location, stream context). */
void sim_reply_release(struct sim_reply *r);

/* A JSON answer; takes the reference to body. */
void sim_reply_json(struct sim_reply *r, int status, json_t *body);
/* A text answer (copied). */
void sim_reply_text(struct sim_reply *r, int status, const char *content_type, const char *text);

/*
 * eBay's error body: {"errors":[{"errorId","domain","category","message",
 * "longMessage"?,"parameters"?:[{"name","value"}]}]}. long_message, and
 * param_name/param_value, may be NULL.
 */
void sim_reply_error(struct sim_reply *r, int status, long error_id, const char *domain,
		     const char *category, const char *message, const char *long_message,
		     const char *param_name, const char *param_value);

/* The same error body as a JSON object (new reference). */
json_t *sim_reply_error_json(long error_id, const char *domain, const char *category,
			     const char *message, const char *long_message, const char *param_name,
			     const char *param_value);

#endif
