/*
 * test_control.c -- the mapping from a peer's credentials to roles, and
 * the parser of a request line (cmd_request_parse, which the control
 * socket and tests/fuzz/fuzz_control.c share).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* A line the parser refuses: -1, the text, and the id when it had one. */
static void
refused(const char *line, const char *why, json_int_t id)
{
	struct cmd_request rq;
	char text[512];

	assert_int_equal(cmd_request_parse(line, strlen(line), &rq, text,
	    sizeof(text)), -1);
	assert_non_null(strstr(text, why));
	if (id == 0)
		assert_null(rq.id);
	else
		assert_int_equal(json_integer_value(rq.id), id);
	json_decref(rq.req);
}

static void
test_request_parse(void **state)
{
	struct cmd_request rq;
	char text[512];
	const char *line = "{\"cmd\":\"list\",\"args\":{\"limit\":\"3\"},"
	    "\"id\":7}";

	assert_int_equal(cmd_request_parse(line, strlen(line), &rq, text,
	    sizeof(text)), 0);
	assert_string_equal(rq.name, "list");
	assert_string_equal(cmd_opt(rq.args, "limit"), "3");
	assert_int_equal(json_integer_value(rq.id), 7);
	json_decref(rq.req);
	/* no args: none given to the handler's caller to fill in */
	line = "{\"cmd\":\"alerts\"}";
	assert_int_equal(cmd_request_parse(line, strlen(line), &rq, text,
	    sizeof(text)), 0);
	assert_null(rq.args);
	assert_null(rq.id);
	json_decref(rq.req);

	refused("{\"cmd\":", "not a JSON object", 0);
	refused("[\"list\"]", "not an object", 0);
	refused("{\"cmd\":\"a\",\"cmd\":\"b\"}", "not a JSON object", 0);
	refused("{\"id\":5,\"cmd\":1}", "no \"cmd\" string", 5);
	refused("{\"id\":6,\"cmd\":\"list\",\"args\":[1]}",
	    "\"args\" must be an object", 6);
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
		cmocka_unit_test(test_request_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
