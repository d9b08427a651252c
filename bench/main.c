// SPDX-License-Identifier: MIT
/*
 * kipc-bench: every registered row, each side calibrated to a fixed duration
 * per repetition, kipc and peer repetitions interleaved, reported as medians.
 * The method, and why, is in docs/benchmarks.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "report.h"

#define REPS_DEFAULT	11
#define REPS_QUICK	3
#define REPS_MAX	1000
#define TARGET_NS	(30 * 1000 * 1000ull)
#define TARGET_QUICK_NS	(5 * 1000 * 1000ull)
#define ITERS_START	16
#define ITERS_MAX	(1ull << 40)

static struct bench_table *tables, **tables_tail = &tables;

/* Called by constructors, before main(): link order is table order. */
void bench_register(struct bench_table *table)
{
	*tables_tail = table;
	tables_tail = &table->next;
}

static struct bench_result run_once(const struct bench_row *row,
				    const struct bench_side *side,
				    uint64_t iters)
{
	struct bench_run run = {
		.iters = iters,
		.threads = row->threads ? row->threads : 1,
		.arg = row->arg,
	};

	return side->fn(&run);
}

/*
 * How many operations fill one repetition: grow (at most 64x a step, so a
 * slow operation cannot overshoot badly) until a run lasts an eighth of the
 * target, then scale linearly.  The runs also warm caches, page tables and
 * the CPU clock before anything is recorded.  Returns 0 if a run failed.
 */
static uint64_t calibrate(const struct bench_row *row,
			  const struct bench_side *side, uint64_t target)
{
	uint64_t iters = ITERS_START;

	for (;;) {
		struct bench_result r = run_once(row, side, iters);
		double t = r.ns_per_op * (double)iters, grow;

		if (r.ns_per_op < 0)
			return 0;
		if (t >= target / 8 || iters >= ITERS_MAX) {
			grow = (double)iters * (double)target / t;
			return grow < 1 ? 1 : grow > ITERS_MAX ? ITERS_MAX :
			       (uint64_t)grow;
		}
		grow = t > 0 ? target / t : 64;
		iters *= grow < 2 ? 2 : grow > 64 ? 64 : (uint64_t)grow;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n), interpolating between neighbours. */
static double quantile(const double *v, unsigned int n, double q)
{
	double pos = q * (n - 1);
	unsigned int i = (unsigned int)pos;

	return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[i];
}

/* Sorts v[0..n) in place. */
static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return quantile(v, n, 0.5);
}

struct samples {
	double ns[REPS_MAX], fair[REPS_MAX], wait[REPS_MAX];
};

static void summarize(struct bench_stats *st, struct samples *s)
{
	unsigned int n = st->reps;

	st->median = median(s->ns, n);
	st->min = s->ns[0];
	st->max = s->ns[n - 1];
	/* Interquartile: one outlier repetition does not make it explode. */
	st->spread = st->median > 0 ? 100 * (quantile(s->ns, n, 0.75) -
		     quantile(s->ns, n, 0.25)) / st->median : 0;
	st->fairness = median(s->fair, n);
	st->max_wait_ns = median(s->wait, n);
}

/*
 * Calibrates each side, then alternates their repetitions (kipc, peer, kipc,
 * peer, ...) so that a burst of machine noise lands on both sides alike
 * instead of on whichever ran during it.
 */
static void measure(const struct bench_row *row, const struct bench_opts *o,
		    struct bench_outcome *out)
{
	static struct samples samples[2];
	const struct bench_side *side[2] = { &row->kipc, &row->peer };
	struct bench_stats *st[2] = { &out->kipc, &out->peer };
	unsigned int nsides = row->peer.fn ? 2 : 1, s, rep;

	*out = (struct bench_outcome){ .row = row };
	for (s = 0; s < nsides; s++) {
		st[s]->iters = calibrate(row, side[s], o->target_ns);
		st[s]->failed = !st[s]->iters;
	}
	for (rep = 0; rep < o->reps; rep++) {
		for (s = 0; s < nsides; s++) {
			struct bench_result r;

			if (st[s]->failed)
				continue;
			r = run_once(row, side[s], st[s]->iters);
			st[s]->failed = r.ns_per_op < 0;
			samples[s].ns[rep] = r.ns_per_op;
			samples[s].fair[rep] = r.fairness;
			samples[s].wait[rep] = r.max_wait_ns;
		}
	}
	for (s = 0; s < nsides; s++) {
		if (st[s]->failed)
			continue;
		st[s]->reps = o->reps;
		summarize(st[s], &samples[s]);
	}
}

static bool row_selected(const struct bench_row *row, const char *filter)
{
	return !filter || strcasestr(row->group, filter) ||
	       strcasestr(row->name, filter);
}

static void list_row(const struct bench_row *row)
{
	printf("%-10s %-36s %s", row->group, row->name, row->kipc.label);
	if (row->peer.label)
		printf(" vs %s%s", row->peer.label,
		       row->peer.fn ? "" : " (peer missing)");
	printf("\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kipc-bench [--quick] [--json] [--filter SUBSTR] [--reps N] [--list]\n"
		"  --quick          %d repetitions of ~%llu ms (CI smoke run)\n"
		"  --json           machine-readable output\n"
		"  --filter SUBSTR  only rows whose group or name contains SUBSTR\n"
		"  --reps N         repetitions per side (default %d)\n"
		"  --list           list the rows and exit\n",
		REPS_QUICK, TARGET_QUICK_NS / 1000000, REPS_DEFAULT);
}

static int parse_args(int argc, char **argv, struct bench_opts *o, bool *list)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "filter", required_argument, NULL, 'f' },
		{ "reps", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int reps = 0;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "qjf:r:lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'f':
			o->filter = optarg;
			break;
		case 'r':
			reps = strtoul(optarg, &end, 10);
			if (*end || !reps || reps > REPS_MAX) {
				fprintf(stderr, "kipc-bench: --reps takes 1..%d\n",
					REPS_MAX);
				return 2;
			}
			break;
		case 'l':
			*list = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	o->reps = reps ? reps : o->quick ? REPS_QUICK : REPS_DEFAULT;
	o->target_ns = o->quick ? TARGET_QUICK_NS : TARGET_NS;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { 0 };
	const struct bench_row **rows;
	struct bench_outcome *out;
	struct bench_table *t;
	unsigned int n = 0, total = 0, i;
	bool list = false, failed = false;
	int err;

	err = parse_args(argc, argv, &opts, &list);
	if (err)
		return err;
	for (t = tables; t; t = t->next)
		total += t->n;
	rows = calloc(total ? total : 1, sizeof(*rows));
	out = calloc(total ? total : 1, sizeof(*out));
	if (!rows || !out) {
		perror("kipc-bench");
		free(rows);
		free(out);
		return 1;
	}
	for (t = tables; t; t = t->next)
		for (i = 0; i < t->n; i++)
			if (row_selected(&t->rows[i], opts.filter))
				rows[n++] = &t->rows[i];
	if (!n) {
		fprintf(stderr, "kipc-bench: no row matches '%s'\n",
			opts.filter ? opts.filter : "");
		err = 1;
	} else if (list) {
		for (i = 0; i < n; i++)
			list_row(rows[i]);
	} else {
		report_context(&opts);
		for (i = 0; i < n; i++) {
			report_progress(i, n, rows[i]);
			measure(rows[i], &opts, &out[i]);
			failed |= out[i].kipc.failed || out[i].peer.failed;
		}
		report_table(&opts, out, n);
		err = failed;
	}
	free(rows);
	free(out);
	return err;
}
