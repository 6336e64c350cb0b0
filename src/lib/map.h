/*
 * A string-keyed hash map (open addressing, linear probing) for the loop
 * thread's tables: functions by name, instances by id.
 * The map borrows keys: each key must stay valid while its entry exists
 * (typically it points into the value). Values are opaque pointers.
 */
#ifndef HEARTH_MAP_H
#define HEARTH_MAP_H

#include <stddef.h>

struct map_slot {
	const char *key;	/* NULL: empty; MAP_TOMB: deleted */
	void *value;
};

struct map {
	struct map_slot *slots;
	size_t cap;	/* power of two, or 0 */
	size_t len;	/* live entries */
	size_t used;	/* live + tombstones */
};

#define MAP_INIT { NULL, 0, 0, 0 }

void map_init(struct map *m);
void map_release(struct map *m);	/* frees the table, not keys or values */
void *map_get(const struct map *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *map_put(struct map *m, const char *key, void *value);
/* Removes; returns the value or NULL. */
void *map_del(struct map *m, const char *key);
/* Iteration: for (i = 0; map_next(m, &i, &key, &val);) { ... }; do not put while iterating. */
int map_next(const struct map *m, size_t *iter, const char **key, void **value);

#endif
