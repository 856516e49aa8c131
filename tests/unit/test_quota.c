/*
 * tests/unit/test_quota.c — ResourceQuota for claims (meta/quota.c): usage
 * of requests.storage, persistentvolumeclaims and their per-class forms,
 * and admission of creations and expansions with kubectl's message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "meta/k8s.h"
#include "meta/quota.h"

#define FAST "fast.storageclass.storage.k8s.io/"

/* A claim in namespace "team"; cls NULL: no storageClassName. */
static json_object *claim(const char *name, const char *request, const char *cls)
{
	json_object *pvc = J("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':"
			     "{'namespace':'team'},'spec':{'accessModes':['ReadWriteOnce']}}");

	jpath_set_str(pvc, "metadata.name", name);
	jpath_set_str(pvc, "spec.resources.requests.storage", request);
	if (cls)
		jpath_set_str(pvc, "spec.storageClassName", cls);
	return pvc;
}

static json_object *quota(const char *name, const char *hard)
{
	json_object *q = J("{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'namespace':'team'}}");

	jpath_set_str(q, "metadata.name", name);
	jpath_set(q, "spec.hard", J(hard));
	return q;
}

/* The quota: 100Mi in all, two claims, 60Mi of class fast. */
static json_object *team_quota(void)
{
	return unit_json_list(quota("storage", "{'requests.storage':'100Mi','persistentvolumeclaims':'2',"
				     "'" FAST "requests.storage':'60Mi'}"), NULL);
}

static void expect_refused(json_object *quotas, json_object *claims, json_object *old,
			   json_object *new, const char *want)
{
	char err[1024] = "";

	assert_int_equal(quota_admit(quotas, claims, old, new, err, sizeof err), -EDQUOT);
	if (strcmp(err, want))
		fail_msg("got\n  %s\nwant\n  %s", err, want);
}

static void expect_admitted(json_object *quotas, json_object *claims, json_object *old,
			    json_object *new)
{
	char err[1024] = "";

	if (quota_admit(quotas, claims, old, new, err, sizeof err) != 0)
		fail_msg("refused: %s", err);
}

/* --- usage --- */

static void test_usage(void **state)
{
	json_object *q = quota("q", "{'requests.storage':'1Gi','persistentvolumeclaims':5,"
				    "'count/persistentvolumeclaims':'5','" FAST "requests.storage':'1Gi',"
				    "'" FAST "persistentvolumeclaims':'3','gold.storageclass.storage.k8s.io/"
				    "requests.storage':'1Gi','cpu':'2','pods':'10','requests.ephemeral-storage':'1Gi'}");
	json_object *claims = unit_json_list(claim("a", "40Mi", "volfs"), claim("b", "50Mi", "fast"),
				   claim("c", "1.5Gi", "fast"), claim("d", "1000", ""),
				   claim("e", "1", NULL), NULL);
	json_object *used = quota_usage(q, claims);

	(void)state;
	assert_string_equal(json_object_get_string(json_object_object_get(used, "requests.storage")),
			    "1704985577"); /* 40Mi + 50Mi + 1.5Gi + 1000 + 1 bytes */
	assert_string_equal(json_object_get_string(json_object_object_get(used, "persistentvolumeclaims")), "5");
	assert_string_equal(json_object_get_string(json_object_object_get(used, "count/persistentvolumeclaims")), "5");
	assert_string_equal(json_object_get_string(json_object_object_get(used, FAST "requests.storage")),
			    "1586Mi");
	assert_string_equal(json_object_get_string(json_object_object_get(used, FAST "persistentvolumeclaims")),
			    "2");
	assert_string_equal(json_object_get_string(json_object_object_get(
		used, "gold.storageclass.storage.k8s.io/requests.storage")), "0");
	assert_string_equal(json_object_get_string(json_object_object_get(used, "cpu")), "0");
	assert_string_equal(json_object_get_string(json_object_object_get(used, "pods")), "0");
	assert_string_equal(json_object_get_string(json_object_object_get(used, "requests.ephemeral-storage")),
			    "0");
	assert_int_equal(json_object_object_length(used), 9);
	json_object_put(used);
	json_object_put(claims);
	json_object_put(q);
}

static void test_usage_of_nothing(void **state)
{
	json_object *q = quota("q", "{'requests.storage':'1Gi','persistentvolumeclaims':'2'}");
	json_object *empty = json_object_new_array(), *used = quota_usage(q, empty), *bare;

	(void)state;
	assert_string_equal(json_object_get_string(json_object_object_get(used, "requests.storage")), "0");
	assert_string_equal(json_object_get_string(json_object_object_get(used, "persistentvolumeclaims")), "0");
	json_object_put(used);
	used = quota_usage(q, NULL);
	assert_int_equal(json_object_object_length(used), 2);
	json_object_put(used);
	bare = J("{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'q'}}");
	used = quota_usage(bare, empty);
	assert_int_equal(json_object_object_length(used), 0);
	json_object_put(used);
	json_object_put(bare);
	json_object_put(empty);
	json_object_put(q);
}

/* --- creation --- */

static void test_creation_within_quota(void **state)
{
	json_object *quotas = team_quota(), *claims = unit_json_list(claim("small", "40Mi", "volfs"), NULL);
	json_object *ok = claim("ok", "60Mi", "volfs"), *fast = claim("quick", "50Mi", "fast");

	(void)state;
	expect_admitted(quotas, claims, NULL, ok);	/* exactly at the limit */
	expect_admitted(quotas, claims, NULL, fast);
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(ok);
	json_object_put(fast);
}

static void test_creation_over_storage(void **state)
{
	json_object *quotas = team_quota(), *claims = unit_json_list(claim("small", "40Mi", "volfs"), NULL);
	json_object *big = claim("big", "70Mi", "volfs"), *odd = claim("odd", "62914561", "volfs");

	(void)state;
	expect_refused(quotas, claims, NULL, big,
		       "persistentvolumeclaims \"big\" is forbidden: exceeded quota: storage, requested: "
		       "requests.storage=70Mi, used: requests.storage=40Mi, limited: requests.storage=100Mi");
	/* one byte over; sizes that are not whole Ki print as bytes */
	expect_refused(quotas, claims, NULL, odd,
		       "persistentvolumeclaims \"odd\" is forbidden: exceeded quota: storage, requested: "
		       "requests.storage=62914561, used: requests.storage=40Mi, limited: requests.storage=100Mi");
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(big);
	json_object_put(odd);
}

static void test_creation_over_count(void **state)
{
	json_object *quotas = team_quota();
	json_object *claims = unit_json_list(claim("small", "40Mi", "volfs"), claim("quick", "50Mi", "fast"), NULL);
	json_object *third = claim("third", "1Mi", "volfs");

	(void)state;
	expect_refused(quotas, claims, NULL, third,
		       "persistentvolumeclaims \"third\" is forbidden: exceeded quota: storage, requested: "
		       "persistentvolumeclaims=1, used: persistentvolumeclaims=2, limited: "
		       "persistentvolumeclaims=2");
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(third);
}

static void test_per_class_forms(void **state)
{
	json_object *quotas = unit_json_list(quota("by-class", "{'" FAST "requests.storage':'60Mi','" FAST
						     "persistentvolumeclaims':'1'}"), NULL);
	json_object *claims = unit_json_list(claim("small", "40Mi", "volfs"), claim("none", "500Mi", NULL),
				   claim("empty", "500Mi", ""), NULL);
	json_object *fits = claim("quick", "60Mi", "fast"), *big = claim("quick2", "61Mi", "fast");
	json_object *other = claim("slow", "1Gi", "volfs");

	(void)state;
	/* claims of other classes, or of none, use nothing of fast's share */
	expect_admitted(quotas, claims, NULL, fits);
	expect_admitted(quotas, claims, NULL, other);
	expect_refused(quotas, claims, NULL, big,
		       "persistentvolumeclaims \"quick2\" is forbidden: exceeded quota: by-class, requested: "
		       FAST "requests.storage=61Mi, used: " FAST "requests.storage=0, limited: "
		       FAST "requests.storage=60Mi");
	json_object_array_add(claims, json_object_get(fits));
	expect_refused(quotas, claims, NULL, big,
		       "persistentvolumeclaims \"quick2\" is forbidden: exceeded quota: by-class, requested: "
		       FAST "persistentvolumeclaims=1," FAST "requests.storage=61Mi, used: "
		       FAST "persistentvolumeclaims=1," FAST "requests.storage=60Mi, limited: "
		       FAST "persistentvolumeclaims=1," FAST "requests.storage=60Mi");
	expect_admitted(quotas, claims, NULL, other);
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(fits);
	json_object_put(big);
	json_object_put(other);
}

static void test_several_resources_listed_sorted(void **state)
{
	json_object *quotas = team_quota();
	json_object *claims = unit_json_list(claim("small", "40Mi", "volfs"), claim("quick", "30Mi", "fast"), NULL);
	json_object *big = claim("big", "31Mi", "fast");

	(void)state;
	expect_refused(quotas, claims, NULL, big,
		       "persistentvolumeclaims \"big\" is forbidden: exceeded quota: storage, requested: "
		       FAST "requests.storage=31Mi,persistentvolumeclaims=1,requests.storage=31Mi, used: "
		       FAST "requests.storage=30Mi,persistentvolumeclaims=2,requests.storage=70Mi, limited: "
		       FAST "requests.storage=60Mi,persistentvolumeclaims=2,requests.storage=100Mi");
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(big);
}

static void test_untracked_quota_never_refuses(void **state)
{
	json_object *quotas = unit_json_list(quota("compute", "{'cpu':'0','pods':'0','requests.memory':'0'}"),
				   quota("empty", "{}"), NULL);
	json_object *claims = unit_json_list(claim("a", "1Ti", "volfs"), NULL);
	json_object *new = claim("b", "1Ti", "volfs");

	(void)state;
	json_object_array_add(quotas, J("{'kind':'ResourceQuota','metadata':{'name':'nospec'}}"));
	expect_admitted(quotas, claims, NULL, new);
	expect_admitted(NULL, claims, NULL, new);
	expect_admitted(quotas, NULL, NULL, new);
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(new);
}

static void test_every_quota_is_checked(void **state)
{
	json_object *quotas = unit_json_list(quota("roomy", "{'requests.storage':'1Ti'}"),
				   quota("count", "{'count/persistentvolumeclaims':1}"), NULL);
	json_object *claims = unit_json_list(claim("a", "1Mi", "volfs"), NULL);
	json_object *new = claim("b", "1Mi", "volfs");

	(void)state;
	expect_refused(quotas, claims, NULL, new,
		       "persistentvolumeclaims \"b\" is forbidden: exceeded quota: count, requested: "
		       "count/persistentvolumeclaims=1, used: count/persistentvolumeclaims=1, limited: "
		       "count/persistentvolumeclaims=1");
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(new);
}

/* --- expansion --- */

static void test_expansion(void **state)
{
	json_object *quotas = team_quota();
	json_object *claims = unit_json_list(claim("small", "40Mi", "volfs"), claim("grow", "10Mi", "fast"), NULL);
	json_object *old = claim("grow", "10Mi", "fast"), *ok = claim("grow", "50Mi", "fast");
	json_object *big = claim("grow", "70Mi", "fast");

	(void)state;
	/* the claim counts once, as its new size; the count does not change */
	expect_admitted(quotas, claims, old, ok);
	expect_refused(quotas, claims, old, big,
		       "persistentvolumeclaims \"grow\" is forbidden: exceeded quota: storage, requested: "
		       FAST "requests.storage=60Mi,requests.storage=60Mi, used: " FAST "requests.storage=10Mi,"
		       "requests.storage=50Mi, limited: " FAST "requests.storage=60Mi,requests.storage=100Mi");
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(old);
	json_object_put(ok);
	json_object_put(big);
}

static void test_expansion_uses_old_not_stale_list(void **state)
{
	json_object *quotas = unit_json_list(quota("q", "{'requests.storage':'100Mi'}"), NULL);
	/* the list still has the claim at an older size; old is what counts */
	json_object *claims = unit_json_list(claim("a", "10Mi", NULL), claim("grow", "1Mi", NULL), NULL);
	json_object *old = claim("grow", "80Mi", NULL), *new = claim("grow", "95Mi", NULL);

	(void)state;
	expect_refused(quotas, claims, old, new,
		       "persistentvolumeclaims \"grow\" is forbidden: exceeded quota: q, requested: "
		       "requests.storage=15Mi, used: requests.storage=90Mi, limited: requests.storage=100Mi");
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(old);
	json_object_put(new);
}

static void test_shrinking_or_unchanged_never_refused(void **state)
{
	/* a namespace already over a quota that was lowered after the fact */
	json_object *quotas = unit_json_list(quota("q", "{'requests.storage':'10Mi','persistentvolumeclaims':'1'}"),
				   NULL);
	json_object *claims = unit_json_list(claim("a", "50Mi", NULL), claim("b", "50Mi", NULL), NULL);
	json_object *old = claim("a", "50Mi", NULL), *same = claim("a", "50Mi", NULL);
	json_object *smaller = claim("a", "40Mi", NULL);

	(void)state;
	json_object_object_add(jpath_obj(same, "metadata.labels"), "x", json_object_new_string("y"));
	expect_admitted(quotas, claims, old, same);
	expect_admitted(quotas, claims, old, smaller);
	json_object_put(quotas);
	json_object_put(claims);
	json_object_put(old);
	json_object_put(same);
	json_object_put(smaller);
}

static void test_message_fits_small_buffer(void **state)
{
	json_object *quotas = team_quota(), *big = claim("big", "1Gi", "volfs");
	char err[20];

	(void)state;
	assert_int_equal(quota_admit(quotas, NULL, NULL, big, err, sizeof err), -EDQUOT);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(quota_admit(quotas, NULL, NULL, big, NULL, 0), -EDQUOT);
	json_object_put(quotas);
	json_object_put(big);
}

/* Admitting claim after claim against running totals decides, and words a
 * refusal, as summing the stored claims each time does. */
static void test_totals_agree_with_sums(void **state)
{
	json_object *quotas = team_quota(), *stored = json_object_new_array();
	json_object *totals = quota_totals(quotas, stored);
	const char *sizes[] = {"30Mi", "50Mi", "20Mi", "10Mi"};
	const char *classes[] = {"fast", "volfs", "fast", "fast"};
	char err_sum[1024], err_tot[1024];

	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char name[8];
		snprintf(name, sizeof name, "c%zu", i);
		json_object *pvc = claim(name, sizes[i], classes[i]);
		err_sum[0] = err_tot[0] = '\0';
		int by_sum = quota_admit(quotas, stored, NULL, pvc, err_sum, sizeof err_sum);
		int by_tot = quota_admit_totals(quotas, totals, NULL, pvc, err_tot, sizeof err_tot);
		assert_int_equal(by_tot, by_sum);
		assert_string_equal(err_tot, err_sum);
		if (by_sum == 0) {
			quota_totals_update(totals, NULL, pvc);
			json_object_array_add(stored, pvc);
		} else {
			json_object_put(pvc);
		}
	}
	/* c0 and c1 fit (80Mi, two claims); c2 and c3 break the claim count */
	assert_int_equal(json_object_array_length(stored), 2);
	/* growing c0 by 30Mi passes 100Mi in all */
	json_object *old = json_object_get(json_object_array_get_idx(stored, 0));
	json_object *grown = claim("c0", "60Mi", "fast");
	err_sum[0] = err_tot[0] = '\0';
	assert_int_equal(quota_admit(quotas, stored, old, grown, err_sum, sizeof err_sum), -EDQUOT);
	assert_int_equal(quota_admit_totals(quotas, totals, old, grown, err_tot, sizeof err_tot), -EDQUOT);
	assert_string_equal(err_tot, err_sum);
	/* after a shrink to 10Mi is stored, the totals have 20Mi less */
	json_object *small = claim("c0", "10Mi", "fast");
	quota_totals_update(totals, old, small);
	json_object *t;
	assert_true(json_object_object_get_ex(totals, "requests.storage", &t));
	assert_int_equal(json_object_get_uint64(t), 60ull << 20);
	assert_true(json_object_object_get_ex(totals, FAST "requests.storage", &t));
	assert_int_equal(json_object_get_uint64(t), 10ull << 20);
	json_object_put(small);
	json_object_put(grown);
	json_object_put(old);
	json_object_put(totals);
	json_object_put(stored);
	json_object_put(quotas);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_usage_of_nothing),
		cmocka_unit_test(test_creation_within_quota),
		cmocka_unit_test(test_creation_over_storage),
		cmocka_unit_test(test_creation_over_count),
		cmocka_unit_test(test_per_class_forms),
		cmocka_unit_test(test_several_resources_listed_sorted),
		cmocka_unit_test(test_untracked_quota_never_refuses),
		cmocka_unit_test(test_every_quota_is_checked),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_expansion_uses_old_not_stale_list),
		cmocka_unit_test(test_shrinking_or_unchanged_never_refused),
		cmocka_unit_test(test_message_fits_small_buffer),
		cmocka_unit_test(test_totals_agree_with_sums),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
