/*
 * fs/control/hostpath.c — hostPath volumes on the host (see hostpath.h). The
 * allow-list is process-wide configuration, written once by main() before
 * any thread starts and only read afterwards.
 *
 * Creation walks down from the deepest existing ancestor with mkdirat and
 * openat(O_NOFOLLOW), so a symbolic link swapped in along the way cannot
 * redirect it; the fully resolved result is judged against the prefixes
 * again before it is used.
 */
#include "fs/control/hostpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/hostpath.h"

static char **allowed;
static size_t n_allowed;

int hostpath_allow(const char *prefix, char *err, size_t errlen)
{
	char real[PATH_MAX];
	if (!realpath(prefix, real)) {
		int e = errno;
		snprintf(err, errlen, "--hostpath-allow %s: %s", prefix, strerror(e));
		return -e;
	}
	char **bigger = realloc(allowed, (n_allowed + 1) * sizeof *bigger);
	char *dup = strdup(real);
	if (!bigger || !dup) {
		free(dup);
		if (bigger)
			allowed = bigger;
		snprintf(err, errlen, "--hostpath-allow %s: out of memory", prefix);
		return -ENOMEM;
	}
	allowed = bigger;
	allowed[n_allowed++] = dup;
	return 0;
}

void hostpath_allow_free(void)
{
	for (size_t i = 0; i < n_allowed; i++)
		free(allowed[i]);
	free(allowed);
	allowed = NULL;
	n_allowed = 0;
}

void hostpath_allowed_list(char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n_allowed && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", allowed[i]);
	if (!n_allowed)
		snprintf(buf, len, "none");
}

static int is_allowed(const char *resolved)
{
	for (size_t i = 0; i < n_allowed; i++)
		if (hostpath_under(resolved, allowed[i]))
			return 1;
	return 0;
}

/* "/a//b/./c/" -> "/a/b/c" (the manifest has no ".." components). */
static void normalise(const char *path, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = path; *p && o + 1 < len;) {
		size_t n = strcspn(p, "/");
		if (n && !(n == 1 && p[0] == '.'))
			o += (size_t)snprintf(out + o, len - o, "/%.*s", (int)n, p);
		p += n;
		p += *p == '/';
	}
	if (!o)
		snprintf(out, len, "/");
}

/* Split norm into the canonical path of its deepest existing ancestor
 * (`base`, symlinks resolved) and the components below it that do not
 * exist (`rest`, "" or "a/b"). */
static int resolve_existing(const char *norm, char *base, char *rest, size_t len, char *err,
                            size_t errlen)
{
	char work[PATH_MAX];
	snprintf(work, sizeof work, "%s", norm);
	rest[0] = 0;
	while (!realpath(work, base)) {
		int e = errno;
		if (e != ENOENT && e != ENOTDIR) {
			snprintf(err, errlen, "hostPath %s: %s: %s", norm, work, strerror(e));
			return -e;
		}
		char *slash = strrchr(work, '/'), tmp[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s%s%s", slash + 1, rest[0] ? "/" : "", rest);
		snprintf(rest, len, "%s", tmp);
		if (slash == work)
			slash[1] = 0;
		else
			*slash = 0;
	}
	return 0;
}

/* base/rest; 0 if it did not fit. */
static int join(char *out, size_t len, const char *base, const char *rest)
{
	int n = snprintf(out, len, "%s%s%s", base, rest[0] && strcmp(base, "/") ? "/" : "", rest);
	return n >= 0 && (size_t)n < len;
}

static int refuse(const char *norm, const char *resolved, char *err, size_t errlen)
{
	char list[2048];
	hostpath_allowed_list(list, sizeof list);
	if (!n_allowed)
		snprintf(err, errlen, "hostPath %s is refused: this volfs allows no host paths (start it "
		         "with --hostpath-allow PREFIX)", norm);
	else if (strcmp(norm, resolved))
		snprintf(err, errlen, "hostPath %s resolves to %s, which is not under an allowed prefix "
		         "(--hostpath-allow %s)", norm, resolved, list);
	else
		snprintf(err, errlen, "hostPath %s is not under an allowed prefix (--hostpath-allow %s)",
		         norm, list);
	return -EPERM;
}

/* norm -> where it lands as far as the host knows now; refused outside. */
static int judge(const char *norm, char *base, char *rest, char *err, size_t errlen)
{
	char where[PATH_MAX];
	int r = resolve_existing(norm, base, rest, PATH_MAX, err, errlen);
	if (r < 0)
		return r;
	join(where, sizeof where, base, rest);
	return is_allowed(where) ? 0 : refuse(norm, where, err, errlen);
}

int hostpath_admit(const char *path, char *err, size_t errlen)
{
	char norm[PATH_MAX], base[PATH_MAX], rest[PATH_MAX];
	normalise(path, norm, sizeof norm);
	if (!n_allowed)
		return refuse(norm, norm, err, errlen);
	return judge(norm, base, rest, err, errlen);
}

int hostpath_unchanged(const char *resolved)
{
	char real[PATH_MAX];
	return realpath(resolved, real) && !strcmp(real, resolved) && is_allowed(real);
}

static void note_made(struct hostpath_made *made, const char *path, int file)
{
	if (!made->top[0])
		snprintf(made->top, sizeof made->top, "%s", path);
	snprintf(made->last, sizeof made->last, "%s", path);
	made->file = file;
}

/* Why name, which exists, could not be walked into or created over. */
static int blocked(const char *norm, const char *at, int dirfd, const char *name, int e, char *err,
                   size_t errlen)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		snprintf(err, errlen, "hostPath %s: %s is a symbolic link to a path that does not exist",
		         norm, at);
	else
		snprintf(err, errlen, "hostPath %s: cannot create %s: %s", norm, at, strerror(e));
	return -e;
}

/* Create the missing components `rest` below base: directories (0755,
 * whatever the umask), or with file set, the last one as an empty 0644
 * file. */
static int create_below(const char *norm, const char *base, const char *rest, int file,
                        struct hostpath_made *made, char *err, size_t errlen)
{
	char at[PATH_MAX], name[NAME_MAX + 1];
	int dfd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC), r = 0;
	if (dfd < 0) {
		snprintf(err, errlen, "hostPath %s: cannot create it under %s: %s", norm, base, strerror(errno));
		return -errno;
	}
	snprintf(at, sizeof at, "%s", base);
	for (const char *p = rest; *p && r == 0;) {
		size_t n = strcspn(p, "/");
		int last = p[n] == 0;
		char parent[PATH_MAX];
		snprintf(name, sizeof name, "%.*s", (int)n, p);
		snprintf(parent, sizeof parent, "%s", at);
		join(at, sizeof at, parent, name);
		p += n + !last;
		if (last && file) {
			int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			struct stat st;
			if (fd < 0 && (errno != EEXIST || (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			                                   S_ISLNK(st.st_mode))))
				r = blocked(norm, at, dfd, name, errno, err, errlen);
			else if (fd < 0) {
				r = 0; /* made meanwhile: the type check judges it */
			} else {
				note_made(made, at, 1);
				if (fchmod(fd, 0644) < 0) /* the umask must not narrow it */
					r = blocked(norm, at, dfd, name, errno, err, errlen);
				close(fd);
			}
			break;
		}
		if (mkdirat(dfd, name, 0755) == 0) {
			note_made(made, at, 0);
			if (fchmodat(dfd, name, 0755, 0) < 0)
				r = blocked(norm, at, dfd, name, errno, err, errlen);
		} else if (errno != EEXIST)
			r = blocked(norm, at, dfd, name, errno, err, errlen);
		int nfd = r ? -1 : openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (r == 0 && nfd < 0)
			r = blocked(norm, at, dfd, name, errno, err, errlen);
		close(dfd);
		dfd = nfd;
	}
	if (dfd >= 0)
		close(dfd);
	return r;
}

void hostpath_undo(const struct hostpath_made *made)
{
	char p[PATH_MAX];
	if (!made->top[0])
		return;
	if (made->file) {
		unlink(made->last);
		if (!strcmp(made->last, made->top))
			return;
		snprintf(p, sizeof p, "%s", made->last);
		*strrchr(p, '/') = 0;
	} else
		snprintf(p, sizeof p, "%s", made->last);
	while (rmdir(p) == 0 && strcmp(p, made->top)) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = 0;
	}
}

static int set_up(const char *norm, const char *type, struct hostpath_made *made, char *resolved,
                  size_t len, char *err, size_t errlen)
{
	char base[PATH_MAX], rest[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int r = judge(norm, base, rest, err, errlen);
	if (r < 0)
		return r;
	if (rest[0] && hostpath_creates_file(type) && strchr(rest, '/')) {
		snprintf(err, errlen, "hostPath %s: cannot create it: its parent directory does not exist "
		         "(FileOrCreate creates no parents)", norm);
		return -ENOENT;
	}
	if (rest[0] && (hostpath_creates_dir(type) || hostpath_creates_file(type)) &&
	    (r = create_below(norm, base, rest, hostpath_creates_file(type), made, err, errlen)) < 0)
		return r;
	int exists = realpath(norm, real) != NULL && stat(real, &st) == 0;
	if ((r = hostpath_check_type(type, norm, exists, exists ? st.st_mode : 0, err, errlen)) < 0)
		return r;
	if (!exists) { /* "" on a path that vanished meanwhile */
		snprintf(err, errlen, "hostPath %s doesn't exist", norm);
		return -ENOENT;
	}
	if (!is_allowed(real))
		return refuse(norm, real, err, errlen);
	snprintf(resolved, len, "%s", real);
	return 0;
}

int hostpath_prepare(const char *path, const char *type, struct hostpath_made *made,
                     char *resolved, size_t len, char *err, size_t errlen)
{
	char norm[PATH_MAX];
	memset(made, 0, sizeof *made);
	normalise(path, norm, sizeof norm);
	if (!n_allowed)
		return refuse(norm, norm, err, errlen);
	int r = set_up(norm, type ? type : "", made, resolved, len, err, errlen);
	if (r < 0) {
		hostpath_undo(made);
		memset(made, 0, sizeof *made);
	}
	return r;
}
