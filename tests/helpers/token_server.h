/*
 * A stand-in for eBay's OAuth token endpoint for the unit tests of oauth.c
 * and account.c: libmicrohttpd on 127.0.0.1 (a thread per connection, so
 * a slow answer does not hold back the others) that records every request
 * (method, path, Authorization and Content-Type headers, body) and answers
 * either from a script of queued replies or, when the script is empty, as
 * eBay does: a fresh access token ("AT-<n>") for the refresh_token grant
 * with the expected refresh token, invalid_grant for any other, and a
 * refresh token too for the authorization_code grant with the expected
 * code (single use).
 */
#ifndef TOKEN_SERVER_H
#define TOKEN_SERVER_H

#include <stddef.h>

#define TOKEN_SERVER_HITS_MAX 256

struct token_server_hit {
	char method[8];
	char path[128];
	char auth[256];
	char ctype[128];
	char body[2048];
};

struct token_server;

/* Starts one; the client must send id:secret as Basic credentials. */
struct token_server *token_server_start(const char *client_id, const char *client_secret);
void token_server_stop(struct token_server *ts);
/* "http://127.0.0.1:PORT" */
const char *token_server_url(const struct token_server *ts);

/* What the default answers accept and give; delay_ms before each answer. */
void token_server_set_refresh_token(struct token_server *ts, const char *refresh_token);
void token_server_set_code(struct token_server *ts, const char *code);
void token_server_set_expires_in(struct token_server *ts, long long seconds);
void token_server_set_delay(struct token_server *ts, int delay_ms);

/* Queues one scripted reply (status, body, delay); len 0: strlen(body).
 * big > 0 sends that many bytes of 'x' instead of body. */
void token_server_push(struct token_server *ts, int status, const char *body, int delay_ms,
		       size_t big);

/* Requests so far, and a copy of the i-th (0-based). */
int token_server_hits(struct token_server *ts);
/* Most requests in flight at once so far. */
int token_server_max_inflight(struct token_server *ts);
void token_server_hit(struct token_server *ts, int i, struct token_server_hit *out);
/* Access tokens minted by the default answers so far. */
int token_server_minted(struct token_server *ts);

#endif
