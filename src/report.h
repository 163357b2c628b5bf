/*
 * eBay's Active Inventory Report (feed type LMS_ACTIVE_INVENTORY_REPORT),
 * read as a stream: a zip archive (libarchive) holding one XML file, read
 * with libxml2's streaming reader (xmlTextReader), so that a report of a
 * million listings is read in flat memory. The XML is eBay's bulk-data
 * wrapper around the report:
 *
 *   <BulkDataExchangeResponses xmlns="urn:ebay:apis:eBLBaseComponents">
 *     <ActiveInventoryReport>
 *       <Ack>Success</Ack> ...
 *       <SKUDetails>
 *         <SKU>A-1</SKU> <ItemID>110...</ItemID>
 *         <Price currencyID="USD">19.99</Price> <Quantity>3</Quantity>
 *       </SKUDetails>
 *       <SKUDetails>              (a multi-variation listing)
 *         <ItemID>110...</ItemID>
 *         <Variations><Variation><SKU/><Price/><Quantity/></Variation>...
 *       </SKUDetails>
 *
 * Each listing, and each variation of a multi-variation listing, is one row
 * (struct report_row) handed to a callback. A report that is not such a
 * document, is cut short, has a corrupt archive, or has a row without an
 * ItemID, a decimal Price with a currency, or a Quantity that is a sane
 * integer, is an error that names what is wrong. A listing without a SKU
 * (one listed without the Inventory API) is counted and skipped: nothing of
 * ours can be matched to it.
 *
 * Rows reach the callback as they are read, so an error can come after some
 * rows. A caller that must store nothing from a bad report reads it twice:
 * once with no callback (a validation pass, see feed.h: feed_download does
 * it), then again to store; or stages the rows and commits only on ERR_OK.
 * docs/feed.md says why.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Longest SKU kept, in bytes: eBay allows 50 characters, 4 bytes each. */
#define REPORT_SKU_MAX 200
/* Variations of one listing read before the listing is refused (eBay: 250). */
#define REPORT_VARIATIONS_MAX 1000

struct report_row {
	const char *sku;	/* UTF-8, not empty, at most REPORT_SKU_MAX bytes */
	const char *item_id;	/* the listing id: 1 to 19 digits */
	const char *price;	/* a plain decimal ("19.99", "7"): mapping_is_decimal */
	const char *currency;	/* three upper-case letters ("USD") */
	long long quantity;	/* 0 to 2147483647 */
	const char *parent_sku; /* a variation: the listing's own SKU, or NULL */
};

/* Called once per row; the strings live until the call returns. Anything
 * but ERR_OK stops the read and is returned (why may say more). */
typedef enum error (*report_row_fn)(void *ctx, const struct report_row *row, struct buf *why);

struct report_summary {
	long long listings;   /* SKUDetails read */
	long long rows;	      /* rows handed out (listings and variations) */
	long long variations; /* of them, variations */
	long long no_sku;     /* listings or variations skipped for lack of a SKU */
	char ack[24];	      /* the report's Ack ("Success"), "" when absent */
};

/*
 * Reads the report in the zip archive at path. fn may be NULL (a validation
 * pass). summary may be NULL. On error, why says what was wrong: the
 * archive ("the archive is truncated ..."), the XML (with its line), or
 * which listing lacks what. ERR_IO when the file cannot be opened, ERR_PARSE
 * for a malformed report, or what fn returned.
 */
enum error report_read_file(const char *path, report_row_fn fn, void *ctx,
			    struct report_summary *summary, struct buf *why);

/* The same for an archive already open as fd (read from its start; not
 * closed here). */
enum error report_read_fd(int fd, report_row_fn fn, void *ctx, struct report_summary *summary,
			  struct buf *why);

/* The same for an archive in memory (len bytes, not copied). */
enum error report_read_memory(const void *data, size_t len, report_row_fn fn, void *ctx,
			      struct report_summary *summary, struct buf *why);

#endif
