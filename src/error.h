/*
 * The one error enum of ebaysync. Every function that can fail returns an
 * enum error (ERR_OK is zero), and error_strerror() names it for humans.
 * Details (which SKU, which table, what eBay said) travel next to it in the
 * caller's own message buffer; the code says only which kind of failure.
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
	ERR__COUNT
};

/* A static, lower-case description of err; never NULL. */
const char *error_strerror(enum error err);

#endif
