/*
 * eBay JSON -> rows (see mapping.h): the design document's data mapping table
 * for upsert_inventory_item, corrected by what eBay really sends.
 *
 * Two item shapes are accepted. The real one (InventoryItemWithSkuLocaleGroupid)
 * carries no price, offers or category: those come from the SKU's offers later,
 * through mapping_item_apply_offers(). The document's older shape carries
 * pricingSummary, offers[] and product.categoryId on the item itself; then the
 * row's offer fields are taken from there and marked known.
 *
 * Everything here reads input from outside, so nothing is trusted: wrong
 * types are treated as absent, numbers may come as strings, and the SKU (the
 * row's key) is checked for length, UTF-8 and control characters before
 * anything is stored under it. Text quoted back in messages is cut short and
 * stripped of control characters.
 */
#include "mapping.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "xalloc.h"

#include "banned.h"

/* Longest excerpt of outside text that a message quotes, in bytes. */
#define QUOTE_MAX 64
/* Longest offer id accepted; eBay's are about a dozen digits. */
#define OFFER_ID_MAX 128

const char *const mapping_conditions[] = {
    "NEW",
    "LIKE_NEW",
    "NEW_OTHER",
    "NEW_WITH_DEFECTS",
    "CERTIFIED_REFURBISHED",
    "EXCELLENT_REFURBISHED",
    "VERY_GOOD_REFURBISHED",
    "GOOD_REFURBISHED",
    "SELLER_REFURBISHED",
    "USED_EXCELLENT",
    "USED_VERY_GOOD",
    "USED_GOOD",
    "USED_ACCEPTABLE",
    "FOR_PARTS_OR_NOT_WORKING",
    "PRE_OWNED_EXCELLENT",
    "PRE_OWNED_FAIR",
};
const size_t mapping_n_conditions = sizeof(mapping_conditions) / sizeof(mapping_conditions[0]);

const char *mapping_condition(const char *ebay_value)
{
	size_t i;

	if (!ebay_value)
		return NULL;
	/* The deprecated name, still sent for older listings. */
	if (!strcmp(ebay_value, "MANUFACTURER_REFURBISHED"))
		return "CERTIFIED_REFURBISHED";
	for (i = 0; i < mapping_n_conditions; i++)
		if (!strcmp(ebay_value, mapping_conditions[i]))
			return mapping_conditions[i];
	return NULL;
}

const char *mapping_status(const char *const *statuses, size_t n)
{
	size_t i;

	if (n == 0)
		return "UNKNOWN";
	for (i = 0; i < n; i++)
		if (statuses[i] && (!strcmp(statuses[i], "PUBLISHED") ||
				    !strcmp(statuses[i], "PUBLISHED_IN_PROGRESS")))
			return "ACTIVE";
	return "ENDED";
}

/*
 * Decodes the UTF-8 sequence at s (n bytes available): returns its length
 * and stores the code point, or returns 0 for an invalid sequence (overlong
 * forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned lo = 0x80, hi = 0xBF;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		*cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		*cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		*cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		unsigned b = s[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
			return 0;
		*cp = (*cp << 6) | (b & 0x3F);
	}
	return len;
}

static int is_control(unsigned cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/*
 * Appends 'text' quoted for a message: at most QUOTE_MAX bytes, cut on a
 * character boundary, with invalid bytes and control characters shown as
 * '?', and "..." when cut.
 */
static void add_quoted(struct buf *b, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	buf_addch(b, '\'');
	while (i < len && i < QUOTE_MAX) {
		unsigned cp;
		size_t n = utf8_next(s + i, len - i, &cp);

		if (n == 0 || is_control(cp))
			buf_addch(b, '?');
		else
			buf_add(b, s + i, n);
		i += n ? n : 1;
	}
	if (i < len)
		buf_adds(b, "...");
	buf_addch(b, '\'');
}

/* Appends one warning, "<what> '<value>'", to warn (separated from earlier
 * ones by "; "); the caller adds the rest. text, when given, is the value
 * as the row would have held it. */
static void warn_value(struct buf *warn, const char *what, const json_t *value, const char *text)
{
	if (warn->len)
		buf_adds(warn, "; ");
	buf_addf(warn, "%s ", what);
	if (text) {
		add_quoted(warn, text, strlen(text));
	} else if (json_is_string(value)) {
		add_quoted(warn, json_string_value(value), json_string_length(value));
	} else {
		char *dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		add_quoted(warn, dump ? dump : "?", dump ? strlen(dump) : 1);
		free(dump);
	}
}

static void warn_add(struct buf *warn, const char *what, const json_t *value, const char *sku)
{
	if (!warn)
		return;
	warn_value(warn, what, value, NULL);
	buf_addf(warn, " for SKU '%s'", sku);
}

/*
 * Checks a SKU value: a non-empty string of at most MAPPING_SKU_MAX bytes of
 * valid UTF-8 without control characters. Returns 1 if usable; otherwise 0
 * with the problem appended to why (if given).
 */
static int sku_usable(const json_t *j, struct buf *why)
{
	const unsigned char *s;
	size_t len, i = 0;

	if (!j) {
		if (why)
			buf_adds(why, "the sku field is missing");
		return 0;
	}
	if (!json_is_string(j)) {
		if (why)
			buf_addf(why, "sku is %s, not a string", jsonutil_type_name(j));
		return 0;
	}
	s = (const unsigned char *)json_string_value(j);
	len = json_string_length(j);
	if (len == 0) {
		if (why)
			buf_adds(why, "sku is empty");
		return 0;
	}
	if (len > MAPPING_SKU_MAX) {
		if (why) {
			buf_adds(why, "sku ");
			add_quoted(why, (const char *)s, len);
			buf_addf(why, " is %zu bytes, over eBay's limit of %d", len,
				 MAPPING_SKU_MAX);
		}
		return 0;
	}
	while (i < len) {
		unsigned cp;
		size_t n = utf8_next(s + i, len - i, &cp);

		if (n == 0) {
			if (why)
				buf_addf(why,
					 "sku is not valid UTF-8 (bad byte 0x%02X at offset %zu)",
					 s[i], i);
			return 0;
		}
		if (is_control(cp)) {
			if (why)
				buf_addf(why,
					 "sku contains a control character (U+%04X at offset %zu)",
					 cp, i);
			return 0;
		}
		i += n;
	}
	return 1;
}

/* The shortest decimal text that reads back as d. */
static char *real_text(double d)
{
	char tmp[64];
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return xstrdup(tmp);
}

/* A copy of j as text when it is a string or a number, else NULL. */
static char *scalar_text(const json_t *j)
{
	if (json_is_string(j))
		return xstrndup(json_string_value(j), json_string_length(j));
	if (json_is_integer(j))
		return xasprintf("%lld", (long long)json_integer_value(j));
	if (json_is_real(j))
		return real_text(json_real_value(j));
	return NULL;
}

int mapping_is_decimal(const char *v)
{
	size_t n;

	if (!v)
		return 0;
	n = strspn(v, "0123456789");
	if (!n)
		return 0;
	if (v[n] == '.') {
		size_t frac = strspn(v + n + 1, "0123456789");

		if (!frac)
			return 0;
		n += 1 + frac;
	}
	return v[n] == '\0' && n <= MAPPING_PRICE_MAX;
}

/*
 * The text of a price value when it is a decimal amount (a JSON number is
 * written back as the shortest decimal text that reads as it); else NULL,
 * with a warning naming the price and what it belongs to (when present).
 */
static char *price_text(const json_t *value, const char *owner, const char *name, struct buf *warn)
{
	char *text = scalar_text(value);

	if (mapping_is_decimal(text))
		return text;
	if (warn && value && !json_is_null(value)) {
		warn_value(warn, "price", value, json_is_string(value) ? NULL : text);
		buf_addf(warn, " of %s '%s' is not a decimal amount", owner, name);
	}
	free(text);
	return NULL;
}

/*
 * An aspect's value: aspects map a name to an array of strings (eBay) or to a
 * plain string (the document's shape). The first non-empty string, or NULL.
 */
static char *aspect_value(const json_t *aspects, const char *name)
{
	const json_t *v = json_object_get(aspects, name);

	if (json_is_array(v))
		v = json_array_get(v, 0);
	if (json_is_string(v) && json_string_length(v) > 0)
		return xstrndup(json_string_value(v), json_string_length(v));
	return NULL;
}

static char *first_aspect(const json_t *aspects, const char *const *names)
{
	char *v = NULL;

	for (; *names && !v; names++)
		v = aspect_value(aspects, *names);
	return v;
}

/* Fills the row's offer fields from the document's item shape. */
static void item_offer_fields(const json_t *item, struct item_row *out, struct buf *warn)
{
	const json_t *price = json_object_get(json_object_get(item, "pricingSummary"), "price");
	const json_t *offers = json_object_get(item, "offers");
	size_t n = json_array_size(offers), i;
	const char **statuses = xcalloc(n ? n : 1, sizeof(*statuses));

	out->price_value = price_text(json_object_get(price, "value"), "SKU", out->sku, warn);
	out->price_currency = scalar_text(json_object_get(price, "currency"));
	if (n > 0) {
		const json_t *first = json_array_get(offers, 0);

		out->ebay_listing_id = scalar_text(json_object_get(first, "listingId"));
		if (!out->ebay_listing_id)
			out->ebay_listing_id = scalar_text(
			    json_object_get(json_object_get(first, "listing"), "listingId"));
		if (!out->ebay_listing_id)
			out->ebay_listing_id = scalar_text(json_object_get(first, "offerId"));
	}
	for (i = 0; i < n; i++)
		statuses[i] =
		    json_string_value(json_object_get(json_array_get(offers, i), "status"));
	out->ebay_status = xstrdup(mapping_status(statuses, n));
	out->offer_fields_known = 1;
	free(statuses);
}

enum error mapping_item_from_json(const json_t *item, struct item_row *out, struct buf *warn,
				  struct buf *why)
{
	static const char *const part_names[] = {"Part Number", "MPN", "Brand Part Number", NULL};
	static const char *const model_names[] = {"Model", "Model Number", NULL};
	const json_t *product, *aspects, *cond, *qty, *mpn;
	enum error err = ERR_OK;
	size_t n_images;
	struct buf problem;

	memset(out, 0, sizeof(*out));
	out->quantity = -1;
	buf_init(&problem, 0);
	if (!json_is_object(item)) {
		if (why)
			buf_addf(why, "item is %s, not a JSON object",
				 item ? jsonutil_type_name(item) : "missing");
		return ERR_PARSE;
	}
	if (!sku_usable(json_object_get(item, "sku"), &problem)) {
		if (why)
			buf_addf(why, "item has no usable sku: %s", buf_str(&problem));
		err = ERR_PARSE;
		goto out;
	}
	out->sku = scalar_text(json_object_get(item, "sku"));

	product = json_object_get(item, "product");
	aspects = json_object_get(product, "aspects");
	if (json_is_string(json_object_get(product, "title")))
		out->title = scalar_text(json_object_get(product, "title"));

	cond = json_object_get(item, "condition");
	if (cond && !json_is_null(cond)) {
		const char *mapped = mapping_condition(json_string_value(cond));

		if (mapped)
			out->condition = xstrdup(mapped);
		else
			warn_add(warn, "unknown condition", cond, out->sku);
	}

	qty = json_object_get(
	    json_object_get(json_object_get(item, "availability"), "shipToLocationAvailability"),
	    "quantity");
	if (jsonutil_whole_number(qty, &out->quantity) < 0) {
		out->quantity = -1;
		warn_add(warn, "invalid quantity", qty, out->sku);
	}

	out->part_number = first_aspect(aspects, part_names);
	mpn = json_object_get(product, "mpn");
	if (!out->part_number && json_is_string(mpn) && json_string_length(mpn) > 0)
		out->part_number = scalar_text(mpn);
	out->model = first_aspect(aspects, model_names);
	out->category = scalar_text(json_object_get(product, "categoryId"));
	n_images = json_array_size(json_object_get(product, "imageUrls"));
	out->photo_count = n_images > INT_MAX ? INT_MAX : (int)n_images;

	/* Any of the fields that only the document's shape has makes the item's
	 * own offer fields authoritative (eBay's real items carry none). */
	if (json_object_get(item, "pricingSummary") || json_object_get(item, "offers") ||
	    json_object_get(product, "categoryId"))
		item_offer_fields(item, out, warn);

	out->raw_payload = json_dumps(item, JSON_COMPACT);
	if (!out->raw_payload) {
		if (why)
			buf_addf(why, "cannot serialize item for sku '%s' as JSON", out->sku);
		err = ERR_PARSE;
		goto out;
	}
out:
	if (err)
		item_row_release(out);
	buf_release(&problem);
	return err;
}

/* Checks an offer id: a string or number of 1..OFFER_ID_MAX printable bytes. */
static int offer_id_usable(const json_t *j, struct buf *why)
{
	char *text = scalar_text(j);
	size_t i, len = text ? strlen(text) : 0;
	int ok = 1;

	if (!j) {
		buf_adds(why, "the offerId field is missing");
		ok = 0;
	} else if (!text) {
		buf_addf(why, "offerId is %s, not a string", jsonutil_type_name(j));
		ok = 0;
	} else if (len == 0 || (json_is_string(j) && len != json_string_length(j))) {
		buf_adds(why, len ? "offerId contains a NUL character" : "offerId is empty");
		ok = 0;
	} else if (len > OFFER_ID_MAX) {
		buf_adds(why, "offerId ");
		add_quoted(why, text, len);
		buf_addf(why, " is %zu bytes, over the limit of %d", len, OFFER_ID_MAX);
		ok = 0;
	}
	for (i = 0; ok && i < len; i++) {
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F) {
			buf_addf(why, "offerId contains a control character at offset %zu", i);
			ok = 0;
		}
	}
	free(text);
	return ok;
}

enum error mapping_offer_from_json(const json_t *offer, struct offer_row *out, struct buf *warn,
				   struct buf *why)
{
	const json_t *listing, *price, *start, *sku;
	struct buf problem;
	enum error err = ERR_OK;

	memset(out, 0, sizeof(*out));
	out->available_quantity = -1;
	out->sold_quantity = -1;
	buf_init(&problem, 0);
	if (!json_is_object(offer)) {
		if (why)
			buf_addf(why, "offer is %s, not a JSON object",
				 offer ? jsonutil_type_name(offer) : "missing");
		return ERR_PARSE;
	}
	if (!offer_id_usable(json_object_get(offer, "offerId"), &problem)) {
		if (why)
			buf_addf(why, "offer has no usable offerId: %s", buf_str(&problem));
		err = ERR_PARSE;
		goto out;
	}
	out->offer_id = scalar_text(json_object_get(offer, "offerId"));

	/* An absent sku is left NULL for the caller, who asked eBay for one SKU's
	 * offers and knows it; a present but unusable one is refused. */
	sku = json_object_get(offer, "sku");
	if (sku && !json_is_null(sku)) {
		if (!sku_usable(sku, &problem)) {
			if (why)
				buf_addf(why, "offer '%s' has no usable sku: %s", out->offer_id,
					 buf_str(&problem));
			err = ERR_PARSE;
			goto out;
		}
		out->sku = scalar_text(sku);
	}

	out->marketplace_id = scalar_text(json_object_get(offer, "marketplaceId"));
	out->format = scalar_text(json_object_get(offer, "format"));
	out->status = scalar_text(json_object_get(offer, "status"));

	listing = json_object_get(offer, "listing");
	out->listing_id = scalar_text(json_object_get(listing, "listingId"));
	if (!out->listing_id) /* the document's shape */
		out->listing_id = scalar_text(json_object_get(offer, "listingId"));
	out->listing_status = scalar_text(json_object_get(listing, "listingStatus"));
	if (jsonutil_whole_number(json_object_get(listing, "soldQuantity"), &out->sold_quantity) <=
	    0)
		out->sold_quantity = -1;

	price = json_object_get(json_object_get(offer, "pricingSummary"), "price");
	if (!price) /* the document's shape */
		price = json_object_get(offer, "price");
	/* An offer without a sku of its own is named by its id. */
	out->price_value = price_text(json_object_get(price, "value"), out->sku ? "SKU" : "offer",
				      out->sku ? out->sku : out->offer_id, warn);
	out->price_currency = scalar_text(json_object_get(price, "currency"));
	start = json_object_get(json_object_get(offer, "pricingSummary"), "auctionStartPrice");
	out->auction_start_price =
	    price_text(json_object_get(start, "value"), out->sku ? "SKU" : "offer",
		       out->sku ? out->sku : out->offer_id, warn);
	if (!out->price_currency && out->auction_start_price)
		out->price_currency = scalar_text(json_object_get(start, "currency"));
	if (jsonutil_whole_number(json_object_get(offer, "availableQuantity"),
				  &out->available_quantity) <= 0)
		out->available_quantity = -1;
	out->category_id = scalar_text(json_object_get(offer, "categoryId"));
	out->listing_start_date = scalar_text(json_object_get(offer, "listingStartDate"));

	out->raw_payload = json_dumps(offer, JSON_COMPACT);
	if (!out->raw_payload) {
		if (why)
			buf_addf(why, "cannot serialize offer '%s' as JSON", out->offer_id);
		err = ERR_PARSE;
		goto out;
	}
out:
	if (err)
		offer_row_release(out);
	buf_release(&problem);
	return err;
}

static void replace(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

void mapping_item_apply_offers(struct item_row *row, const struct offer_row *offers, size_t n)
{
	const struct offer_row *pick = NULL;
	const char **statuses;
	size_t i;

	if (row->offer_fields_known)
		return;
	for (i = 0; i < n && !pick; i++)
		if (offers[i].status && !strcmp(offers[i].status, "PUBLISHED"))
			pick = &offers[i];
	if (!pick && n > 0)
		pick = &offers[0];

	/* An auction without a Buy It Now price shows its start price. */
	replace(&row->price_value, !pick	       ? NULL
				   : pick->price_value ? pick->price_value
						       : pick->auction_start_price);
	replace(&row->price_currency, pick ? pick->price_currency : NULL);
	replace(&row->ebay_listing_id, pick ? pick->listing_id : NULL);

	/* The category is the chosen offer's, else any offer's; an item that
	 * names its own (product.categoryId) keeps it when no offer has one. */
	if (pick && pick->category_id) {
		replace(&row->category, pick->category_id);
	} else {
		for (i = 0; i < n; i++) {
			if (offers[i].category_id) {
				replace(&row->category, offers[i].category_id);
				break;
			}
		}
	}

	statuses = xcalloc(n ? n : 1, sizeof(*statuses));
	for (i = 0; i < n; i++)
		statuses[i] = offers[i].status;
	replace(&row->ebay_status, mapping_status(statuses, n));
	free(statuses);
	row->offer_fields_known = 1;
}

void item_row_release(struct item_row *row)
{
	if (!row)
		return;
	free(row->sku);
	free(row->title);
	free(row->condition);
	free(row->part_number);
	free(row->model);
	free(row->category);
	free(row->price_value);
	free(row->price_currency);
	free(row->ebay_listing_id);
	free(row->ebay_status);
	free(row->raw_payload);
	memset(row, 0, sizeof(*row));
	row->quantity = -1;
}

void offer_row_release(struct offer_row *row)
{
	if (!row)
		return;
	free(row->offer_id);
	free(row->sku);
	free(row->marketplace_id);
	free(row->format);
	free(row->status);
	free(row->listing_id);
	free(row->listing_status);
	free(row->price_value);
	free(row->price_currency);
	free(row->auction_start_price);
	free(row->category_id);
	free(row->listing_start_date);
	free(row->raw_payload);
	memset(row, 0, sizeof(*row));
	row->available_quantity = -1;
	row->sold_quantity = -1;
}
