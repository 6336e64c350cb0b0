#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"

static const char map_tomb[1];
#define MAP_TOMB map_tomb

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

void
map_init(struct map *m)
{
	memset(m, 0, sizeof(*m));
}

void
map_release(struct map *m)
{
	free(m->slots);
	map_init(m);
}

static struct map_slot *
find(const struct map *m, const char *key)
{
	size_t i, mask;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = hash(key) & mask;; i = (i + 1) & mask) {
		struct map_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != MAP_TOMB && strcmp(s->key, key) == 0)
			return s;
	}
}

static void
insert(struct map *m, const char *key, void *value)
{
	size_t i, mask = m->cap - 1;

	for (i = hash(key) & mask; m->slots[i].key && m->slots[i].key != MAP_TOMB; i = (i + 1) & mask)
		;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->len++;
}

static void
resize(struct map *m, size_t cap)
{
	struct map_slot *old = m->slots;
	size_t i, oldcap = m->cap;

	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	m->len = 0;
	m->used = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].key && old[i].key != MAP_TOMB)
			insert(m, old[i].key, old[i].value);
	free(old);
}

void *
map_get(const struct map *m, const char *key)
{
	struct map_slot *s = find(m, key);

	return s ? s->value : NULL;
}

void *
map_put(struct map *m, const char *key, void *value)
{
	struct map_slot *s = find(m, key);
	void *prev;

	if (s) {
		prev = s->value;
		s->key = key;
		s->value = value;
		return prev;
	}
	/* Keep the load (tombstones included) under 3/4 so probes stay short. */
	if ((m->used + 1) * 4 >= m->cap * 3)
		resize(m, m->cap ? (m->len * 2 >= m->cap ? m->cap * 2 : m->cap) : 16);
	insert(m, key, value);
	return NULL;
}

void *
map_del(struct map *m, const char *key)
{
	struct map_slot *s = find(m, key);
	void *prev;

	if (!s)
		return NULL;
	prev = s->value;
	s->key = MAP_TOMB;
	s->value = NULL;
	m->len--;
	return prev;
}

int
map_next(const struct map *m, size_t *iter, const char **key, void **value)
{
	while (*iter < m->cap) {
		struct map_slot *s = &m->slots[(*iter)++];

		if (s->key && s->key != MAP_TOMB) {
			if (key)
				*key = s->key;
			if (value)
				*value = s->value;
			return 1;
		}
	}
	return 0;
}
