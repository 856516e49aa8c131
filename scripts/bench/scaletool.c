/*
 * The file-level work of scripts/bench/snapcost.sh, in C so that the
 * measured loops cost only their system calls:
 *
 *   fill DIR FILES PER JOBS BYTES   create FILES files of BYTES bytes each
 *                                   (DIR/dNNNNN/fNNNNNNN, PER to a directory),
 *                                   JOBS threads, each its own directories
 *   change DIR FILES PER K SEED     overwrite the first byte of K distinct
 *                                   files picked at random
 *   stat DIR FILES PER COUNT SEED   stat() COUNT files picked at random
 *   readdir DIR FILES PER COUNT SEED  read every entry of COUNT directories
 *                                   picked at random
 *   read DIR FILES PER COUNT SEED   open, read whole and close COUNT files
 *                                   picked at random
 *   pair stat|readdir|read DIR_A DIR_B FILES PER COUNT SEED
 *                                   the same on two volumes filled alike,
 *                                   interleaved: each file (directory) on
 *                                   one then the other, which goes first
 *                                   alternating, so a load spike from
 *                                   elsewhere lands on both; prints the
 *                                   microseconds spent on A and on B, and
 *                                   the median of one file (directory) on
 *                                   A and on B (µs, to 0.1)
 *   writer FILE STOPFILE            4 KiB pwrite + fdatasync in a loop until
 *                                   STOPFILE exists
 *
 * fill and the measuring commands print the elapsed microseconds; writer
 * prints "writes max_us p99_us". The same SEED picks the same files, so two
 * volumes filled alike are measured on the same paths. Not part of volfs:
 * built by the bench script with cc.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
    fprintf(stderr, "scaletool: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static long arg_long(const char *s, const char *name)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "scaletool: %s must be a non-negative integer, not '%s'\n", name, s);
        exit(2);
    }
    return v;
}

/* splitmix64: a seeded, portable sequence (rand() differs between libcs) */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void file_path(char *buf, size_t len, const char *dir, long i, long per)
{
    snprintf(buf, len, "%s/d%05ld/f%07ld", dir, i / per, i);
}

struct fill_job {
    const char *dir;
    long files, per, jobs, bytes, first_dir;
};

/* Thread t makes directories t, t + jobs, ... and the files that go in them. */
static void *fill_dirs(void *arg)
{
    const struct fill_job *j = arg;
    char path[4096], data[4096];
    long ndirs = (j->files + j->per - 1) / j->per;
    memset(data, 'x', sizeof data);
    for (long d = j->first_dir; d < ndirs; d += j->jobs) {
        snprintf(path, sizeof path, "%s/d%05ld", j->dir, d);
        if (mkdir(path, 0755) < 0)
            die("mkdir", path);
        for (long i = d * j->per; i < (d + 1) * j->per && i < j->files; i++) {
            file_path(path, sizeof path, j->dir, i, j->per);
            int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
            if (fd < 0)
                die("create", path);
            if (j->bytes && write(fd, data, (size_t)j->bytes) != j->bytes)
                die("write", path);
            if (close(fd) < 0)
                die("close", path);
        }
    }
    return NULL;
}

static int cmd_fill(char **argv)
{
    struct fill_job base = {
        .dir = argv[0],
        .files = arg_long(argv[1], "FILES"),
        .per = arg_long(argv[2], "PER"),
        .jobs = arg_long(argv[3], "JOBS"),
        .bytes = arg_long(argv[4], "BYTES"),
    };
    if (base.per < 1 || base.jobs < 1 || base.jobs > 256 || base.bytes > 4096) {
        fprintf(stderr, "scaletool: fill needs PER >= 1, 1 <= JOBS <= 256, BYTES <= 4096\n");
        return 2;
    }
    pthread_t tid[256];
    struct fill_job job[256];
    uint64_t t0 = now_us();
    for (long t = 0; t < base.jobs; t++) {
        job[t] = base;
        job[t].first_dir = t;
        if (pthread_create(&tid[t], NULL, fill_dirs, &job[t]) != 0) {
            fprintf(stderr, "scaletool: pthread_create failed\n");
            return 1;
        }
    }
    for (long t = 0; t < base.jobs; t++)
        pthread_join(tid[t], NULL);
    printf("%llu\n", (unsigned long long)(now_us() - t0));
    return 0;
}

/* COUNT distinct indexes below N when count <= n (a partial Fisher-Yates). */
static long *pick(long n, long count, uint64_t seed, int distinct)
{
    long *out = malloc(sizeof *out * (size_t)(count ? count : 1));
    if (!out)
        die("malloc", "");
    if (!distinct || count > n) {
        for (long k = 0; k < count; k++)
            out[k] = (long)(next_random(&seed) % (uint64_t)n);
        return out;
    }
    long *all = malloc(sizeof *all * (size_t)n);
    if (!all)
        die("malloc", "");
    for (long i = 0; i < n; i++)
        all[i] = i;
    for (long k = 0; k < count; k++) {
        long r = k + (long)(next_random(&seed) % (uint64_t)(n - k));
        long t = all[k];
        all[k] = all[r];
        all[r] = t;
        out[k] = all[k];
    }
    free(all);
    return out;
}

enum measure { M_CHANGE, M_STAT, M_READDIR, M_READ };

static void do_one(enum measure m, const char *dir, long i, long per, uint64_t salt)
{
    char path[4096], buf[65536];
    if (m == M_READDIR) {
        snprintf(path, sizeof path, "%s/d%05ld", dir, i);
        DIR *d = opendir(path);
        if (!d)
            die("opendir", path);
        errno = 0;
        while (readdir(d))
            ;
        if (errno)
            die("readdir", path);
        closedir(d);
        return;
    }
    file_path(path, sizeof path, dir, i, per);
    if (m == M_STAT) {
        struct stat st;
        if (stat(path, &st) < 0)
            die("stat", path);
        return;
    }
    int fd = open(path, m == M_CHANGE ? O_WRONLY : O_RDONLY);
    if (fd < 0)
        die("open", path);
    if (m == M_CHANGE) {
        char c = (char)('a' + salt % 26);
        if (pwrite(fd, &c, 1, 0) != 1)
            die("write", path);
    } else {
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            ;
        if (r < 0)
            die("read", path);
    }
    if (close(fd) < 0)
        die("close", path);
}

static int cmd_measure(enum measure m, char **argv)
{
    const char *dir = argv[0];
    long files = arg_long(argv[1], "FILES"), per = arg_long(argv[2], "PER");
    long count = arg_long(argv[3], "COUNT");
    uint64_t seed = (uint64_t)arg_long(argv[4], "SEED");
    if (files < 1 || per < 1) {
        fprintf(stderr, "scaletool: FILES and PER must be positive\n");
        return 2;
    }
    long n = m == M_READDIR ? (files + per - 1) / per : files;
    long *which = pick(n, count, seed, m == M_CHANGE);
    uint64_t t0 = now_us();
    for (long k = 0; k < count; k++)
        do_one(m, dir, which[k], per, seed);
    printf("%llu\n", (unsigned long long)(now_us() - t0));
    free(which);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmd_pair(enum measure m, char **argv)
{
    const char *dir[2] = {argv[0], argv[1]};
    long files = arg_long(argv[2], "FILES"), per = arg_long(argv[3], "PER");
    long count = arg_long(argv[4], "COUNT");
    uint64_t seed = (uint64_t)arg_long(argv[5], "SEED"), spent[2] = {0, 0}, *lat[2];
    if (files < 1 || per < 1 || count < 1) {
        fprintf(stderr, "scaletool: FILES, PER and COUNT must be positive\n");
        return 2;
    }
    long n = m == M_READDIR ? (files + per - 1) / per : files;
    long *which = pick(n, count, seed, 0);
    for (int side = 0; side < 2; side++)
        if (!(lat[side] = malloc(sizeof *lat[side] * (size_t)count)))
            die("malloc", "");
    for (long k = 0; k < count; k++)
        for (int j = 0; j < 2; j++) {
            int side = (int)((k + j) % 2);
            uint64_t t0 = now_ns();
            do_one(m, dir[side], which[k], per, seed);
            lat[side][k] = now_ns() - t0;
            spent[side] += lat[side][k];
        }
    printf("%llu %llu %.1f %.1f\n", (unsigned long long)(spent[0] / 1000),
           (unsigned long long)(spent[1] / 1000), median_u64(lat[0], count) / 1000.0,
           median_u64(lat[1], count) / 1000.0);
    free(lat[0]);
    free(lat[1]);
    free(which);
    return 0;
}

static int cmd_writer(char **argv)
{
    int fd = open(argv[0], O_CREAT | O_WRONLY, 0644);
    if (fd < 0)
        die("create", argv[0]);
    char block[4096];
    memset(block, 'w', sizeof block);
    size_t cap = 1 << 16, n = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    if (!lat)
        die("malloc", "");
    while (access(argv[1], F_OK) < 0) {
        uint64_t t0 = now_us();
        if (pwrite(fd, block, sizeof block, (off_t)(n % 256) * 4096) != sizeof block)
            die("write", argv[0]);
        if (fdatasync(fd) < 0)
            die("fdatasync", argv[0]);
        if (n == cap && !(lat = realloc(lat, (cap *= 2) * sizeof *lat)))
            die("realloc", "");
        lat[n++] = now_us() - t0;
    }
    close(fd);
    if (n == 0) {
        fprintf(stderr, "scaletool: the writer made no write\n");
        return 1;
    }
    qsort(lat, n, sizeof *lat, cmp_u64);
    size_t p99 = (n * 99 + 99) / 100 - 1;
    printf("%zu %llu %llu\n", n, (unsigned long long)lat[n - 1], (unsigned long long)lat[p99]);
    free(lat);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int args;
        enum measure m;
    } measures[] = {
        {"change", 5, M_CHANGE}, {"stat", 5, M_STAT}, {"readdir", 5, M_READDIR}, {"read", 5, M_READ},
    };
    if (argc >= 2 && strcmp(argv[1], "fill") == 0 && argc == 7)
        return cmd_fill(argv + 2);
    if (argc >= 2 && strcmp(argv[1], "writer") == 0 && argc == 4)
        return cmd_writer(argv + 2);
    for (size_t k = 0; argc >= 2 && k < sizeof measures / sizeof measures[0]; k++) {
        if (strcmp(argv[1], measures[k].name) == 0 && argc == measures[k].args + 2)
            return cmd_measure(measures[k].m, argv + 2);
        if (strcmp(argv[1], "pair") == 0 && argc == 9 && measures[k].m != M_CHANGE &&
            strcmp(argv[2], measures[k].name) == 0)
            return cmd_pair(measures[k].m, argv + 3);
    }
    fprintf(stderr, "usage: scaletool fill DIR FILES PER JOBS BYTES | change|stat|readdir|read DIR FILES PER COUNT SEED"
                    " | pair stat|readdir|read DIR_A DIR_B FILES PER COUNT SEED | writer FILE STOPFILE\n");
    return 2;
}
