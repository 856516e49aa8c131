/*
 * meta/names.c — validation of Kubernetes object names (see names.h): the
 * DNS-1123 subdomain rule for object names and the DNS-1123 label rule for
 * namespaces, with kubectl's wording in the error messages.
 *
 * These names become path components under the mount point and rows in
 * meta.db, so the checks are the only thing standing between a user's
 * string and "../../etc": they are written to be obviously complete rather
 * than clever.
 */
#include "meta/names.h"

#include <stdio.h>
#include <string.h>

#include "meta/field_error.h"

#define NAME_SUBDOMAIN_MAX 253
#define NAME_LABEL_MAX 63

static const char SUBDOMAIN_RULE[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
	"characters, '-' or '.', and must start and end with an alphanumeric character";
static const char LABEL_RULE[] =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric "
	"characters or '-', and must start and end with an alphanumeric character";

/* Fill err with `invalid name "NAME": REASON`; always returns -1. */
static int name_fail(const char *name, const char *reason, char *err, size_t errlen)
{
	/* Large enough to quote a 253-character name and then some. */
	char quoted[320];

	field_quote(name, quoted, sizeof quoted);
	if (err && errlen)
		snprintf(err, errlen, "invalid name %s: %s", quoted, reason);
	return -1;
}

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One DNS label of length len: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static int is_label(const char *s, size_t len)
{
	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return 0;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* Dot-separated labels, each valid on its own: this rejects "", ".",
 * "..", "a..b", "a.-b" and leading or trailing dots in one rule. */
static int is_subdomain(const char *s)
{
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (!is_label(s, len))
			return 0;
		if (!dot)
			return 1;
		s = dot + 1;
	}
}

int name_check_subdomain(const char *name, char *err, size_t errlen)
{
	char reason[64];

	if (!name || !*name)
		return name_fail("", "must not be empty", err, errlen);
	if (strlen(name) > NAME_SUBDOMAIN_MAX) {
		snprintf(reason, sizeof reason, "must be no more than %d characters",
			 NAME_SUBDOMAIN_MAX);
		return name_fail(name, reason, err, errlen);
	}
	if (!is_subdomain(name))
		return name_fail(name, SUBDOMAIN_RULE, err, errlen);
	return 0;
}

int name_check_label(const char *name, char *err, size_t errlen)
{
	char reason[64];

	if (!name || !*name)
		return name_fail("", "must not be empty", err, errlen);
	if (strlen(name) > NAME_LABEL_MAX) {
		snprintf(reason, sizeof reason, "must be no more than %d characters",
			 NAME_LABEL_MAX);
		return name_fail(name, reason, err, errlen);
	}
	if (!is_label(name, strlen(name)))
		return name_fail(name, LABEL_RULE, err, errlen);
	return 0;
}
