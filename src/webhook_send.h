/*
 * The webhook sender of ebaysync serve: one thread of its own that reads
 * due deliveries from the database (so pending ones survive a restart, and
 * several servers on one PostgreSQL database share the work: a delivery is
 * claimed before it is sent), POSTs each, signed, to its endpoint, and
 * records the outcome. A failure or timeout is retried with exponential
 * backoff (base, 4 x base, 16 x base ... at most an hour apart) until a
 * day after the event, when the delivery is marked failed; the user can
 * redeliver it. The thread never touches a sync.
 */
#ifndef WEBHOOK_SEND_H
#define WEBHOOK_SEND_H

struct secret_key;
struct storepool;
struct webhook_sender;

#define WEBHOOK_RETRY_BASE_MS 30000	 /* the first retry comes after 30 s */
#define WEBHOOK_GIVE_UP_MS    86400000LL /* a day */
#define WEBHOOK_TIMEOUT_MS    10000	 /* one attempt */
#define WEBHOOK_POLL_MS	      1000	 /* how often the database is asked */

struct webhook_sender_config {
	struct storepool *pool;	      /* borrowed; outlives the sender */
	const struct secret_key *key; /* opens the endpoints' secrets; borrowed */
	int allow_private;	      /* may targets be loopback, private, link-local? */
	long long retry_base_ms;      /* 0: WEBHOOK_RETRY_BASE_MS */
	long long poll_ms;	      /* 0: WEBHOOK_POLL_MS */
};

/* Starts the thread. Stop and free it with webhook_sender_stop(). */
struct webhook_sender *webhook_sender_start(const struct webhook_sender_config *cfg);
/* Asks the thread to stop, waits for the attempt in flight (at most one
 * timeout) and frees the sender. NULL is fine. */
void webhook_sender_stop(struct webhook_sender *w);

#endif
