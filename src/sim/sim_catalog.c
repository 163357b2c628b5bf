/*
 * The simulator's catalog (see sim_catalog.h).
 *
 * Layout: slots[] holds (id, version) per position, with VACANT gaps; one gap
 * after every GAP_EVERY SKUs at build time, so that added SKUs land in the
 * middle of the order as well as at its end. fen[] is a Fenwick tree over
 * slot occupancy: the SKU at position p is found by descending it. index[]
 * maps a SKU's 32-bit hash to its id with linear probing; the SKU string is
 * recomputed from the id to confirm a match, so the index stores no strings.
 *
 * Sources loaded from files stay allocated until the catalog is freed,
 * because entries copied out by readers may still point at them.
 */
#include "sim_catalog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xalloc.h"
#include "banned.h"

#define VACANT	       UINT32_MAX
#define GAP_EVERY      8
#define MAX_SKUS       10000000u
#define MAX_FILE_BYTES (1024LL * 1024 * 1024)

struct slot {
	uint32_t id;
	uint32_t version;
};

struct index_ent {
	uint32_t id; /* VACANT when empty */
	uint32_t hash;
};

/* A file source plus its offerId lookup table. */
struct file_source {
	struct sim_source pub;
	struct offer_ent {
		const char *offer_id; /* borrowed from the offer JSON */
		uint32_t id;
		int k;
	} * offers;
	size_t offers_mask; /* table size - 1; table empty when offers is NULL */
};

struct sim_catalog {
	pthread_rwlock_t lock;
	uint64_t seed;
	struct file_source *src; /* the current file source, or NULL */
	struct file_source **sources;
	size_t n_sources;

	struct slot *slots;
	size_t n_slots, cap_slots;
	int32_t *fen; /* 1-based, fen_n entries */
	size_t fen_n; /* a power of two >= n_slots */
	uint32_t *vacant;
	size_t n_vacant, cap_vacant;
	uint32_t *pos_of; /* slot of each id, VACANT when removed */
	size_t cap_pos;
	uint32_t next_id;
	size_t live;
	struct index_ent *index;
	size_t index_mask;
	long long churned[3];
};

static uint32_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static struct sim_entry entry_of(const struct sim_catalog *c, uint32_t id, uint32_t version)
{
	struct sim_entry e = {c->src ? &c->src->pub : NULL, c->seed, id, version};
	return e;
}

/* ---- Fenwick tree ---- */

static void fen_add(struct sim_catalog *c, size_t slot, int32_t d)
{
	for (size_t i = slot + 1; i <= c->fen_n; i += i & (~i + 1))
		c->fen[i] += d;
}

/* Rebuilds the tree for the current slots with room for at least want slots. */
static void fen_rebuild(struct sim_catalog *c, size_t want)
{
	size_t n = 1;

	while (n < want)
		n <<= 1;
	free(c->fen);
	c->fen_n = n;
	c->fen = xcalloc(n + 1, sizeof(*c->fen));
	for (size_t i = 0; i < c->n_slots; i++)
		c->fen[i + 1] = c->slots[i].id != VACANT;
	for (size_t i = 1; i <= n; i++) {
		size_t j = i + (i & (~i + 1));
		if (j <= n)
			c->fen[j] += c->fen[i];
	}
}

/* The slot of the SKU at position pos (< live). */
static size_t fen_find(const struct sim_catalog *c, size_t pos)
{
	size_t idx = 0;
	long long rest = (long long)pos;

	for (size_t step = c->fen_n; step; step >>= 1) {
		if (idx + step <= c->fen_n && c->fen[idx + step] <= rest) {
			idx += step;
			rest -= c->fen[idx];
		}
	}
	return idx; /* 0-based slot: the tree is 1-based */
}

/* ---- SKU index ---- */

static int sku_is(const struct sim_catalog *c, uint32_t id, const char *sku, size_t len)
{
	struct sim_entry e = entry_of(c, id, 0);
	char buf[SIM_GEN_SKU_MAX + 1];

	return sim_gen_sku(&e, buf) == len && !memcmp(buf, sku, len);
}

static void index_put(struct index_ent *index, size_t mask, uint32_t id, uint32_t hash)
{
	size_t i = hash & mask;

	while (index[i].id != VACANT)
		i = (i + 1) & mask;
	index[i].id = id;
	index[i].hash = hash;
}

static void index_resize(struct sim_catalog *c, size_t size)
{
	struct index_ent *old = c->index;
	size_t old_size = old ? c->index_mask + 1 : 0;

	c->index = xmalloc(size * sizeof(*c->index));
	memset(c->index, 0xff, size * sizeof(*c->index));
	c->index_mask = size - 1;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].id != VACANT)
			index_put(c->index, c->index_mask, old[i].id, old[i].hash);
	free(old);
}

static long index_find(const struct sim_catalog *c, const char *sku, size_t len)
{
	uint32_t h = hash_bytes(sku, len);

	for (size_t i = h & c->index_mask; c->index[i].id != VACANT; i = (i + 1) & c->index_mask)
		if (c->index[i].hash == h && sku_is(c, c->index[i].id, sku, len))
			return (long)i;
	return -1;
}

/* Removes the entry at i, shifting later entries of its run back. */
static void index_del_at(struct sim_catalog *c, size_t i)
{
	size_t mask = c->index_mask, j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (c->index[j].id == VACANT)
			break;
		home = c->index[j].hash & mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			c->index[i] = c->index[j];
			i = j;
		}
	}
	c->index[i].id = VACANT;
}

/* ---- slots ---- */

static void ensure_pos(struct sim_catalog *c, uint32_t id)
{
	if (id < c->cap_pos)
		return;
	size_t cap = c->cap_pos ? c->cap_pos : 1024;
	while (cap <= id)
		cap *= 2;
	c->pos_of = xrealloc(c->pos_of, cap * sizeof(*c->pos_of));
	memset(c->pos_of + c->cap_pos, 0xff, (cap - c->cap_pos) * sizeof(*c->pos_of));
	c->cap_pos = cap;
}

static void push_vacant(struct sim_catalog *c, uint32_t slot)
{
	if (c->n_vacant == c->cap_vacant) {
		c->cap_vacant = c->cap_vacant ? c->cap_vacant * 2 : 1024;
		c->vacant = xrealloc(c->vacant, c->cap_vacant * sizeof(*c->vacant));
	}
	c->vacant[c->n_vacant++] = slot;
}

/* A new empty slot at the end. */
static uint32_t append_slot(struct sim_catalog *c)
{
	if (c->n_slots == c->cap_slots) {
		c->cap_slots = c->cap_slots ? c->cap_slots * 2 : 1024;
		c->slots = xrealloc(c->slots, c->cap_slots * sizeof(*c->slots));
	}
	c->slots[c->n_slots].id = VACANT;
	c->slots[c->n_slots].version = 0;
	c->n_slots++;
	if (c->n_slots > c->fen_n)
		fen_rebuild(c, c->n_slots * 2);
	return (uint32_t)(c->n_slots - 1);
}

/* Places id in slot, indexing its SKU (of len bytes, hash h). */
static void place(struct sim_catalog *c, uint32_t slot, uint32_t id, uint32_t h)
{
	c->slots[slot].id = id;
	c->slots[slot].version = 0;
	ensure_pos(c, id);
	c->pos_of[id] = slot;
	fen_add(c, slot, 1);
	c->live++;
	if ((c->live + 1) * 2 > c->index_mask + 1)
		index_resize(c, (c->index_mask + 1) * 2);
	index_put(c->index, c->index_mask, id, h);
}

static void clear_locked(struct sim_catalog *c)
{
	FREE_AND_NULL(c->slots);
	FREE_AND_NULL(c->fen);
	FREE_AND_NULL(c->vacant);
	FREE_AND_NULL(c->pos_of);
	FREE_AND_NULL(c->index);
	c->n_slots = c->cap_slots = c->fen_n = c->n_vacant = c->cap_vacant = c->cap_pos = 0;
	c->live = 0;
	c->next_id = 0;
	c->index_mask = 0;
	memset(c->churned, 0, sizeof(c->churned));
}

struct sim_catalog *sim_catalog_new(void)
{
	struct sim_catalog *c = xcalloc(1, sizeof(*c));
	pthread_rwlockattr_t attr;

	/* Writers (churn) must not starve under a steady stream of readers. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	index_resize(c, 1024);
	fen_rebuild(c, 1024);
	return c;
}

void sim_catalog_free(struct sim_catalog *c)
{
	if (!c)
		return;
	clear_locked(c);
	for (size_t i = 0; i < c->n_sources; i++)
		sim_catalog_source_free(&c->sources[i]->pub);
	free(c->sources);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

/* Lays out n SKUs (ids 0..n-1) with a gap after every GAP_EVERY of them. */
static void layout_locked(struct sim_catalog *c, size_t n)
{
	size_t slots = n + n / GAP_EVERY + 1, index_size = 1024;

	c->cap_slots = slots + 1024;
	c->slots = xmalloc(c->cap_slots * sizeof(*c->slots));
	while (index_size < 2 * (n + 1))
		index_size *= 2;
	index_resize(c, index_size);
	ensure_pos(c, (uint32_t)(n ? n - 1 : 0));
	for (uint32_t id = 0; id < n; id++) {
		struct sim_entry e = entry_of(c, id, 0);
		char sku[SIM_GEN_SKU_MAX + 1];
		size_t len = sim_gen_sku(&e, sku);
		uint32_t slot = (uint32_t)c->n_slots++;

		c->slots[slot].id = id;
		c->slots[slot].version = 0;
		c->pos_of[id] = slot;
		index_put(c->index, c->index_mask, id, hash_bytes(sku, len));
		if ((id + 1) % GAP_EVERY == 0) {
			uint32_t gap = (uint32_t)c->n_slots++;
			c->slots[gap].id = VACANT;
			c->slots[gap].version = 0;
			push_vacant(c, gap);
		}
	}
	c->live = n;
	c->next_id = (uint32_t)n;
	fen_rebuild(c, c->n_slots + 1);
}

static enum error load_file(const char *path, struct file_source **out, struct buf *why)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *text = NULL;
	enum error err = ERR_OK;

	*out = NULL;
	if (!f) {
		buf_addf(why, "cannot open catalog file '%s': %s", path, strerror(errno));
		return ERR_IO;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		buf_addf(why, "catalog file '%s' is not a regular file", path);
		err = ERR_IO;
		goto out;
	}
	if (st.st_size > MAX_FILE_BYTES) {
		buf_addf(why, "catalog file '%s' is larger than %lld bytes", path, MAX_FILE_BYTES);
		err = ERR_TOOBIG;
		goto out;
	}
	text = xmalloc((size_t)st.st_size + 1);
	if (fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		buf_addf(why, "cannot read catalog file '%s': %s", path, strerror(errno));
		err = ERR_IO;
		goto out;
	}
	{
		size_t mark = why->len;
		struct sim_source *s = sim_catalog_parse_source(text, (size_t)st.st_size, why);
		if (!s) {
			/* Name the file before the reason. */
			char *reason = xstrdup(buf_str(why) + mark);
			why->len = mark;
			buf_addf(why, "catalog file '%s': %s", path, reason);
			free(reason);
			err = ERR_PARSE;
			goto out;
		}
		*out = (struct file_source *)s;
	}
out:
	free(text);
	fclose(f);
	return err;
}

enum error sim_catalog_build(struct sim_catalog *c, uint64_t seed, long long skus, const char *file,
			     struct buf *why)
{
	struct file_source *fs = NULL;
	enum error err;

	if (file && *file) {
		err = load_file(file, &fs, why);
		if (err)
			return err;
	} else if (skus < 0 || skus > MAX_SKUS) {
		buf_addf(why, "invalid number of SKUs %lld (want 0 to %u)", skus, MAX_SKUS);
		return ERR_INVALID;
	}
	pthread_rwlock_wrlock(&c->lock);
	clear_locked(c);
	c->seed = seed;
	c->src = fs;
	if (fs) {
		c->sources = xrealloc(c->sources, (c->n_sources + 1) * sizeof(*c->sources));
		c->sources[c->n_sources++] = fs;
	}
	layout_locked(c, fs ? fs->pub.n : (size_t)skus);
	pthread_rwlock_unlock(&c->lock);
	return ERR_OK;
}

size_t sim_catalog_count(struct sim_catalog *c)
{
	size_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->live;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

size_t sim_catalog_page(struct sim_catalog *c, size_t pos, size_t n, struct sim_entry *out,
			size_t *total)
{
	size_t got = 0;

	pthread_rwlock_rdlock(&c->lock);
	*total = c->live;
	if (pos < c->live) {
		for (size_t s = fen_find(c, pos); s < c->n_slots && got < n; s++)
			if (c->slots[s].id != VACANT)
				out[got++] = entry_of(c, c->slots[s].id, c->slots[s].version);
	}
	pthread_rwlock_unlock(&c->lock);
	return got;
}

int sim_catalog_find_sku(struct sim_catalog *c, const char *sku, size_t len, struct sim_entry *out)
{
	long at;
	int rc = -1;

	if (len == 0 || len > SIM_GEN_SKU_MAX)
		return -1;
	pthread_rwlock_rdlock(&c->lock);
	at = index_find(c, sku, len);
	if (at >= 0) {
		uint32_t id = c->index[at].id;
		*out = entry_of(c, id, c->slots[c->pos_of[id]].version);
		rc = 0;
	}
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

static int find_file_offer(const struct file_source *fs, const char *offer_id, uint32_t *id, int *k)
{
	if (!fs || !fs->offers)
		return -1;
	for (size_t i = hash_bytes(offer_id, strlen(offer_id)) & fs->offers_mask;
	     fs->offers[i].offer_id; i = (i + 1) & fs->offers_mask) {
		if (!strcmp(fs->offers[i].offer_id, offer_id)) {
			*id = fs->offers[i].id;
			*k = fs->offers[i].k;
			return 0;
		}
	}
	return -1;
}

int sim_catalog_find_offer(struct sim_catalog *c, const char *offer_id, struct sim_entry *out,
			   int *k)
{
	uint32_t id = 0;
	int rc = -1;

	pthread_rwlock_rdlock(&c->lock);
	if (!find_file_offer(c->src, offer_id, &id, k) ||
	    (!sim_gen_parse_offer_id(offer_id, &id, k) && !(c->src && id < c->src->pub.n))) {
		if (id < c->cap_pos && c->pos_of[id] != VACANT) {
			*out = entry_of(c, id, c->slots[c->pos_of[id]].version);
			rc = 0;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

struct sim_entry *sim_catalog_snapshot(struct sim_catalog *c, size_t *n)
{
	struct sim_entry *out;
	size_t got = 0;

	pthread_rwlock_rdlock(&c->lock);
	out = xmalloc((c->live ? c->live : 1) * sizeof(*out));
	for (size_t s = 0; s < c->n_slots; s++)
		if (c->slots[s].id != VACANT)
			out[got++] = entry_of(c, c->slots[s].id, c->slots[s].version);
	pthread_rwlock_unlock(&c->lock);
	*n = got;
	return out;
}

/* Adds a new SKU into a random gap; returns its slot, or VACANT. */
static uint32_t churn_add(struct sim_catalog *c, struct random_rng *rng)
{
	/* A generated SKU may collide with one from a file: take the next id. */
	for (int tries = 0; tries < 16 && c->next_id < VACANT - 1; tries++) {
		uint32_t id = c->next_id++;
		struct sim_entry e = entry_of(c, id, 0);
		char sku[SIM_GEN_SKU_MAX + 1];
		size_t len = sim_gen_sku(&e, sku);
		uint32_t slot;

		if (index_find(c, sku, len) >= 0)
			continue;
		if (c->n_vacant) {
			size_t v = random_rng_below(rng, (uint32_t)c->n_vacant);
			slot = c->vacant[v];
			c->vacant[v] = c->vacant[--c->n_vacant];
		} else {
			slot = append_slot(c);
		}
		place(c, slot, id, hash_bytes(sku, len));
		return slot;
	}
	return VACANT;
}

/* Removes the SKU in slot. */
static void remove_slot(struct sim_catalog *c, size_t slot)
{
	uint32_t id = c->slots[slot].id;
	struct sim_entry e = entry_of(c, id, 0);
	char sku[SIM_GEN_SKU_MAX + 1];
	size_t len = sim_gen_sku(&e, sku);
	long at = index_find(c, sku, len);

	if (at >= 0)
		index_del_at(c, (size_t)at);
	c->pos_of[id] = VACANT;
	c->slots[slot].id = VACANT;
	fen_add(c, slot, -1);
	c->live--;
	push_vacant(c, (uint32_t)slot);
}

enum sim_churn_op sim_catalog_churn(struct sim_catalog *c, struct random_rng *rng)
{
	uint32_t u = random_rng_below(rng, 4);
	enum sim_churn_op op = u == 0 ? SIM_CHURN_ADD : u == 1 ? SIM_CHURN_REMOVE : SIM_CHURN_EDIT;

	pthread_rwlock_wrlock(&c->lock);
	if (c->live == 0)
		op = SIM_CHURN_ADD;
	switch (op) {
	case SIM_CHURN_ADD:
		churn_add(c, rng);
		break;
	case SIM_CHURN_REMOVE:
		remove_slot(c, fen_find(c, random_rng_below(rng, (uint32_t)c->live)));
		break;
	case SIM_CHURN_EDIT:
		c->slots[fen_find(c, random_rng_below(rng, (uint32_t)c->live))].version++;
		break;
	}
	c->churned[op]++;
	pthread_rwlock_unlock(&c->lock);
	return op;
}

int sim_catalog_apply(struct sim_catalog *c, enum sim_churn_op op, struct random_rng *rng,
		      const char *sku, struct sim_entry *before, struct sim_entry *after)
{
	size_t slot = VACANT;
	int rc = 0;

	memset(before, 0, sizeof(*before));
	memset(after, 0, sizeof(*after));
	pthread_rwlock_wrlock(&c->lock);
	if (op != SIM_CHURN_ADD && sku) {
		long at = index_find(c, sku, strlen(sku));

		if (at >= 0)
			slot = c->pos_of[c->index[at].id];
	} else if (op != SIM_CHURN_ADD && c->live) {
		slot = fen_find(c, random_rng_below(rng, (uint32_t)c->live));
	}
	if (op != SIM_CHURN_ADD && slot == VACANT) {
		rc = -1;
		goto out;
	}
	if (op != SIM_CHURN_ADD)
		*before = entry_of(c, c->slots[slot].id, c->slots[slot].version);
	switch (op) {
	case SIM_CHURN_ADD:
		slot = churn_add(c, rng);
		if (slot == VACANT) {
			rc = -1;
			goto out;
		}
		*after = entry_of(c, c->slots[slot].id, c->slots[slot].version);
		break;
	case SIM_CHURN_REMOVE:
		remove_slot(c, slot);
		break;
	case SIM_CHURN_EDIT:
		c->slots[slot].version++;
		*after = entry_of(c, c->slots[slot].id, c->slots[slot].version);
		break;
	}
	c->churned[op]++;
out:
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

size_t sim_catalog_mutate(struct sim_catalog *c, size_t n, struct random_rng *rng,
			  struct sim_entry **out)
{
	size_t left, seen = 0, got = 0;

	pthread_rwlock_wrlock(&c->lock);
	if (n > c->live)
		n = c->live;
	*out = xmalloc((n ? n : 1) * sizeof(**out));
	/* Selection sampling (Knuth's algorithm S): each live SKU is taken
	 * with probability (wanted left) / (SKUs left), so exactly n are. */
	for (size_t s = 0; s < c->n_slots && got < n; s++) {
		struct slot *sl = &c->slots[s];

		if (sl->id == VACANT)
			continue;
		left = c->live - seen++;
		if (random_rng_below(rng, (uint32_t)left) >= n - got)
			continue;
		if ((sl->version >> SIM_GEN_MUTATION_SHIFT) < SIM_GEN_MUTATIONS_MAX)
			sl->version += 1u << SIM_GEN_MUTATION_SHIFT;
		else
			sl->version++; /* mutations used up: a churn edit instead */
		(*out)[got++] = entry_of(c, sl->id, sl->version);
	}
	pthread_rwlock_unlock(&c->lock);
	return got;
}

void sim_catalog_churn_counts(struct sim_catalog *c, long long counts[3])
{
	pthread_rwlock_rdlock(&c->lock);
	memcpy(counts, c->churned, sizeof(c->churned));
	pthread_rwlock_unlock(&c->lock);
}

/* ---- catalog files ---- */

void sim_catalog_source_free(struct sim_source *s)
{
	struct file_source *fs = (struct file_source *)s;

	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->skus[i]);
		json_decref(s->items[i]);
		json_decref(s->offers[i]);
	}
	free(s->skus);
	free(s->items);
	free(s->offers);
	free(fs->offers);
	free(fs);
}

static void source_push(struct file_source *fs, size_t *cap, const char *sku, json_t *item,
			json_t *offers)
{
	struct sim_source *s = &fs->pub;

	if (s->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		s->skus = xrealloc(s->skus, *cap * sizeof(*s->skus));
		s->items = xrealloc(s->items, *cap * sizeof(*s->items));
		s->offers = xrealloc(s->offers, *cap * sizeof(*s->offers));
	}
	s->skus[s->n] = xstrdup(sku);
	s->items[s->n] = item;
	s->offers[s->n] = offers;
	s->n++;
}

/* Checks one SKU's parts; takes item and offers (new references). */
static int add_sku(struct file_source *fs, size_t *cap, const json_t *sku_json, json_t *item,
		   json_t *offers, size_t at, struct buf *why)
{
	const char *sku = json_string_value(sku_json);
	size_t len = json_string_length(sku_json);

	if (!sku || !len || len > SIM_GEN_SKU_MAX || strlen(sku) != len) {
		buf_addf(why, "record %zu: \"sku\" must be a string of 1 to %d bytes", at,
			 SIM_GEN_SKU_MAX);
		goto fail;
	}
	if (!json_is_object(item)) {
		buf_addf(why, "record %zu (sku '%s'): \"item\" must be an object", at, sku);
		goto fail;
	}
	if (!offers)
		offers = json_array();
	if (!json_is_array(offers) || json_array_size(offers) > SIM_GEN_MAX_OFFERS) {
		buf_addf(why, "record %zu (sku '%s'): \"offers\" must be an array of at most %d",
			 at, sku, SIM_GEN_MAX_OFFERS);
		goto fail;
	}
	for (size_t k = 0; k < json_array_size(offers); k++) {
		json_t *o = json_array_get(offers, k);
		if (!json_is_object(o) || !json_is_string(json_object_get(o, "offerId"))) {
			buf_addf(why, "record %zu (sku '%s'): offer %zu has no string \"offerId\"",
				 at, sku, k);
			goto fail;
		}
		json_object_set_new(o, "sku", json_string(sku));
	}
	json_object_set_new(item, "sku", json_string(sku));
	if (fs->pub.n >= MAX_SKUS) {
		buf_addf(why, "more than %u SKUs", MAX_SKUS);
		goto fail;
	}
	source_push(fs, cap, sku, item, offers);
	return 0;
fail:
	json_decref(item);
	json_decref(offers);
	return -1;
}

/* Format B: {"inventoryItems":[...], "offers":[...]}; offers matched by sku. */
static int add_contract_shape(struct file_source *fs, size_t *cap, json_t *root, struct buf *why)
{
	json_t *items = json_object_get(root, "inventoryItems");
	json_t *offers = json_object_get(root, "offers");
	size_t i;
	json_t *item;

	if (!json_is_array(items) || (offers && !json_is_array(offers))) {
		buf_adds(why, "\"inventoryItems\" and \"offers\" must be arrays");
		return -1;
	}
	json_array_foreach(items, i, item)
	{
		json_t *mine = json_array();
		size_t j;
		json_t *o;

		json_array_foreach(offers, j, o)
		{
			if (json_is_object(o) &&
			    json_equal(json_object_get(o, "sku"), json_object_get(item, "sku")))
				json_array_append_new(mine, json_deep_copy(o));
		}
		if (add_sku(fs, cap, json_object_get(item, "sku"), json_deep_copy(item), mine, i,
			    why))
			return -1;
	}
	return 0;
}

/* Builds the offerId table and checks SKUs and offerIds are unique. */
static int index_source(struct file_source *fs, struct buf *why)
{
	struct sim_source *s = &fs->pub;
	size_t n_offers = 0, size = 16, mask;
	struct index_ent *skus;
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		n_offers += json_array_size(s->offers[i]);
	while (size < 2 * (s->n > n_offers ? s->n : n_offers) + 2)
		size *= 2;
	mask = size - 1;
	skus = xmalloc(size * sizeof(*skus));
	memset(skus, 0xff, size * sizeof(*skus));
	fs->offers = xcalloc(size, sizeof(*fs->offers));
	fs->offers_mask = mask;
	for (size_t i = 0; i < s->n && !rc; i++) {
		uint32_t h = hash_bytes(s->skus[i], strlen(s->skus[i]));
		size_t at = h & mask;

		for (; skus[at].id != VACANT; at = (at + 1) & mask) {
			if (!strcmp(s->skus[skus[at].id], s->skus[i])) {
				buf_addf(why, "duplicate sku '%s' (records %u and %zu)", s->skus[i],
					 skus[at].id, i);
				rc = -1;
				break;
			}
		}
		skus[at].id = (uint32_t)i;
		skus[at].hash = h;
		for (size_t k = 0; k < json_array_size(s->offers[i]) && !rc; k++) {
			const char *oid = json_string_value(
			    json_object_get(json_array_get(s->offers[i], k), "offerId"));
			uint32_t dummy_id;
			int dummy_k;

			if (!find_file_offer(fs, oid, &dummy_id, &dummy_k)) {
				buf_addf(why, "duplicate offerId '%s' (sku '%s')", oid, s->skus[i]);
				rc = -1;
				break;
			}
			at = hash_bytes(oid, strlen(oid)) & mask;
			while (fs->offers[at].offer_id)
				at = (at + 1) & mask;
			fs->offers[at].offer_id = oid;
			fs->offers[at].id = (uint32_t)i;
			fs->offers[at].k = (int)k;
		}
	}
	free(skus);
	return rc;
}

struct sim_source *sim_catalog_parse_source(const char *text, size_t len, struct buf *why)
{
	struct file_source *fs = xcalloc(1, sizeof(*fs));
	size_t off = 0, cap = 0, record = 0;

	for (;;) {
		json_error_t jerr;
		json_t *v;

		while (off < len && (text[off] == ' ' || text[off] == '\n' || text[off] == '\r' ||
				     text[off] == '\t'))
			off++;
		if (off >= len)
			break;
		v = json_loadb(text + off, len - off,
			       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
		if (!v) {
			buf_addf(why, "record %zu is not valid JSON: %s", record, jerr.text);
			goto fail;
		}
		off += (size_t)jerr.position;
		if (!json_is_object(v)) {
			buf_addf(why, "record %zu is not a JSON object", record);
			json_decref(v);
			goto fail;
		}
		if (json_object_get(v, "inventoryItems")) {
			int rc = record == 0 ? add_contract_shape(fs, &cap, v, why) : -1;
			if (record != 0)
				buf_adds(why,
					 "an {\"inventoryItems\"} object must be the whole file");
			json_decref(v);
			if (rc)
				goto fail;
			record++;
			continue;
		}
		if (add_sku(fs, &cap, json_object_get(v, "sku"),
			    json_incref(json_object_get(v, "item")),
			    json_incref(json_object_get(v, "offers")), record, why)) {
			json_decref(v);
			goto fail;
		}
		json_decref(v);
		record++;
	}
	if (fs->pub.n == 0) {
		buf_adds(why, "no SKUs in the catalog");
		goto fail;
	}
	if (index_source(fs, why))
		goto fail;
	return &fs->pub;
fail:
	sim_catalog_source_free(&fs->pub);
	return NULL;
}
