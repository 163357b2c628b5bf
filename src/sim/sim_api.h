/*
 * The Sell Inventory API calls of the simulator, as eBay answers them:
 * getInventoryItems, getInventoryItem, bulkGetInventoryItem, getOffers and
 * getOffer, plus the checks in front of every call (the Bearer token, then
 * the rate limit and daily quota) and the error bodies of injected faults.
 * Nothing here knows HTTP; see sim_http.c for the transport.
 */
#ifndef SIM_API_H
#define SIM_API_H

#include "sim.h"
#include "sim_reply.h"

/* Base path of the Inventory API. */
#define SIM_API_BASE "/sell/inventory/v1"

/*
 * Which endpoint method and path name. *allowed is set to 0 when the path
 * is known but not for this method (405).
 */
enum sim_endpoint sim_api_route(const char *method, const char *path, int *allowed);

enum sim_api_gate {
	SIM_API_GATE_OK,
	SIM_API_GATE_AUTH,  /* no valid token */
	SIM_API_GATE_RATE,  /* over the rate limit */
	SIM_API_GATE_QUOTA, /* over the daily quota */
};

/*
 * The checks in front of an API call: the token (400 errorId 1002 when
 * missing, 401 errorId 1001 when unknown or expired), then the rate limit
 * and the daily quota (429 errorId 2001, with Retry-After when
 * cfg->retry_after). On anything but SIM_API_GATE_OK out holds the answer.
 */
enum sim_api_gate sim_api_gate(struct sim *s, const struct sim_config *cfg,
			       const struct sim_request *rq, struct sim_reply *out);

/* Answers one API call of endpoint ep. */
void sim_api_serve(struct sim *s, const struct sim_config *cfg, enum sim_endpoint ep,
		   const struct sim_request *rq, struct sim_reply *out);

/* The answer of a 500 or 25025 fault. */
void sim_api_fault_reply(enum sim_fault f, struct sim_reply *out);

/* Parses a decimal query value within [min, max]; NULL gives def. Returns
 * 0, or -1 when it is not a plain decimal number in range. */
int sim_api_parse_count(const char *text, long long def, long long min, long long max,
			long long *out);

#endif
