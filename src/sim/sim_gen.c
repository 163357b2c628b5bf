/*
 * Deterministic catalog content (see sim_gen.h). The word lists below give
 * titles, brands, aspects and prices a realistic spread, including what
 * trips up a careless mapper: apostrophes and non-ASCII in brands, the MPN
 * hidden under "Part Number" or "Model Number", "Does Not Apply", auctions
 * without a Buy It Now price, prices written "25.0" or "7", every condition
 * and every listing status. About 2% of SKUs are hostile: spaces, '/', '#',
 * '%', '+', '?', '&', quotes, backslashes, non-ASCII, exactly 50 bytes.
 */
#include "sim_gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "random.h"
#include "xalloc.h"
#include "banned.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Salts that keep the random streams of one SKU apart. */
#define SALT_STABLE   0x51ab1eULL
#define SALT_VOLATILE 0x701a711eULL
#define SALT_HOSTILE  0x4057113ULL
#define SALT_OFFER    0x0ffe5ULL
#define SALT_QUANTITY 0x9a7171ULL

#define SALT_MUTATE 0x3a7a7eULL

#define OFFER_ID_BASE	5000000000ULL
#define LISTING_ID_BASE 110000000000ULL

/* The churn edits of e (the low bits of its version): what the content is
 * drawn from. The high bits count field mutations (see sim_gen.h). */
static uint32_t edits(const struct sim_entry *e)
{
	return e->version & SIM_GEN_EDITS_MASK;
}

static void mutate_item(const struct sim_entry *e, json_t *item);

/*
 * Seeds r with s and skips one draw: the simulator's streams were started
 * that way before it shared random.h's generator, and a seed keeps giving
 * the catalog it always gave.
 */
static void seed_stream(struct random_rng *r, uint64_t s)
{
	random_rng_seed(r, s);
	random_rng_next(r);
}

void sim_gen_rng_init(struct random_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	seed_stream(r, random_mix(seed ^ random_mix(a ^ random_mix(b))));
}

int sim_gen_is_file(const struct sim_entry *e)
{
	return e->src && e->id < e->src->n;
}

/* ---- SKUs ---- */

static const char *const sku_prefixes[] = {"GPX", "CAN", "NKN", "SNY", "APL", "BSH",
					   "MKT", "DWT", "LGO", "NKE", "FND", "YMH"};
static const char *const sku_suffixes[] = {"BLK", "WHT", "RED", "BLU", "XL", "S", "M", "L", "NEW"};

int sim_gen_is_hostile(uint64_t seed, uint32_t id)
{
	return random_mix(seed ^ random_mix(id ^ SALT_HOSTILE)) % 50 == 0;
}

/* Pads out (len bytes so far) to exactly 50 bytes with pad, then '.'. */
static size_t pad_to_50(char *out, size_t len, const char *pad)
{
	size_t plen = strlen(pad);

	while (len + plen <= SIM_GEN_SKU_MAX) {
		memcpy(out + len, pad, plen);
		len += plen;
	}
	while (len < SIM_GEN_SKU_MAX)
		out[len++] = '.';
	out[len] = '\0';
	return len;
}

static size_t hostile_sku(uint32_t id, uint64_t h, char *out)
{
	size_t size = SIM_GEN_SKU_MAX + 1;
	int n;

	switch (h % 12) {
	case 0:
		n = snprintf(out, size, "Widget %u / Blue", id);
		break;
	case 1:
		n = snprintf(out, size, "Box #%u (50%% off)", id);
		break;
	case 2:
		n = snprintf(out, size, "A+B?C&D=%u", id);
		break;
	case 3:
		n = snprintf(out, size, "\"Quoted\" 'SKU' %u", id);
		break;
	case 4:
		n = snprintf(out, size,
			     "Gr\xc3\xb6\xc3\x9f"
			     "e-%u-\xc3\x9c",
			     id);
		break;
	case 5:
		n = snprintf(out, size, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xa3\xbd-%u", id);
		break;
	case 6:
		n = snprintf(out, size, "LONG-%u-", id);
		return pad_to_50(out, (size_t)n, "X");
	case 7:
		n = snprintf(out, size, "\xc3\x89LAN %u ", id);
		return pad_to_50(out, (size_t)n, "\xc3\xa9");
	case 8:
		n = snprintf(out, size, "100%%25 %u%%20off", id);
		break;
	case 9:
		n = snprintf(out, size, "back\\slash %u;semi,comma", id);
		break;
	case 10:
		n = snprintf(out, size, "emoji \xf0\x9f\x99\x82 %u", id);
		break;
	default:
		n = snprintf(out, size, "dir/%u/sub dir/#frag?q=1&r=%%2F", id);
		break;
	}
	return (size_t)n;
}

size_t sim_gen_sku(const struct sim_entry *e, char out[SIM_GEN_SKU_MAX + 1])
{
	size_t size = SIM_GEN_SKU_MAX + 1;
	uint64_t h;
	int n;

	if (sim_gen_is_file(e)) {
		size_t len = strlen(e->src->skus[e->id]);
		memcpy(out, e->src->skus[e->id], len + 1);
		return len;
	}
	h = random_mix(e->seed ^ random_mix(e->id ^ SALT_HOSTILE));
	if (h % 50 == 0)
		return hostile_sku(e->id, h >> 8, out);
	switch ((h >> 8) % 10) {
	case 0:
	case 1:
	case 2:
	case 3:
		n = snprintf(out, size, "SKU-%06u", e->id);
		break;
	case 4:
	case 5:
		n = snprintf(out, size, "%s-%05u-%s", sku_prefixes[(h >> 16) % N_OF(sku_prefixes)],
			     e->id, sku_suffixes[(h >> 24) % N_OF(sku_suffixes)]);
		break;
	case 6:
		n = snprintf(out, size, "%u-%c", e->id, (char)('A' + (h >> 16) % 26));
		break;
	case 7:
		n = snprintf(out, size, "item_%u", e->id);
		break;
	case 8:
		n = snprintf(out, size, "B0%08u", e->id);
		break;
	default:
		n = snprintf(out, size, "LOT.%u", e->id);
		break;
	}
	return (size_t)n;
}

/* ---- word lists ---- */

struct category {
	const char *noun;
	const char *id;
	const char *features[3];
};

static const struct category categories[] = {
    {"Action Camera", "31388", {"4K Video", "Waterproof", "Image Stabilization"}},
    {"Digital Camera", "31388", {"Wi-Fi", "Touchscreen", "Interchangeable Lens"}},
    {"Camera Lens", "3323", {"Autofocus", "Image Stabilization", "Weather Sealed"}},
    {"Smartphone", "9355", {"5G", "Dual SIM", "Fast Charging"}},
    {"Laptop", "177", {"Backlit Keyboard", "Fingerprint Reader", "Touchscreen"}},
    {"Cordless Drill", "122835", {"Brushless Motor", "LED Light", "Keyless Chuck"}},
    {"Building Set", "19006", {"Minifigures", "Instructions Included", "Motorized"}},
    {"Running Shoes", "15709", {"Breathable", "Cushioned", "Lightweight"}},
    {"Jeans", "11483", {"Stretch", "Regular Fit", "Five Pocket"}},
    {"Boots", "11498", {"Leather", "Lace Up", "Slip Resistant"}},
    {"Dutch Oven", "20640", {"Enameled", "Oven Safe", "Dishwasher Safe"}},
    {"Printer", "1245", {"Duplex", "Wireless", "Color"}},
    {"Wristwatch", "31387", {"Chronograph", "Date Display", "Water Resistant"}},
    {"Electric Guitar", "33034", {"Solid Body", "Humbucker", "Tremolo"}},
    {"Wireless Mouse", "23160", {"Bluetooth", "Rechargeable", "Ergonomic"}},
    {"Power Bank", "20612", {"USB-C", "Fast Charging", "LED Display"}},
    {"Vacuum Cleaner", "20614", {"Cordless", "HEPA Filter", "Bagless"}},
    {"Jigsaw Puzzle", "2613", {"1000 Pieces", "Poster Included", "Sealed"}},
    {"Board Game", "180349", {"2-4 Players", "Ages 8+", "Expansion"}},
    {"Model Train", "180250", {"HO Scale", "DCC Ready", "Metal Wheels"}},
};

static const char *const brands[] = {
    "GoPro",	      "Canon",		"Nikon",	   "Sony",	"Apple",	"Samsung",
    "Bosch",	      "Makita",		"DeWalt",	   "LEGO",	"Nike",		"adidas",
    "Levi's",	      "Dr. Martens",	"Le Creuset",	   "Brother",	"Seiko",	"Casio",
    "Fender",	      "Logitech",	"Anker",	   "Dyson",	"Ravensburger", "Hasbro",
    "M\xc3\xa4rklin", "Citro\xc3\xabn", "Hewlett-Packard", "Unbranded",
};

static const char *const colors[] = {"Black", "White",	    "Silver",		"Blue",
				     "Red",   "Space Grey", "Ros\xc3\xa9 Gold", "Green"};
static const char *const title_extras[] = {"Genuine",	    "Boxed",	      "Bundle", "Pro",
					   "Mini",	    "with Case",      "2-Pack", "OEM",
					   "& Accessories", "- Fast Dispatch"};

/*
 * eBay's ConditionEnum (the Inventory API's slr:ConditionEnum, which the
 * OpenAPI contract names but does not list; the values are from eBay's type
 * page, see EBAY-API-NOTES.md), in the order that picks a catalog's
 * conditions: changing the order changes every seed's catalog. The
 * simulator keeps its own copy on purpose, so that the tests compare the
 * product's mapping against eBay's list and not against itself. The
 * deprecated MANUFACTURER_REFURBISHED, still sent for older listings, is
 * drawn separately.
 */
static const char *const conditions[] = {
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

static const char *const condition_notes[] = {
    "Light scratches on the casing; fully tested.", "Box opened & resealed; \"as new\" inside.",
    "Minor wear, see photos. Works 100%.",	    "Missing original packaging.",
    "Sold as seen \xe2\x80\x93 no returns.",
};

struct market {
	const char *id, *currency, *locale;
	double vat;
};

static const struct market markets[] = {
    {"EBAY_US", "USD", "en_US", 0},    {"EBAY_GB", "GBP", "en_GB", 20.0},
    {"EBAY_DE", "EUR", "de_DE", 19.0}, {"EBAY_AU", "AUD", "en_AU", 10.0},
    {"EBAY_CA", "CAD", "en_CA", 0},
};

static const char *const locations[] = {"warehouse-1", "warehouse-2", "store-03",
					"Lager K\xc3\xb6ln #2"};

/* ---- the stable facts of one generated SKU ---- */

struct facts {
	const struct category *cat;
	const char *brand;
	const char *color;
	const struct market *market;
	char model[24];
	char mpn[24];
	char part[24];
	unsigned aspect_pattern;
	unsigned n_images;
	unsigned offer_mask;
	int has_brand, has_mpn, has_upc, has_description, has_package, group;
	uint64_t image_seed;
};

static void stable_facts(const struct sim_entry *e, struct facts *f)
{
	struct random_rng r;
	uint32_t u;

	sim_gen_rng_init(&r, e->seed, e->id, SALT_STABLE);
	memset(f, 0, sizeof(*f));
	f->cat = &categories[random_rng_below(&r, N_OF(categories))];
	f->brand = brands[random_rng_below(&r, N_OF(brands))];
	f->color = colors[random_rng_below(&r, N_OF(colors))];
	u = random_rng_below(&r, 100);
	f->market = &markets[u < 60 ? 0 : u < 75 ? 1 : u < 85 ? 2 : u < 93 ? 3 : 4];
	snprintf(f->model, sizeof(f->model), "%c%c-%u%s", 'A' + random_rng_below(&r, 26),
		 'A' + random_rng_below(&r, 26), 100 + random_rng_below(&r, 9900),
		 random_rng_below(&r, 3) ? "" : "X");
	snprintf(f->mpn, sizeof(f->mpn), "%c%u-%04u", 'A' + random_rng_below(&r, 26),
		 random_rng_below(&r, 1000), random_rng_below(&r, 10000));
	snprintf(f->part, sizeof(f->part), "PN%06u", random_rng_below(&r, 1000000));
	f->aspect_pattern = random_rng_below(&r, 8);
	u = random_rng_below(&r, 100);
	f->n_images = u < 10 ? 0 : 1 + random_rng_below(&r, 10);
	f->image_seed = random_rng_next(&r);
	f->has_brand = random_rng_below(&r, 5) != 0;
	f->has_mpn = random_rng_below(&r, 2);
	f->has_upc = random_rng_below(&r, 4) == 0;
	f->has_description = random_rng_below(&r, 3) == 0;
	f->has_package = random_rng_below(&r, 5) == 0;
	f->group = random_rng_below(&r, 30) == 0;
	u = random_rng_below(&r, 100);
	f->offer_mask = u < 15 ? 0u : u < 70 ? 1u : u < 82 ? 2u : 3u;
}

static json_t *str_array1(const char *s)
{
	json_t *a = json_array();

	json_array_append_new(a, json_string(s));
	return a;
}

static json_t *aspects_json(const struct facts *f, struct random_rng *r)
{
	json_t *a = json_object();

	json_object_set_new(a, "Brand", str_array1(f->brand));
	switch (f->aspect_pattern) {
	case 0:
		json_object_set_new(a, "Model", str_array1(f->model));
		json_object_set_new(a, "MPN", str_array1(f->mpn));
		break;
	case 1:
		json_object_set_new(a, "Part Number", str_array1(f->part));
		break;
	case 2:
		json_object_set_new(a, "Brand Part Number", str_array1(f->mpn));
		json_object_set_new(a, "Model", str_array1(f->model));
		break;
	case 3:
		json_object_set_new(a, "Model", str_array1(f->model));
		json_object_set_new(a, "Model Number", str_array1(f->mpn));
		break;
	case 4:
		json_object_set_new(a, "MPN", str_array1(f->mpn));
		json_object_set_new(a, "Part Number", str_array1(f->part));
		break;
	case 5:
		break;
	case 6:
		json_object_set_new(a, "MPN", str_array1("Does Not Apply"));
		json_object_set_new(a, "Model", str_array1(f->model));
		break;
	default:
		json_object_set_new(a, "Model Number", str_array1(f->model));
		json_object_set_new(a, "Part Number", str_array1(f->part));
		json_object_set_new(a, "MPN", str_array1(f->mpn));
		break;
	}
	json_object_set_new(a, "Type", str_array1(f->cat->noun));
	if (random_rng_below(r, 3))
		json_object_set_new(a, "Color", str_array1(f->color));
	if (random_rng_below(r, 3) == 0) {
		json_t *feat = json_array();
		unsigned n = 2 + random_rng_below(r, 2);
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(feat, json_string(f->cat->features[i]));
		json_object_set_new(a, "Features", feat);
	}
	return a;
}

static void title_of(const struct facts *f, uint32_t version, struct random_rng *r, char *out,
		     size_t size)
{
	size_t len;

	snprintf(out, size, "%s %s %s %s %s", f->brand, f->model, f->cat->noun, f->color,
		 title_extras[random_rng_below(r, N_OF(title_extras))]);
	/* Edits sometimes touch the title too. */
	if (version > 0 && random_rng_below(r, 4) == 0) {
		len = strlen(out);
		snprintf(out + len, size - len, " (v%u)", version);
	}
}

static json_t *images_json(const struct facts *f)
{
	static const char alphabet[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	json_t *a = json_array();
	struct random_rng r;

	seed_stream(&r, f->image_seed);
	for (unsigned i = 0; i < f->n_images; i++) {
		char key[17], url[96];
		for (int j = 0; j < 16; j++)
			key[j] = alphabet[random_rng_below(&r, 62)];
		key[16] = '\0';
		snprintf(url, sizeof(url), "https://i.ebayimg.com/images/g/%s/s-l1600.jpg", key);
		json_array_append_new(a, json_string(url));
	}
	return a;
}

static json_t *product_json(const struct sim_entry *e, const struct facts *f, struct random_rng *vr)
{
	json_t *p = json_object();
	struct random_rng ar;
	char title[160];

	sim_gen_rng_init(&ar, e->seed, e->id, SALT_STABLE + 1);
	title_of(f, edits(e), vr, title, sizeof(title));
	json_object_set_new(p, "title", json_string(title));
	json_object_set_new(p, "aspects", aspects_json(f, &ar));
	if (f->has_brand)
		json_object_set_new(p, "brand", json_string(f->brand));
	if (f->has_mpn)
		json_object_set_new(p, "mpn", json_string(f->mpn));
	if (f->n_images)
		json_object_set_new(p, "imageUrls", images_json(f));
	if (f->has_upc) {
		char code[16];
		snprintf(code, sizeof(code), "0%011u",
			 (unsigned)(random_rng_next(&ar) % 100000000000ULL));
		json_object_set_new(p, f->market == &markets[0] ? "upc" : "ean", str_array1(code));
	}
	if (f->has_description)
		json_object_set_new(p, "description",
				    json_sprintf("<p>%s %s in %s.</p><ul><li>%s</li></ul>",
						 f->brand, f->cat->noun, f->color,
						 f->cat->features[0]));
	return p;
}

/* The item's quantity: its own stream, so offers can agree with it. */
static long item_quantity(const struct sim_entry *e)
{
	struct random_rng r;
	uint32_t u;

	sim_gen_rng_init(&r, e->seed ^ edits(e), e->id, SALT_QUANTITY + edits(e));
	u = random_rng_below(&r, 100);
	return u < 10 ? 0 : u < 40 ? 1 : 2 + (long)random_rng_below(&r, 499);
}

json_t *sim_gen_item(const struct sim_entry *e, int bulk)
{
	struct facts f;
	struct random_rng vr;
	json_t *item, *avail, *ship;
	char sku[SIM_GEN_SKU_MAX + 1];
	uint32_t u;

	if (sim_gen_is_file(e)) {
		item = json_deep_copy(e->src->items[e->id]);
		if (bulk)
			json_object_del(item, "groupIds");
		if (edits(e)) {
			/* An edit of a file SKU moves its quantity. */
			json_t *q =
			    json_object_get(json_object_get(json_object_get(item, "availability"),
							    "shipToLocationAvailability"),
					    "quantity");
			if (json_is_integer(q))
				json_integer_set(q, (json_integer_value(q) + edits(e) * 7) % 1000);
		}
		mutate_item(e, item);
		return item;
	}
	stable_facts(e, &f);
	sim_gen_rng_init(&vr, e->seed ^ edits(e), e->id, SALT_VOLATILE + edits(e));
	sim_gen_sku(e, sku);
	item = json_object();
	json_object_set_new(item, "sku", json_string(sku));
	json_object_set_new(item, "locale", json_string(f.market->locale));
	json_object_set_new(item, "product", product_json(e, &f, &vr));
	u = random_rng_below(&vr, 200);
	if (u < 2)
		json_object_set_new(item, "condition", json_string("MANUFACTURER_REFURBISHED"));
	else if (u < 70)
		json_object_set_new(item, "condition", json_string("NEW"));
	else
		json_object_set_new(item, "condition",
				    json_string(conditions[1 + u % (N_OF(conditions) - 1)]));
	if (u >= 70 && random_rng_below(&vr, 2))
		json_object_set_new(item, "conditionDescription",
				    json_string(condition_notes[u % N_OF(condition_notes)]));
	ship = json_object();
	json_object_set_new(ship, "quantity", json_integer(item_quantity(e)));
	avail = json_object();
	json_object_set_new(avail, "shipToLocationAvailability", ship);
	json_object_set_new(item, "availability", avail);
	if (f.has_package) {
		json_t *pkg =
		    json_pack("{s:{s:f,s:f,s:f,s:s},s:{s:f,s:s},s:s}", "dimensions", "height", 4.0,
			      "length", 10.5, "width", 6.0, "unit", "INCH", "weight", "value", 1.5,
			      "unit", "POUND", "packageType", "PACKAGE_THICK_ENVELOPE");
		json_object_set_new(item, "packageWeightAndSize", pkg);
	}
	if (f.group) {
		char group[32];
		snprintf(group, sizeof(group), "GRP-%u", e->id / 10);
		if (!bulk)
			json_object_set_new(item, "groupIds", str_array1(group));
		json_object_set_new(item, "inventoryItemGroupKeys", str_array1(group));
	}
	mutate_item(e, item);
	return item;
}

/* ---- offers ---- */

static unsigned gen_offer_mask(const struct sim_entry *e, const struct facts *f)
{
	struct random_rng r;

	/* One edit in twenty creates or withdraws an offer. */
	sim_gen_rng_init(&r, e->seed ^ edits(e), e->id, SALT_OFFER + edits(e));
	if (edits(e) && random_rng_below(&r, 20) == 0)
		return (f->offer_mask + 1 + random_rng_below(&r, 3)) & 3u;
	return f->offer_mask;
}

unsigned sim_gen_offer_mask(const struct sim_entry *e)
{
	struct facts f;

	if (sim_gen_is_file(e)) {
		size_t n = json_array_size(e->src->offers[e->id]);
		return n >= 2 ? 3u : n == 1 ? 1u : 0u;
	}
	stable_facts(e, &f);
	return gen_offer_mask(e, &f);
}

void sim_gen_offer_id(uint32_t id, int k, char *out, size_t size)
{
	snprintf(out, size, "%" PRIu64, (uint64_t)(OFFER_ID_BASE + (uint64_t)id * 2 + (uint64_t)k));
}

int sim_gen_parse_offer_id(const char *s, uint32_t *id, int *k)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 19)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || s[0] == '0' || v < OFFER_ID_BASE || v - OFFER_ID_BASE > 2ULL * UINT32_MAX + 1)
		return -1;
	*id = (uint32_t)((v - OFFER_ID_BASE) / 2);
	*k = (int)((v - OFFER_ID_BASE) % 2);
	return 0;
}

/* A price in cents, written as eBay does: "19.99", and sometimes "25.0" or "7". */
static json_t *amount_json(long cents, const char *currency, struct random_rng *r)
{
	char value[32];
	uint32_t style = random_rng_below(r, 20);

	if (cents % 100 == 0 && style < 6)
		snprintf(value, sizeof(value), "%ld.0", cents / 100);
	else if (cents % 100 == 0 && style < 9)
		snprintf(value, sizeof(value), "%ld", cents / 100);
	else
		snprintf(value, sizeof(value), "%ld.%02ld", cents / 100, cents % 100);
	return json_pack("{s:s,s:s}", "value", value, "currency", currency);
}

static long price_cents(struct random_rng *r)
{
	uint32_t band = random_rng_below(r, 10);
	long whole = band < 4	? 1 + random_rng_below(r, 30)
		     : band < 8 ? 30 + random_rng_below(r, 300)
				: 300 + random_rng_below(r, 4000);
	uint32_t c = random_rng_below(r, 4);

	return whole * 100 + (c == 0 ? 0 : c == 1 ? 99 : c == 2 ? 95 : random_rng_below(r, 100));
}

static void iso_date(uint64_t h, char *out, size_t size)
{
	time_t t = (time_t)(1640995200 + h % (86400ULL * 900));
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static json_t *gen_offer(const struct sim_entry *e, const struct facts *f, int k)
{
	struct random_rng r, vr;
	json_t *o, *pricing, *listing;
	char id[32], sku[SIM_GEN_SKU_MAX + 1], date[40];
	long qty, cents;
	int published;
	uint32_t u;

	sim_gen_rng_init(&r, e->seed, e->id, SALT_OFFER * 3 + (uint64_t)k);
	sim_gen_rng_init(&vr, e->seed ^ edits(e), e->id, SALT_VOLATILE * 7 + edits(e) * 2 + k);
	sim_gen_offer_id(e->id, k, id, sizeof(id));
	sim_gen_sku(e, sku);
	u = random_rng_below(&vr, 100);
	published = u < 80;
	o = json_object();
	json_object_set_new(o, "offerId", json_string(id));
	json_object_set_new(o, "sku", json_string(sku));
	json_object_set_new(o, "marketplaceId", json_string(f->market->id));
	json_object_set_new(o, "format", json_string(k == 0 ? "FIXED_PRICE" : "AUCTION"));
	qty = item_quantity(e);
	if (k == 0 && qty > 1 && random_rng_below(&vr, 5) == 0)
		qty = 1 + (long)random_rng_below(&vr, (uint32_t)qty); /* some held back */
	else if (k == 1)
		qty = qty > 0;
	json_object_set_new(o, "availableQuantity", json_integer(qty));
	json_object_set_new(o, "categoryId", json_string(f->cat->id));
	if (random_rng_below(&r, 4) == 0)
		json_object_set_new(
		    o, "listingDescription",
		    json_sprintf("<b>%s</b> %s &amp; more", f->brand, f->cat->noun));
	json_object_set_new(o, "listingDuration", json_string(k == 0 ? "GTC" : "DAYS_7"));
	json_object_set_new(
	    o, "listingPolicies",
	    json_pack("{s:s,s:s,s:s}", "fulfillmentPolicyId", "6201234000", "paymentPolicyId",
		      f->market->vat > 0 ? "6201234011" : "6201234010", "returnPolicyId",
		      random_rng_below(&r, 2) ? "6201234020" : "6201234021"));
	pricing = json_object();
	cents = price_cents(&vr);
	if (k == 0) {
		json_object_set_new(pricing, "price", amount_json(cents, f->market->currency, &vr));
	} else {
		json_object_set_new(pricing, "auctionStartPrice",
				    amount_json(cents, f->market->currency, &vr));
		if (random_rng_below(&vr, 5) == 0)
			json_object_set_new(pricing, "auctionReservePrice",
					    amount_json(cents * 2, f->market->currency, &vr));
		if (random_rng_below(&vr, 2))
			json_object_set_new(pricing, "price",
					    amount_json(cents * 3, f->market->currency, &vr));
	}
	json_object_set_new(o, "pricingSummary", pricing);
	json_object_set_new(o, "merchantLocationKey",
			    json_string(locations[random_rng_below(&r, N_OF(locations))]));
	if (f->market->vat > 0 && random_rng_below(&r, 2))
		json_object_set_new(
		    o, "tax",
		    json_pack("{s:b,s:f}", "applyTax", 1, "vatPercentage", f->market->vat));
	if (k == 0 && random_rng_below(&r, 5) == 0)
		json_object_set_new(o, "quantityLimitPerBuyer", json_integer(2));
	json_object_set_new(o, "includeCatalogProductDetails", json_true());
	json_object_set_new(o, "status", json_string(published ? "PUBLISHED" : "UNPUBLISHED"));
	if (published) {
		char lid[24];
		const char *st;

		u = random_rng_below(&vr, 100);
		st = qty == 0 && u < 60 ? "OUT_OF_STOCK"
		     : u < 70		? "ACTIVE"
		     : u < 76		? "OUT_OF_STOCK"
		     : u < 82		? "INACTIVE"
		     : u < 89		? "ENDED"
		     : u < 94		? "EBAY_ENDED"
					: "NOT_LISTED";
		snprintf(lid, sizeof(lid), "%" PRIu64,
			 (uint64_t)(LISTING_ID_BASE + (uint64_t)e->id * 2 + (uint64_t)k));
		listing = json_object();
		json_object_set_new(listing, "listingId", json_string(lid));
		json_object_set_new(listing, "listingStatus", json_string(st));
		json_object_set_new(
		    listing, "soldQuantity",
		    json_integer(random_rng_below(&vr, 4) ? random_rng_below(&vr, 50) : 0));
		if (random_rng_below(&vr, 10) == 0)
			json_object_set_new(listing, "listingOnHold", json_false());
		json_object_set_new(o, "listing", listing);
		iso_date(random_rng_next(&r), date, sizeof(date));
		json_object_set_new(o, "listingStartDate", json_string(date));
	}
	return o;
}

/* ---- field mutations (/sim/mutate) ---- */

/* The slot a mutation of e works on: its first offer, or -1 with none. */
static int mutated_slot(unsigned mask)
{
	return mask & 1u ? 0 : mask & 2u ? 1 : -1;
}

static void set_amount(json_t *pricing, const char *name, long cents)
{
	json_t *a = json_object_get(pricing, name);
	char value[32];

	if (!a)
		return;
	snprintf(value, sizeof(value), "%ld.%02ld", cents / 100, cents % 100);
	json_object_set_new(a, "value", json_string(value));
}

/*
 * Mutation j of offer o (slot k of e): what a seller or a buyer changes on
 * eBay without revising the item. A live listing (PUBLISHED, listing
 * ACTIVE) gets a new price (40%), a new quantity (30%), ends (15%) or is
 * withdrawn (15%); any other offer is published, with a listing that is
 * ACTIVE. An auction's new price is its Buy It Now price where it has one
 * (what eBay shows), else its start price.
 */
static void mutate_offer(const struct sim_entry *e, int k, uint32_t j, json_t *o)
{
	struct random_rng r;
	json_t *listing = json_object_get(o, "listing");
	const char *st = json_string_value(json_object_get(o, "status"));
	const char *ls = json_string_value(json_object_get(listing, "listingStatus"));
	int live = st && !strcmp(st, "PUBLISHED") && ls && !strcmp(ls, "ACTIVE");
	json_int_t qty = json_integer_value(json_object_get(o, "availableQuantity"));
	uint32_t u;

	sim_gen_rng_init(&r, e->seed, e->id, SALT_MUTATE + j * 2 + (uint64_t)k);
	u = random_rng_below(&r, 100);
	if (live && u < 40) {
		json_t *pricing = json_object_get(o, "pricingSummary");
		long cents = 100 + (long)random_rng_below(&r, 50000);
		set_amount(pricing,
			   k == 0 || json_object_get(pricing, "price") ? "price"
								       : "auctionStartPrice",
			   cents);
	} else if (live && u < 70) {
		json_object_set_new(o, "availableQuantity",
				    json_integer((qty + 1 + random_rng_below(&r, 40)) % 50));
	} else if (live && u < 85) {
		json_object_set_new(listing, "listingStatus", json_string("ENDED"));
	} else if (live) {
		json_object_set_new(o, "status", json_string("UNPUBLISHED"));
		json_object_del(o, "listing");
		json_object_del(o, "listingStartDate");
	} else {
		char lid[24];

		snprintf(lid, sizeof(lid), "%" PRIu64,
			 (uint64_t)(LISTING_ID_BASE + (uint64_t)e->id * 2 + (uint64_t)k));
		json_object_set_new(o, "status", json_string("PUBLISHED"));
		json_object_set_new(o, "listing",
				    json_pack("{s:s,s:s,s:i}", "listingId", lid, "listingStatus",
					      "ACTIVE", "soldQuantity", 0));
		json_object_set_new(o, "listingStartDate", json_string("2025-01-01T00:00:00.000Z"));
	}
}

/* Applies e's field mutations, in order, to offer slot k (o). */
static json_t *apply_mutations(const struct sim_entry *e, int k, json_t *o)
{
	uint32_t n = e->version >> SIM_GEN_MUTATION_SHIFT;

	if (o && n && mutated_slot(sim_gen_offer_mask(e)) == k)
		for (uint32_t j = 1; j <= n; j++)
			mutate_offer(e, k, j, o);
	return o;
}

/* A SKU without offers: its mutations move the item's quantity. */
static void mutate_item(const struct sim_entry *e, json_t *item)
{
	uint32_t n = e->version >> SIM_GEN_MUTATION_SHIFT;
	json_t *ship;
	struct random_rng r;

	if (!n || sim_gen_offer_mask(e))
		return;
	ship = json_object_get(json_object_get(item, "availability"), "shipToLocationAvailability");
	sim_gen_rng_init(&r, e->seed, e->id, SALT_MUTATE + n * 2);
	if (ship)
		json_object_set_new(ship, "quantity",
				    json_integer(500 + (json_int_t)random_rng_below(&r, 500)));
}

json_t *sim_gen_offer(const struct sim_entry *e, int k)
{
	struct facts f;
	json_t *o;

	if (k < 0 || k >= SIM_GEN_MAX_OFFERS)
		return NULL;
	if (sim_gen_is_file(e)) {
		json_t *src = json_array_get(e->src->offers[e->id], (size_t)k);
		json_t *q;
		if (!src)
			return NULL;
		o = json_deep_copy(src);
		q = json_object_get(o, "availableQuantity");
		if (edits(e) && json_is_integer(q))
			json_integer_set(q, (json_integer_value(q) + edits(e) * 7) % 1000);
		return apply_mutations(e, k, o);
	}
	stable_facts(e, &f);
	if (!(gen_offer_mask(e, &f) & (1u << k)))
		return NULL;
	return apply_mutations(e, k, gen_offer(e, &f, k));
}

json_t *sim_gen_offers(const struct sim_entry *e)
{
	json_t *a = json_array();

	for (int k = 0; k < SIM_GEN_MAX_OFFERS; k++) {
		json_t *o = sim_gen_offer(e, k);
		if (o)
			json_array_append_new(a, o);
	}
	return a;
}
