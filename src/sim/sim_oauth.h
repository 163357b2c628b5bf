/*
 * eBay's OAuth as the simulator plays it: the token endpoint (POST
 * /identity/v1/oauth2/token, grant types refresh_token and
 * authorization_code, HTTP Basic client credentials, a form body), a
 * stand-in for the consent page (GET/POST /oauth2/authorize) that redirects
 * with a single-use, short-lived code, revocation (POST /sim/revoke), and
 * the Bearer check every API call goes through.
 *
 * Tokens are random, shaped like eBay's ("v^1.1#i^1#p^3#I^3#r^0#f^0#t^..."),
 * and kept in one table that drops expired entries as it grows. Thread-safe.
 */
#ifndef SIM_OAUTH_H
#define SIM_OAUTH_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "sim_config.h"
#include "sim_reply.h"

/* Refresh tokens from the code grant live about 18 months, as eBay's. */
#define SIM_OAUTH_REFRESH_TTL_S 47304000LL
/* Caps on what is parsed from a request. */
#define SIM_OAUTH_FORM_MAX_FIELDS 32
#define SIM_OAUTH_FORM_MAX_BYTES  65536

struct sim_oauth;

struct sim_oauth *sim_oauth_new(void);
void sim_oauth_free(struct sim_oauth *o);

enum sim_auth {
	SIM_AUTH_OK,
	SIM_AUTH_MISSING, /* no "Authorization: Bearer ..." header */
	SIM_AUTH_INVALID, /* unknown, revoked or expired token */
};

/*
 * Checks an Authorization header value (may be NULL) at now_ms (monotonic):
 * the fixed cfg->token or a live issued access token.
 */
enum sim_auth sim_oauth_check(struct sim_oauth *o, const struct sim_config *cfg,
			      const char *authorization, long long now_ms);

enum sim_token_kind {
	SIM_TOKEN_NONE, /* missing, unknown, revoked or expired */
	SIM_TOKEN_USER, /* a user access token (or the fixed cfg->token) */
	SIM_TOKEN_APP,	/* an application token (client_credentials grant) */
};

/* What kind of live token an Authorization header value carries. */
enum sim_token_kind sim_oauth_kind(struct sim_oauth *o, const struct sim_config *cfg,
				   const char *authorization, long long now_ms);

/* The token of a "Bearer <token>" header (a pointer into it), or NULL. */
const char *sim_oauth_bearer(const char *authorization);

/* POST /identity/v1/oauth2/token (grants refresh_token, authorization_code
 * and client_credentials). *issued is set to 1 when an access token
 * was minted. */
void sim_oauth_token(struct sim_oauth *o, const struct sim_config *cfg,
		     const struct sim_request *rq, struct sim_reply *out, int *issued);
/* GET and POST /oauth2/authorize: the consent page and its answer. */
void sim_oauth_authorize(struct sim_oauth *o, const struct sim_config *cfg,
			 const struct sim_request *rq, struct sim_reply *out);
/*
 * POST /sim/revoke with a form (token=...) or JSON ({"token": ...}) body;
 * all=true (form) or {"all": true} revokes every refresh token instead, for
 * tests that cannot know the one a server holds. Access tokens stay valid
 * until they expire either way.
 */
void sim_oauth_revoke(struct sim_oauth *o, const struct sim_config *cfg,
		      const struct sim_request *rq, struct sim_reply *out);

/* An application/x-www-form-urlencoded body, decoded. */
struct sim_form {
	size_t n;
	char *names[SIM_OAUTH_FORM_MAX_FIELDS];
	char *values[SIM_OAUTH_FORM_MAX_FIELDS];
};

/*
 * Parses len bytes of a form body. ERR_INVALID (bad percent-encoding, a
 * NUL byte, a field without '=') or ERR_TOOBIG (over the caps) with a reason
 * in why. Release with sim_form_release() in every case.
 */
enum error sim_oauth_parse_form(const char *body, size_t len, struct sim_form *form,
				struct buf *why);
/* The value of the first field called name, or NULL. */
const char *sim_form_get(const struct sim_form *form, const char *name);
void sim_form_release(struct sim_form *form);

/*
 * Decodes "Basic base64(id:secret)" into id and secret (NUL-terminated,
 * truncation is an error). Returns 0 or -1 when the header is not that.
 */
int sim_oauth_parse_basic(const char *authorization, char *id, size_t id_size, char *secret,
			  size_t secret_size);

/* Forgets every issued token and code (for tests). */
void sim_oauth_clear(struct sim_oauth *o);

#endif
