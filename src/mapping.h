/*
 * eBay JSON -> database rows: the "Data Mapping" table of the design
 * document, corrected by what eBay really sends (shared/EBAY-API-NOTES.md).
 *
 * An inventory item (InventoryItemWithSkuLocaleGroupid, or the document's
 * older shape with pricingSummary/offers/categoryId on the item) becomes an
 * item_row; an offer (EbayOfferDetailsWithAll) becomes an offer_row. Strings
 * in rows are owned by the row (malloc'd) and freed by *_row_release; NULL
 * means "absent" and is stored as SQL NULL. Quantities are -1 when absent.
 */
#ifndef MAPPING_H
#define MAPPING_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

#define MAPPING_SKU_MAX	  50 /* eBay's limit on a SKU, in bytes of UTF-8 */
#define MAPPING_PRICE_MAX 64 /* longest price text kept, in bytes */

struct item_row {
	char *sku; /* never NULL after a successful mapping */
	char *title;
	char *condition;   /* one of eBay's ConditionEnum values; NULL if unknown */
	char *part_number; /* aspects Part Number / MPN / Brand Part Number, product.mpn */
	char *model;	   /* aspects Model / Model Number */
	char *category;	   /* product.categoryId (document shape) or the offers' categoryId */
	char *price_value; /* decimal string, exactly as eBay sent it (mapping_is_decimal) */
	char *price_currency;
	long long quantity; /* availability.shipToLocationAvailability.quantity; -1 absent */
	char *ebay_listing_id;
	char *ebay_status; /* "ACTIVE", "ENDED" or "UNKNOWN" */
	int photo_count;   /* product.imageUrls length */
	char *raw_payload; /* the full item as compact JSON */
	/*
	 * 1 when price, listing id, status and category came from offers (the
	 * item's own, in the document's shape, or applied by
	 * mapping_item_apply_offers); 0 when nothing was known, in which case a
	 * store keeps the values it already has for those four columns.
	 */
	int offer_fields_known;
	/*
	 * 1 when the offers handed to the store in the same batch for this SKU
	 * are every offer eBay has for it (an offers sync fetched them all):
	 * the store then marks the SKU's other stored offers removed.
	 */
	int offers_complete;
};

struct offer_row {
	char *offer_id; /* never NULL after a successful mapping */
	char *sku;
	char *marketplace_id;
	char *format;		      /* FIXED_PRICE or AUCTION */
	char *status;		      /* PUBLISHED or UNPUBLISHED (or what eBay sent) */
	char *listing_id;	      /* listing.listingId; NULL when unpublished */
	char *listing_status;	      /* listing.listingStatus */
	char *price_value;	      /* pricingSummary.price.value, when mapping_is_decimal */
	char *price_currency;	      /* of the price, else of the auction start price */
	char *auction_start_price;    /* pricingSummary.auctionStartPrice.value, when decimal */
	long long available_quantity; /* -1 absent */
	long long sold_quantity;      /* listing.soldQuantity; -1 absent */
	char *category_id;
	char *listing_start_date;
	char *raw_payload; /* the full offer as compact JSON */
};

/*
 * Maps one inventory item. Numbers may arrive as JSON numbers or strings.
 * Returns ERR_PARSE (with a reason in why, if given) when the item has no
 * usable SKU (missing, empty, not a string, over MAPPING_SKU_MAX bytes or not
 * UTF-8); an unknown condition or a price that is not a decimal amount is
 * not an error: the field is NULL and a warning is appended to warn (if
 * given). On error *out holds nothing to free.
 */
enum error mapping_item_from_json(const json_t *item, struct item_row *out, struct buf *warn,
				  struct buf *why);

/* Maps one offer; ERR_PARSE (reason in why) without an offerId. A price
 * that is not a decimal amount is not an error: price_value is NULL and a
 * warning is appended to warn (if given). */
enum error mapping_offer_from_json(const json_t *offer, struct offer_row *out, struct buf *warn,
				   struct buf *why);

/*
 * Fills price, currency, listing id, status and category of an item that had
 * none of its own from the SKU's offers (n may be 0: status UNKNOWN). The
 * price and listing come from the first PUBLISHED offer, else the first one;
 * an auction without a Buy It Now price gives its start price, as eBay's
 * own Active Inventory Report does.
 * Sets offer_fields_known. Leaves an item with its own offer fields alone.
 */
void mapping_item_apply_offers(struct item_row *row, const struct offer_row *offers, size_t n);

/* eBay's ConditionEnum values (mapping_n_conditions of them, "NEW" first):
 * what a row's condition may hold, and all it may hold (no deprecated
 * name). GET /ebay/conditions serves this list to the page's filter. */
extern const char *const mapping_conditions[];
extern const size_t mapping_n_conditions;

/* eBay's condition value if known (the deprecated MANUFACTURER_REFURBISHED
 * maps to CERTIFIED_REFURBISHED), else NULL. Static string. */
const char *mapping_condition(const char *ebay_value);

/* The document's status rule over offer statuses: "ACTIVE" if any is
 * PUBLISHED or PUBLISHED_IN_PROGRESS, "ENDED" otherwise, "UNKNOWN" if n is 0. */
const char *mapping_status(const char *const *statuses, size_t n);

/*
 * 1 if v is a plain decimal amount: digits, optionally "." and more digits
 * ("19.99", "20", "0.5"), at most MAPPING_PRICE_MAX bytes; 0 for anything
 * else (NULL, "", "N/A", "-1", "1e3", ".5"). Mapping keeps a price only
 * then, and every store backend stores NULL for any other price_value, so
 * that all of them hold the same.
 */
int mapping_is_decimal(const char *v);

void item_row_release(struct item_row *row);
void offer_row_release(struct offer_row *row);

#endif
