/*
 * meta/quantity.c — parsing and printing Kubernetes resource quantities as
 * byte counts (see quantity.h).
 *
 * Grammar (Kubernetes' resource.Quantity, restricted to non-negative
 * values):   [+] number [suffix]
 *   number  = digits | digits "." digits | digits "." | "." digits
 *   suffix  = Ki Mi Gi Ti Pi Ei | m k M G T P E | ("e"|"E") [+-] digits
 *
 * The value is computed exactly with decimal digit strings rather than
 * floating point, so "1.1Gi" or "0.000001e7" give the byte count
 * Kubernetes would give (fractions of a byte round up) and anything past
 * INT64_MAX is refused instead of silently wrapping.
 */
#include "meta/quantity.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/field_error.h"

/* Exponents further from zero than this are clamped: any nonzero number
 * times 10^QTY_EXP_CLAMP overflows, and any number with fewer than
 * QTY_EXP_CLAMP digits divided by it rounds up to 1. */
#define QTY_EXP_CLAMP 100000L

/* The number part of a quantity, split at the decimal point. */
struct qty_number {
	const char *int_digits;
	size_t int_len;
	const char *frac_digits;
	size_t frac_len;
};

/* What the suffix multiplies the number by: 2^pow2 * 10^pow10. */
struct qty_scale {
	int pow2;
	long pow10;
};

/* Fill err with `invalid quantity "INPUT": REASON`; always returns -1. */
static int qty_fail(const char *input, char *err, size_t errlen, const char *fmt, ...)
{
	char quoted[160], reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	field_quote(input, quoted, sizeof quoted);
	if (err && errlen)
		snprintf(err, errlen, "invalid quantity %s: %s", quoted, reason);
	return -1;
}

static int has_space(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return 1;
	return 0;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s == c);
	return n;
}

static size_t digit_span(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* Split "12.5" into its digit runs; returns the number of characters used,
 * or 0 when there are no digits at all (".", "Gi", "+"). */
static size_t scan_number(const char *s, struct qty_number *num)
{
	const char *p = s;

	num->int_digits = p;
	num->int_len = digit_span(p);
	p += num->int_len;
	num->frac_digits = p;
	num->frac_len = 0;
	if (*p == '.') {
		p++;
		num->frac_digits = p;
		num->frac_len = digit_span(p);
		p += num->frac_len;
	}
	if (num->int_len == 0 && num->frac_len == 0)
		return 0;
	return (size_t)(p - s);
}

/* Parse a decimal exponent "[+-]digits" covering all of s; clamps huge
 * values (see QTY_EXP_CLAMP). Returns 0 or -1 when s is not one. */
static int scan_exponent(const char *s, long *exp)
{
	int negative = 0;
	long v = 0;

	if (*s == '+' || *s == '-')
		negative = (*s++ == '-');
	if (!*s || digit_span(s) != strlen(s))
		return -1;
	for (; *s; s++)
		if (v < QTY_EXP_CLAMP)
			v = v * 10 + (*s - '0');
	*exp = negative ? -v : v;
	return 0;
}

/* Map a suffix to its scale. Returns 0, or -1 when it is not a valid
 * Kubernetes suffix. */
static int scan_suffix(const char *s, struct qty_scale *scale)
{
	static const char decimal[] = "kMGTPE";
	static const char binary[] = "KMGTPE";
	const char *hit;

	scale->pow2 = 0;
	scale->pow10 = 0;
	if (!*s)
		return 0;
	if (strcmp(s, "m") == 0) {
		scale->pow10 = -3;
		return 0;
	}
	if (s[1] == '\0' && (hit = strchr(decimal, s[0])) != NULL) {
		scale->pow10 = 3 * (hit - decimal + 1);
		return 0;
	}
	if (s[1] == 'i' && s[2] == '\0' && s[0] && (hit = strchr(binary, s[0])) != NULL) {
		scale->pow2 = 10 * (int)(hit - binary + 1);
		return 0;
	}
	if (s[0] == 'e' || s[0] == 'E')
		return scan_exponent(s + 1, &scale->pow10);
	return -1;
}

/* digits *= m for a little-endian decimal digit array of length *n
 * (capacity cap); m is small (at most 1024). */
static void digits_mul_small(unsigned char *d, size_t *n, size_t cap, unsigned m)
{
	unsigned carry = 0;
	size_t i;

	for (i = 0; i < *n; i++) {
		unsigned v = d[i] * m + carry;

		d[i] = (unsigned char)(v % 10);
		carry = v / 10;
	}
	while (carry && *n < cap) {
		d[(*n)++] = (unsigned char)(carry % 10);
		carry /= 10;
	}
}

/* ceil(value / 10^shift) for value the little-endian digit array d[0..n),
 * as a uint64, or -1 if it exceeds INT64_MAX. */
static int digits_to_bytes(const unsigned char *d, size_t n, long shift, uint64_t *out)
{
	uint64_t v = 0;
	int round_up = 0;
	size_t i, first = 0;

	if (shift > 0) {
		first = (size_t)shift < n ? (size_t)shift : n;
		for (i = 0; i < first; i++)
			round_up |= (d[i] != 0);
	}
	for (i = n; i > first; i--) {
		if (v > (uint64_t)INT64_MAX / 10)
			return -1;
		v = v * 10 + d[i - 1];
		if (v > (uint64_t)INT64_MAX)
			return -1;
	}
	if (shift < 0 && v != 0) {
		for (long k = 0; k < -shift; k++) {
			if (v > (uint64_t)INT64_MAX / 10)
				return -1;
			v *= 10;
		}
	}
	if (round_up) {
		if (v == (uint64_t)INT64_MAX)
			return -1;
		v++;
	}
	*out = v;
	return 0;
}

/* Compute number * scale exactly, rounding a fractional byte up. Returns 0
 * or -1 on overflow past INT64_MAX. */
static int qty_evaluate(const struct qty_number *num, const struct qty_scale *scale, uint64_t *bytes)
{
	/* 1024^6 = 2^60 adds at most 19 digits to the number's own. */
	size_t cap = num->int_len + num->frac_len + 24, n = 0;
	unsigned char *d = calloc(cap, 1);
	long shift;
	int rc;

	if (!d)
		return -1;
	for (size_t i = num->frac_len; i > 0; i--)
		d[n++] = (unsigned char)(num->frac_digits[i - 1] - '0');
	for (size_t i = num->int_len; i > 0; i--)
		d[n++] = (unsigned char)(num->int_digits[i - 1] - '0');
	for (int p = 0; p < scale->pow2; p += 10)
		digits_mul_small(d, &n, cap, 1024);
	/* value = digits * 10^(pow10 - frac_len): a positive power shifts left. */
	shift = (long)num->frac_len - scale->pow10;
	rc = digits_to_bytes(d, n, shift, bytes);
	free(d);
	return rc;
}

/* Reject the shapes a quantity can never have before looking closer, so
 * each gets a message that says what is wrong. */
static int qty_reject_shape(const char *s, char *err, size_t errlen)
{
	if (!s || !*s)
		return qty_fail(s ? s : "", err, errlen, "must not be empty");
	if (has_space(s))
		return qty_fail(s, err, errlen, "must not contain whitespace");
	if (s[0] == '-')
		return qty_fail(s, err, errlen, "must not be negative");
	if (count_char(s, '.') > 1)
		return qty_fail(s, err, errlen, "more than one decimal point");
	return 0;
}

/* Parse s and scale its value by 10^pow10 before rounding up: 0 gives
 * bytes, 3 gives thousandths (millicores). */
static int parse_scaled(const char *s, long pow10, uint64_t *out, char *err, size_t errlen)
{
	struct qty_number num;
	struct qty_scale scale;
	const char *p;
	size_t used;

	if (qty_reject_shape(s, err, errlen) < 0)
		return -1;
	p = s + (s[0] == '+');
	used = scan_number(p, &num);
	if (used == 0)
		return qty_fail(s, err, errlen,
				"must start with a number (e.g. 500Mi, 10Gi, 1G, 1073741824)");
	if (scan_suffix(p + used, &scale) < 0) {
		char suffix[80];

		field_quote(p + used, suffix, sizeof suffix);
		return qty_fail(s, err, errlen,
				"unknown suffix %s (use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E or an exponent like e9)",
				suffix);
	}
	scale.pow10 += pow10;
	if (qty_evaluate(&num, &scale, out) < 0)
		return qty_fail(s, err, errlen, "too large (at most %" PRId64 "%s)", INT64_MAX,
				pow10 ? " thousandths" : " bytes");
	return 0;
}

int quantity_parse(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	return parse_scaled(s, 0, bytes, err, errlen);
}

int quantity_parse_milli(const char *s, uint64_t *millis, char *err, size_t errlen)
{
	return parse_scaled(s, 3, millis, err, errlen);
}

void quantity_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *const suffix[] = { "Ei", "Pi", "Ti", "Gi", "Mi", "Ki" };

	if (!len)
		return;
	for (int i = 0; i < 6 && bytes; i++) {
		unsigned shift = 10u * (unsigned)(6 - i);

		if ((bytes & ((UINT64_C(1) << shift) - 1)) == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bytes >> shift, suffix[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
}
