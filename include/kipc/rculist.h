/* SPDX-License-Identifier: MIT */
/*
 * kipc/rculist.h - the kernel's RCU-safe list operations.
 *
 * Writers (excluding each other with a lock) change a list while readers in
 * kipc_rcu_read_lock() sections traverse it:
 *   kipc_list_add_rcu(new, head)      kipc_list_add_tail_rcu(new, head)
 *   kipc_list_del_rcu(entry)          unlinks; entry->next stays valid for a
 *                                     reader standing on it; free only after
 *                                     a grace period
 *   kipc_list_replace_rcu(old, new)
 *   kipc_list_entry_rcu(ptr, type, member)
 *   kipc_list_first_or_null_rcu(head, type, member)
 *   kipc_list_for_each_entry_rcu(pos, head, member)
 *   kipc_hlist_add_head_rcu(n, h)     kipc_hlist_add_before_rcu(n, next)
 *   kipc_hlist_add_behind_rcu(n, prev)
 *   kipc_hlist_del_rcu(n)             kipc_hlist_del_init_rcu(n)
 *   kipc_hlist_replace_rcu(old, new)
 *   kipc_hlist_for_each_entry_rcu(pos, head, member)
 *
 * A new entry is published with a release store of the pointer that makes
 * it reachable (rcu_assign_pointer), so a reader that finds it sees it
 * initialised; readers follow next pointers with rcu_dereference.
 */
#ifndef KIPC_RCULIST_H
#define KIPC_RCULIST_H

#include <kipc/list.h>
#include <kipc/rcu.h>

KIPC_INLINE void kipc___list_add_rcu(struct kipc_list_head *new, struct kipc_list_head *prev,
				     struct kipc_list_head *next)
{
	new->next = next;
	new->prev = prev;
	kipc_rcu_assign_pointer(prev->next, new);
	next->prev = new;
}

KIPC_INLINE void kipc_list_add_rcu(struct kipc_list_head *new, struct kipc_list_head *head)
{
	kipc___list_add_rcu(new, head, head->next);
}

KIPC_INLINE void kipc_list_add_tail_rcu(struct kipc_list_head *new, struct kipc_list_head *head)
{
	kipc___list_add_rcu(new, head->prev, head);
}

/*
 * Unlinking stores a pointer to an entry published earlier, maybe by another
 * writer.  The address dependency orders a reader's loads of that entry after
 * the pointer (and the writers' lock orders its initialisation before the
 * store), so WRITE_ONCE is enough; but ThreadSanitizer, whose readers load
 * with acquire (see kipc_rcu_dereference), knows neither dependencies nor
 * that chain, so its build stores with release.
 */
#ifdef KIPC_TSAN
#define KIPC__RCU_UNLINK(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#else
#define KIPC__RCU_UNLINK(p, v) KIPC_WRITE_ONCE(p, v)
#endif

KIPC_INLINE void kipc___hlist_del_rcu(struct kipc_hlist_node *n)
{
	struct kipc_hlist_node *next = n->next, **pprev = n->pprev;

	KIPC__RCU_UNLINK(*pprev, next);
	if (next)
		next->pprev = pprev;
}

/* next is left intact: a reader on this entry can still move on. */
KIPC_INLINE void kipc_list_del_rcu(struct kipc_list_head *entry)
{
	struct kipc_list_head *prev = entry->prev, *next = entry->next;

	next->prev = prev;
	KIPC__RCU_UNLINK(prev->next, next);
	entry->prev = (struct kipc_list_head *)KIPC_LIST_POISON2;
}

KIPC_INLINE void kipc_list_replace_rcu(struct kipc_list_head *old, struct kipc_list_head *new)
{
	new->next = old->next;
	new->prev = old->prev;
	kipc_rcu_assign_pointer(new->prev->next, new);
	new->next->prev = new;
	old->prev = (struct kipc_list_head *)KIPC_LIST_POISON2;
}

#define kipc_list_entry_rcu(ptr, type, member) \
	kipc_container_of(kipc_rcu_dereference(ptr), type, member)

#define kipc_list_first_or_null_rcu(ptr, type, member) ({                    \
	struct kipc_list_head *head__ = (ptr);                                 \
	struct kipc_list_head *pos__ = kipc_rcu_dereference(head__->next);     \
	pos__ != head__ ? kipc_list_entry(pos__, type, member) : NULL; })

#define kipc_list_for_each_entry_rcu(pos, head, member)                       \
	for (pos = kipc_list_entry_rcu((head)->next, __typeof__(*pos), member); \
	     &pos->member != (head);                                           \
	     pos = kipc_list_entry_rcu(pos->member.next, __typeof__(*pos), member))

KIPC_INLINE void kipc_hlist_add_head_rcu(struct kipc_hlist_node *n, struct kipc_hlist_head *h)
{
	struct kipc_hlist_node *first = h->first;

	n->next = first;
	n->pprev = &h->first;
	kipc_rcu_assign_pointer(h->first, n);
	if (first)
		first->pprev = &n->next;
}

KIPC_INLINE void kipc_hlist_add_before_rcu(struct kipc_hlist_node *n,
					   struct kipc_hlist_node *next)
{
	n->pprev = next->pprev;
	n->next = next;
	kipc_rcu_assign_pointer(*(n->pprev), n);
	next->pprev = &n->next;
}

KIPC_INLINE void kipc_hlist_add_behind_rcu(struct kipc_hlist_node *n,
					   struct kipc_hlist_node *prev)
{
	n->next = prev->next;
	n->pprev = &prev->next;
	kipc_rcu_assign_pointer(prev->next, n);
	if (n->next)
		n->next->pprev = &n->next;
}

KIPC_INLINE void kipc_hlist_del_rcu(struct kipc_hlist_node *n)
{
	kipc___hlist_del_rcu(n);
	n->pprev = (struct kipc_hlist_node **)KIPC_LIST_POISON2;
}

KIPC_INLINE void kipc_hlist_del_init_rcu(struct kipc_hlist_node *n)
{
	if (!kipc_hlist_unhashed(n)) {
		kipc___hlist_del_rcu(n);
		n->pprev = NULL;
	}
}

KIPC_INLINE void kipc_hlist_replace_rcu(struct kipc_hlist_node *old, struct kipc_hlist_node *new)
{
	struct kipc_hlist_node *next = old->next;

	new->next = next;
	new->pprev = old->pprev;
	kipc_rcu_assign_pointer(*(new->pprev), new);
	if (next)
		next->pprev = &new->next;
	old->pprev = (struct kipc_hlist_node **)KIPC_LIST_POISON2;
}

#define kipc_hlist_for_each_entry_rcu(pos, head, member)                      \
	for (pos = kipc_hlist_entry_safe(kipc_rcu_dereference((head)->first),   \
					 __typeof__(*(pos)), member);          \
	     pos;                                                              \
	     pos = kipc_hlist_entry_safe(kipc_rcu_dereference((pos)->member.next), \
					 __typeof__(*(pos)), member))

#endif /* KIPC_RCULIST_H */
