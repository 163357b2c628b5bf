/*
 * eBay's OAuth 2.0 endpoints for user tokens, with libcurl: the consent
 * page URL (auth.ebay.com/oauth2/authorize, or the sandbox's, or the
 * simulator's), and the token endpoint (POST /identity/v1/oauth2/token on
 * the API host) for the authorization_code grant, which turns the code of a
 * consent into a refresh token and a first access token, and for the
 * refresh_token grant, which mints access tokens from that refresh token.
 * Both send the application's credentials as HTTP Basic and a form body.
 *
 * Tokens, codes and the client secret never reach a log or a message from
 * here: a reason in `why` names what failed and what eBay said (its error
 * and error_description), never what was sent. Answers are capped at
 * OAUTH_RESPONSE_MAX bytes. See docs/oauth.md.
 */
#ifndef OAUTH_H
#define OAUTH_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define OAUTH_AUTH_PRODUCTION "https://auth.ebay.com"
#define OAUTH_AUTH_SANDBOX    "https://auth.sandbox.ebay.com"
#define OAUTH_TOKEN_PATH      "/identity/v1/oauth2/token"
#define OAUTH_AUTHORIZE_PATH  "/oauth2/authorize"
/* What ebaysync asks for: reading inventory items and offers, nothing more. */
#define OAUTH_SCOPE_READONLY "https://api.ebay.com/oauth/api_scope/sell.inventory.readonly"

#define OAUTH_RESPONSE_MAX 65536 /* bytes of a token endpoint answer */
#define OAUTH_FIELD_MAX	   8192	 /* bytes of a token, code or state we accept */
#define OAUTH_CONFIG_MAX   2048	 /* bytes of a client id, secret, RuName or URL */

struct oauth_config {
	char *env_name;		 /* "production", "sandbox" or "simulator" */
	char *client_id;	 /* the application's App ID */
	char *client_secret;	 /* its Cert ID; wiped on release */
	char *ru_name;		 /* redirect_uri of the consent and the code grant; may be NULL */
	char *auth_base;	 /* the consent page's origin, no trailing slash */
	char *api_base;		 /* the token endpoint's origin (eBay's API host) */
	char *scope;		 /* space-separated scopes */
	long connect_timeout_ms; /* 0: 10000 */
	long timeout_ms;	 /* whole request; 0: 30000 */
	int max_attempts;	 /* refresh grant, transport errors and 5xx; 0: 3 */
	long backoff_base_ms;	 /* between those attempts; 0: 250 */
};

/*
 * The configuration from the environment: EBAY_CLIENT_ID,
 * EBAY_CLIENT_SECRET, EBAY_RU_NAME, EBAY_AUTH_BASE, EBAY_OAUTH_SCOPE, and,
 * unless the command line chose them (env_name, api_base not NULL),
 * EBAY_ENV and EBAY_API_BASE. Production and sandbox pick eBay's hosts; the
 * consent origin is EBAY_AUTH_BASE, else auth.ebay.com or
 * auth.sandbox.ebay.com for eBay's API hosts, else the API base itself (the
 * simulator serves both). ERR_NOTFOUND when the client id or secret is not
 * set (OAuth is not configured), ERR_INVALID for a value that cannot be
 * right; reasons in why. Release with oauth_config_release() in every case.
 */
enum error oauth_config_from_env(struct oauth_config *cfg, const char *env_name,
				 const char *api_base, struct buf *why);
/* A deep copy of src into dst. */
void oauth_config_copy(struct oauth_config *dst, const struct oauth_config *src);
void oauth_config_release(struct oauth_config *cfg);

/*
 * The consent page URL for state (malloc'd into *url): client_id,
 * redirect_uri (the RuName), response_type=code, scope and state, each
 * URL-encoded. ERR_INVALID (why) without an RuName or with a state that is
 * empty or longer than OAUTH_FIELD_MAX.
 */
enum error oauth_consent_url(const struct oauth_config *cfg, const char *state, char **url,
			     struct buf *why);

/* What the token endpoint answered. */
struct oauth_token {
	char *access_token;	      /* malloc'd; wiped on release */
	long long expires_in;	      /* seconds, > 0 */
	char *token_type;	      /* "User Access Token"; may be NULL */
	char *refresh_token;	      /* code grant only, else NULL; wiped on release */
	long long refresh_expires_in; /* seconds; 0 when not given */
	char error[64];		      /* on failure: eBay's error ("invalid_grant"), else "" */
	long status;		      /* HTTP status of the last attempt, 0 if none */
};

void oauth_token_release(struct oauth_token *t);

/*
 * The authorization_code grant: exchanges code (from the consent redirect)
 * for a refresh token and an access token. A code is single-use, so it is
 * sent again only when the first attempt could not connect at all.
 * ERR_AUTH when eBay refuses the grant (invalid_grant: the code is unknown,
 * used or expired) or the client (invalid_client), ERR_INVALID for a
 * malformed request, ERR_HTTP/ERR_TIMEOUT for transport failures, ERR_EBAY
 * for other error answers, ERR_PARSE/ERR_TOOBIG for answers we cannot
 * read; the reason goes to why, and out->error holds eBay's error name.
 * Release out in every case.
 */
enum error oauth_exchange_code(const struct oauth_config *cfg, const char *code,
			       struct oauth_token *out, struct buf *why);

/*
 * The refresh_token grant: a new access token (out->refresh_token stays
 * NULL: eBay keeps the refresh token). Retried with backoff after
 * transport errors, 429 and 5xx, up to cfg->max_attempts. Errors as for
 * oauth_exchange_code(); invalid_grant means the refresh token was revoked
 * or expired and only a new consent helps.
 */
enum error oauth_refresh(const struct oauth_config *cfg, const char *refresh_token,
			 struct oauth_token *out, struct buf *why);

/*
 * The client_credentials grant: an application access token for scope
 * (NULL: "https://api.ebay.com/oauth/api_scope"), which eBay's application
 * APIs take (Developer Analytics' getRateLimits). Retried and failing as
 * oauth_refresh().
 */
enum error oauth_client_token(const struct oauth_config *cfg, const char *scope,
			      struct oauth_token *out, struct buf *why);

/*
 * Reads one answer of the token endpoint (pure; the transport and fuzzing
 * use it): a 2xx JSON object with access_token and expires_in (number or
 * numeric string), plus refresh_token when want_refresh; or an error
 * object {error, error_description}. Errors as above.
 */
enum error oauth_parse_response(long status, const char *body, size_t len, int want_refresh,
				struct oauth_token *out, struct buf *why);

/*
 * Reads what a user pasted after the consent: the whole redirected URL
 * ("https://host/path?state=...&code=...&expires_in=299"), just its query,
 * or a bare code. *code and *state (NULL when the input carries none) are
 * malloc'd and percent-decoded. ERR_AUTH when the redirect says the user
 * declined (error=access_denied), ERR_INVALID for input without a code,
 * ERR_TOOBIG over OAUTH_FIELD_MAX; reasons in why.
 */
enum error oauth_parse_redirect(const char *text, char **code, char **state, struct buf *why);

#endif
