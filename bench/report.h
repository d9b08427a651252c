/* SPDX-License-Identifier: MIT */
/*
 * bench/report.h - between the run loop (main.c) and the output (report.c):
 * the statistics of one side of a row, and the text and JSON printers.
 */
#ifndef KIPC_BENCH_REPORT_H
#define KIPC_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

struct bench_opts {
	bool quick;
	bool json;
	unsigned int reps;
	uint64_t target_ns;	/* the length of one repetition */
	const char *filter;
};

/* One side of a row over its repetitions; medians unless said otherwise. */
struct bench_stats {
	bool failed;
	unsigned int reps;
	uint64_t iters;		/* operations per repetition, after calibration */
	double median, min, max;	/* ns per operation */
	double spread;		/* interquartile range / median, in percent */
	double fairness;	/* BENCH_NA when the row does not measure it */
	double max_wait_ns;	/* likewise */
};

struct bench_outcome {
	const struct bench_row *row;
	struct bench_stats kipc, peer;
};

/*
 * The text output starts with the machine context, at once; the table comes
 * when every row is measured, since whether it needs the fairness and wait
 * columns is known only then.  JSON is all printed by report_table().
 */
void report_context(const struct bench_opts *opts);
/* "[i/n] row" on stderr while measuring, when stderr is a terminal. */
void report_progress(unsigned int i, unsigned int n, const struct bench_row *row);
void report_table(const struct bench_opts *opts,
		  const struct bench_outcome *out, unsigned int n);

#endif /* KIPC_BENCH_REPORT_H */
