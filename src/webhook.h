/*
 * Webhooks (docs/api.md): a user's endpoints, the events they want, and
 * deliveries. When a run finishes, runs.c calls webhook_run_finished(),
 * which writes one pending delivery per enabled endpoint that wants
 * "run.finished" into the database and returns: nothing here ever waits
 * on the network in a sync's path. The sender (webhook_send.h) POSTs the
 * pending deliveries from its own thread.
 *
 * Each delivery is signed as Stripe signs its events: the header
 *
 *   Ebaysync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * lets a receiver check the body came from us, and refuse replays by
 * refusing an old t. The secret ("whsec_...") is shown once, when the
 * endpoint is made, and kept sealed (secret.h) in the database.
 *
 * Targets on loopback, private, link-local, multicast and reserved
 * addresses are refused unless the operator allows them (serve
 * --allow-private-webhooks): by the URL's text when the endpoint is made,
 * and by the address the sender actually connects to (webhook_send.c).
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <jansson.h>
#include <sys/socket.h>

#include "buf.h"
#include "error.h"

struct secret_key;
struct store;
struct storepool;
struct webhook_row;
struct delivery_row;

#define WEBHOOK_EVENT_RUN_FINISHED "run.finished"
#define WEBHOOK_URL_MAX		   2048
#define WEBHOOK_SECRET_CONTEXT	   "webhook-secret"
#define WEBHOOK_SIGNATURE_HEADER   "Ebaysync-Signature"

/*
 * Checks a target URL: http or https, a host, at most WEBHOOK_URL_MAX
 * bytes, and (unless allow_private) no host that names a loopback, private
 * or link-local address by its text ("localhost", "127.0.0.1", "[::1]",
 * "10.1.2.3" ...). ERR_INVALID with why.
 */
enum error webhook_check_url(const char *url, int allow_private, struct buf *why);

/* Is addr (AF_INET or AF_INET6) one that a webhook may not reach without
 * the operator's leave: loopback, private, link-local, CGNAT, multicast,
 * unspecified or reserved? */
int webhook_address_private(const struct sockaddr *addr);

/* Checks events, a comma-separated list of event names (only
 * "run.finished" exists today). ERR_INVALID with why. */
enum error webhook_check_events(const char *events, struct buf *why);

/*
 * Makes an endpoint for user: url and events are checked as above; the
 * secret is made here, sealed under key into *row, and handed back in
 * *secret (malloc'd; the caller shows it once and frees it with
 * secret_free).
 */
enum error webhook_create(struct store *s, const struct secret_key *key, const char *user,
			  const char *url, const char *events, int allow_private, long long now_ms,
			  struct webhook_row *row, char **secret, struct buf *why);

/* "t=<ts_s>,v1=<hex>" for body under secret (malloc'd). */
char *webhook_signature(const char *secret, long long ts_s, const char *body, size_t len);

/*
 * Writes a pending "run.finished" delivery of run_id for every enabled
 * endpoint of user that wants it. Errors go to stderr: a run's end is not
 * undone by a webhook that could not be queued.
 */
void webhook_run_finished(struct storepool *pool, const char *user, const char *run_id);

/* An endpoint as the API shows it (never its secret), and a delivery. */
json_t *webhook_json(const struct webhook_row *w);
json_t *webhook_delivery_json(const struct delivery_row *d);

#endif
