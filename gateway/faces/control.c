/*
 * control.c -- the control socket: accept, authenticate by peer
 * credentials, read JSON lines, dispatch through the command table.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "faces/control.h"
#include "faces/control_priv.h"
#include "util/log.h"
#include "util/stage.h"
#include "util/xmalloc.h"

#define CONTROL_MAX_GROUPS	256
/* Connections at once; the last CONTROL_ADMIN_RESERVE of them only for
 * root and the admin role, so that no flood keeps an operator out. */
#define CONTROL_MAX_CONNS	64
#define CONTROL_ADMIN_RESERVE	4
/* Connections of one uid (root excepted). */
#define CONTROL_MAX_PER_UID	8
/* Requests carry documents: allow the message size plus JSON escaping. */
#define CONTROL_LINE_SLACK	65536


unsigned
control_roles(const struct config *c, uid_t uid, gid_t gid,
    const gid_t *groups, int ngroups)
{
	unsigned roles = 0;
	int i, j;

	if (uid == 0)
		return CMD_ROLE_READ | CMD_ROLE_SUBMIT |
		    CMD_ROLE_ADMIN;
	for (i = 0; i < c->nroles; i++) {
		if (!c->roles[i].exists)
			continue;
		if (c->roles[i].gid == gid)
			roles |= 1u << c->roles[i].role;
		for (j = 0; j < ngroups; j++)
			if (c->roles[i].gid == groups[j])
				roles |= 1u << c->roles[i].role;
	}
	if (roles & CMD_ROLE_ADMIN)
		roles |= CMD_ROLE_READ | CMD_ROLE_SUBMIT;
	return roles;
}

char *
control_roles_string(unsigned roles, char *buf, size_t len)
{
	size_t n = 0;
	int r;

	buf[0] = '\0';
	for (r = 0; r < CONF_ROLE_COUNT; r++) {
		if (!(roles & (1u << r)))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
		    n > 0 ? "," : "", config_role_name(r));
	}
	if (n == 0)
		snprintf(buf, len, "none");
	return buf;
}

/*
 * The caller's uid, gid and groups, from the kernel, not from the peer:
 * SO_PEERGROUPS gives the groups the process really holds (as set by
 * setgroups(), newgrp, a service manager); the group database is the
 * fallback on kernels without it.
 */
static int
control_peer(int fd, const struct config *c, struct cmd_caller *who)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[CONTROL_MAX_GROUPS];
	struct passwd *pw;
	int ngroups = CONTROL_MAX_GROUPS;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_err("control", "SO_PEERCRED");
		return -1;
	}
	who->uid = cred.uid;
	who->gid = cred.gid;
	who->pid = cred.pid;
#ifdef SO_PEERGROUPS
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		ngroups = (int)(len / sizeof(gid_t));
		goto roles;
	}
#endif
	ngroups = CONTROL_MAX_GROUPS;
	pw = getpwuid(cred.uid);
	if (pw == NULL || getgrouplist(pw->pw_name, cred.gid, groups,
	    &ngroups) == -1)
		ngroups = 0;	/* no passwd entry: primary group only */
#ifdef SO_PEERGROUPS
roles:
#endif
	who->roles = control_roles(c, cred.uid, cred.gid, groups, ngroups);
	return 0;
}

static void control_send_error(struct control_conn *, json_t *,
    const char *, const char *);

static void
control_conn_free(struct control_conn *cc)
{
	struct control *ctl = cc->ctl;
	struct control_conn **pp;
	size_t i;

	control_work_forget(ctl, cc);
	for (i = 0; i < cc->nheld; i++) {
		free(cc->held[i].line);
		json_decref(cc->held[i].id);
	}
	free(cc->held);
	for (pp = &ctl->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cc) {
			*pp = cc->next;
			break;
		}
	ctl->nconns--;
	if (cc->idle != NULL)
		event_free(cc->idle);
	bufferevent_free(cc->bev);
	free(cc);
}

/*
 * No complete request line for CONTROL_IDLE seconds: the connection is
 * closed, unless it follows events or waits for answers of ours.
 */
static void
control_idle(evutil_socket_t fd, short what, void *arg)
{
	struct control_conn *cc = arg;
	struct timeval tv = { CONTROL_IDLE, 0 };

	if (cc->closing)
		return;
	if (cc->ntopics > 0 || cc->nheld > 0) {
		evtimer_add(cc->idle, &tv);
		return;
	}
	log_info("control", "uid %u pid %ld: no request within %d s, closing",
	    (unsigned)cc->caller.uid, (long)cc->caller.pid, CONTROL_IDLE);
	control_send_error(cc, NULL, "IDLE", "no request within the idle "
	    "timeout; closing");
	cc->closing = 1;
	bufferevent_disable(cc->bev, EV_READ);
}

/*
 * May one more connection of who be served?  @return 0, or -1 with why.
 */
static int
control_admit(const struct control *ctl, const struct cmd_caller *who,
    char *why, size_t len)
{
	const struct control_conn *cc;
	int mine = 0;

	if (ctl->nconns >= CONTROL_MAX_CONNS) {
		snprintf(why, len, "%d connections open: try again later",
		    ctl->nconns);
		return -1;
	}
	if (ctl->nconns >= CONTROL_MAX_CONNS - CONTROL_ADMIN_RESERVE &&
	    !(who->roles & CMD_ROLE_ADMIN)) {
		snprintf(why, len, "%d connections open, the rest are kept "
		    "for the admin role: try again later", ctl->nconns);
		return -1;
	}
	if (who->uid == 0)
		return 0;
	for (cc = ctl->conns; cc != NULL; cc = cc->next)
		mine += cc->caller.uid == who->uid;
	if (mine >= CONTROL_MAX_PER_UID) {
		snprintf(why, len, "uid %u has %d connections open: close "
		    "some", (unsigned)who->uid, mine);
		return -1;
	}
	return 0;
}

/* A connection refused by control_admit(): one error line, then close. */
static void
control_refuse(int fd, const struct cmd_caller *who, const char *why)
{
	json_t *r;
	char *s;

	log_warnx("control", "connection of uid %u pid %ld refused: %s",
	    (unsigned)who->uid, (long)who->pid, why);
	r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "BUSY",
	    "text", why);
	if (r != NULL && (s = json_dumps(r, JSON_COMPACT |
	    JSON_SORT_KEYS)) != NULL) {
		/* a short line to a fresh socket: its buffer takes it */
		(void)!write(fd, s, strlen(s));
		(void)!write(fd, "\n", 1);
		free(s);
	}
	json_decref(r);
	close(fd);
}

static void
control_send(struct control_conn *cc, json_t *obj)
{
	struct control_held *h;
	char *s;

	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL) {
		log_errx("control", "cannot encode a response");
		return;
	}
	/* held while the read goes on, and behind held responses: a
	 * connection's answers leave in order */
	if (cc->holding || cc->nheld > 0) {
		cc->held = xgrowarray(cc->held, cc->nheld, &cc->capheld,
		    sizeof(*cc->held));
		h = &cc->held[cc->nheld++];
		h->line = s;
		h->mark = cc->mark;
		h->job = NULL;
		h->deferred = 0;
		h->id = cc->id;
		if (h->id != NULL)
			json_incref(h->id);
		return;
	}
	evbuffer_add(bufferevent_get_output(cc->bev), s, strlen(s));
	evbuffer_add(bufferevent_get_output(cc->bev), "\n", 1);
	free(s);
}

void
control_set_commit(struct control *ctl, const struct control_commit *cm,
    void *arg)
{
	ctl->commit = cm;
	ctl->commit_arg = arg;
}

/*
 * Send the held responses, in order, as far as their records' fate is
 * known; a response whose records did not reach the disk becomes an
 * error.  The rest wait for control_committed().
 */
void
control_release_settled(struct control_conn *cc)
{
	struct control *ctl = cc->ctl;
	struct control_held *h;
	json_t *r;
	size_t i, n;

	for (n = 0; n < cc->nheld; n++) {
		h = &cc->held[n];
		if (h->job != NULL || h->deferred != 0)
			break;		/* a report still running */
		if (h->mark != 0 && ctl->commit != NULL &&
		    !ctl->commit->settled(ctl->commit_arg, h->mark))
			break;		/* in order: the rest wait too */
		if (h->mark != 0 && ctl->commit != NULL &&
		    !ctl->commit->committed(ctl->commit_arg, h->mark)) {
			free(h->line);
			r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error",
			    "code", "TEMPORARY", "text", "the journal commit "
			    "failed: nothing was done; try again");
			if (h->id != NULL)
				json_object_set(r, "id", h->id);
			h->line = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(r);
		}
		if (h->line != NULL) {
			evbuffer_add(bufferevent_get_output(cc->bev), h->line,
			    strlen(h->line));
			evbuffer_add(bufferevent_get_output(cc->bev), "\n", 1);
			free(h->line);
		}
		json_decref(h->id);
	}
	if (n == 0)
		return;
	for (i = n; i < cc->nheld; i++)
		cc->held[i - n] = cc->held[i];
	cc->nheld -= n;
	if (cc->nheld == 0) {
		free(cc->held);
		cc->held = NULL;
		cc->capheld = 0;
	}
}

/*
 * The end of one read: start the commit of what its requests journalled
 * (one fsync for a whole pipelined batch, on the journal's writer thread),
 * then send what may go.
 */
static void
control_release(struct control_conn *cc)
{
	struct control *ctl = cc->ctl;
	size_t i;
	int any = 0;

	cc->holding = 0;
	for (i = 0; i < cc->nheld; i++)
		any |= cc->held[i].mark != 0;
	if (any && ctl->commit != NULL)
		(void)ctl->commit->flush(ctl->commit_arg);
	control_release_settled(cc);
}

void
control_committed(struct control *ctl)
{
	struct control_conn *cc;

	if (ctl == NULL)
		return;
	for (cc = ctl->conns; cc != NULL; cc = cc->next)
		if (!cc->holding && cc->nheld > 0)
			control_release_settled(cc);
}

uint64_t
control_defer(const struct cmd_caller *who)
{
	struct control_conn *cc = who->conn;
	struct control_held *h;

	if (cc == NULL || who->ctl == NULL)
		return 0;
	cc->held = xgrowarray(cc->held, cc->nheld, &cc->capheld,
	    sizeof(*cc->held));
	h = &cc->held[cc->nheld++];
	memset(h, 0, sizeof(*h));
	h->deferred = ++cc->ctl->next_deferred;
	h->id = cc->id;
	if (h->id != NULL)
		json_incref(h->id);
	return h->deferred;
}

void
control_deferred_done(struct control *ctl, uint64_t token, json_t *res,
    const char *code, const char *text)
{
	struct control_conn *cc;
	struct control_held *h;
	json_t *r;
	size_t i;

	for (cc = ctl->conns; cc != NULL; cc = cc->next)
		for (i = 0; i < cc->nheld; i++) {
			h = &cc->held[i];
			if (h->deferred != token)
				continue;
			if (res != NULL)
				r = json_pack("{s:b, s:o}", "ok", 1, "result",
				    res);
			else
				r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0,
				    "error", "code", code, "text", text[0] ?
				    text : "command failed");
			if (h->id != NULL)
				json_object_set(r, "id", h->id);
			h->line = json_dumps(r, JSON_COMPACT |
			    JSON_SORT_KEYS);
			json_decref(r);
			/* its records are in the batch open now */
			h->mark = res != NULL && ctl->commit != NULL ?
			    ctl->commit->mark(ctl->commit_arg) : 0;
			h->deferred = 0;
			return;
		}
	/* the connection went away */
	json_decref(res);
}

void
control_deferred_flush(struct control *ctl)
{
	if (ctl->commit != NULL)
		(void)ctl->commit->flush(ctl->commit_arg);
	control_committed(ctl);
}

static void
control_send_error(struct control_conn *cc, json_t *id, const char *code,
    const char *text)
{
	json_t *r;

	r = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code,
	    "text", text);
	if (id != NULL)
		json_object_set(r, "id", id);
	control_send(cc, r);
	json_decref(r);
}

static const struct cmd_command *
control_find(const struct control *ctl, const char *name, void **arg)
{
	const struct cmd_command *c;
	int t;

	for (t = 0; t < ctl->ntables; t++)
		for (c = ctl->tables[t].cmds; c->name != NULL; c++)
			if (strcmp(c->name, name) == 0) {
				*arg = ctl->tables[t].arg;
				return c;
			}
	return NULL;
}

int
control_add_commands(struct control *ctl,
    const struct cmd_command *cmds, void *arg)
{
	if (ctl->ntables == CONTROL_MAX_TABLES)
		return -1;
	ctl->tables[ctl->ntables].cmds = cmds;
	ctl->tables[ctl->ntables].arg = arg;
	ctl->ntables++;
	return 0;
}

const struct control_table *
control_tables(const struct control *ctl, int *n)
{
	*n = ctl->ntables;
	return ctl->tables;
}

/* A read-only report goes to the worker thread; its place in the
 * connection's order is held until it is done.  @return 0, or -1. */
static int
control_offload(struct control_conn *cc, const struct cmd_command *cmd,
    void *harg, json_t *args, json_t *id)
{
	struct control_held *h;

	cc->held = xgrowarray(cc->held, cc->nheld, &cc->capheld,
	    sizeof(*cc->held));
	h = &cc->held[cc->nheld];
	memset(h, 0, sizeof(*h));
	if (control_work_submit(cc->ctl, cc, cmd, harg, args, id, h) == -1)
		return -1;
	cc->nheld++;
	return 0;
}

static void
control_request(struct control_conn *cc, const char *line, size_t len)
{
	const struct cmd_command *cmd;
	struct cmd_request rq;
	json_t *id, *args, *res, *r;
	const char *name, *code = "INTERNAL";
	char text[CMD_TEXT_MAX], roles[64], usage[256];
	void *harg = NULL;

	if (cmd_request_parse(line, len, &rq, text, sizeof(text)) == -1) {
		control_send_error(cc, rq.id, "BAD_REQUEST", text);
		json_decref(rq.req);
		return;
	}
	id = rq.id;
	name = rq.name;
	args = rq.args;
	cmd = control_find(cc->ctl, name, &harg);
	if (cmd == NULL) {
		snprintf(text, sizeof(text), "unknown command '%.64s' (try "
		    "'help')", name);
		control_send_error(cc, id, "UNKNOWN_COMMAND", text);
		goto done;
	}
	if ((cmd->role & cc->caller.roles) != cmd->role) {
		control_roles_string(cc->caller.roles, roles, sizeof(roles));
		snprintf(text, sizeof(text), "'%s' needs the %s role; uid %u "
		    "has %s", cmd->name, cmd->role & CMD_ROLE_ADMIN ?
		    "admin" : cmd->role & CMD_ROLE_SUBMIT ? "submit" :
		    "read", (unsigned)cc->caller.uid, roles);
		log_warnx("control", "refused: %s", text);
		control_send_error(cc, id, "FORBIDDEN", text);
		goto done;
	}
	/* what the command does not take is an error, not ignored: a
	 * mistyped --flag must not quietly widen a listing */
	if (args != NULL && cmd_check_args(cmd, args, text,
	    sizeof(text)) == -1) {
		r = json_pack("{s:b, s:{s:s, s:s, s:s}}", "ok", 0, "error",
		    "code", "BAD_REQUEST", "text", text, "usage",
		    cmd_usage(cmd, usage, sizeof(usage)));
		if (id != NULL)
			json_object_set(r, "id", id);
		control_send(cc, r);
		json_decref(r);
		goto done;
	}
	text[0] = '\0';
	if (args == NULL)
		args = json_object();
	else
		json_incref(args);
	cc->caller.command = cmd->name;
	cc->caller.ctl = cc->ctl;
	cc->caller.conn = cc;
	if ((cmd->flags & CMD_WORKER) && control_offload(cc, cmd, harg, args,
	    id) == 0) {
		json_decref(args);
		goto done;
	}
	if (cc->ctl->commit != NULL)
		cc->mark = cc->ctl->commit->mark(cc->ctl->commit_arg);
	cc->id = id;
	res = cmd->handler(harg, &cc->caller, args, &code, text,
	    sizeof(text));
	json_decref(args);
	if (res == NULL && code == NULL)
		goto done;	/* control_defer(): answered later */
	if (res == NULL) {
		control_send_error(cc, id, code, text[0] ? text :
		    "command failed");
		goto done;
	}
	r = json_pack("{s:b, s:o}", "ok", 1, "result", res);
	if (id != NULL)
		json_object_set(r, "id", id);
	control_send(cc, r);
	json_decref(r);
done:
	cc->mark = 0;
	cc->id = NULL;
	json_decref(rq.req);
}

static void
control_read(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct timeval tv = { CONTROL_IDLE, 0 };
	size_t len, max;
	char *line;

	max = cc->ctl->conf->max_message_size * 2 + CONTROL_LINE_SLACK;
	cc->holding = 1;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		/* a complete line: the idle timeout starts again */
		if (!cc->closing)
			evtimer_add(cc->idle, &tv);
		if (len > max)
			control_send_error(cc, NULL, "TOO_LARGE",
			    "request line over the limit");
		else if (len > 0) {
			/* a command's work is not the loop's I/O */
			stage_begin(STAGE_OTHER);
			control_request(cc, line, len);
			stage_end(STAGE_OTHER);
		}
		free(line);
	}
	control_release(cc);
	if (evbuffer_get_length(in) > max) {
		control_send_error(cc, NULL, "TOO_LARGE",
		    "request line over the limit; closing");
		evbuffer_drain(in, evbuffer_get_length(in));
		cc->closing = 1;
		bufferevent_disable(bev, EV_READ);
	}
}

static void
control_write(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;

	if (cc->closing)
		control_conn_free(cc);
}

static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		control_conn_free(arg);
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct control_conn *cc;
	json_t *hello;
	char roles[64];

	char why[160];
	struct timeval tv = { CONTROL_IDLE, 0 };

	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	if (control_peer(fd, ctl->conf, &cc->caller) == -1) {
		free(cc);
		close(fd);
		return;
	}
	if (control_admit(ctl, &cc->caller, why, sizeof(why)) == -1) {
		control_refuse(fd, &cc->caller, why);
		free(cc);
		return;
	}
	cc->ctl = ctl;
	cc->bev = bufferevent_socket_new(ctl->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL || (cc->idle = evtimer_new(ctl->base,
	    control_idle, cc)) == NULL) {
		if (cc->bev != NULL)
			bufferevent_free(cc->bev);
		else
			close(fd);
		free(cc);
		return;
	}
	evtimer_add(cc->idle, &tv);
	cc->next = ctl->conns;
	ctl->conns = cc;
	ctl->nconns++;
	bufferevent_setcb(cc->bev, control_read, control_write,
	    control_event, cc);
	/* take a pipelined batch in one read: one commit for all of it */
	bufferevent_set_max_single_read(cc->bev, 1 << 20);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);

	control_roles_string(cc->caller.roles, roles, sizeof(roles));
	log_debug("control", "connection from uid %u pid %ld (%s)",
	    (unsigned)cc->caller.uid, (long)cc->caller.pid, roles);
	hello = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s}", "hello",
	    "accord-control", "version", CONTROL_PROTOCOL_VERSION, "gateway",
	    ctl->conf->country, "authority", ctl->conf->authority, "uid",
	    (int)cc->caller.uid, "roles", roles);
	control_send(cc, hello);
	json_decref(hello);
}

/* Is another process answering on this socket path? */
static int
control_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, live;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

/*
 * The socket's directory: made if missing (parents 0755, the directory
 * itself 0750 with the control group, so that group may reach the socket
 * and nobody else may).  An existing directory is the operator's.
 */
int
control_socket_dir(const struct config *c)
{
	char *dir, *p;
	struct stat st;
	int rc = 0;

	if ((dir = strdup(c->control_socket)) == NULL)
		return -1;
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	if (stat(dir, &st) == 0) {
		free(dir);
		return 0;
	}
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(dir, 0750) == -1 && errno != EEXIST)
		rc = -1;
	if (rc == 0 && c->control_gid_exists &&
	    chown(dir, (uid_t)-1, c->control_gid) == -1)
		rc = -1;
	if (rc == -1)
		log_err("control", "cannot make the socket directory %s", dir);
	free(dir);
	return rc;
}

/* sock with its directory's real path into out (sock itself when the
 * directory cannot be resolved). */
static void
control_resolve(const char *sock, char *out, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(sock, '/');

	snprintf(out, len, "%s", sock);
	if (slash == NULL || (size_t)(slash - sock) >= sizeof(dir))
		return;
	memcpy(dir, sock, (size_t)(slash - sock));
	dir[slash - sock] = '\0';
	if (dir[0] != '\0' && realpath(dir, real) != NULL)
		snprintf(out, len, "%s%s", real, slash);
}

struct control *
control_start(struct event_base *base, const struct config *c,
    const struct cmd_command *cmds, void *arg)
{
	struct control *ctl;
	struct sockaddr_un sun;
	char path[PATH_MAX];
	mode_t old;

	if (control_socket_dir(c) == -1)
		return NULL;
	/* its directory resolved ("conf/../run" and links gone): a socket
	 * path has only sizeof(sun_path) bytes */
	control_resolve(c->control_socket, path, sizeof(path));
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_errx("control", "socket path %s is too long (max %zu)",
		    path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	if (control_live(path)) {
		log_errx("control", "%s: another daemon is answering there",
		    path);
		return NULL;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_err("control", "unlink %s", path);
		return NULL;
	}
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return NULL;
	ctl->base = base;
	ctl->conf = c;
	control_add_commands(ctl, cmds, arg);
	if ((ctl->path = strdup(path)) == NULL) {
		free(ctl);
		return NULL;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);

	/* created 0660 from the start: no window with looser access */
	old = umask(0117);
	ctl->listener = evconnlistener_new_bind(base, control_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ctl->listener == NULL) {
		log_err("control", "cannot listen on %s", path);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	if (c->control_gid_exists &&
	    chown(path, (uid_t)-1, c->control_gid) == -1)
		log_err("control", "chown %s to group %s", path,
		    c->control_group);
	if (chmod(path, c->control_gid_exists ? 0660 : 0600) ==
	    -1)
		log_err("control", "chmod %s", path);
	log_info("control", "listening on %s", path);
	return ctl;
}

int
control_subscribe(struct control_conn *cc, const char *topic)
{
	int i;

	if (strlen(topic) >= CONTROL_TOPIC_MAX)
		return -1;
	for (i = 0; i < cc->ntopics; i++)
		if (strcmp(cc->topics[i], topic) == 0)
			return 0;
	if (cc->ntopics == CONTROL_MAX_TOPICS)
		return -1;
	snprintf(cc->topics[cc->ntopics++], CONTROL_TOPIC_MAX, "%s", topic);
	log_debug("control", "uid %u follows %s", (unsigned)cc->caller.uid,
	    topic);
	return 0;
}

static int
control_follows(const struct control_conn *cc, const char *topic)
{
	int i;

	if (cc->closing)
		return 0;
	for (i = 0; i < cc->ntopics; i++)
		if (strcmp(cc->topics[i], topic) == 0)
			return 1;
	return 0;
}

int
control_subscribers(const struct control *ctl, const char *topic)
{
	const struct control_conn *cc;
	int n = 0;

	for (cc = ctl->conns; cc != NULL; cc = cc->next)
		n += control_follows(cc, topic);
	return n;
}

int
control_publish(struct control *ctl, const char *topic, json_t *data)
{
	struct control_conn *cc, *next;
	json_t *ev;
	int n = 0;

	if (ctl == NULL)
		return 0;
	ev = json_pack("{s:s, s:O}", "event", topic, "data", data);
	if (ev == NULL)
		return 0;
	for (cc = ctl->conns; cc != NULL; cc = next) {
		next = cc->next;
		if (!control_follows(cc, topic))
			continue;
		if (evbuffer_get_length(bufferevent_get_output(cc->bev)) >
		    CONTROL_SUB_BACKLOG) {
			log_warnx("control", "uid %u reads %s events too "
			    "slowly: disconnected", (unsigned)cc->caller.uid,
			    topic);
			/* not freed here: a handler of this connection may
			 * be running; the write callback frees it */
			evbuffer_drain(bufferevent_get_output(cc->bev),
			    evbuffer_get_length(bufferevent_get_output(
			    cc->bev)));
			control_send_error(cc, NULL, "TOO_SLOW", "events "
			    "were not read: disconnected");
			cc->closing = 1;
			bufferevent_disable(cc->bev, EV_READ);
			continue;
		}
		control_send(cc, ev);
		n++;
	}
	json_decref(ev);
	return n;
}

void
control_set_config(struct control *ctl, const struct config *c)
{
	ctl->conf = c;
}

void
control_drain(struct control *ctl)
{
	if (ctl != NULL)
		control_work_drain(ctl);
}

void
control_stop(struct control *ctl)
{
	if (ctl == NULL)
		return;
	control_work_stop(ctl);
	while (ctl->conns != NULL)
		control_conn_free(ctl->conns);
	evconnlistener_free(ctl->listener);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
