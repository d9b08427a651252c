// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: kipc__obj_check() over arbitrary bytes, as any process
 * able to write an object file could make them.  Built and run by
 * `make fuzz` (ASan + UBSan); the input is a whole object file.
 *
 * For every input the check runs with type 0 (any) and with each known
 * type.  It must answer 0, -EBADMSG or -EINVAL; when it accepts, the
 * geometry it returns must lie inside the buffer (header <= meta_size <=
 * data_off <= data_off + data_size <= size, no overflow), agree with the
 * type asked for, and be the same whichever way the type was asked.  The
 * bytes at the geometry's ends are read so that ASan flags any geometry
 * that escapes the buffer (libFuzzer hands us exactly size bytes).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ipc/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One attach slot of a System V segment's table (struct shm_slot, sysv_shm.c). */
#define SHM_SLOT_BYTES 16

static volatile uint8_t sink;

#define require(cond) do {                                                      \
	if (!(cond)) {                                                          \
		fprintf(stderr, "obj_header: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort();                                                        \
	}                                                                       \
} while (0)

static void touch(const uint8_t *data, uint64_t off)
{
	sink ^= data[off];
}

static int check(const uint8_t *data, size_t size, uint32_t type, struct kipc__obj_geom *g)
{
	int err;

	memset(g, 0xa5, sizeof(*g));	/* no field may be left unset */
	err = kipc__obj_check(data, size, type, g);
	require(err == 0 || err == -EBADMSG || err == -EINVAL);
	if (err)
		return err;
	require(g->type > 0 && g->type < KIPC__OBJ_NTYPES);
	require(!type || g->type == type);
	require(g->file_size == size);
	require(g->meta_size >= sizeof(struct kipc__obj_hdr));
	require(g->meta_size <= g->data_off);
	require(g->data_off <= size);
	require(g->data_size <= size - g->data_off);
	if (g->type == KIPC__OBJ_SYSV_SHM)
		require(g->nelem <= (g->meta_size - sizeof(struct kipc__obj_hdr)) /
				    SHM_SLOT_BYTES);
	touch(data, 0);
	touch(data, g->meta_size - 1);
	touch(data, g->data_off - 1);
	if (g->data_size) {
		touch(data, g->data_off);
		touch(data, g->data_off + g->data_size - 1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kipc__obj_geom any, typed;
	int err = check(data, size, 0, &any);

	for (uint32_t type = 1; type < KIPC__OBJ_NTYPES; type++) {
		int terr = check(data, size, type, &typed);

		if (err == 0 && type == any.type) {
			require(terr == 0);
			require(!memcmp(&any, &typed, sizeof(any)));
		} else if (err == 0) {
			require(terr == -EINVAL);	/* a valid object of another type */
		} else if (err == -EBADMSG) {
			/* Not an object: never accepted as one of some type. */
			require(terr != 0);
		}
	}
	return 0;
}
