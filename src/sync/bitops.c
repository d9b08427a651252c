// SPDX-License-Identifier: MIT
/*
 * Bitmap searches, as the kernel's lib/find_bit.c: scan word by word, invert
 * the word to look for zeros, mask off the bits below the start offset and the
 * bits beyond size in the last word.  Words are read with relaxed loads: a
 * search over a bitmap others are changing sees each word at some instant,
 * which is all the kernel promises too.
 */
#include <kipc/bitops.h>

#define BITS_PER_LONG ((unsigned long)KIPC_BITS_PER_LONG)

static unsigned long find_next(const unsigned long *addr, unsigned long size,
			       unsigned long start, unsigned long invert)
{
	unsigned long word;

	if (start >= size)
		return size;
	word = (__atomic_load_n(&addr[start / BITS_PER_LONG], __ATOMIC_RELAXED) ^ invert)
	       & (~0UL << (start % BITS_PER_LONG));
	start -= start % BITS_PER_LONG;
	while (!word) {
		start += BITS_PER_LONG;
		if (start >= size)
			return size;
		word = __atomic_load_n(&addr[start / BITS_PER_LONG], __ATOMIC_RELAXED) ^ invert;
	}
	start += (unsigned long)__builtin_ctzl(word);
	return start < size ? start : size;
}

unsigned long kipc_find_next_bit(const unsigned long *addr, unsigned long size,
				 unsigned long offset)
{
	return find_next(addr, size, offset, 0);
}

unsigned long kipc_find_first_bit(const unsigned long *addr, unsigned long size)
{
	return find_next(addr, size, 0, 0);
}

unsigned long kipc_find_next_zero_bit(const unsigned long *addr, unsigned long size,
				      unsigned long offset)
{
	return find_next(addr, size, offset, ~0UL);
}

unsigned long kipc_find_first_zero_bit(const unsigned long *addr, unsigned long size)
{
	return find_next(addr, size, 0, ~0UL);
}

unsigned long kipc_find_last_bit(const unsigned long *addr, unsigned long size)
{
	unsigned long idx, word;

	if (!size)
		return size;
	idx = (size - 1) / BITS_PER_LONG;
	/* Keep only the bits below size in the last word. */
	word = __atomic_load_n(&addr[idx], __ATOMIC_RELAXED) & (~0UL >> (-size % BITS_PER_LONG));
	for (;;) {
		if (word)
			return idx * BITS_PER_LONG + BITS_PER_LONG - 1 -
			       (unsigned long)__builtin_clzl(word);
		if (!idx--)
			return size;
		word = __atomic_load_n(&addr[idx], __ATOMIC_RELAXED);
	}
}
