/*
 * test_control.c -- the mapping from a peer's credentials to roles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "faces/control.h"

static struct config conf;

static void
add_role(enum config_role r, gid_t gid)
{
	struct role_group *rg = &conf.roles[conf.nroles++];

	rg->role = r;
	rg->gid = gid;
	rg->exists = 1;
	snprintf(rg->group, sizeof(rg->group), "g%u", (unsigned)gid);
}

static int
setup(void **state)
{
	memset(&conf, 0, sizeof(conf));
	add_role(CONF_ROLE_READ, 1001);
	add_role(CONF_ROLE_READ, 1004);
	add_role(CONF_ROLE_SUBMIT, 1002);
	add_role(CONF_ROLE_ADMIN, 1003);
	return 0;
}

static void
test_root_has_every_role(void **state)
{
	assert_int_equal(control_roles(&conf, 0, 0, NULL, 0),
	    CMD_ROLE_READ | CMD_ROLE_SUBMIT | CMD_ROLE_ADMIN);
}

static void
test_no_group_no_role(void **state)
{
	gid_t g[] = { 50, 60 };

	assert_int_equal(control_roles(&conf, 1000, 100, g, 2), 0);
}

static void
test_primary_group_counts(void **state)
{
	assert_int_equal(control_roles(&conf, 1000, 1002, NULL, 0),
	    CMD_ROLE_SUBMIT);
}

static void
test_supplementary_groups_count(void **state)
{
	gid_t g[] = { 50, 1004, 1002 };

	assert_int_equal(control_roles(&conf, 1000, 100, g, 3),
	    CMD_ROLE_READ | CMD_ROLE_SUBMIT);
}

static void
test_admin_implies_the_rest(void **state)
{
	gid_t g[] = { 1003 };

	assert_int_equal(control_roles(&conf, 1000, 100, g, 1),
	    CMD_ROLE_READ | CMD_ROLE_SUBMIT | CMD_ROLE_ADMIN);
}

static void
test_missing_group_grants_nothing(void **state)
{
	gid_t g[] = { 1001 };

	conf.roles[0].exists = 0;	/* group 1001 vanished from the system */
	assert_int_equal(control_roles(&conf, 1000, 100, g, 1), 0);
}

static void
test_roles_string(void **state)
{
	char buf[64];

	assert_string_equal(control_roles_string(0, buf, sizeof(buf)),
	    "none");
	assert_string_equal(control_roles_string(CMD_ROLE_READ |
	    CMD_ROLE_ADMIN, buf, sizeof(buf)), "read,admin");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_root_has_every_role, setup),
		cmocka_unit_test_setup(test_no_group_no_role, setup),
		cmocka_unit_test_setup(test_primary_group_counts, setup),
		cmocka_unit_test_setup(test_supplementary_groups_count, setup),
		cmocka_unit_test_setup(test_admin_implies_the_rest, setup),
		cmocka_unit_test_setup(test_missing_group_grants_nothing,
		    setup),
		cmocka_unit_test_setup(test_roles_string, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
