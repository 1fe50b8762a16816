// SPDX-License-Identifier: Apache-2.0
// W1 (open("/etc/hostname") + close) with and without the programs of a BPF object attached,
// in many short interleaved rounds; prints the median ratio of CPU time per iteration.
// Usage: w1 OBJ [ROUNDS] [ITERATIONS] [MAPS]
//   MAPS: lines "MAP_NAME KEY_HEX VALUE_HEX" written into the object's maps before attaching
//   (dump-maps.py makes them from a running `palisade run`).
// Every program of the object is attached (libbpf's auto-attach by section name).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 512
#define MAX_LINKS 64

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU µs per iteration of open + close. */
static double w1(long n)
{
	double s = cpu_now();
	for (long i = 0; i < n; i++)
		close(open("/etc/hostname", O_RDONLY | O_CLOEXEC));
	return (cpu_now() - s) / n * 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct bpf_link *links[MAX_LINKS];
static int nlinks;

static void attach(struct bpf_object *o)
{
	struct bpf_program *p;
	bpf_object__for_each_program(p, o) {
		struct bpf_link *l = bpf_program__attach(p);
		if (!l || nlinks == MAX_LINKS) {
			fprintf(stderr, "attaching %s failed\n", bpf_program__name(p));
			exit(1);
		}
		links[nlinks++] = l;
	}
}

static void detach(void)
{
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	nlinks = 0;
}

static void hex(const char *h, unsigned char *out, size_t max)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n && i < max; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static void fill_maps(struct bpf_object *o, const char *file)
{
	static char name[64], kh[128], vh[20000];
	static unsigned char k[64], v[10000];
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		exit(1);
	}
	while (fscanf(f, "%63s %127s %19999s", name, kh, vh) == 3) {
		struct bpf_map *m = bpf_object__find_map_by_name(o, name);
		hex(kh, k, sizeof(k));
		hex(vh, v, sizeof(v));
		if (!m || bpf_map_update_elem(bpf_map__fd(m), k, v, 0)) {
			fprintf(stderr, "map %s: update failed\n", name);
			exit(1);
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJ [ROUNDS] [ITERATIONS] [MAPS]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 101;
	long iters = argc > 3 ? atol(argv[3]) : 30000;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 101;
	struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
	if (!o || bpf_object__load(o)) {
		fprintf(stderr, "loading %s failed\n", argv[1]);
		return 1;
	}
	if (argc > 4)
		fill_maps(o, argv[4]);
	static double without[MAX_ROUNDS], with[MAX_ROUNDS], ratio[MAX_ROUNDS];
	w1(iters / 10);
	for (int r = 0; r < rounds; r++) {
		if (r % 2) {
			attach(o);
			with[r] = w1(iters);
			detach();
			without[r] = w1(iters);
		} else {
			without[r] = w1(iters);
			attach(o);
			with[r] = w1(iters);
			detach();
		}
		ratio[r] = with[r] / without[r];
	}
	qsort(without, rounds, sizeof(double), cmp);
	qsort(with, rounds, sizeof(double), cmp);
	qsort(ratio, rounds, sizeof(double), cmp);
	printf("%s: CPU µs/iter without %.3f, with %.3f, ratio %.3f (median of per-round ratios %.3f)\n", argv[1],
	       without[rounds / 2], with[rounds / 2], with[rounds / 2] / without[rounds / 2], ratio[rounds / 2]);
	return 0;
}
