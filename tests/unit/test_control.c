/*
 * test_control.c -- the mapping from a peer's credentials to roles; the
 * parser of a request line (cmd_request_parse, which the control socket
 * and tests/fuzz/fuzz_control.c share); the check of a command's
 * arguments against what it declares; how list says the time left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "faces/control.h"
#include "report/report.h"

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

static const struct cmd_command *
find(const char *name)
{
	const struct cmd_command *c;

	for (c = report_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	fail_msg("no command %s", name);
	return NULL;
}

/* check ARGS (JSON) against command NAME: 0 or -1, and the text */
static int
check(const char *name, const char *args, char *text, size_t len)
{
	json_t *a = json_loads(args, 0, NULL);
	int rc;

	assert_non_null(a);
	text[0] = '\0';
	rc = cmd_check_args(find(name), a, text, len);
	json_decref(a);
	return rc;
}

static void
test_declared_arguments_pass(void **state)
{
	char t[256];

	assert_int_equal(check("list", "{\"overdue\": true, \"partner\": "
	    "\"FR\", \"limit\": \"3\", \"after\": \"-/FR/C1\", "
	    "\"due-within\": \"2d\", \"state\": \"SUBMITTED\", "
	    "\"updated-since\": \"2026-11-22T00:00:00Z\"}", t, sizeof(t)), 0);
	assert_int_equal(check("list", "{}", t, sizeof(t)), 0);
	assert_int_equal(check("status", "{\"argv\": [\"C1\"], "
	    "\"partner\": \"FR\"}", t, sizeof(t)), 0);
	/* a flag as the protocol spells it, or as a string */
	assert_int_equal(check("stats", "{\"csv\": \"true\"}", t,
	    sizeof(t)), 0);
}

static void
test_unknown_flag_refused(void **state)
{
	char t[256];

	assert_int_equal(check("list", "{\"overdu\": true}", t, sizeof(t)),
	    -1);
	assert_non_null(strstr(t, "list does not take --overdu"));
	assert_int_equal(check("alerts", "{\"csv\": true}", t, sizeof(t)),
	    -1);
}

static void
test_unknown_key_refused(void **state)
{
	char t[256];

	assert_int_equal(check("list", "{\"foo\": \"bar\"}", t, sizeof(t)),
	    -1);
	assert_non_null(strstr(t, "list does not take foo="));
	/* a key given as a flag, a flag given a value */
	assert_int_equal(check("list", "{\"partner\": true}", t, sizeof(t)),
	    -1);
	assert_non_null(strstr(t, "partner= needs a value"));
	assert_int_equal(check("list", "{\"overdue\": \"yes\"}", t,
	    sizeof(t)), -1);
	assert_non_null(strstr(t, "--overdue takes no value"));
}

static void
test_extra_positional_refused(void **state)
{
	char t[256];

	assert_int_equal(check("list", "{\"argv\": [\"x\"]}", t, sizeof(t)),
	    -1);
	assert_non_null(strstr(t, "list takes 0 arguments: 'x'"));
	assert_int_equal(check("status", "{\"argv\": [\"C1\", \"C2\"]}", t,
	    sizeof(t)), -1);
	assert_non_null(strstr(t, "at most 1 argument: 'C2'"));
}

static void
test_every_report_declares_its_usage(void **state)
{
	const struct cmd_command *c;
	char u[256];

	for (c = report_commands; c->name != NULL; c++)
		assert_non_null(c->usage);
	assert_string_equal(cmd_usage(find("status"), u, sizeof(u)),
	    "usage: accordctl status CASE [partner=CC]");
	assert_string_equal(cmd_usage(find("alerts"), u, sizeof(u)),
	    "usage: accordctl alerts");
}

static void
test_due_text(void **state)
{
	char b[40];

	assert_string_equal(cmd_due(3 * 86400 + 4 * 3600 + 59, b, sizeof(b)),
	    "due in 3d 4h");
	assert_string_equal(cmd_due(-2 * 3600, b, sizeof(b)),
	    "overdue by 2h");
	assert_string_equal(cmd_due(-(2 * 3600 + 5 * 60), b, sizeof(b)),
	    "overdue by 2h 5m");
	assert_string_equal(cmd_due(45 * 60, b, sizeof(b)), "due in 45m");
	assert_string_equal(cmd_due(2 * 86400, b, sizeof(b)), "due in 2d");
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
		cmocka_unit_test(test_declared_arguments_pass),
		cmocka_unit_test(test_unknown_flag_refused),
		cmocka_unit_test(test_unknown_key_refused),
		cmocka_unit_test(test_extra_positional_refused),
		cmocka_unit_test(test_every_report_declares_its_usage),
		cmocka_unit_test(test_due_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
