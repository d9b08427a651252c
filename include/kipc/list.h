/* SPDX-License-Identifier: MIT */
/*
 * kipc/list.h - the kernel's doubly linked lists (include/linux/list.h).
 *
 * Circular lists with a head node:
 *   struct kipc_list_head     KIPC_LIST_HEAD(name)   KIPC_LIST_HEAD_INIT(name)
 *   kipc_INIT_LIST_HEAD(head)
 *   kipc_list_add(new, head)          after head (a stack)
 *   kipc_list_add_tail(new, head)     before head (a queue)
 *   kipc_list_del(entry)              unlink; the entry's pointers are poisoned
 *   kipc_list_del_init(entry)         unlink and re-initialise
 *   kipc_list_replace(old, new)  kipc_list_replace_init(old, new)
 *   kipc_list_move(entry, head)  kipc_list_move_tail(entry, head)
 *   kipc_list_empty(head)  kipc_list_is_first(e, head)  kipc_list_is_last(e, head)
 *   kipc_list_is_singular(head)
 *   kipc_list_splice(list, head)  kipc_list_splice_tail(list, head)
 *   kipc_list_splice_init(list, head)  kipc_list_splice_tail_init(list, head)
 *   kipc_list_entry(ptr, type, member)          kipc_container_of
 *   kipc_list_first_entry(head, type, member)   kipc_list_last_entry(...)
 *   kipc_list_first_entry_or_null(head, type, member)
 *   kipc_list_next_entry(pos, member)  kipc_list_prev_entry(pos, member)
 *   kipc_list_for_each(pos, head)  kipc_list_for_each_safe(pos, n, head)
 *   kipc_list_for_each_entry(pos, head, member)
 *   kipc_list_for_each_entry_reverse(pos, head, member)
 *   kipc_list_for_each_entry_safe(pos, n, head, member)
 *
 * Hash lists, a head of one pointer:
 *   struct kipc_hlist_head, struct kipc_hlist_node
 *   KIPC_HLIST_HEAD(name)  KIPC_HLIST_HEAD_INIT  kipc_INIT_HLIST_HEAD(h)
 *   kipc_INIT_HLIST_NODE(n)  kipc_hlist_unhashed(n)  kipc_hlist_empty(h)
 *   kipc_hlist_add_head(n, h)  kipc_hlist_add_before(n, next)
 *   kipc_hlist_add_behind(n, prev)  kipc_hlist_del(n)  kipc_hlist_del_init(n)
 *   kipc_hlist_entry(ptr, type, member)
 *   kipc_hlist_for_each(pos, head)  kipc_hlist_for_each_safe(pos, n, head)
 *   kipc_hlist_for_each_entry(pos, head, member)
 *   kipc_hlist_for_each_entry_safe(pos, n, head, member)
 *
 * Pointer stores that a concurrent RCU reader may see are WRITE_ONCE, as in
 * the kernel, so kipc/rculist.h can build on these.  The caller excludes
 * concurrent writers.
 */
#ifndef KIPC_LIST_H
#define KIPC_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <kipc/barrier.h>
#include <kipc/compiler.h>

struct kipc_list_head {
	struct kipc_list_head *next, *prev;
};

struct kipc_hlist_head {
	struct kipc_hlist_node *first;
};

struct kipc_hlist_node {
	struct kipc_hlist_node *next, **pprev;
};

/* Deleted entries point here: a use after list_del faults at a clear address. */
#define KIPC_LIST_POISON1 ((void *)0x100)
#define KIPC_LIST_POISON2 ((void *)0x122)

#define KIPC_LIST_HEAD_INIT(name) { &(name), &(name) }
#define KIPC_LIST_HEAD(name) struct kipc_list_head name = KIPC_LIST_HEAD_INIT(name)

KIPC_INLINE void kipc_INIT_LIST_HEAD(struct kipc_list_head *list)
{
	KIPC_WRITE_ONCE(list->next, list);
	KIPC_WRITE_ONCE(list->prev, list);
}

KIPC_INLINE void kipc___list_add(struct kipc_list_head *new, struct kipc_list_head *prev,
				 struct kipc_list_head *next)
{
	next->prev = new;
	new->next = next;
	new->prev = prev;
	KIPC_WRITE_ONCE(prev->next, new);
}

KIPC_INLINE void kipc_list_add(struct kipc_list_head *new, struct kipc_list_head *head)
{
	kipc___list_add(new, head, head->next);
}

KIPC_INLINE void kipc_list_add_tail(struct kipc_list_head *new, struct kipc_list_head *head)
{
	kipc___list_add(new, head->prev, head);
}

KIPC_INLINE void kipc___list_del(struct kipc_list_head *prev, struct kipc_list_head *next)
{
	next->prev = prev;
	KIPC_WRITE_ONCE(prev->next, next);
}

KIPC_INLINE void kipc___list_del_entry(struct kipc_list_head *entry)
{
	kipc___list_del(entry->prev, entry->next);
}

KIPC_INLINE void kipc_list_del(struct kipc_list_head *entry)
{
	kipc___list_del_entry(entry);
	entry->next = (struct kipc_list_head *)KIPC_LIST_POISON1;
	entry->prev = (struct kipc_list_head *)KIPC_LIST_POISON2;
}

KIPC_INLINE void kipc_list_del_init(struct kipc_list_head *entry)
{
	kipc___list_del_entry(entry);
	kipc_INIT_LIST_HEAD(entry);
}

KIPC_INLINE void kipc_list_replace(struct kipc_list_head *old, struct kipc_list_head *new)
{
	new->next = old->next;
	new->next->prev = new;
	new->prev = old->prev;
	KIPC_WRITE_ONCE(new->prev->next, new);
}

KIPC_INLINE void kipc_list_replace_init(struct kipc_list_head *old, struct kipc_list_head *new)
{
	kipc_list_replace(old, new);
	kipc_INIT_LIST_HEAD(old);
}

KIPC_INLINE void kipc_list_move(struct kipc_list_head *list, struct kipc_list_head *head)
{
	kipc___list_del_entry(list);
	kipc_list_add(list, head);
}

KIPC_INLINE void kipc_list_move_tail(struct kipc_list_head *list, struct kipc_list_head *head)
{
	kipc___list_del_entry(list);
	kipc_list_add_tail(list, head);
}

KIPC_INLINE bool kipc_list_empty(const struct kipc_list_head *head)
{
	return KIPC_READ_ONCE(head->next) == head;
}

KIPC_INLINE bool kipc_list_is_first(const struct kipc_list_head *list,
				    const struct kipc_list_head *head)
{
	return list->prev == head;
}

KIPC_INLINE bool kipc_list_is_last(const struct kipc_list_head *list,
				   const struct kipc_list_head *head)
{
	return list->next == head;
}

KIPC_INLINE bool kipc_list_is_singular(const struct kipc_list_head *head)
{
	return !kipc_list_empty(head) && head->next == head->prev;
}

KIPC_INLINE void kipc___list_splice(const struct kipc_list_head *list,
				    struct kipc_list_head *prev, struct kipc_list_head *next)
{
	struct kipc_list_head *first = list->next, *last = list->prev;

	first->prev = prev;
	prev->next = first;
	last->next = next;
	next->prev = last;
}

KIPC_INLINE void kipc_list_splice(const struct kipc_list_head *list, struct kipc_list_head *head)
{
	if (!kipc_list_empty(list))
		kipc___list_splice(list, head, head->next);
}

KIPC_INLINE void kipc_list_splice_tail(const struct kipc_list_head *list,
				       struct kipc_list_head *head)
{
	if (!kipc_list_empty(list))
		kipc___list_splice(list, head->prev, head);
}

KIPC_INLINE void kipc_list_splice_init(struct kipc_list_head *list, struct kipc_list_head *head)
{
	if (!kipc_list_empty(list)) {
		kipc___list_splice(list, head, head->next);
		kipc_INIT_LIST_HEAD(list);
	}
}

KIPC_INLINE void kipc_list_splice_tail_init(struct kipc_list_head *list,
					    struct kipc_list_head *head)
{
	if (!kipc_list_empty(list)) {
		kipc___list_splice(list, head->prev, head);
		kipc_INIT_LIST_HEAD(list);
	}
}

#define kipc_list_entry(ptr, type, member) kipc_container_of(ptr, type, member)
#define kipc_list_first_entry(ptr, type, member) kipc_list_entry((ptr)->next, type, member)
#define kipc_list_last_entry(ptr, type, member) kipc_list_entry((ptr)->prev, type, member)
#define kipc_list_first_entry_or_null(ptr, type, member) ({                  \
	struct kipc_list_head *head__ = (ptr);                                 \
	struct kipc_list_head *pos__ = KIPC_READ_ONCE(head__->next);           \
	pos__ != head__ ? kipc_list_entry(pos__, type, member) : NULL; })
#define kipc_list_next_entry(pos, member) \
	kipc_list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define kipc_list_prev_entry(pos, member) \
	kipc_list_entry((pos)->member.prev, __typeof__(*(pos)), member)

#define kipc_list_for_each(pos, head) \
	for (pos = (head)->next; pos != (head); pos = pos->next)
#define kipc_list_for_each_safe(pos, n, head) \
	for (pos = (head)->next, n = pos->next; pos != (head); pos = n, n = pos->next)
#define kipc_list_for_each_entry(pos, head, member)                           \
	for (pos = kipc_list_first_entry(head, __typeof__(*pos), member);      \
	     &pos->member != (head);                                           \
	     pos = kipc_list_next_entry(pos, member))
#define kipc_list_for_each_entry_reverse(pos, head, member)                   \
	for (pos = kipc_list_last_entry(head, __typeof__(*pos), member);       \
	     &pos->member != (head);                                           \
	     pos = kipc_list_prev_entry(pos, member))
#define kipc_list_for_each_entry_safe(pos, n, head, member)                   \
	for (pos = kipc_list_first_entry(head, __typeof__(*pos), member),      \
	     n = kipc_list_next_entry(pos, member);                            \
	     &pos->member != (head);                                           \
	     pos = n, n = kipc_list_next_entry(n, member))

/* ---- hlist ---- */

#define KIPC_HLIST_HEAD_INIT { .first = NULL }
#define KIPC_HLIST_HEAD(name) struct kipc_hlist_head name = KIPC_HLIST_HEAD_INIT

KIPC_INLINE void kipc_INIT_HLIST_HEAD(struct kipc_hlist_head *h)
{
	h->first = NULL;
}

KIPC_INLINE void kipc_INIT_HLIST_NODE(struct kipc_hlist_node *n)
{
	n->next = NULL;
	n->pprev = NULL;
}

KIPC_INLINE bool kipc_hlist_unhashed(const struct kipc_hlist_node *n)
{
	return !n->pprev;
}

KIPC_INLINE bool kipc_hlist_empty(const struct kipc_hlist_head *h)
{
	return !KIPC_READ_ONCE(h->first);
}

KIPC_INLINE void kipc___hlist_del(struct kipc_hlist_node *n)
{
	struct kipc_hlist_node *next = n->next, **pprev = n->pprev;

	KIPC_WRITE_ONCE(*pprev, next);
	if (next)
		next->pprev = pprev;
}

KIPC_INLINE void kipc_hlist_del(struct kipc_hlist_node *n)
{
	kipc___hlist_del(n);
	n->next = (struct kipc_hlist_node *)KIPC_LIST_POISON1;
	n->pprev = (struct kipc_hlist_node **)KIPC_LIST_POISON2;
}

KIPC_INLINE void kipc_hlist_del_init(struct kipc_hlist_node *n)
{
	if (!kipc_hlist_unhashed(n)) {
		kipc___hlist_del(n);
		kipc_INIT_HLIST_NODE(n);
	}
}

KIPC_INLINE void kipc_hlist_add_head(struct kipc_hlist_node *n, struct kipc_hlist_head *h)
{
	struct kipc_hlist_node *first = h->first;

	n->next = first;
	if (first)
		first->pprev = &n->next;
	KIPC_WRITE_ONCE(h->first, n);
	n->pprev = &h->first;
}

KIPC_INLINE void kipc_hlist_add_before(struct kipc_hlist_node *n, struct kipc_hlist_node *next)
{
	n->pprev = next->pprev;
	n->next = next;
	next->pprev = &n->next;
	KIPC_WRITE_ONCE(*(n->pprev), n);
}

KIPC_INLINE void kipc_hlist_add_behind(struct kipc_hlist_node *n, struct kipc_hlist_node *prev)
{
	n->next = prev->next;
	KIPC_WRITE_ONCE(prev->next, n);
	n->pprev = &prev->next;
	if (n->next)
		n->next->pprev = &n->next;
}

#define kipc_hlist_entry(ptr, type, member) kipc_container_of(ptr, type, member)
#define kipc_hlist_entry_safe(ptr, type, member) ({                          \
	__typeof__(ptr) ____ptr = (ptr);                                       \
	____ptr ? kipc_hlist_entry(____ptr, type, member) : NULL; })
#define kipc_hlist_for_each(pos, head) \
	for (pos = (head)->first; pos; pos = pos->next)
#define kipc_hlist_for_each_safe(pos, n, head) \
	for (pos = (head)->first; pos && ({ n = pos->next; 1; }); pos = n)
#define kipc_hlist_for_each_entry(pos, head, member)                          \
	for (pos = kipc_hlist_entry_safe((head)->first, __typeof__(*(pos)), member); \
	     pos;                                                              \
	     pos = kipc_hlist_entry_safe((pos)->member.next, __typeof__(*(pos)), member))
#define kipc_hlist_for_each_entry_safe(pos, n, head, member)                  \
	for (pos = kipc_hlist_entry_safe((head)->first, __typeof__(*pos), member); \
	     pos && ({ n = pos->member.next; 1; });                            \
	     pos = kipc_hlist_entry_safe(n, __typeof__(*pos), member))

#endif /* KIPC_LIST_H */
