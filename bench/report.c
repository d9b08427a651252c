// SPDX-License-Identifier: MIT
/*
 * The output of kipc-bench: the machine context, then the table, as aligned
 * text for people or one JSON document for scripts.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "report.h"

#if defined(__clang__)
#define COMPILER __VERSION__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown compiler"
#endif

#ifdef HAVE_CK
#define HAVE_CK_STR "yes"
#define HAVE_CK_JSON "true"
#else
#define HAVE_CK_STR "missing"
#define HAVE_CK_JSON "false"
#endif
#ifdef HAVE_URCU
#define HAVE_URCU_STR "yes"
#define HAVE_URCU_JSON "true"
#else
#define HAVE_URCU_STR "missing"
#define HAVE_URCU_JSON "false"
#endif
#ifdef HAVE_BOOST
#define HAVE_BOOST_STR "yes"
#define HAVE_BOOST_JSON "true"
#else
#define HAVE_BOOST_STR "missing"
#define HAVE_BOOST_JSON "false"
#endif

struct machine {
	char cpu[128];
	long cpus;
	struct utsname uts;
};

/* The first "model name" of /proc/cpuinfo (arm64 has none: use the arch). */
static void machine_get(struct machine *m)
{
	char line[256], *v;
	FILE *f = fopen("/proc/cpuinfo", "r");

	memset(m, 0, sizeof(*m));
	uname(&m->uts);
	snprintf(m->cpu, sizeof(m->cpu), "%s", m->uts.machine);
	while (f && fgets(line, sizeof(line), f)) {
		v = strchr(line, ':');
		if (strncmp(line, "model name", 10) || !v)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(m->cpu, sizeof(m->cpu), "%s", v);
		break;
	}
	if (f)
		fclose(f);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
}

void report_context(const struct bench_opts *o)
{
	struct machine m;

	if (o->json)
		return;
	machine_get(&m);
	printf("kipc-bench  %u repetitions per side, ~%llu ms each, kipc and peer interleaved%s\n",
	       o->reps, (unsigned long long)(o->target_ns / 1000000),
	       o->quick ? " (quick)" : "");
	printf("cpu         %s, %ld CPUs online\n", m.cpu, m.cpus);
	printf("kernel      %s %s %s\n", m.uts.sysname, m.uts.release,
	       m.uts.machine);
	printf("compiler    %s\n", COMPILER);
	printf("peers       ck: %s; liburcu: %s; boost: %s (C11, pthread and kernel peers: always)\n",
	       HAVE_CK_STR, HAVE_URCU_STR, HAVE_BOOST_STR);
	fflush(stdout);
}

void report_progress(unsigned int i, unsigned int n, const struct bench_row *row)
{
	if (!isatty(STDERR_FILENO))
		return;
	/* \033[K clears what a longer previous line left behind. */
	fprintf(stderr, "\r[%u/%u] %s: %s\033[K", i + 1, n, row->group, row->name);
}

/* ---- text ---- */

struct widths {
	int name, klabel, plabel;
	bool extra;	/* some row reports fairness or the longest wait */
};

static bool side_extra(const struct bench_stats *st)
{
	return !st->failed && st->reps &&
	       (st->fairness >= 0 || st->max_wait_ns >= 0);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static void widths_get(struct widths *w, const struct bench_outcome *out,
		       unsigned int n)
{
	unsigned int i;

	*w = (struct widths){ .name = 3, .klabel = 4, .plabel = 4 };
	for (i = 0; i < n; i++) {
		const struct bench_row *row = out[i].row;

		w->name = max_int(w->name, 2 + (int)strlen(row->name));
		w->klabel = max_int(w->klabel, (int)strlen(row->kipc.label));
		if (row->peer.label)
			w->plabel = max_int(w->plabel,
					    (int)strlen(row->peer.label));
		w->extra |= side_extra(&out[i].kipc) || side_extra(&out[i].peer);
	}
}

/* Enough digits to compare, no more: 0.42, 12.3, 20412. */
static const char *fmt_ns(char *buf, size_t len, double ns)
{
	snprintf(buf, len, ns < 10 ? "%.2f" : ns < 1000 ? "%.1f" : "%.0f", ns);
	return buf;
}

/* A wait, in the unit that suits it. */
static const char *fmt_wait(char *buf, size_t len, double ns)
{
	if (ns < 0)
		snprintf(buf, len, "-");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

static void print_side(const struct widths *w, int lw, const char *label,
		       const struct bench_stats *st)
{
	char a[32], b[32];

	printf("  %-*s", lw, label);
	if (st->failed) {
		printf(" %9s %7s", "failed", "");
		if (w->extra)
			printf(" %5s %8s", "", "");
		return;
	}
	printf(" %9s %6.1f%%", fmt_ns(a, sizeof(a), st->median), st->spread);
	if (!w->extra)
		return;
	if (st->fairness >= 0)
		snprintf(b, sizeof(b), "%.2f", st->fairness);
	else
		snprintf(b, sizeof(b), "-");
	printf(" %5s %8s", b, fmt_wait(a, sizeof(a), st->max_wait_ns));
}

static void print_header(const struct widths *w)
{
	const char *extra = w->extra ? "  fair max wait" : "";

	printf("%-*s  %-*s %9s %7s%s  %-*s %9s %7s%s %6s\n", w->name, "row",
	       w->klabel, "kipc", "ns/op", "spread", extra,
	       w->plabel, "peer", "ns/op", "spread", extra, "ratio");
}

static void print_legend(const struct widths *w)
{
	printf("\n"
	       "ns/op   median time per operation, lower is better; floor rows: per round trip\n"
	       "spread  interquartile range / median of the repetitions (JSON adds min and max)\n"
	       "ratio   kipc ns/op / peer ns/op: below 1.00 kipc is faster\n");
	if (w->extra)
		printf("fair    fewest/most acquisitions of any thread (1.00 = even)\n"
		       "max wait  longest single wait of any thread\n");
	printf("\n");
}

static void print_text(const struct bench_outcome *out, unsigned int n)
{
	const char *group = NULL;
	struct widths w;
	unsigned int i;

	widths_get(&w, out, n);
	print_legend(&w);
	print_header(&w);
	for (i = 0; i < n; i++) {
		const struct bench_row *row = out[i].row;
		const struct bench_stats *k = &out[i].kipc, *p = &out[i].peer;

		if (!group || strcmp(group, row->group)) {
			group = row->group;
			printf("%s\n", group);
		}
		printf("  %-*s", w.name - 2, row->name);
		print_side(&w, w.klabel, row->kipc.label, k);
		if (!row->peer.label) {
			printf("\n");
			continue;
		}
		if (!row->peer.fn) {
			printf("  %-*s peer missing: apt-get install %s (or make bench-deps)\n",
			       w.plabel, row->peer.label, row->peer.missing);
			continue;
		}
		print_side(&w, w.plabel, row->peer.label, p);
		if (k->failed || p->failed)
			printf(" %6s\n", "-");
		else
			printf(" %6.2f\n", k->median / p->median);
	}
}

/* ---- JSON ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_num(double v)
{
	if (v < 0)
		printf("null");
	else
		printf("%.4f", v);
}

static void json_side(const struct bench_side *side, const struct bench_stats *st)
{
	printf("{\"label\": ");
	json_str(side->label);
	if (!side->fn) {
		printf(", \"status\": \"missing\", \"package\": ");
		json_str(side->missing);
		printf("}");
		return;
	}
	if (st->failed) {
		printf(", \"status\": \"failed\"}");
		return;
	}
	printf(", \"status\": \"ok\", \"median_ns\": ");
	json_num(st->median);
	printf(", \"min_ns\": ");
	json_num(st->min);
	printf(", \"max_ns\": ");
	json_num(st->max);
	printf(", \"spread_pct\": ");
	json_num(st->spread);
	printf(", \"reps\": %u, \"iters_per_rep\": %llu, \"fairness\": ",
	       st->reps, (unsigned long long)st->iters);
	json_num(st->fairness);
	printf(", \"max_wait_ns\": ");
	json_num(st->max_wait_ns);
	printf("}");
}

static void json_row(const struct bench_outcome *o)
{
	const struct bench_row *row = o->row;
	bool ratio = row->peer.fn && !o->kipc.failed && !o->peer.failed;

	printf("    {\"group\": ");
	json_str(row->group);
	printf(", \"name\": ");
	json_str(row->name);
	printf(", \"threads\": %u, \"floor\": %s,\n      \"kipc\": ",
	       row->threads ? row->threads : 1, row->peer.label ? "false" : "true");
	json_side(&row->kipc, &o->kipc);
	printf(",\n      \"peer\": ");
	if (row->peer.label)
		json_side(&row->peer, &o->peer);
	else
		printf("null");
	printf(",\n      \"ratio\": ");
	json_num(ratio ? o->kipc.median / o->peer.median : -1);
	printf("}");
}

static void print_json(const struct bench_opts *o,
		       const struct bench_outcome *out, unsigned int n)
{
	struct machine m;
	unsigned int i;

	machine_get(&m);
	printf("{\n  \"machine\": {\"cpu\": ");
	json_str(m.cpu);
	printf(", \"cpus\": %ld, \"kernel\": ", m.cpus);
	json_str(m.uts.release);
	printf(", \"arch\": ");
	json_str(m.uts.machine);
	printf(", \"compiler\": ");
	json_str(COMPILER);
	printf(", \"peers\": {\"ck\": %s, \"urcu\": %s, \"boost\": %s}},\n",
	       HAVE_CK_JSON, HAVE_URCU_JSON, HAVE_BOOST_JSON);
	printf("  \"method\": {\"reps\": %u, \"target_ms\": %llu, \"quick\": %s, "
	       "\"statistic\": \"median\", \"spread\": \"interquartile range/median\", "
	       "\"ratio\": \"kipc/peer, below 1 kipc is faster\"},\n",
	       o->reps, (unsigned long long)(o->target_ns / 1000000),
	       o->quick ? "true" : "false");
	printf("  \"rows\": [\n");
	for (i = 0; i < n; i++) {
		json_row(&out[i]);
		printf(i + 1 < n ? ",\n" : "\n");
	}
	printf("  ]\n}\n");
}

void report_table(const struct bench_opts *o, const struct bench_outcome *out,
		  unsigned int n)
{
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");
	if (o->json)
		print_json(o, out, n);
	else
		print_text(out, n);
	fflush(stdout);
}
