/*
 * config.h -- the gateway's configuration: accordd.xml and every partner
 * agreement of its partners directory.
 *
 * A configuration is loaded whole or not at all: config_load() returns
 * either a complete, checked configuration or every error it found, so a
 * reload (SIGHUP) can refuse a bad file and keep the one in force.
 */
#ifndef ACCORD_CONFIG_H
#define ACCORD_CONFIG_H

#include <stdio.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf/agreement.h"
#include "conf/calendar.h"
#include "util/clock.h"
#include "conf/conffile.h"

enum config_role {
	CONF_ROLE_READ = 0,
	CONF_ROLE_SUBMIT,
	CONF_ROLE_ADMIN,
	CONF_ROLE_COUNT
};

#define CONFIG_MAX_ROLE_GROUPS	32

/* Defaults of the optional <limits> attributes. */
#define CONFIG_TLS_HANDSHAKE_SECS	10
#define CONFIG_UNAUTH_PER_ADDRESS	16
#define CONFIG_REFUSALS_PER_MINUTE	10
#define CONFIG_CONNECTIONS_PER_PARTNER	8

/* A system group holding one control-socket role. */
struct role_group {
	enum config_role	 role;
	char			 group[64];
	gid_t			 gid;
	int			 exists;	/* the group is known */
};

struct config {
	char		*file;		/* accordd.xml as given */
	char		*dir;		/* its directory */
	accord_time_t	 loaded_at;

	char		 country[3];
	char		 authority[64];
	char		 name[161];

	char		*listen_address;
	int		 listen_port;

	char		*pki_dir;
	char		*tls_cert;	/* server certificate, inbound */
	char		*tls_key;
	char		*tls_client_cert; /* client certificate, outbound */
	char		*tls_client_key;
	/*
	 * The TLS keys' PEM bytes, when a privilege-separated engine, which
	 * may not read the key files, was sent them by its root parent on a
	 * reload (programs/accordd_keys.c); NULL: the faces read the files.
	 * config_free() wipes them.
	 */
	char		*tls_key_pem;
	size_t		 tls_key_pem_len;
	char		*tls_client_key_pem;
	size_t		 tls_client_key_pem_len;
	char		*sign_cert;
	char		*sign_key;
	X509		*sign_x509;
	char		 sign_sha256[65];
	/* our TLS certificates' expiry and fingerprint (for the metrics) */
	accord_time_t	 tls_not_after;
	char		 tls_sha256[65];
	accord_time_t	 tls_client_not_after;
	char		 tls_client_sha256[65];

	char		*state_dir;
	/* <user>: the engine and the signer run as this user when the
	 * daemon starts as root ("" = one process, as started) */
	char		 user[64];
	uid_t		 user_uid;
	gid_t		 user_gid;
	/* <user parser=>: the parser processes' user ("" = user's own,
	 * which only their system-call filter then separates) */
	char		 parser_user[64];
	uid_t		 parser_uid;
	gid_t		 parser_gid;
	/* <user signer=>: the signer's user ("" = user's own, which only
	 * its being undumpable then keeps from the engine) */
	char		 signer_user[64];
	uid_t		 signer_uid;
	gid_t		 signer_gid;
	char		*control_socket;
	char		 control_group[64];
	gid_t		 control_gid;
	int		 control_gid_exists;
	struct role_group roles[CONFIG_MAX_ROLE_GROUPS];
	int		 nroles;
	/* <metrics listen= allow-remote=>: the Prometheus endpoint over
	 * plain HTTP; metrics_address NULL: none */
	char		*metrics_address;
	int		 metrics_port;
	int		 metrics_allow_remote;
	/* <timestamp url= ca= retry-seconds=>: each checkpoint time-stamped
	 * by an RFC 3161 authority (faces/tsaclient.c); tsa_url NULL: none */
	char		*tsa_url;
	char		*tsa_ca;	/* its CA certificates, PEM */
	char		*tsa_ca_pem;	/* their text, for the journal */
	int		 tsa_retry_secs;	/* the first retry's wait */
	/* <keys master=>: encryption at rest (persist/keystore.h); the
	 * master key file, NULL: messages are journalled in clear */
	char		*keys_master;

	size_t		 max_message_size;
	int		 max_xml_depth;
	int		 clock_skew;
	int		 tls_handshake_secs;	/* a TLS handshake's deadline */
	int		 unauth_per_address;	/* connections not yet through
						 * the TLS handshake, per
						 * client address */
	int		 refusals_per_minute;	/* journalled in full, per
						 * partner; the rest counted */
	int		 connections_per_partner; /* outbound: connections
						 * to one partner, so messages
						 * in flight to it, at most */

	struct calendar	 calendar;	/* this gateway's own calendar */

	char		*partners_dir;
	struct agreement *partners;	/* sorted by country */
	int		 npartners;
};

/*
 * Load file and every *.xml of its partners directory; now decides which
 * certificates are in force and which warnings are due.
 * @return the configuration, or NULL with every error in d.
 */
struct config *config_load(const char *file, accord_time_t now,
    struct conf_diag *d);
void config_free(struct config *c);

/*
 * Load every *.xml agreement of c->partners_dir (certificates relative to
 * c->pki_dir) into c->partners, without the checks across agreements
 * that config_load() adds.  Errors go to d; an agreement whose partner
 * could be read is kept even with errors.  @return 0, or -1 when the
 * directory cannot be read.
 */
int config_load_agreements(struct config *c, accord_time_t now,
    struct conf_diag *d);

/* The agreement with this partner, or NULL. */
const struct agreement *config_partner(const struct config *c,
    const char *country);

/* "read", "submit", "admin". */
const char *config_role_name(enum config_role r);

/* One line per partner, for accordd -n and the logs. */
void config_print_summary(const struct config *c, FILE *fp);

#endif
