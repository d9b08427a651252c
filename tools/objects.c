// SPDX-License-Identifier: MIT
/*
 * kipc ls, kipc stat, kipc rm: the objects of the namespace.
 *
 * An object is named on the command line by
 *   /name          a POSIX object (segment, queue or FIFO) of that name
 *   KIND:/name     the same, of one kind: shm:/x, mq:/x, fifo:/x
 *   KIND:ID        a System V object by id: sysv-shm:5
 * and kipc rm also takes ipcrm's -m ID / -M KEY.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kipc/msg.h>
#include <kipc/sem.h>
#include <kipc/shm.h>
#include "ipc/describe.h"
#include "ipc/sysv.h"
#include "tool.h"

struct ref {
	enum kipc__ns_kind kind;
	char leaf[NAME_MAX + 1];
};

/* ---- printing ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		   (*p & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 2 && *p < 0xc2)
		return 0;	/* overlong */
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * s made printable: JSON string escapes (invalid UTF-8 bytes as \u00XX, so
 * the output stays valid JSON), or \xNN for the table's odd bytes.
 */
static const char *escaped(const char *s, bool json, char *buf, size_t len)
{
	size_t n = 0;

	for (const unsigned char *p = (const void *)s; *p && n + 7 < len; p++) {
		size_t u = utf8_len(p);

		if (json && (*p == '"' || *p == '\\')) {
			n += (size_t)snprintf(buf + n, len - n, "\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f || u == 0 ||
			   (!json && (*p == ' ' || *p == '\\'))) {
			n += (size_t)snprintf(buf + n, len - n, json ? "\\u%04x" : "\\x%02x", *p);
		} else {
			for (size_t i = 0; i < u && n + 1 < len; i++)
				buf[n++] = (char)p[i];
			p += u - 1;
		}
	}
	buf[n] = '\0';
	return buf;
}

static const char *owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		return pw->pw_name;
	snprintf(buf, len, "%u", uid);
	return buf;
}

static bool is_number(const char *s)
{
	char *end;

	if (!*s)
		return false;
	strtoll(s, &end, 10);
	return !*end;
}

static void print_json(const struct kipc__desc *d, int err, bool all)
{
	char buf[32], name[(NAME_MAX + 2) * 6];

	printf("{\"kind\":\"%s\",\"name\":\"%s", d->kind,
	       escaped(d->name, true, name, sizeof(name)));
	printf("\",\"owner\":\"%s\",\"uid\":%u,\"gid\":%u,\"mode\":\"%04o\","
	       "\"size\":%llu,\"state\":\"%s\"",
	       owner_name(d->uid, buf, sizeof(buf)), d->uid, d->gid, d->mode,
	       (unsigned long long)d->size, d->state);
	if (d->key >= 0)
		printf(",\"key\":\"0x%08llx\"", d->key);
	if (err)
		printf(",\"error\":\"%s\"", strerror(-err));
	for (int i = 0; i < d->nfields; i++) {
		const struct kipc__desc_field *f = &d->field[i];

		if ((!all && !(f->flags & KIPC__DESC_LIVE)) || !strcmp(f->key, "key"))
			continue;
		if (is_number(f->val))
			printf(",\"%s\":%s", f->key, f->val);
		else
			printf(",\"%s\":\"%s\"", f->key, f->val);
	}
	printf("}");
}

static void print_row(const struct kipc__desc *d, int err)
{
	char buf[32], key[24] = "-", name[(NAME_MAX + 2) * 6];

	if (d->key >= 0)
		snprintf(key, sizeof(key), "0x%08llx", d->key);
	printf("%-9s %-20s %-10s %-10s %04o %12llu %-9s", d->kind,
	       escaped(d->name, false, name, sizeof(name)), key, owner_name(d->uid, buf, sizeof(buf)), d->mode,
	       (unsigned long long)d->size, d->state);
	if (err)
		printf(" error=\"%s\"", strerror(-err));
	for (int i = 0; i < d->nfields; i++)
		if (d->field[i].flags & KIPC__DESC_LIVE)
			printf(" %s=%s", d->field[i].key, d->field[i].val);
	printf("\n");
}

/* ---- walking the namespace ---- */

/* The files of a kind's directory that are objects (not key links, not ours). */
static bool is_object_leaf(enum kipc__ns_kind kind, const char *leaf)
{
	const char *dot;

	if (leaf[0] == '.')
		return false;
	if (kind != KIPC__NS_SYSV)
		return true;
	dot = strchr(leaf, '.');
	return dot && is_number(dot + 1) && dot[1] != '-';
}

typedef int (*visit_fn)(enum kipc__ns_kind kind, const char *leaf, void *arg);

static int walk(visit_fn visit, void *arg)
{
	int rc = 0;

	for (int k = 0; k < KIPC__NS_NKINDS; k++) {
		char dir[PATH_MAX];
		struct dirent *e;
		DIR *dp;

		if (kipc__ns_path(dir, k, NULL) || !(dp = opendir(dir)))
			continue;
		while ((e = readdir(dp)))
			if (is_object_leaf(k, e->d_name))
				rc |= visit(k, e->d_name, arg);
		closedir(dp);
	}
	return rc;
}

/* ---- ls ---- */

struct ls_state {
	bool json;
	int count;
};

static int ls_one(enum kipc__ns_kind kind, const char *leaf, void *arg)
{
	struct ls_state *ls = arg;
	struct kipc__desc d;
	int err = kipc__describe(kind, leaf, &d);

	if (err == -ENOENT)	/* removed while we listed */
		return 0;
	if (ls->json) {
		printf(ls->count ? ",\n " : "[");
		print_json(&d, err, false);
	} else {
		if (!ls->count)
			printf("%-9s %-20s %-10s %-10s %-4s %12s %-9s %s\n", "KIND", "NAME/ID",
			       "KEY", "OWNER", "MODE", "SIZE", "STATE", "LIVE");
		print_row(&d, err);
	}
	ls->count++;
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	struct ls_state ls = { 0 };

	if (wants_help(argc, argv)) {
		printf("usage: kipc ls [--json]\n"
		       "List every object of the namespace (%s): kind, name or System V id,\n"
		       "key, owner, mode, size, state and live figures.  --json prints an array\n"
		       "of objects instead.  Exit 0, or 2 for bad usage.\n", kipc__ns_root());
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json")) {
			fprintf(stderr, "kipc ls: unknown option '%s' (see kipc ls --help)\n", argv[i]);
			return EXIT_USAGE;
		}
		ls.json = true;
	}
	walk(ls_one, &ls);
	if (ls.json)
		printf(ls.count ? "]\n" : "[]\n");
	return 0;
}

/* ---- naming objects ---- */

static const char *const kind_prefix[KIPC__NS_NKINDS] = {
	[KIPC__NS_SHM] = "shm:",
	[KIPC__NS_MQ] = "mq:",
	[KIPC__NS_FIFO] = "fifo:",
	[KIPC__NS_SYSV] = NULL,
};

static bool exists(enum kipc__ns_kind kind, const char *leaf)
{
	char path[PATH_MAX];
	struct stat st;

	return !kipc__ns_path(path, kind, leaf) && lstat(path, &st) == 0;
}

/* Resolve a command-line name; 0, or prints why not and returns EXIT_*. */
static int resolve(const char *arg, struct ref *r, const char *verb)
{
	static const char *const sysv[] = { "sysv-shm:", "sysv-msg:", "sysv-sem:" };
	static const uint32_t sysv_type[] = { KIPC__OBJ_SYSV_SHM, KIPC__OBJ_SYSV_MSG,
					      KIPC__OBJ_SYSV_SEM };
	int found = 0, err;
	const char *name = arg;
	int only = -1;

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(sysv[i]);

		if (!strncmp(arg, sysv[i], n)) {
			if (!is_number(arg + n) || arg[n] == '-') {
				fprintf(stderr, "kipc %s: %s: not an id\n", verb, arg);
				return EXIT_USAGE;
			}
			r->kind = KIPC__NS_SYSV;
			snprintf(r->leaf, sizeof(r->leaf), "%s.%s", kipc__sysv_stem(sysv_type[i]),
				 arg + n);
			if (!exists(r->kind, r->leaf)) {
				fprintf(stderr, "kipc %s: %s: no such object\n", verb, arg);
				return EXIT_OBJECT;
			}
			return 0;
		}
	}
	for (int k = 0; k < KIPC__NS_NKINDS; k++) {
		size_t n = kind_prefix[k] ? strlen(kind_prefix[k]) : 0;

		if (n && !strncmp(arg, kind_prefix[k], n)) {
			only = k;
			name = arg + n;
		}
	}
	err = kipc__ns_check_name(name);
	if (err) {
		fprintf(stderr, "kipc %s: %s: %s (names are /NAME, KIND:/NAME or "
			"sysv-shm:ID)\n", verb, arg, strerror(-err));
		return EXIT_USAGE;
	}
	for (int k = 0; k < KIPC__NS_NKINDS; k++) {
		if (k == KIPC__NS_SYSV || (only >= 0 && k != only) || !exists(k, name + 1))
			continue;
		if (found++) {
			fprintf(stderr, "kipc %s: %s: ambiguous, several kinds have this name; "
				"say shm:%s, mq:%s or fifo:%s\n", verb, arg, name, name, name);
			return EXIT_USAGE;
		}
		r->kind = k;
		snprintf(r->leaf, sizeof(r->leaf), "%s", name + 1);
	}
	if (!found) {
		fprintf(stderr, "kipc %s: %s: no such object in %s\n", verb, arg, kipc__ns_root());
		return EXIT_OBJECT;
	}
	return 0;
}

/* ---- stat ---- */

static const char *field(const struct kipc__desc *d, const char *key)
{
	for (int i = 0; i < d->nfields; i++)
		if (!strcmp(d->field[i].key, key))
			return d->field[i].val;
	return "?";
}

static void print_stat(const struct kipc__desc *d, int err)
{
	char buf[32], name[(NAME_MAX + 2) * 6];

	printf("kind: %s\nname: %s\nstate: %s\n", d->kind,
	       escaped(d->name, false, name, sizeof(name)), d->state);
	if (d->key >= 0)
		printf("key: 0x%08llx\n", d->key);
	printf("owner: %s (uid %u, gid %u)\nmode: %04o\nsize: %llu\n",
	       owner_name(d->uid, buf, sizeof(buf)), d->uid, d->gid, d->mode,
	       (unsigned long long)d->size);
	for (int i = 0; i < d->nfields; i++)
		if (strcmp(d->field[i].key, "key") && strcmp(d->field[i].key, "id"))
			printf("%s: %s\n", d->field[i].key, d->field[i].val);
	if (!strcmp(d->kind, "mq")) {
		/* The line the kernel's mqueue file system shows for a queue. */
		printf("QSIZE:%s", field(d, "QSIZE"));
		printf(" NOTIFY:%s SIGNO:%s NOTIFY_PID:%s\n", field(d, "NOTIFY"), field(d, "SIGNO"),
		       field(d, "NOTIFY_PID"));
	}
	if (err)
		printf("error: %s\n", strerror(-err));
}

static void explain(const char *verb, const char *arg, int err)
{
	if (err == -EBADMSG || err == -EINVAL)
		fprintf(stderr, "kipc %s: %s: not a valid kipc object file (%s): it is "
			"truncated, corrupted, or from another version; kipc rm removes it\n",
			verb, arg, strerror(-err));
	else if (err == -ENOSPC)
		fprintf(stderr, "kipc %s: %s: %s: the namespace's file system (%s) is full; "
			"Docker gives containers 64 MB of /dev/shm unless run with --shm-size\n",
			verb, arg, strerror(-err), kipc__ns_root());
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, "kipc %s: %s: %s: the object's file permissions do not "
			"allow it (see kipc stat)\n", verb, arg, strerror(-err));
	else
		fprintf(stderr, "kipc %s: %s: %s\n", verb, arg, strerror(-err));
}

int cmd_stat(int argc, char **argv)
{
	bool json = false;
	int rc = 0, n = 0;

	if (wants_help(argc, argv)) {
		printf("usage: kipc stat [--json] OBJECT...\n"
		       "Print every header and live field of each object.  OBJECT is /NAME,\n"
		       "KIND:/NAME (shm, mq, fifo) or sysv-shm:ID (also sysv-msg:, sysv-sem:).\n"
		       "Exit 0; 1 if an object is missing or corrupted; 2 for bad usage.\n");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		struct kipc__desc d;
		struct ref r;
		int err;

		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		err = resolve(argv[i], &r, "stat");
		if (err) {
			rc = rc > err ? rc : err;
			continue;
		}
		err = kipc__describe(r.kind, r.leaf, &d);
		if (err) {
			explain("stat", argv[i], err);
			rc = rc > EXIT_OBJECT ? rc : EXIT_OBJECT;
			if (err == -ENOENT)
				continue;
		}
		if (json) {
			print_json(&d, err, true);
			printf("\n");
		} else {
			printf(n ? "\n" : "");
			print_stat(&d, err);
		}
		n++;
	}
	if (argc < 2 || (argc == 2 && json)) {
		fprintf(stderr, "usage: kipc stat [--json] OBJECT... (see kipc stat --help)\n");
		return EXIT_USAGE;
	}
	return rc;
}

/* ---- rm ---- */

/* Every name of a System V object: its id file and any key link to it. */
static int unlink_sysv_names(const char *leaf)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct stat st, other;
	struct dirent *e;
	DIR *dp;
	int err = 0;

	if (kipc__ns_path(dir, KIPC__NS_SYSV, NULL))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	if (lstat(path, &st) < 0)
		return -errno;
	if (!(dp = opendir(dir)))
		return -errno;
	while ((e = readdir(dp))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && lstat(path, &other) == 0 &&
		    other.st_ino == st.st_ino && other.st_dev == st.st_dev && unlink(path) < 0)
			err = -errno;
	}
	closedir(dp);
	return err;
}

static int remove_object(const struct ref *r)
{
	char path[PATH_MAX];
	struct kipc__obj obj;
	int err;

	if (r->kind != KIPC__NS_SYSV) {
		err = kipc__ns_path(path, r->kind, r->leaf);
		return err ? err : unlink(path) < 0 ? -errno : 0;
	}
	/* IPC_RMID, so that attached processes keep their segment. */
	err = kipc__obj_open(KIPC__NS_SYSV, r->leaf, 0, &obj);
	if (err == -EBADMSG || err == -EINVAL)
		return unlink_sysv_names(r->leaf);
	if (err)
		return err;
	switch (obj.geom.type) {
	case KIPC__OBJ_SYSV_SHM:
		err = kipc_shmctl(obj.hdr->id, IPC_RMID, NULL) < 0 ? -errno : 0;
		break;
	case KIPC__OBJ_SYSV_MSG:
		/* IPC_RMID, so that waiters wake with EIDRM. */
		err = kipc_msgctl(obj.hdr->id, IPC_RMID, NULL) < 0 ? -errno : 0;
		break;
	case KIPC__OBJ_SYSV_SEM:
		err = kipc_semctl(obj.hdr->id, 0, IPC_RMID) < 0 ? -errno : 0;
		break;
	default:
		err = unlink_sysv_names(r->leaf);
	}
	kipc__obj_close(&obj);
	/* An abandoned creation is gone once looked up by id. */
	return err == -EINVAL && !exists(KIPC__NS_SYSV, r->leaf) ? 0 : err;
}

static int rm_mine(enum kipc__ns_kind kind, const char *leaf, void *arg)
{
	char path[PATH_MAX];
	struct stat st;
	struct ref r = { .kind = kind };
	int err;

	(void)arg;
	if (kipc__ns_path(path, kind, leaf) || lstat(path, &st) < 0 || st.st_uid != geteuid())
		return 0;
	snprintf(r.leaf, sizeof(r.leaf), "%s", leaf);
	err = remove_object(&r);
	if (err && err != -ENOENT) {
		fprintf(stderr, "kipc rm: %s/%s: %s\n", kipc__ns_dirname[kind], leaf,
			strerror(-err));
		return EXIT_OBJECT;
	}
	return 0;
}

/*
 * ipcrm's options: -m/-M a segment, -q/-Q a message queue, -s/-S a
 * semaphore set, by id (lower case) or key (upper case).  By key, the key
 * link itself names the object: it is there even if the object is corrupt.
 */
static int sysv_option(int opt, const char *val, struct ref *r)
{
	const char *stem = strchr("mM", opt) ? "shm" : strchr("qQ", opt) ? "msg" : "sem";
	const char *what = stem[0] == 's' && stem[1] == 'h' ? "segment" :
			   stem[0] == 'm' ? "message queue" : "semaphore set";
	char *end;
	long long v = strtoll(val, &end, 0);

	if (*end || !*val || v < INT32_MIN || v > UINT32_MAX) {
		fprintf(stderr, "kipc rm: -%c %s: not a number\n", opt, val);
		return EXIT_USAGE;
	}
	r->kind = KIPC__NS_SYSV;
	if (islower(opt)) {
		snprintf(r->leaf, sizeof(r->leaf), "%s.%lld", stem, v);
		if (v >= 0 && exists(r->kind, r->leaf))
			return 0;
	} else if (v != IPC_PRIVATE) {
		snprintf(r->leaf, sizeof(r->leaf), "%s.key.%08x", stem, (unsigned int)v);
		if (exists(r->kind, r->leaf))
			return 0;
	}
	fprintf(stderr, "kipc rm: -%c %s: no such %s\n", opt, val, what);
	return EXIT_OBJECT;
}

int cmd_rm(int argc, char **argv)
{
	bool all = false;
	int rc = 0, opt, named = 0;

	if (wants_help(argc, argv)) {
		printf("usage: kipc rm [-a] [-m|-q|-s ID] [-M|-Q|-S KEY] [OBJECT...]\n"
		       "Remove objects.  OBJECT is /NAME, KIND:/NAME (shm, mq, fifo) or\n"
		       "sysv-shm:ID (sysv-msg:, sysv-sem:); as ipcrm, -m/-M name a System V\n"
		       "segment by id/key, -q/-Q a message queue, -s/-S a semaphore set.  A\n"
		       "segment still attached lives on until its last detach (IPC_RMID).\n"
		       "-a removes every object the caller owns, corrupted ones included.\n"
		       "Exit 0; 1 if an object is missing or cannot be removed; 2 for bad usage.\n");
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "am:M:q:Q:s:S:")) != -1) {
		struct ref r;
		int err;

		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'm': case 'M': case 'q': case 'Q': case 's': case 'S':
			named++;
			err = sysv_option(opt, optarg, &r);
			if (!err && (err = remove_object(&r))) {
				fprintf(stderr, "kipc rm: -%c %s: %s\n", opt, optarg, strerror(-err));
				err = EXIT_OBJECT;
			}
			rc = rc > err ? rc : err;
			break;
		default:
			fprintf(stderr, "kipc rm: bad option '-%c'\n"
				"usage: kipc rm [-a] [-m|-q|-s ID] [-M|-Q|-S KEY] [OBJECT...]\n", optopt);
			return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		struct ref r;
		int err = resolve(argv[i], &r, "rm");

		named++;
		if (!err && (err = remove_object(&r))) {
			explain("rm", argv[i], err);
			err = EXIT_OBJECT;
		}
		rc = rc > err ? rc : err;
	}
	if (all) {
		int err = walk(rm_mine, NULL);

		rc = rc > err ? rc : err;
	} else if (!named) {
		fprintf(stderr, "usage: kipc rm [-a] [-m|-q|-s ID] [-M|-Q|-S KEY] [OBJECT...]\n");
		return EXIT_USAGE;
	}
	return rc;
}
