/*
 * The one error enum of ebaysync. Every function that can fail returns an
 * enum error (ERR_OK is zero), and error_strerror() names it for humans.
 * Details (which SKU, which table, what eBay said) travel next to it in the
 * caller's own message buffer; the code says only which kind of failure.
 * error_code_name() names it for programs: the stable code that a failed
 * run carries in its row and in its final event, which the page acts on
 * (docs/api.md), where the English is for people only.
 */
#ifndef ERROR_H
#define ERROR_H

enum error {
	ERR_OK = 0,
	ERR_NOMEM,     /* not used for malloc (xmalloc aborts); for caps */
	ERR_INVALID,   /* bad argument or input from our own user */
	ERR_IO,	       /* file or socket I/O */
	ERR_HTTP,      /* transport: connect, reset, timeout, truncated body */
	ERR_EBAY,      /* eBay answered with an error status */
	ERR_PARSE,     /* a response or file we could not understand */
	ERR_TOOBIG,    /* a buffer fed from outside went over its cap */
	ERR_DB,	       /* the database refused or failed */
	ERR_NOTFOUND,  /* no such row, run, SKU or user */
	ERR_CONFLICT,  /* already exists or already running */
	ERR_AUTH,      /* missing, wrong or expired credentials */
	ERR_CANCELLED, /* stopped at a cancellation point on request */
	ERR_TIMEOUT,   /* a deadline passed */
	ERR_INTERNAL,  /* a bug: a state that should not happen */
	ERR_RELINK,    /* the eBay account must be linked again (consent ended) */
	ERR__COUNT
};

/* A static, lower-case description of err; never NULL. */
const char *error_strerror(enum error err);

/*
 * A static, stable, machine-readable name of err: lower case, digits and
 * '_' ("ebay_relink", "auth", "conflict", ...), distinct for every value,
 * "ok" for ERR_OK and "unknown" for a value outside the enum. These names
 * are a contract with the API's clients (docs/api.md): never rename one.
 */
const char *error_code_name(enum error err);

#endif
