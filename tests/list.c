// SPDX-License-Identifier: MIT
/*
 * <kipc/list.h> under the kernel's names (<kipc/linux.h>): every list and
 * hlist operation, checked against the expected order walking forwards and
 * backwards (so a broken prev/pprev link is caught as well as a broken next):
 * LIST_HEAD, INIT_LIST_HEAD, list_add (a stack), list_add_tail (a queue),
 * list_del (and its poison), list_del_init, list_replace(_init),
 * list_move(_tail), list_empty, list_is_first/last/singular, the four
 * splices, list_entry, list_first/last/next/prev_entry,
 * list_first_entry_or_null, list_for_each(_safe),
 * list_for_each_entry(_reverse/_safe), container_of; HLIST_HEAD,
 * INIT_HLIST_HEAD/NODE, hlist_add_head/before/behind, hlist_del (poison),
 * hlist_del_init, hlist_unhashed, hlist_empty, hlist_entry(_safe),
 * hlist_for_each(_safe), hlist_for_each_entry(_safe); and the RCU list
 * helpers of <kipc/rculist.h> in a single thread (their concurrent use is in
 * rcu_torture.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <kipc/linux.h>

#include "tap.h"

struct item {
	int v;
	struct list_head node;
	struct hlist_node hnode;
};

#define N_ITEMS 8
static struct item items[N_ITEMS];

static void reset_items(void)
{
	for (int i = 0; i < N_ITEMS; i++) {
		items[i].v = i;
		items[i].node.next = items[i].node.prev = NULL;
		INIT_HLIST_NODE(&items[i].hnode);
	}
}

/* "[a b c]" for diagnostics. */
static const char *show(const struct list_head *head)
{
	static char buf[256];
	const struct list_head *p;
	size_t len = 0;
	int n = 0;

	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "[");
	for (p = head->next; p != head && n < 32 && len < sizeof(buf) - 16; p = p->next, n++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d", n ? " " : "",
				       list_entry(p, struct item, node)->v);
	snprintf(buf + len, sizeof(buf) - len, "]");
	return buf;
}

/*
 * The list holds exactly want[0..n-1], in that order, following next; the
 * same backwards following prev; every node's neighbours point back at it.
 */
static bool list_is(const struct list_head *head, const int *want, int n)
{
	const struct list_head *p = head;
	int i;

	for (i = 0; i < n; i++) {
		const struct list_head *q = p->next;

		if (q == head || q->prev != p)
			return false;
		if (list_entry(q, struct item, node)->v != want[i])
			return false;
		p = q;
	}
	if (p->next != head || head->prev != p)
		return false;
	p = head;
	for (i = n - 1; i >= 0; i--) {
		p = p->prev;
		if (list_entry(p, struct item, node)->v != want[i])
			return false;
	}
	return p->prev == head;
}

#define LIST_IS(head, name, ...) do {                                          \
	static const int want_[] = { __VA_ARGS__ };                            \
	ok(list_is((head), want_, (int)(sizeof(want_) / sizeof(want_[0]))),   \
	   "%s: %s", name, show(head));                                        \
} while (0)

#define LIST_IS_EMPTY(head, name)                                              \
	ok((head)->next == (head) && (head)->prev == (head) && list_empty(head), \
	   "%s: empty", name)

static bool hlist_is(const struct hlist_head *h, const int *want, int n)
{
	struct hlist_node *const *pprev = &h->first;
	const struct hlist_node *p;
	int i = 0;

	for (p = h->first; p; p = p->next, i++) {
		if (i >= n || p->pprev != pprev)
			return false;
		if (hlist_entry(p, struct item, hnode)->v != want[i])
			return false;
		pprev = &p->next;
	}
	return i == n;
}

static const char *hshow(const struct hlist_head *h)
{
	static char buf[256];
	const struct hlist_node *p;
	size_t len = 0;
	int n = 0;

	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "[");
	for (p = h->first; p && n < 32 && len < sizeof(buf) - 16; p = p->next, n++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d", n ? " " : "",
				       hlist_entry(p, struct item, hnode)->v);
	snprintf(buf + len, sizeof(buf) - len, "]");
	return buf;
}

#define HLIST_IS(h, name, ...) do {                                            \
	static const int want_[] = { __VA_ARGS__ };                            \
	ok(hlist_is((h), want_, (int)(sizeof(want_) / sizeof(want_[0]))),     \
	   "%s: %s", name, hshow(h));                                          \
} while (0)

/* ---- list_head ---- */

static void test_init_add(void)
{
	LIST_HEAD(head);
	struct list_head h2;

	reset_items();
	LIST_IS_EMPTY(&head, "LIST_HEAD");
	h2.next = h2.prev = NULL;
	INIT_LIST_HEAD(&h2);
	LIST_IS_EMPTY(&h2, "INIT_LIST_HEAD");
	ok(!list_is_singular(&head), "list_is_singular(empty) is false");

	list_add(&items[1].node, &head);
	LIST_IS(&head, "list_add one", 1);
	ok(!list_empty(&head), "list_empty false with one entry");
	ok(list_is_singular(&head), "list_is_singular with one entry");
	ok(list_is_first(&items[1].node, &head) && list_is_last(&items[1].node, &head),
	   "the only entry is first and last");

	list_add(&items[2].node, &head);
	list_add(&items[3].node, &head);
	LIST_IS(&head, "list_add pushes at the front (a stack)", 3, 2, 1);
	ok(!list_is_singular(&head), "list_is_singular false with three");

	list_add_tail(&items[4].node, &head);
	list_add_tail(&items[5].node, &head);
	LIST_IS(&head, "list_add_tail appends (a queue)", 3, 2, 1, 4, 5);

	ok(list_is_first(&items[3].node, &head), "list_is_first(first)");
	ok(!list_is_first(&items[2].node, &head), "!list_is_first(second)");
	ok(list_is_last(&items[5].node, &head), "list_is_last(last)");
	ok(!list_is_last(&items[4].node, &head), "!list_is_last(next to last)");
}

static void test_del(void)
{
	LIST_HEAD(head);

	reset_items();
	for (int i = 0; i < 5; i++)
		list_add_tail(&items[i].node, &head);
	LIST_IS(&head, "five in order", 0, 1, 2, 3, 4);

	list_del(&items[2].node);
	LIST_IS(&head, "list_del middle", 0, 1, 3, 4);
	ok(items[2].node.next == LIST_POISON1 && items[2].node.prev == LIST_POISON2,
	   "list_del poisons next (LIST_POISON1) and prev (LIST_POISON2)");
	ok(LIST_POISON1 != NULL && LIST_POISON2 != NULL && LIST_POISON1 != LIST_POISON2,
	   "the poison values are distinct non-NULL pointers");

	list_del(&items[0].node);
	LIST_IS(&head, "list_del first", 1, 3, 4);
	list_del(&items[4].node);
	LIST_IS(&head, "list_del last", 1, 3);

	list_del_init(&items[1].node);
	LIST_IS(&head, "list_del_init", 3);
	ok(list_empty(&items[1].node) && items[1].node.prev == &items[1].node,
	   "list_del_init leaves the entry an empty list");
	/* A del_init entry may be deleted again, or re-added. */
	list_del_init(&items[1].node);
	ok(list_empty(&items[1].node), "list_del_init twice is harmless");
	list_add(&items[1].node, &head);
	LIST_IS(&head, "re-added after list_del_init", 1, 3);

	list_del(&items[3].node);
	list_del(&items[1].node);
	LIST_IS_EMPTY(&head, "all deleted");
}

static void test_replace(void)
{
	LIST_HEAD(head);

	reset_items();
	for (int i = 0; i < 3; i++)
		list_add_tail(&items[i].node, &head);

	list_replace(&items[1].node, &items[5].node);
	LIST_IS(&head, "list_replace middle", 0, 5, 2);
	list_replace(&items[0].node, &items[6].node);
	LIST_IS(&head, "list_replace first", 6, 5, 2);
	list_replace_init(&items[2].node, &items[7].node);
	LIST_IS(&head, "list_replace_init last", 6, 5, 7);
	ok(list_empty(&items[2].node), "list_replace_init re-initialises the old entry");

	/* Replacing the only entry. */
	LIST_HEAD(one);
	list_add(&items[3].node, &one);
	list_replace(&items[3].node, &items[4].node);
	LIST_IS(&one, "list_replace the only entry", 4);
	ok(list_is_singular(&one), "still singular");
}

static void test_move(void)
{
	LIST_HEAD(a);
	LIST_HEAD(b);

	reset_items();
	for (int i = 0; i < 4; i++)
		list_add_tail(&items[i].node, &a);
	list_add_tail(&items[4].node, &b);
	list_add_tail(&items[5].node, &b);

	list_move(&items[2].node, &b);
	LIST_IS(&a, "list_move: source", 0, 1, 3);
	LIST_IS(&b, "list_move: to the front of the destination", 2, 4, 5);
	list_move_tail(&items[0].node, &b);
	LIST_IS(&a, "list_move_tail: source", 1, 3);
	LIST_IS(&b, "list_move_tail: to the back of the destination", 2, 4, 5, 0);

	/* Within one list: rotate. */
	list_move_tail(&items[2].node, &b);
	LIST_IS(&b, "list_move_tail within the list (rotate left)", 4, 5, 0, 2);
	list_move(&items[2].node, &b);
	LIST_IS(&b, "list_move within the list (rotate right)", 2, 4, 5, 0);

	list_move(&items[1].node, &b);
	list_move(&items[3].node, &b);
	LIST_IS_EMPTY(&a, "list_move of every entry empties the source");
	LIST_IS(&b, "... and fills the destination", 3, 1, 2, 4, 5, 0);
}

static void fill(struct list_head *h, int from, int to)
{
	for (int i = from; i < to; i++)
		list_add_tail(&items[i].node, h);
}

static void test_splice(void)
{
	LIST_HEAD(a);
	LIST_HEAD(b);
	LIST_HEAD(empty);

	reset_items();
	fill(&a, 0, 2);
	fill(&b, 2, 5);
	list_splice(&b, &a);
	LIST_IS(&a, "list_splice: at the front", 2, 3, 4, 0, 1);

	reset_items();
	INIT_LIST_HEAD(&a);
	INIT_LIST_HEAD(&b);
	fill(&a, 0, 2);
	fill(&b, 2, 5);
	list_splice_tail(&b, &a);
	LIST_IS(&a, "list_splice_tail: at the back", 0, 1, 2, 3, 4);

	/* Splice into the middle: "head" may be any entry. */
	reset_items();
	INIT_LIST_HEAD(&a);
	INIT_LIST_HEAD(&b);
	fill(&a, 0, 3);
	fill(&b, 3, 5);
	list_splice(&b, &items[0].node);
	LIST_IS(&a, "list_splice after an entry", 0, 3, 4, 1, 2);

	reset_items();
	INIT_LIST_HEAD(&a);
	INIT_LIST_HEAD(&b);
	fill(&a, 0, 2);
	fill(&b, 2, 4);
	list_splice_init(&b, &a);
	LIST_IS(&a, "list_splice_init: at the front", 2, 3, 0, 1);
	LIST_IS_EMPTY(&b, "list_splice_init re-initialises the source");

	reset_items();
	INIT_LIST_HEAD(&a);
	INIT_LIST_HEAD(&b);
	fill(&a, 0, 2);
	fill(&b, 2, 4);
	list_splice_tail_init(&b, &a);
	LIST_IS(&a, "list_splice_tail_init: at the back", 0, 1, 2, 3);
	LIST_IS_EMPTY(&b, "list_splice_tail_init re-initialises the source");

	/* Empty sources change nothing. */
	list_splice(&empty, &a);
	list_splice_tail(&empty, &a);
	list_splice_init(&empty, &a);
	list_splice_tail_init(&empty, &a);
	LIST_IS(&a, "splicing an empty list changes nothing", 0, 1, 2, 3);
	LIST_IS_EMPTY(&empty, "the empty source stays empty");

	/* Into an empty list. */
	list_splice_init(&a, &b);
	LIST_IS(&b, "list_splice_init into an empty list", 0, 1, 2, 3);
	LIST_IS_EMPTY(&a, "source emptied");
}

static void test_entries(void)
{
	LIST_HEAD(head);
	struct item *it;

	reset_items();
	ok(list_first_entry_or_null(&head, struct item, node) == NULL,
	   "list_first_entry_or_null(empty) is NULL");
	fill(&head, 0, 4);

	ok(container_of(&items[2].node, struct item, node) == &items[2],
	   "container_of");
	ok(container_of(&items[2].hnode, struct item, hnode) == &items[2],
	   "container_of, another member");
	ok(list_entry(&items[3].node, struct item, node) == &items[3], "list_entry");
	ok(list_first_entry(&head, struct item, node) == &items[0], "list_first_entry");
	ok(list_last_entry(&head, struct item, node) == &items[3], "list_last_entry");
	ok(list_first_entry_or_null(&head, struct item, node) == &items[0],
	   "list_first_entry_or_null(non-empty)");
	it = &items[1];
	ok(list_next_entry(it, node) == &items[2], "list_next_entry");
	ok(list_prev_entry(it, node) == &items[0], "list_prev_entry");
	it = &items[3];
	ok(&list_next_entry(it, node)->node == &head,
	   "list_next_entry of the last is the head's container");
}

static void test_iterate(void)
{
	LIST_HEAD(head);
	struct list_head *pos, *n;
	struct item *it, *tmp;
	int seen[N_ITEMS], k;
	bool good;

	reset_items();
	k = 0;
	list_for_each(pos, &head)
		k++;
	is(k, 0, "list_for_each over an empty list: no iteration");
	k = 0;
	list_for_each_entry(it, &head, node)
		k++;
	is(k, 0, "list_for_each_entry over an empty list: no iteration");
	k = 0;
	list_for_each_entry_safe(it, tmp, &head, node)
		k++;
	is(k, 0, "list_for_each_entry_safe over an empty list: no iteration");

	fill(&head, 0, 6);

	k = 0;
	list_for_each(pos, &head)
		seen[k++] = list_entry(pos, struct item, node)->v;
	good = k == 6;
	for (int i = 0; good && i < 6; i++)
		good = seen[i] == i;
	ok(good, "list_for_each visits 0..5 in order");

	k = 0;
	list_for_each_entry(it, &head, node)
		seen[k++] = it->v;
	good = k == 6;
	for (int i = 0; good && i < 6; i++)
		good = seen[i] == i;
	ok(good, "list_for_each_entry visits 0..5 in order");

	k = 0;
	list_for_each_entry_reverse(it, &head, node)
		seen[k++] = it->v;
	good = k == 6;
	for (int i = 0; good && i < 6; i++)
		good = seen[i] == 5 - i;
	ok(good, "list_for_each_entry_reverse visits 5..0");

	/* _safe: the current entry may be deleted (and poisoned). */
	k = 0;
	list_for_each_safe(pos, n, &head) {
		int v = list_entry(pos, struct item, node)->v;

		seen[k++] = v;
		if (v % 2 == 0)
			list_del(pos);
	}
	good = k == 6;
	for (int i = 0; good && i < 6; i++)
		good = seen[i] == i;
	ok(good, "list_for_each_safe visits all while deleting");
	LIST_IS(&head, "list_for_each_safe deleted the even ones", 1, 3, 5);

	k = 0;
	list_for_each_entry_safe(it, tmp, &head, node) {
		seen[k++] = it->v;
		if (it->v != 3)
			list_del(&it->node);
	}
	ok(k == 3 && seen[0] == 1 && seen[1] == 3 && seen[2] == 5,
	   "list_for_each_entry_safe visits 1 3 5 while deleting");
	LIST_IS(&head, "list_for_each_entry_safe kept 3", 3);

	/* _safe with moves to another list (the kernel's usual "drain"). */
	LIST_HEAD(other);
	fill(&head, 0, 3);	/* 3 0 1 2 */
	list_for_each_entry_safe(it, tmp, &head, node)
		list_move(&it->node, &other);
	LIST_IS_EMPTY(&head, "drained by list_for_each_entry_safe + list_move");
	LIST_IS(&other, "moved in reverse", 2, 1, 0, 3);

	/* Breaking out leaves pos on the entry. */
	list_for_each_entry(it, &other, node)
		if (it->v == 0)
			break;
	ok(it == &items[0], "list_for_each_entry: break leaves pos on the entry");
	/* Running off the end leaves pos at the head's container. */
	list_for_each_entry(it, &other, node)
		;
	ok(&it->node == &other, "list_for_each_entry: at the end pos is the head's container");
}

/* A long list built by a mix of operations, checked against an array model. */
static void test_model(unsigned long seed)
{
	enum { M = 64 };
	static struct item pool[M];
	int model[M], len = 0;
	bool in[M] = { false }, good = true;
	LIST_HEAD(head);

	for (int i = 0; i < M; i++)
		pool[i].v = i;
	srand((unsigned int)seed);
	for (int step = 0; step < 4000 && good; step++) {
		int i = rand() % M, op = rand() % 4, j;

		if (!in[i]) {
			if (op & 1) {
				list_add(&pool[i].node, &head);
				memmove(model + 1, model, sizeof(int) * (size_t)len);
				model[0] = i;
			} else {
				list_add_tail(&pool[i].node, &head);
				model[len] = i;
			}
			len++;
			in[i] = true;
		} else {
			for (j = 0; model[j] != i; j++)
				;
			memmove(model + j, model + j + 1, sizeof(int) * (size_t)(len - j - 1));
			len--;
			if (op == 0) {
				list_del(&pool[i].node);
				in[i] = false;
			} else if (op == 1) {
				list_del_init(&pool[i].node);
				in[i] = false;
			} else if (op == 2) {
				list_move(&pool[i].node, &head);
				memmove(model + 1, model, sizeof(int) * (size_t)len);
				model[0] = i;
				len++;
			} else {
				list_move_tail(&pool[i].node, &head);
				model[len++] = i;
			}
		}
		good = list_is(&head, model, len);
	}
	ok(good, "4000 random add/add_tail/del/del_init/move/move_tail match a model");
}

/* ---- hlist ---- */

static void test_hlist(void)
{
	HLIST_HEAD(h);
	struct hlist_head h2;
	struct hlist_node *pos, *n;
	struct item *it;
	int seen[N_ITEMS], k;

	reset_items();
	ok(hlist_empty(&h) && h.first == NULL, "HLIST_HEAD is empty");
	h2.first = &items[0].hnode;
	INIT_HLIST_HEAD(&h2);
	ok(hlist_empty(&h2), "INIT_HLIST_HEAD is empty");
	ok(hlist_unhashed(&items[0].hnode), "INIT_HLIST_NODE: unhashed");
	k = 0;
	hlist_for_each_entry(it, &h, hnode)
		k++;
	is(k, 0, "hlist_for_each_entry over an empty hlist: no iteration");

	hlist_add_head(&items[1].hnode, &h);
	HLIST_IS(&h, "hlist_add_head one", 1);
	ok(!hlist_empty(&h) && !hlist_unhashed(&items[1].hnode),
	   "non-empty, entry hashed");
	hlist_add_head(&items[2].hnode, &h);
	hlist_add_head(&items[3].hnode, &h);
	HLIST_IS(&h, "hlist_add_head pushes at the front", 3, 2, 1);

	hlist_add_before(&items[4].hnode, &items[2].hnode);
	HLIST_IS(&h, "hlist_add_before middle", 3, 4, 2, 1);
	hlist_add_before(&items[5].hnode, &items[3].hnode);
	HLIST_IS(&h, "hlist_add_before first", 5, 3, 4, 2, 1);
	hlist_add_behind(&items[6].hnode, &items[1].hnode);
	HLIST_IS(&h, "hlist_add_behind last", 5, 3, 4, 2, 1, 6);
	hlist_add_behind(&items[7].hnode, &items[3].hnode);
	HLIST_IS(&h, "hlist_add_behind middle", 5, 3, 7, 4, 2, 1, 6);

	hlist_del(&items[7].hnode);
	HLIST_IS(&h, "hlist_del middle", 5, 3, 4, 2, 1, 6);
	ok(items[7].hnode.next == LIST_POISON1 &&
	   (void *)items[7].hnode.pprev == LIST_POISON2,
	   "hlist_del poisons next and pprev");
	hlist_del(&items[5].hnode);
	HLIST_IS(&h, "hlist_del first", 3, 4, 2, 1, 6);
	hlist_del(&items[6].hnode);
	HLIST_IS(&h, "hlist_del last", 3, 4, 2, 1);

	hlist_del_init(&items[4].hnode);
	HLIST_IS(&h, "hlist_del_init", 3, 2, 1);
	ok(hlist_unhashed(&items[4].hnode) && items[4].hnode.next == NULL,
	   "hlist_del_init leaves the node unhashed");
	hlist_del_init(&items[4].hnode);
	HLIST_IS(&h, "hlist_del_init of an unhashed node changes nothing", 3, 2, 1);

	ok(hlist_entry(&items[2].hnode, struct item, hnode) == &items[2], "hlist_entry");
	pos = NULL;
	ok(hlist_entry_safe(pos, struct item, hnode) == NULL, "hlist_entry_safe(NULL)");
	pos = &items[2].hnode;
	ok(hlist_entry_safe(pos, struct item, hnode) == &items[2], "hlist_entry_safe");

	k = 0;
	hlist_for_each(pos, &h)
		seen[k++] = hlist_entry(pos, struct item, hnode)->v;
	ok(k == 3 && seen[0] == 3 && seen[1] == 2 && seen[2] == 1, "hlist_for_each: 3 2 1");
	k = 0;
	hlist_for_each_entry(it, &h, hnode)
		seen[k++] = it->v;
	ok(k == 3 && seen[0] == 3 && seen[1] == 2 && seen[2] == 1,
	   "hlist_for_each_entry: 3 2 1");
	ok(it == NULL, "hlist_for_each_entry ends with pos NULL");

	k = 0;
	hlist_for_each_safe(pos, n, &h) {
		seen[k++] = hlist_entry(pos, struct item, hnode)->v;
		if (hlist_entry(pos, struct item, hnode)->v == 2)
			hlist_del(pos);
	}
	ok(k == 3 && seen[0] == 3 && seen[1] == 2 && seen[2] == 1,
	   "hlist_for_each_safe visits all while deleting");
	HLIST_IS(&h, "hlist_for_each_safe deleted 2", 3, 1);

	hlist_add_head(&items[0].hnode, &h);
	k = 0;
	hlist_for_each_entry_safe(it, n, &h, hnode) {
		seen[k++] = it->v;
		hlist_del_init(&it->hnode);
	}
	ok(k == 3 && seen[0] == 0 && seen[1] == 3 && seen[2] == 1,
	   "hlist_for_each_entry_safe visits 0 3 1 while deleting each");
	ok(hlist_empty(&h), "... leaving it empty");
}

/* ---- rculist.h, single-threaded: the same shapes as the plain forms ---- */

static void test_rculist_shapes(void)
{
	LIST_HEAD(head);
	HLIST_HEAD(h);
	struct item *it;
	int seen[N_ITEMS], k;

	reset_items();
	ok(list_first_or_null_rcu(&head, struct item, node) == NULL,
	   "list_first_or_null_rcu(empty) is NULL");
	list_add_rcu(&items[1].node, &head);
	list_add_rcu(&items[0].node, &head);
	list_add_tail_rcu(&items[2].node, &head);
	list_add_tail_rcu(&items[3].node, &head);
	LIST_IS(&head, "list_add_rcu / list_add_tail_rcu", 0, 1, 2, 3);
	ok(list_first_or_null_rcu(&head, struct item, node) == &items[0],
	   "list_first_or_null_rcu");
	ok(list_entry_rcu(head.next, struct item, node) == &items[0], "list_entry_rcu");

	list_del_rcu(&items[1].node);
	LIST_IS(&head, "list_del_rcu", 0, 2, 3);
	ok(items[1].node.next == &items[2].node && items[1].node.prev == LIST_POISON2,
	   "list_del_rcu keeps next for readers standing on the entry, poisons prev");
	list_replace_rcu(&items[2].node, &items[5].node);
	LIST_IS(&head, "list_replace_rcu", 0, 5, 3);
	ok(items[2].node.prev == LIST_POISON2, "list_replace_rcu poisons the old prev");

	rcu_read_lock();
	k = 0;
	list_for_each_entry_rcu(it, &head, node)
		seen[k++] = it->v;
	rcu_read_unlock();
	ok(k == 3 && seen[0] == 0 && seen[1] == 5 && seen[2] == 3,
	   "list_for_each_entry_rcu: 0 5 3");

	hlist_add_head_rcu(&items[1].hnode, &h);
	hlist_add_head_rcu(&items[2].hnode, &h);
	HLIST_IS(&h, "hlist_add_head_rcu", 2, 1);
	hlist_add_before_rcu(&items[3].hnode, &items[1].hnode);
	HLIST_IS(&h, "hlist_add_before_rcu", 2, 3, 1);
	hlist_add_behind_rcu(&items[4].hnode, &items[1].hnode);
	HLIST_IS(&h, "hlist_add_behind_rcu", 2, 3, 1, 4);
	hlist_del_rcu(&items[3].hnode);
	HLIST_IS(&h, "hlist_del_rcu", 2, 1, 4);
	ok(items[3].hnode.next == &items[1].hnode &&
	   (void *)items[3].hnode.pprev == LIST_POISON2,
	   "hlist_del_rcu keeps next, poisons pprev");
	hlist_replace_rcu(&items[1].hnode, &items[6].hnode);
	HLIST_IS(&h, "hlist_replace_rcu", 2, 6, 4);
	hlist_del_init_rcu(&items[2].hnode);
	HLIST_IS(&h, "hlist_del_init_rcu", 6, 4);
	ok(hlist_unhashed(&items[2].hnode), "hlist_del_init_rcu leaves it unhashed");

	rcu_read_lock();
	k = 0;
	hlist_for_each_entry_rcu(it, &h, hnode)
		seen[k++] = it->v;
	rcu_read_unlock();
	ok(k == 2 && seen[0] == 6 && seen[1] == 4, "hlist_for_each_entry_rcu: 6 4");
}

int main(void)
{
	unsigned long seed = tap_seed();

	test_init_add();
	test_del();
	test_replace();
	test_move();
	test_splice();
	test_entries();
	test_iterate();
	test_model(seed);
	test_hlist();
	test_rculist_shapes();
	return done_testing();
}
